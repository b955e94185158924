"""The compiled shingle loops give the numbers of their plain Arrow and numpy definitions.

The clone checks' digests and MinHash signatures come from a compiled loop (numba). Here the
same quantities are computed the obvious way, one numpy pass per permutation over every
shingle, and must match exactly: on real transcribed therapy notes (../shared/realdata) and on
the edge cases of the word count (no words, fewer words than a shingle, exactly one shingle).
The words themselves come from a compiled splitter that must give Arrow's
ascii_split_whitespace words, numbered in the same order.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from chartaudit.checks.shingle_kernels import (
    WordTable,
    band_pairs,
    pair_jaccard,
    runs_of,
    shingle_signatures,
)
from chartaudit.checks.text import (
    _SHINGLE_MULT,
    SHINGLE_WORDS,
    Shingles,
    _splitmix,
    normalise_words,
)
from conftest import realdata


def reference(token_hash: np.ndarray, words: np.ndarray, mult, add, k: int = SHINGLE_WORDS):
    """Digest and MinHash signature per text, straight from their definitions."""
    n = len(words)
    digest = np.zeros(n, dtype=np.uint64)
    signature = np.full((n, len(mult)), np.iinfo(np.uint32).max, dtype=np.uint32)
    starts = np.concatenate([[0], np.cumsum(words)[:-1]]).astype(np.int64)
    with np.errstate(over="ignore"):
        for t in range(n):
            h = token_hash[starts[t] : starts[t] + words[t]]
            positions = np.arange(len(h), dtype=np.uint64)
            digest[t] = np.sum(h * (np.uint64(2) * positions + np.uint64(1)), dtype=np.uint64)
            m = len(h) - k + 1
            if m <= 0:
                continue
            shingle = h[:m].copy()
            for j in range(1, k):
                shingle = shingle * _SHINGLE_MULT + h[j : j + m]
            for j in range(len(mult)):
                signature[t, j] = (np.min(shingle * mult[j] + add[j]) >> np.uint64(32)).astype(
                    np.uint32
                )
    return digest, signature


def _compare(texts: list[str]) -> None:
    sh = Shingles(pa.array(texts[:1], type=pa.large_string()))
    words, token_hash = sh._tokens(pa.array(texts, type=pa.large_string()))
    digest, signature = shingle_signatures(
        token_hash, words, SHINGLE_WORDS, sh._mult, sh._add, _SHINGLE_MULT
    )
    want_digest, want_signature = reference(token_hash, words, sh._mult, sh._add)
    assert np.array_equal(digest, want_digest)
    assert np.array_equal(signature, want_signature)


def test_signatures_of_real_notes_match_the_numpy_definition():
    samples = pd.read_csv(
        realdata("mtsamples", "mtsamples_rehab_subset.csv"), dtype=str, keep_default_na=False
    )
    texts = samples["transcription"].tolist()
    assert len(texts) > 50
    _compare(texts)


def test_short_texts_match_the_numpy_definition():
    texts = [
        "",
        "one",
        "one two three four",
        "one two three four five",  # exactly one shingle
        "Pt tolerated 3x10 sit-to-stand with min A; cues for upright posture.",
        "   \n\t  ",
        "Pt tolerated 3x10 sit-to-stand with min A; cues for upright posture.",
    ]
    _compare(texts)


def test_equal_texts_share_a_digest_and_word_order_matters():
    sh = Shingles(
        pa.array(
            [
                "gait training with rolling walker 150 ft",
                "Gait training, with rolling walker 150 ft.",  # same words once normalised
                "walker rolling with training gait 150 ft",  # same words, other order
            ],
            type=pa.large_string(),
        )
    )
    assert sh.digest[0] == sh.digest[1]
    assert sh.digest[0] != sh.digest[2]
    assert (sh.signature()[0] == sh.signature()[1]).all()


def arrow_words(texts: pa.Array, vocabulary: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """(kept words per text, word hashes) the plain Arrow way: split every text, encode the
    distinct words, normalise them, drop the empty ones."""
    tokens = pc.ascii_split_whitespace(texts)
    lengths = np.nan_to_num(
        pc.list_value_length(tokens).to_numpy(zero_copy_only=False).astype("float64")
    ).astype(np.int64)
    encoded = pc.dictionary_encode(pc.list_flatten(tokens))
    normalised = normalise_words(encoded.dictionary)
    ids = np.array([vocabulary.setdefault(t, len(vocabulary)) for t in normalised], np.int64)
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    keep = np.array([t != "" for t in normalised], dtype=bool)[codes]
    owner = np.repeat(np.arange(len(texts)), lengths)
    kept = np.bincount(owner[keep], minlength=len(texts))
    return kept, _splitmix(ids)[codes][keep]


EDGE_TEXTS = [
    "",
    "word after an empty text",
    None,
    "  leading and trailing  ",
    " ",
    "\t\n",
    "-- only - punctuation --",
    "Seen 3/10/2024 and 2024-03-11: pain 3/10",
    "ÉTÉ Café, café; CAFÉ",
    "a\x0bb\x0cc\rd",
    "non\u00a0breaking and\u2003em space",
]


def test_words_match_arrows_split_in_the_same_order():
    samples = pd.read_csv(
        realdata("mtsamples", "mtsamples_rehab_subset.csv"), dtype=str, keep_default_na=False
    )
    texts = EDGE_TEXTS + samples["transcription"].tolist() + EDGE_TEXTS
    vocabulary: dict[str, int] = {}
    sh = Shingles(pa.array([""], type=pa.large_string()))
    sh._vocabulary.clear()
    sh._words = WordTable(slots=16)  # tiny: the table must grow many times on the way
    for start in range(0, len(texts), 7):  # in chunks, as the checks read them
        chunk = pa.array(texts[start : start + 7], type=pa.large_string())
        want_words, want_hashes = arrow_words(chunk, vocabulary)
        words, hashes = sh._tokens(chunk)
        assert np.array_equal(words, want_words)
        assert np.array_equal(hashes, want_hashes)
    assert sh._vocabulary == vocabulary


def runs_reference(order, therapist, bucket, patient, day, days, neighbours):
    """band_pairs by its definition: per (therapist, bucket) group in date order, runs of one
    patient; each note paired with the last note of each of the `neighbours` runs before its
    own, when that note's patient differs and it is at most `days` earlier."""
    groups: dict[tuple, list[list[int]]] = {}
    pairs = set()
    for x in order:
        runs = groups.setdefault((therapist[x], bucket[x]), [])
        if runs and patient[runs[-1][-1]] == patient[x]:
            runs[-1].append(x)
        else:
            runs.append([x])
        for run in runs[-1 - neighbours : -1]:
            j = run[-1]
            if patient[j] != patient[x] and day[x] - day[j] <= days:
                pairs.add((x, j))
    return pairs


def test_band_pairs_match_their_definition():
    rng = np.random.default_rng(7)
    n = 3000
    therapist = rng.integers(0, 15, n)
    bucket = rng.integers(0, 6, n).astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    patient = rng.integers(0, 40, n)
    day = rng.integers(0, 90, n)
    order = np.lexsort((np.arange(n), day, therapist))
    for days, neighbours in [(30, 3), (0, 1), (10, 2), (365, 6)]:
        blocks = runs_of(therapist[order])
        x, j = band_pairs(order, blocks, bucket, patient, day, days, neighbours)
        got = set(zip(x.tolist(), j.tolist(), strict=True))
        want = runs_reference(order.tolist(), therapist, bucket, patient, day, days, neighbours)
        assert got == want
        assert len(got) == len(x)  # each pair once
        assert want  # the data do make pairs


def test_pair_jaccard_is_the_jaccard_of_the_shingle_sets():
    rng = np.random.default_rng(3)
    count = rng.integers(0, 40, 200)
    count[:3] = 0  # texts without shingles
    ptr = np.concatenate([[0], np.cumsum(count)]).astype(np.int64)
    # few distinct values: repeats within a text and overlaps between texts
    hashes = rng.integers(0, 60, int(ptr[-1])).astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    sets = [set(hashes[ptr[t] : ptr[t + 1]].tolist()) for t in range(len(count))]
    a = rng.integers(0, len(count), 500)
    b = rng.integers(0, len(count), 500)
    a[0], b[0] = 0, 1  # both empty
    got = pair_jaccard(hashes.copy(), ptr, a, b)
    want = [
        len(sets[x] & sets[y]) / len(sets[x] | sets[y]) if sets[x] | sets[y] else 0.0
        for x, y in zip(a, b, strict=True)
    ]
    assert np.array_equal(got, np.array(want))
    assert 0 < np.mean(got) < 1


def test_warm_up_loads_the_code_the_checks_then_use(tmp_path):
    """warm_up's argument types are the checks' own: after it and a whole run, each loop has
    exactly one compiled version (another type would mean code loaded for nothing, and the
    checks' first call still waiting). In a fresh interpreter: tests call the loops directly."""
    script = f"""
from pathlib import Path
from chartaudit.checks import shingle_kernels as K
from chartaudit.job import RunOptions, run_job
from chartaudit.sample import generate
K.warm_up()
loops = ("shingle_signatures", "split_words", "rehash", "kept_words", "band_pairs", "pair_jaccard")
warmed = {{name: len(getattr(K, name).signatures) for name in loops}}
generate(Path({str(tmp_path / "export")!r}), notes=300, seed=2)
run_job(RunOptions(export_dir=Path({str(tmp_path / "export")!r}),
                   out=Path({str(tmp_path / "out")!r}), no_history=True, formats=("json",)))
after = {{name: len(getattr(K, name).signatures) for name in loops}}
print(warmed, after)
assert warmed == after == {{name: 1 for name in loops}}, (warmed, after)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
