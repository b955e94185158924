"""Compiled loops for the clone checks' shingles: digests and MinHash signatures.

MinHash needs, for every 5-word shingle of every note, 32 multiply-add-minimum steps: at a
million notes about four billion. Written with numpy that is 32 passes over every shingle hash,
each pass three array operations through memory; compiled (numba), each hash is read once and
its 32 running minima stay in registers. The arithmetic is the numpy version's exactly
(unsigned 64-bit, wrapping), so the signatures and digests are the same numbers: the tests
compare the two on real notes.

The loops run without the GIL, so both clone checks can hash at once on two threads.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from numba import njit

_ALL_ONES = np.uint64(0xFFFFFFFFFFFFFFFF)


@njit(cache=True, nogil=True)
def shingle_signatures(token_hash, words, k, mult, add, shingle_mult):
    """(digest, signature) of texts whose token hashes lie back to back (`words[t]` each).

    digest[t] = sum of token_hash * (2 * position + 1) over the text's tokens (mod 2^64): equal
    for equal token sequences. signature[t, j] = top 32 bits of the minimum over the text's
    k-word shingle hashes s of s * mult[j] + add[j] (mod 2^64); all ones when the text has
    fewer than k words. A shingle hash is h0 * M^(k-1) + h1 * M^(k-2) + ... + h(k-1), M =
    shingle_mult.
    """
    n = len(words)
    perms = len(mult)
    digest = np.zeros(n, dtype=np.uint64)
    signature = np.full((n, perms), np.uint32(0xFFFFFFFF), dtype=np.uint32)
    low = np.empty(perms, dtype=np.uint64)
    start = 0
    one = np.uint64(1)
    two = np.uint64(2)
    shift = np.uint64(32)
    for t in range(n):
        w = words[t]
        d = np.uint64(0)
        for p in range(w):
            d += token_hash[start + p] * (two * np.uint64(p) + one)
        digest[t] = d
        if w >= k:
            for j in range(perms):
                low[j] = _ALL_ONES
            for p in range(w - k + 1):
                s = token_hash[start + p]
                for q in range(1, k):
                    s = s * shingle_mult + token_hash[start + p + q]
                for j in range(perms):
                    v = s * mult[j] + add[j]
                    if v < low[j]:
                        low[j] = v
            for j in range(perms):
                signature[t, j] = np.uint32(low[j] >> shift)
        start += w
    return digest, signature


# ---------------------------------------------------------------------------------------------
# Words: split on ASCII whitespace, each distinct word stored once
# ---------------------------------------------------------------------------------------------

_FNV_OFFSET = np.uint64(14695981039346656037)
_FNV_PRIME = np.uint64(1099511628211)


@njit(cache=True, nogil=True, inline="always")
def _is_space(byte):
    # The ASCII whitespace of Arrow's ascii_split_whitespace: \t \n \v \f \r and space.
    return byte == 32 or (byte >= 9 and byte <= 13)


@njit(cache=True, nogil=True, inline="always")
def _slot(h, mask):
    # FNV's low bits depend only on the low bits of the bytes: mix the high bits in first.
    h ^= h >> np.uint64(29)
    h *= np.uint64(0xBF58476D1CE4E5B9)
    h ^= h >> np.uint64(32)
    return np.int64(h & np.uint64(mask))


@njit(cache=True, nogil=True)
def split_words(offsets, valid, data, first, table, entry_hash, entry_start, entry_len, pool,
                state, words, out):  # fmt: skip
    """Split texts first.. into words, writing each word's entry number to `out` (texts back to
    back) and each text's word count to `words`; words not met before become new entries.

    The words are Arrow's ascii_split_whitespace's, empty ones included: a text that starts
    or ends with whitespace has an empty first or last word, and an empty text one empty word
    (the normaliser drops them; they are kept here so new words meet the vocabulary in the
    same order as before); a null text (valid false) has none. Words are compared byte for
    byte, so two words share an entry only when they are equal (the hash only finds the slot).

    state = [entries used, pool bytes used]. Returns (next text, words written): the next
    text is len(words) when all are done, or the first text not done when the table or pool
    is full (`out` then holds the words of the texts before it).
    """
    n_texts = len(offsets) - 1
    mask = len(table) - 1
    entries = state[0]
    used = state[1]
    written = 0
    for t in range(first):
        written += words[t]
    for t in range(first, n_texts):
        words[t] = 0
        if not valid[t]:
            continue
        lo = offsets[t]
        hi = offsets[t + 1]
        mark = written
        i = lo
        trail = hi > lo and _is_space(data[hi - 1])
        phase = 0 if lo == hi or _is_space(data[lo]) else 1
        while True:
            if phase == 0:  # the empty word before leading whitespace
                s = lo
                e = lo
                phase = 1
            elif phase == 1:
                while i < hi and _is_space(data[i]):
                    i += 1
                if i < hi:
                    s = i
                    while i < hi and not _is_space(data[i]):
                        i += 1
                    e = i
                elif trail:  # the empty word after trailing whitespace
                    s = hi
                    e = hi
                    phase = 2
                else:
                    break
            else:
                break
            h = _FNV_OFFSET
            for k in range(s, e):
                h ^= np.uint64(data[k])
                h *= _FNV_PRIME
            n = e - s
            slot = _slot(h, mask)
            found = -1
            while True:
                entry = table[slot]
                if entry < 0:
                    break
                if entry_hash[entry] == h and entry_len[entry] == n:
                    start = entry_start[entry]
                    same = True
                    for k in range(n):
                        if pool[start + k] != data[s + k]:
                            same = False
                            break
                    if same:
                        found = entry
                        break
                slot = (slot + 1) & mask
            if found < 0:
                if (
                    2 * (entries + 1) > len(table)
                    or entries >= len(entry_hash)
                    or (used + n > len(pool))
                ):
                    state[0] = entries
                    state[1] = used
                    words[t] = 0
                    return t, mark
                table[slot] = entries
                entry_hash[entries] = h
                entry_start[entries] = used
                entry_len[entries] = n
                for k in range(n):
                    pool[used + k] = data[s + k]
                used += n
                found = entries
                entries += 1
            out[written] = found
            written += 1
            words[t] += 1
    state[0] = entries
    state[1] = used
    return n_texts, written


@njit(cache=True, nogil=True)
def rehash(table, entry_hash, n_entries):
    """Place entries 0..n_entries-1 in an empty (all -1) table by their hashes."""
    mask = len(table) - 1
    for entry in range(n_entries):
        slot = _slot(entry_hash[entry], mask)
        while table[slot] >= 0:
            slot = (slot + 1) & mask
        table[slot] = entry


@njit(cache=True, nogil=True)
def kept_words(entries, words, entry_value, entry_keep):
    """(hash per kept word, kept words per text) from the words' entry numbers."""
    out = np.empty(len(entries), dtype=np.uint64)
    kept = np.zeros(len(words), dtype=np.int64)
    i = 0
    j = 0
    for t in range(len(words)):
        for _ in range(words[t]):
            entry = entries[i]
            i += 1
            if entry_keep[entry]:
                out[j] = entry_value[entry]
                j += 1
                kept[t] += 1
    return out[:j], kept


class WordTable:
    """Every distinct word met so far (bytes, in order of first appearance), with a 64-bit
    value and a keep flag per word that the caller sets for the new words of each split."""

    def __init__(self, slots: int = 1 << 16) -> None:
        self.table = np.full(slots, -1, dtype=np.int64)
        self.entry_hash = np.zeros(slots // 2, dtype=np.uint64)
        self.entry_start = np.zeros(slots // 2, dtype=np.int64)
        self.entry_len = np.zeros(slots // 2, dtype=np.int64)
        self.value = np.zeros(slots // 2, dtype=np.uint64)
        self.keep = np.zeros(slots // 2, dtype=np.bool_)
        self.pool = np.zeros(slots * 8, dtype=np.uint8)
        self.state = np.zeros(2, dtype=np.int64)  # entries used, pool bytes used

    def __len__(self) -> int:
        return int(self.state[0])

    def split(self, text: pa.Array) -> tuple[np.ndarray, np.ndarray]:
        """(entry number of each word, texts back to back; word count per text) of a
        large_string array. Words not met before become entries len(self) before the call
        onwards."""
        n = len(text)
        offsets = np.frombuffer(text.buffers()[1], dtype=np.int64)[
            text.offset : text.offset + n + 1
        ]
        data_buffer = text.buffers()[2]
        data = (
            np.frombuffer(data_buffer, dtype=np.uint8)
            if data_buffer is not None and data_buffer.size
            else np.zeros(1, np.uint8)
        )
        valid = (
            np.ones(n, dtype=np.bool_)
            if text.null_count == 0
            else text.is_valid().to_numpy(zero_copy_only=False)
        )
        words = np.zeros(n, dtype=np.int64)
        # Words are at least a byte and a separator apart; plus an empty word at each end.
        size = (int(offsets[-1] - offsets[0]) + 1) // 2 + 2 * n if n else 0
        out = np.empty(size, dtype=np.int64)
        first = 0
        while True:
            first, written = split_words(
                offsets, valid, data, first, self.table, self.entry_hash, self.entry_start,
                self.entry_len, self.pool, self.state, words, out,
            )  # fmt: skip
            if first == n:
                return out[:written], words
            self._grow(int(offsets[first + 1] - offsets[first]))

    def strings(self, lo: int, hi: int) -> pa.Array:
        """Entries lo..hi-1 as a large_string array (their bytes lie back to back)."""
        start = int(self.entry_start[lo]) if hi > lo else 0
        ends = self.entry_start[lo:hi] + self.entry_len[lo:hi]
        offsets = np.r_[start, ends].astype(np.int64) - start
        data = self.pool[start : start + offsets[-1]].copy()
        return pa.LargeStringArray.from_buffers(hi - lo, pa.py_buffer(offsets), pa.py_buffer(data))

    def _grow(self, text_bytes: int) -> None:
        entries, used = int(self.state[0]), int(self.state[1])
        if 2 * (entries + 1) > len(self.table) or entries >= len(self.entry_hash):
            slots = len(self.table) * 2
            self.table = np.full(slots, -1, dtype=np.int64)
            rehash(self.table, self.entry_hash, entries)
            for name in ("entry_hash", "entry_start", "entry_len", "value", "keep"):
                old = getattr(self, name)
                new = np.zeros(slots // 2, dtype=old.dtype)
                new[:entries] = old[:entries]
                setattr(self, name, new)
        if used + text_bytes > len(self.pool):
            pool = np.zeros(max(2 * len(self.pool), used + text_bytes), dtype=np.uint8)
            pool[:used] = self.pool[:used]
            self.pool = pool


# ---------------------------------------------------------------------------------------------
# Across-patient candidates: one MinHash band
# ---------------------------------------------------------------------------------------------


def runs_of(keys: np.ndarray) -> np.ndarray:
    """Where each run of equal consecutive keys starts, and len(keys) last."""
    if len(keys) == 0:
        return np.zeros(1, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    return np.r_[starts, len(keys)].astype(np.int64)


@njit(cache=True, nogil=True)
def band_pairs(order, blocks, bucket, patient, day, days, neighbours):
    """Candidate pairs (x, j) of one MinHash band; `order` lists the notes by therapist, then
    date, and each therapist's notes are order[blocks[t]:blocks[t + 1]] (see runs_of).

    A therapist's notes with the same band bucket form a group; within a group, a run is a
    stretch of consecutive notes of one patient. Each note x is paired with the last note j
    of each of the `neighbours` runs before its own, when j's patient is not x's and j is at
    most `days` before x. Groups are found with a hash table per therapist (small enough to
    stay in the CPU cache), so no sort is needed.
    """
    n = len(order)
    longest = 0
    for t in range(len(blocks) - 1):
        longest = max(longest, blocks[t + 1] - blocks[t])
    size = 2
    while size < 2 * longest:
        size *= 2
    slot_group = np.full(size, -1, dtype=np.int64)
    group_bucket = np.empty(longest, dtype=np.uint64)
    run_patient = np.empty(longest, dtype=np.int64)  # the patient of the group's current run
    run_last = np.empty(longest, dtype=np.int64)  # its last note so far
    # The last notes of the group's earlier runs, a ring of `neighbours` per group.
    ring = np.empty(longest * neighbours, dtype=np.int64)
    pushed = np.empty(longest, dtype=np.int64)
    out_x = np.empty(n * neighbours, dtype=np.int64)
    out_j = np.empty(n * neighbours, dtype=np.int64)
    found = 0
    for t in range(len(blocks) - 1):
        i = blocks[t]
        e = blocks[t + 1]
        block = 2
        while block < 2 * (e - i):
            block *= 2
        mask = block - 1
        groups = 0
        for k in range(i, e):
            x = order[k]
            b = bucket[x]
            slot = _slot(b, mask)
            while True:
                g = slot_group[slot]
                if g < 0 or group_bucket[g] == b:
                    break
                slot = (slot + 1) & mask
            if g < 0:
                g = groups
                groups += 1
                slot_group[slot] = g
                group_bucket[g] = b
                run_patient[g] = patient[x]
                run_last[g] = x
                pushed[g] = 0
                continue
            if patient[x] != run_patient[g]:
                ring[g * neighbours + pushed[g] % neighbours] = run_last[g]
                pushed[g] += 1
                run_patient[g] = patient[x]
            run_last[g] = x
            for d in range(min(pushed[g], neighbours)):
                j = ring[g * neighbours + (pushed[g] - 1 - d) % neighbours]
                if patient[j] != patient[x] and day[x] - day[j] <= days:
                    out_x[found] = x
                    out_j[found] = j
                    found += 1
        slot_group[:block] = -1
    return out_x[:found], out_j[:found]


# ---------------------------------------------------------------------------------------------
# Exact Jaccard similarity of pairs of texts
# ---------------------------------------------------------------------------------------------


@njit(cache=True, nogil=True)
def pair_jaccard(hashes, ptr, a, b):
    """Jaccard similarity of the shingle sets of texts a[p] and b[p], for every pair p.

    Text t's shingle hashes are hashes[ptr[t]:ptr[t + 1]]; they are sorted in place and their
    repeats dropped, then each pair's sets are merged. 0 when both sets are empty.
    """
    n = len(ptr) - 1
    distinct = np.empty(n, dtype=np.int64)
    for t in range(n):
        segment = hashes[ptr[t] : ptr[t + 1]]
        segment.sort()
        m = 0
        for i in range(len(segment)):
            if i == 0 or segment[i] != segment[i - 1]:
                segment[m] = segment[i]
                m += 1
        distinct[t] = m
    out = np.empty(len(a), dtype=np.float64)
    for p in range(len(a)):
        i = ptr[a[p]]
        i_end = i + distinct[a[p]]
        j = ptr[b[p]]
        j_end = j + distinct[b[p]]
        inter = 0
        while i < i_end and j < j_end:
            if hashes[i] == hashes[j]:
                inter += 1
                i += 1
                j += 1
            elif hashes[i] < hashes[j]:
                i += 1
            else:
                j += 1
        union = distinct[a[p]] + distinct[b[p]] - inter
        out[p] = inter / union if union > 0 else 0.0
    return out


def warm_up() -> None:
    """Load each loop's compiled code now, for the argument types the clone checks pass.

    numba loads a loop's machine code (from its cache next to the package, or compiles it on
    the first run after installing) at the loop's first call, and importing numba itself takes
    a while: about 0.8 s before the first clone check could start. run_job calls this on a
    thread while the export loads. Each call is on empty input, with exactly the dtypes of
    the real calls: a call with other types would load (or compile) code of its own.
    """
    i64 = np.zeros(0, dtype=np.int64)
    u64 = np.zeros(0, dtype=np.uint64)
    one = np.ones(1, dtype=np.uint64)
    shingle_signatures(u64, i64, 5, one, one, np.uint64(3))
    table = np.full(2, -1, dtype=np.int64)
    split_words(np.zeros(1, dtype=np.int64), np.zeros(0, dtype=np.bool_),
                np.zeros(0, dtype=np.uint8), 0, table, np.zeros(1, dtype=np.uint64),
                np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64),
                np.zeros(1, dtype=np.uint8), np.zeros(2, dtype=np.int64), i64, i64)  # fmt: skip
    rehash(table, u64, 0)
    kept_words(i64, i64, u64, np.zeros(0, dtype=np.bool_))
    band_pairs(i64, np.zeros(1, dtype=np.int64), u64, i64, i64, 30, 3)
    pair_jaccard(u64, np.zeros(1, dtype=np.int64), i64, i64)
