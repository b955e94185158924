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
