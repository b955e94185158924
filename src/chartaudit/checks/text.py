"""Text check kinds: SOAP, skilled language, cloning, goals, discharge and evaluation content.

Phrase lists and section cues are data (``data/phrases.yaml``), matched with RE2 through
pyarrow over whole columns (one pass per pattern group); clone detection hashes 5-word
shingles and compares each note only with a few candidates (the patient's previous notes, or
notes sharing a MinHash band bucket within one therapist), never all pairs.
"""

from __future__ import annotations

import re
import string
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import yaml

from ..errors import ChecklistError
from ..model import TEXT_COLUMNS
from .regex import combine, first_match, matches, to_arrow  # noqa: F401 - used here and by tests
from .registry import CheckOutcome, Param, check_kind, outcome
from .shingle_kernels import (
    WordTable,
    band_pairs,
    kept_words,
    pair_jaccard,
    runs_of,
    shingle_signatures,
)
from .text_gather import cut_before

PHRASES_PATH = Path(__file__).resolve().parents[1] / "data" / "phrases.yaml"
NO_TEXT_EXPORTED = "the export has no note text columns"
NO_TEXT = "the note has no text in the export"
SHINGLE_WORDS = 5
SOAP_SECTIONS = ("subjective", "objective", "assessment", "plan")
SOAP_LABELS = {
    "subjective": "subjective (patient report)",
    "objective": "objective/interventions",
    "assessment": "assessment",
    "plan": "plan",
}
INDICATOR_LABELS = {
    "parameters": "parameters or measurements (sets/reps/load/distance/time, ROM, scores)",
    "cueing": "cueing type and level",
    "assist_level": "assist level",
    "progression": "task progression or modification",
    "patient_response": "patient response",
    "clinical_reasoning": "clinical reasoning tied to a goal or impairment",
    "education_teach_back": "education with teach-back",
}
GOAL_PARTS = ("actor", "activity", "condition", "measure", "time_frame")
GOAL_PART_LABELS = {
    "actor": "actor",
    "activity": "functional activity",
    "condition": "condition",
    "measure": "measurable criterion",
    "time_frame": "time frame",
}
DISCHARGE_PARTS = ("goal_status", "reason", "plan")
DISCHARGE_LABELS = {
    "goal_status": "goal status (met / not met)",
    "reason": "reason for discharge",
    "plan": "discharge plan (HEP, referrals, follow-up)",
}
# Required by default: the diagnosis, the history (prior level of function or onset: what the
# patient's function is measured against) and a timed prognosis. For a child, who has no prior
# level, the history of the concern (developmental history, onset) or current function stands
# in. "function" (any description of function, current function alone included) is the
# lenient alternative to "history".
EVAL_PARTS = ("diagnosis", "history", "prognosis")
# The function part is any of these; a checklist can require one on its own.
FUNCTION_PARTS = ("prior_function", "onset", "current_function")
EVAL_LABELS = {
    "diagnosis": "diagnosis or condition",
    "history": "prior level of function or onset",
    "function": "prior level of function, onset or current function",
    "prior_function": "prior level of function",
    "onset": "onset",
    "current_function": "current function",
    "prognosis": "prognosis with a time frame",
}


# --------------------------------------------------------------------------------------------
# Phrase data and vectorised matching
# --------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def phrases() -> dict[str, Any]:
    """The built-in phrase lists (data/phrases.yaml)."""
    with PHRASES_PATH.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def check_patterns(patterns: list[str] | str, param: str) -> None:
    """Raise ChecklistError naming `param` when a pattern is not a valid RE2 expression."""
    for pattern in [patterns] if isinstance(patterns, str) else patterns:
        try:
            pc.match_substring_regex(pa.array([""]), pattern, ignore_case=True)
        except (pa.ArrowInvalid, TypeError) as exc:
            raise ChecklistError(
                f"params.{param}: invalid pattern {pattern!r}: {exc}",
                fix="use RE2 syntax (no look-arounds or back-references)",
            ) from None


def chosen_parts(params: dict[str, Any], key: str, allowed: tuple[str, ...], what: str) -> list:
    """params[key] as a list, refused when it names anything outside `allowed`."""
    chosen = list(params[key])
    unknown = [p for p in chosen if p not in allowed]
    if unknown:
        raise ChecklistError(f"params.{key}: unknown {what} {', '.join(unknown)}")
    return chosen


def text_exported(ctx) -> bool:
    """True when the export supplied at least one narrative column."""
    return any(ctx.has(f"notes.{c}") for c in TEXT_COLUMNS)


def narrative_arrow(ctx) -> pa.ChunkedArray:
    """The loader's narrative column as Arrow, sharing its buffers (chunked as loaded: joining
    the chunks would copy ~700 MB at a million notes)."""

    def build() -> pa.ChunkedArray:
        column = ctx.notes["narrative"]
        if not isinstance(column.dtype, pd.StringDtype):
            column = column.astype("string")
        arr = pa.array(column.array)
        if isinstance(arr, pa.Array):
            arr = pa.chunked_array([arr])
        arr = arr.cast(pa.large_string())
        return pc.fill_null(arr, "") if arr.null_count else arr

    return ctx.cached("text.narrative_arrow", build)


def section_arrow(ctx, column: str) -> pa.ChunkedArray:
    """A text column of the notes (e.g. objective) as Arrow large_string, nulls kept, sharing
    the loader's buffers."""

    def build() -> pa.ChunkedArray:
        series = ctx.notes[column]
        if not isinstance(series.dtype, pd.StringDtype):
            series = series.astype("string")
        arr = pa.array(series.array)
        if isinstance(arr, pa.Array):
            arr = pa.chunked_array([arr])
        return arr.cast(pa.large_string())

    return ctx.cached(f"text.section_arrow:{column}", build)


def _whole(arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    """One Arrow array (kernels like dictionary_encode need one dictionary for all)."""
    if not isinstance(arr, pa.ChunkedArray):
        return arr
    # combine_chunks copies even a single chunk
    return arr.chunk(0) if arr.num_chunks == 1 else arr.combine_chunks()


TEXT_CHUNK = 100_000  # narratives searched at a time: copies stay ~70 MB, not a whole column


def _over_text(ctx, idx: pd.Index, search) -> list:
    """search(Arrow narratives) for the notes in idx, 100k at a time, in idx order: a slice of
    the run's narrative column where the notes are consecutive, else a copy of just those."""
    arr = narrative_arrow(ctx)
    pos = ctx.positions(idx)
    parts = []
    for start in range(0, len(pos), TEXT_CHUNK):
        part = pos[start : start + TEXT_CHUNK]
        if part[-1] - part[0] == len(part) - 1 and (np.diff(part) == 1).all():
            parts.append(search(_whole(arr.slice(int(part[0]), len(part)))))
        else:
            parts.append(search(_whole(arr.take(pa.array(part, type=pa.int64())))))
    return parts


def matches_in(ctx, idx: pd.Index, patterns: list[str] | str) -> np.ndarray:
    """Which narratives of the notes in idx contain a match of any pattern."""
    parts = _over_text(ctx, idx, lambda arr: matches(arr, patterns))
    return np.concatenate(parts) if parts else np.zeros(0, dtype=bool)


def first_match_in(ctx, idx: pd.Index, patterns: list[str] | str) -> pd.Series:
    """The first match of any pattern in the narratives of the notes in idx (NA when none)."""
    parts = _over_text(ctx, idx, lambda arr: first_match(arr, patterns))
    found = pd.concat(parts, ignore_index=True) if parts else pd.Series([], dtype=object)
    found.index = idx
    return found


def blank_text(ctx, idx: pd.Index) -> np.ndarray:
    """True for notes in idx whose narrative is empty (worked out once per run)."""

    def blank() -> np.ndarray:
        arr = narrative_arrow(ctx)  # empty, or only whitespace: no trimmed copy needed
        blank = pc.or_(pc.equal(pc.binary_length(arr), 0), pc.utf8_is_space(arr))
        return blank.to_numpy(zero_copy_only=False).astype(bool)

    return ctx.cached("text.blank", blank)[ctx.positions(idx)]


def filled(series: pd.Series) -> pd.Series:
    """True where a text column holds something other than blanks."""
    return series.notna() & series.astype(str).str.strip().ne("")


def text_filled(ctx, column: str) -> np.ndarray:
    """Boolean per note: `filled` of its `column` (worked out once per run, in place: no
    copy of the text, which for a million notes' sections is hundreds of megabytes)."""

    def build() -> np.ndarray:
        series = ctx.notes[column]
        if not isinstance(series.dtype, pd.StringDtype) or series.dtype.storage != "pyarrow":
            return filled(series).to_numpy(dtype=bool)
        arr = pa.array(series.array)
        # Blank: empty or only whitespace (the whitespace str.strip() trims on Arrow text).
        blank = pc.or_(pc.equal(pc.binary_length(arr), 0), pc.utf8_is_space(arr))
        return ~pc.fill_null(blank, True).to_numpy(zero_copy_only=False).astype(bool)

    return ctx.cached(f"text.filled:{column}", build)


def join_labels(flags: pd.DataFrame, labels: dict[str, str]) -> pd.Series:
    """'a, b' for the True columns of each row (rows of a boolean frame)."""
    if flags.empty:
        return pd.Series([], index=flags.index, dtype=object)
    names = pd.Series([labels[c] + ", " for c in flags.columns], index=flags.columns)
    return flags.astype(object).dot(names).str.rstrip(", ")


def not_evaluable_for_text(ctx, idx: pd.Index) -> tuple[np.ndarray, pd.Series | str]:
    """(mask, reason) for notes whose text cannot be judged."""
    if not text_exported(ctx):
        return np.ones(len(idx), dtype=bool), NO_TEXT_EXPORTED
    return blank_text(ctx, idx), NO_TEXT


# --------------------------------------------------------------------------------------------
# DOC-SOAP
# --------------------------------------------------------------------------------------------


@check_kind(
    "soap_sections",
    topic="narrative",
    params={
        "required": Param(
            list,
            list(SOAP_SECTIONS),
            help="sections a note must carry: subjective, objective, assessment, plan",
        ),
    },
)
def soap_sections(ctx, idx: pd.Index, params: dict[str, Any]) -> CheckOutcome:
    """Treatment notes carry subjective, objective/interventions, assessment and plan content."""
    required = chosen_parts(params, "required", SOAP_SECTIONS, "section(s)")
    pos = ctx.positions(idx)
    cues = phrases()["soap"]
    missing = pd.DataFrame(index=idx)
    for section in required:
        if ctx.has(f"notes.{section}"):
            found = text_filled(ctx, section)[pos]
        else:
            found = np.zeros(len(idx), dtype=bool)
        # The text is searched only where the section's own column is blank.
        look = np.flatnonzero(~found)
        if len(look):
            found[look] = matches_in(ctx, idx[look], cues[section])
        missing[section] = ~found
    ne, reason = not_evaluable_for_text(ctx, idx)
    fail = missing.any(axis=1).to_numpy() & ~ne
    message = pd.Series(None, index=idx, dtype=object)
    evidence = pd.Series(None, index=idx, dtype=object)
    if fail.any():
        names = join_labels(missing[fail], SOAP_LABELS)
        message[fail] = "No " + names.str.replace(", ", " / ", regex=False) + " content found"
        evidence[fail] = "missing: " + names
    return outcome(idx, fail, message, evidence, not_evaluable=ne, not_evaluable_reason=reason)


# --------------------------------------------------------------------------------------------
# DOC-SKILLED
# --------------------------------------------------------------------------------------------


@check_kind(
    "skilled_language",
    topic="narrative",
    params={
        "stock_phrases": Param(
            list, None, help="unskilled stock phrases (regular expressions); default: phrases.yaml"
        ),
        "skilled_indicators": Param(
            dict,
            None,
            help="kind of skilled content -> list of patterns; default: phrases.yaml",
        ),
        "min_skilled_indicators": Param(
            int, 2, help="kinds of skilled content a note with a stock phrase needs"
        ),
        "fail_without_indicators": Param(
            bool, True, help="fail a note with no skilled content even without a stock phrase"
        ),
    },
)
def skilled_language(ctx, idx: pd.Index, params: dict[str, Any]) -> CheckOutcome:
    """Notes show skilled care; stock phrases ("tolerated treatment well") need skilled content."""
    data = phrases()
    stock = params["stock_phrases"] or data["stock_phrases"]
    indicators = params["skilled_indicators"] or data["skilled_indicators"]
    check_patterns(stock, "stock_phrases")
    for kind, patterns in indicators.items():
        check_patterns(patterns, f"skilled_indicators.{kind}")
    need = int(params["min_skilled_indicators"])
    phrase = first_match_in(ctx, idx, stock)
    has_phrase = phrase.notna().to_numpy()
    # A note with a stock phrase has every kind counted (its message lists them); any other
    # note only needs one kind to pass, so each kind is searched only in the notes still
    # without one. Same result as searching every note for every kind, at a fraction.
    kinds = pd.DataFrame(False, index=idx, columns=list(indicators))
    count = np.zeros(len(idx), dtype=np.int64)
    for kind, patterns in indicators.items():
        look = np.flatnonzero(has_phrase | (count == 0))
        if not len(look):
            break
        hit = matches_in(ctx, idx[look], patterns)
        kinds.iloc[look[hit], kinds.columns.get_loc(kind)] = True
        count[look[hit]] += 1
    fail = (has_phrase & (count < need)) | (bool(params["fail_without_indicators"]) & (count == 0))
    ne, reason = not_evaluable_for_text(ctx, idx)
    fail &= ~ne
    message = pd.Series(None, index=idx, dtype=object)
    evidence = pd.Series(None, index=idx, dtype=object)
    with_phrase = fail & has_phrase
    if with_phrase.any():
        labels = {k: INDICATOR_LABELS.get(k, k.replace("_", " ")) for k in kinds.columns}
        found = join_labels(kinds[with_phrase], labels)
        n = count[with_phrase]
        quoted = _stock_phrases_quoted(ctx, idx[with_phrase], stock, phrase[with_phrase])
        message[with_phrase] = np.where(
            n == 0,
            quoted + f", with no skilled content (at least {need} kinds needed)",
            quoted + " with " + n.astype(str) + f" of the {need} kinds of skilled content needed"
            " (found: " + found + ")",
        )
        evidence[with_phrase] = phrase[with_phrase]
    bare = fail & ~has_phrase
    if bare.any():
        message[bare] = (
            "No skilled content: no parameters or measurements, cueing or assist level, "
            "progression, patient response, clinical reasoning or teach-back"
        )
        evidence[bare] = "0 kinds of skilled content"
    return outcome(idx, fail, message, evidence, not_evaluable=ne, not_evaluable_reason=reason)


def _stock_phrases_quoted(ctx, idx: pd.Index, stock: list[str], first: pd.Series) -> pd.Series:
    """'Stock phrase "x"', or 'Stock phrases "x", "y" and "z"' where a failing note has several
    (a trainer wants each one pointed out, not only the first). Only failing notes are read."""
    try:
        pattern = re.compile("|".join(f"(?:{p})" for p in stock), re.IGNORECASE)
    except re.error:  # a user's RE2-only pattern: quote the first phrase alone
        return 'Stock phrase "' + first + '"'
    text = ctx.notes["narrative"].reindex(idx).fillna("").astype(str).to_numpy()
    out = []
    for t, one in zip(text, first.to_numpy(dtype=object), strict=True):
        found = list(dict.fromkeys(m.group(0) for m in pattern.finditer(t))) or [one]
        if len(found) == 1:
            out.append(f'Stock phrase "{found[0]}"')
            continue
        shown = [f'"{f}"' for f in found[:4]]
        more = f" and {len(found) - 4} more" if len(found) > 4 else ""
        out.append(
            "Stock phrases "
            + (", ".join(shown) + more if more else ", ".join(shown[:-1]) + " and " + shown[-1])
        )
    return pd.Series(out, index=first.index, dtype=object)


# --------------------------------------------------------------------------------------------
# Shingles and clone detection
# --------------------------------------------------------------------------------------------

# MinHash (32 values) estimates within this margin below the threshold are checked exactly.
_ESTIMATE_MARGIN = 0.3
_SHINGLE_MULT = np.uint64(1099511628211)


_TRIM = ".,;:!?()[]{}\"'`*#<>|-_=+~@$%^&/\\"
_DATE_PATTERN = r"^(?:\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}|\d{4}-\d{2}-\d{2})$"  # not 3/10 pain


def normalise_words(words: pa.Array) -> list[str]:
    """Words as compared: lower case, surrounding punctuation trimmed, dates as the token
    'date' (so a new date is no change); '' for a word that is only punctuation (dropped)."""
    distinct = pc.ascii_trim(pc.utf8_lower(words), characters=_TRIM)
    distinct = pc.if_else(
        pc.match_substring_regex(distinct, _DATE_PATTERN),
        pa.scalar("date", distinct.type),
        distinct,
    )
    return distinct.to_pylist()


def _splitmix(x: np.ndarray) -> np.ndarray:
    """Well-mixed 64-bit hashes of integers (SplitMix64 finaliser)."""
    z = x.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
    with np.errstate(over="ignore"):
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


class Shingles:
    """5-word shingles of a list of texts: word counts, digests and MinHash signatures.

    `words[i]` is text i's word count, `digest[i]` a code equal for texts whose normalised
    form is identical, and `signature()` 32 MinHash values per text. The shingle hashes
    themselves are not kept (about 1 GB at a million notes): `jaccard` hashes again the few
    texts it is asked about, with the same vocabulary, so the hashes are the same.
    """

    PERMUTATIONS = 32

    CHUNK = 25_000  # texts tokenised at a time: bounds the transient Arrow and numpy arrays
    PAIRS = 100_000  # pairs compared exactly at a time

    def __init__(
        self,
        text,
        k: int = SHINGLE_WORDS,
        base: Shingles | None = None,
        same_as_base: np.ndarray | None = None,
    ):
        """`base`: shingles of other texts of the same rows, whose vocabulary these share;
        the rows marked `same_as_base` have the same text there and are copied, not hashed
        again (the whole narrative of a note without sections, for the sections' shingles)."""
        # Anything with len, slice and take like an Arrow array (see _SectionText).
        self.text = text if hasattr(text, "take") and hasattr(text, "slice") else to_arrow(text)
        self.n = n = len(self.text)
        self.k = k
        if base is not None:
            # One vocabulary: equal words hash equally in both, so copied rows fit in.
            self._vocabulary = base._vocabulary
            self._words = base._words
            self._words_lock = base._words_lock
        else:
            self._vocabulary: dict[str, int] = {}
            self._words = WordTable()
            self._words_lock = threading.Lock()  # two items may share these shingles
        rng = np.random.default_rng(20261)
        self._mult = rng.integers(1, 2**63, size=self.PERMUTATIONS, dtype=np.uint64)
        self._mult |= np.uint64(1)
        self._add = rng.integers(0, 2**63, size=self.PERMUTATIONS, dtype=np.uint64)
        copied = same_as_base if base is not None and same_as_base is not None else None
        rows = np.flatnonzero(~copied) if copied is not None else None
        todo = n if rows is None else len(rows)
        words, digests, signatures = [], [], []
        for start in range(0, todo, self.CHUNK):
            if rows is None:
                part = self.text.slice(start, self.CHUNK)
            else:
                part = self.text.take(rows[start : start + self.CHUNK])
            w, token_hash = self._tokens(part)
            digest, signature = shingle_signatures(
                token_hash, w, k, self._mult, self._add, _SHINGLE_MULT
            )
            words.append(w)
            digests.append(digest)
            signatures.append(signature)
        words = np.concatenate(words) if words else np.zeros(0, np.int64)
        digests = np.concatenate(digests) if digests else np.zeros(0, np.uint64)
        signature = (
            np.concatenate(signatures)
            if signatures
            else np.zeros((0, self.PERMUTATIONS), dtype=np.uint32)
        )
        if rows is not None:
            words, digests, signature = self._with_copied(
                base, copied, rows, words, digests, signature
            )
        self.words = words
        self._raw_digest = digests
        self.count = np.maximum(self.words - (k - 1), 0)
        # Texts with the same words in the same order get the same digest code.
        self.digest = np.unique(digests, return_inverse=True)[1].astype(np.int64)
        self._signature = signature

    def _with_copied(self, base, copied, rows, words, digests, signature):
        """Whole-row arrays: `rows` from the hashed values, the `copied` rows from `base`."""
        n = self.n
        all_words = np.empty(n, dtype=words.dtype if len(words) else base.words.dtype)
        all_digests = np.empty(n, dtype=np.uint64)
        all_signature = np.empty((n, self.PERMUTATIONS), dtype=np.uint32)
        all_words[rows], all_digests[rows], all_signature[rows] = words, digests, signature
        all_words[copied] = base.words[copied]
        all_digests[copied] = base._raw_digest[copied]
        all_signature[copied] = base._signature[copied]
        return all_words, all_digests, all_signature

    def _tokens(self, text) -> tuple[np.ndarray, np.ndarray]:
        """(word count per text, a 64-bit hash per word, texts back to back) of some texts.

        Split on ASCII whitespace by a compiled loop that stores each distinct word once; only
        words never met before (a few thousand at first, then hardly any) are normalised, in
        Arrow, and numbered in a vocabulary shared by all chunks, so equal words hash equally
        everywhere. Words that are only punctuation are dropped.
        """
        arr = _whole(text) if isinstance(text, pa.Array | pa.ChunkedArray) else to_arrow(text)
        if arr.type != pa.large_string():
            arr = arr.cast(pa.large_string())
        table = self._words
        with self._words_lock:
            before = len(table)
            entries, words = table.split(arr)
            if len(table) > before:
                vocabulary = self._vocabulary
                normalised = normalise_words(table.strings(before, len(table)))
                ids = np.fromiter(
                    (vocabulary.setdefault(t, len(vocabulary)) for t in normalised),
                    dtype=np.int64,
                    count=len(normalised),
                )
                table.value[before : len(table)] = _splitmix(ids)
                table.keep[before : len(table)] = [t != "" for t in normalised]
            hashes, kept = kept_words(entries, words, table.value, table.keep)
        return kept, hashes

    def _hash(self, text: pa.Array) -> tuple[np.ndarray, np.ndarray]:
        """(shingle hashes in text order, shingle count per text) of some texts."""
        k = self.k
        words, h = self._tokens(text)
        count = np.maximum(words - (k - 1), 0)
        m = len(h) - k + 1
        if m <= 0:
            return np.zeros(0, np.uint64), count
        sh = h[:m].copy()
        with np.errstate(over="ignore"):
            for j in range(1, k):
                sh *= _SHINGLE_MULT
                sh += h[j : j + m]
        owner = np.repeat(np.arange(len(words), dtype=np.int32), words)
        valid = owner[k - 1 :] == owner[:m]  # the k words lie in one text
        return sh[valid], count

    def signature(self) -> np.ndarray:
        """MinHash signatures (texts x 32, uint32); texts without shingles get all-max rows."""
        return self._signature

    def estimate(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """MinHash estimate of the Jaccard similarity of texts a[p] and b[p]."""
        sig = self._signature
        out = np.empty(len(a))
        step = 1 << 16  # pairs at a time: the gathered rows stay small
        for i in range(0, len(a), step):
            same = sig[a[i : i + step]] == sig[b[i : i + step]]
            out[i : i + step] = np.count_nonzero(same, axis=1) / sig.shape[1]
        return out

    def similar(
        self, a: np.ndarray, b: np.ndarray, threshold: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(a, b, similarity) of the pairs whose exact Jaccard is at least `threshold`: MinHash
        estimates pick the candidates, the exact Jaccard decides."""
        likely = self.estimate(a, b) >= threshold - _ESTIMATE_MARGIN
        a, b = a[likely], b[likely]
        sim = self.jaccard(a, b)
        keep = sim >= threshold
        return a[keep], b[keep], sim[keep]

    def jaccard(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Exact shingle Jaccard similarity of texts a[p] and b[p] for every pair p."""
        a = np.asarray(a, dtype=np.int64)
        b = np.asarray(b, dtype=np.int64)
        out = np.zeros(len(a))
        for i in range(0, len(a), self.PAIRS):
            out[i : i + self.PAIRS] = self._jaccard(a[i : i + self.PAIRS], b[i : i + self.PAIRS])
        return out

    def _jaccard(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        texts = np.unique(np.r_[a, b])
        hashes, count = self._hash(self.text.take(pa.array(texts, type=pa.int64())))
        ptr = np.concatenate([[0], np.cumsum(count)]).astype(np.int64)
        return pair_jaccard(hashes, ptr, np.searchsorted(texts, a), np.searchsorted(texts, b))


def _compare_columns(ctx, sections: list[str] | None) -> list[str]:
    """The exported columns among `sections` (empty: compare the whole narrative)."""
    return [c for c in sections or [] if c in ctx.notes.columns and ctx.has(f"notes.{c}")]


# Where the assessment (or, without one, the plan) of a narrative begins: an "A:" or "P:"
# label, or an "Assessment:", "Impression:" or "Plan:" header ("CGA:" or "ADL:" is none).
_PART_LABEL = r"(?:^|[\s.;])(?:A|P|(?i:assessment|assess|impression|clinical impression|plan))\s*:"
# The label itself, at the start of the cut text.
_LABEL_AT_START = (
    r"^[\s.;]?(?:A|P|(?i:assessment|assess|impression|clinical impression|plan))\s*:\s*"
)


def _in_columns(ctx, cols: list[str]) -> np.ndarray:
    """Per note: any of the columns `cols` is filled."""
    filled = np.zeros(len(ctx.notes), dtype=bool)
    for col in cols:
        filled |= text_filled(ctx, col)
    return filled


def _labelled_part(ctx, cols: list[str]) -> np.ndarray:
    """Per note: none of `cols` is filled and the narrative labels an assessment or plan
    (A:, P:, Assessment:, ...); worked out once per run, only for the notes without the
    columns (a SOAP-column export searches none)."""

    def build() -> np.ndarray:
        labelled = np.zeros(len(ctx.notes), dtype=bool)
        look = np.flatnonzero(~_in_columns(ctx, cols))
        if len(look) and text_exported(ctx):
            parts = _over_text(
                ctx,
                ctx.notes.index[look],
                lambda arr: (
                    pc.match_substring_regex(arr, _PART_LABEL)
                    .to_numpy(zero_copy_only=False)
                    .astype(bool)
                ),
            )
            labelled[look] = np.concatenate(parts)
        return labelled

    return ctx.cached("text.labelled_part:" + ",".join(cols), build)


def sections_written(ctx, sections: list[str]) -> np.ndarray:
    """Per note: it has the `sections` in their own columns or labelled in its narrative (the
    notes whose compared text for these sections is not simply the whole narrative)."""
    cols = _compare_columns(ctx, sections)
    return _in_columns(ctx, cols) | _labelled_part(ctx, cols)


class _SectionText:
    """The text compared for cloning, built a slice or a few notes at a time (never the whole
    column): the given columns joined with newlines where the note has them, else its
    narrative from its assessment or plan label on (an SLP's "... A: ... P: ..." note), else
    its whole narrative. Offers what Shingles reads of an Arrow array: len, slice and take."""

    def __init__(self, ctx, cols: list[str]):
        self.ctx = ctx
        self.cols = cols

    def __len__(self) -> int:
        return len(self.ctx.notes)

    def slice(self, start: int, length: int) -> pa.Array:
        return self._at(slice(start, min(start + length, len(self))))

    def take(self, positions) -> pa.Array:
        return self._at(np.asarray(positions, dtype=np.int64))

    def _at(self, rows: slice | np.ndarray) -> pa.Array:
        text = narrative_arrow(self.ctx)
        if isinstance(rows, slice):
            text = text.slice(rows.start, rows.stop - rows.start)
        else:
            text = text.take(pa.array(rows, type=pa.int64()))
        text = _whole(text)
        labelled = _labelled_part(self.ctx, self.cols)[rows]
        if self.cols:
            parts = []
            for col in self.cols:
                arr = to_arrow(self.ctx.notes[col].iloc[rows])
                keep = pa.array(text_filled(self.ctx, col)[rows])
                parts.append(pc.if_else(keep, arr, pa.scalar("", arr.type)))
            joined = pc.binary_join_element_wise(*parts, pa.scalar("\n", pa.large_string()))
            joined = pc.utf8_trim_whitespace(joined)
            blank = pc.equal(joined, "")
        else:
            joined = blank = None
        if labelled.any():
            # The labelled notes' narratives from their label on, without the label.
            at = pc.find_substring_regex(text, _PART_LABEL).to_numpy(zero_copy_only=False)
            text = cut_before(text, np.where(labelled, np.maximum(at, 0), 0))
            part = pc.replace_substring_regex(text, _LABEL_AT_START, "", max_replacements=1)
            text = pc.if_else(pa.array(labelled), part, text)
        return text if joined is None else pc.if_else(blank, text, joined)


def _by_sections(ctx, sections: list[str] | None) -> bool:
    """The clone checks compare parts of the notes, not whole narratives: sections are asked
    for, and some note has them in columns or labelled in its narrative."""
    if not sections:
        return False
    cols = _compare_columns(ctx, sections)
    return bool(cols) or bool(_labelled_part(ctx, cols).any())


def _compared_text(ctx, sections: list[str] | None) -> _SectionText | pa.ChunkedArray:
    """The text the clone checks compare (offers len, slice and take)."""
    if _by_sections(ctx, sections):
        return _SectionText(ctx, _compare_columns(ctx, sections))
    return narrative_arrow(ctx)


def shingles(ctx, sections: list[str] | None = None) -> Shingles:
    """Shingles of the compared text, cached per run and column choice."""
    cols = _compare_columns(ctx, sections)
    if _by_sections(ctx, sections):
        key = "text.shingles:sections:" + ",".join(cols)
    else:
        key = "text.shingles:narrative"
    text = _compared_text(ctx, sections)

    def build() -> Shingles:
        if not _by_sections(ctx, sections):
            return Shingles(text)
        # Notes without the sections compare their whole narrative: copied from its shingles
        # (which DOC-CLONED builds anyway), not hashed twice.
        whole = ~sections_written(ctx, sections)
        if not whole.any():
            return Shingles(text)
        return Shingles(text, base=shingles(ctx, None), same_as_base=whole)

    # ~150 MB at a million notes: dropped once the last clone item of the run has finished.
    return ctx.cached(key, build, only_for=("cloned_within_patient", "cloned_across_patients"))


def _compared_label(ctx, sections: list[str] | None) -> np.ndarray:
    """What the clone checks compared per note, for messages: "Narrative" or, where the note
    has the sections, e.g. "Assessment/plan"."""
    labels = np.full(len(ctx.notes), "Narrative", dtype=object)
    if _by_sections(ctx, sections):
        labels[sections_written(ctx, sections)] = "/".join(sections).capitalize()
    return labels


# Where a sentence or line ends, for quoting the passage two notes share.
_SENTENCE_END = r"[.!?]+\s+|\s*\n\s*"
_PASSAGE_MIN_WORDS = 5
_PASSAGE_MAX_CHARS = 240


def _shared_passage(text, mine: np.ndarray, other: np.ndarray) -> np.ndarray:
    """For each pair of note rows, the longest sentence (or line) of `mine`'s compared text
    that `other`'s has word for word: the copied passage a trainer wants to see, quoted as the
    finding's evidence so the pages highlight it in the note. None where the two share no
    sentence of five words or more (every sentence edited a little). Clone findings are a few
    percent of the notes; their sentences are matched in Arrow, and only the quotes become
    Python strings."""
    n = len(mine)
    out = np.full(n, None, dtype=object)
    if not n:
        return out
    rows = np.concatenate([mine, other]).astype(np.int64)
    # Taken in row order (a chunked column's take is several times slower unsorted).
    order = np.argsort(rows, kind="stable")
    taken = _whole(text.take(pa.array(rows[order], type=pa.int64())))
    parts = pc.split_pattern_regex(taken, _SENTENCE_END)
    flat = pc.utf8_trim_whitespace(pc.list_flatten(parts))
    # Each sentence's place in `rows`: 0..n-1 mine's, n..2n-1 other's.
    owner = order[pc.list_parent_indices(parts).to_numpy()]
    words = pc.count_substring(flat, " ").to_numpy(zero_copy_only=False) + 1
    # Equal sentences get equal codes (one hash table for both sides).
    code = pc.dictionary_encode(flat).indices.to_numpy(zero_copy_only=False).astype(np.int64)
    key = (owner % n) * (int(code.max(initial=0)) + 1) + code
    ok = words >= _PASSAGE_MIN_WORDS
    theirs = ok & (owner >= n)
    candidate = np.flatnonzero(ok & (owner < n) & np.isin(key, key[theirs]))
    if not len(candidate):
        return out
    length = pc.utf8_length(flat.take(pa.array(candidate))).to_numpy()
    # The longest per pair; on equal lengths the one that comes first in the note.
    pair = owner[candidate]
    # (Sentences of one note are consecutive in `flat`, in the note's order.)
    best = candidate[np.lexsort((candidate, -length, pair))]
    best = best[np.r_[True, owner[best][1:] != owner[best][:-1]]]
    quoted = np.array(flat.take(pa.array(best)).to_pylist(), dtype=object)
    for i in np.flatnonzero([len(q) > _PASSAGE_MAX_CHARS for q in quoted]):
        # Cut at a space, without an ellipsis: the quote stays a verbatim part of the note.
        cut = quoted[i].rfind(" ", 0, _PASSAGE_MAX_CHARS)
        quoted[i] = quoted[i][: cut if cut > 0 else _PASSAGE_MAX_CHARS]
    out[owner[best]] = quoted
    return out


def _date_text(dates: pd.Series) -> pd.Series:
    return pd.to_datetime(dates).dt.strftime("%Y-%m-%d").fillna("undated")


@check_kind(
    "cloned_within_patient",
    topic="narrative",
    params={
        "threshold": Param(
            float,
            0.7,
            help="5-word shingle Jaccard similarity at or above which a note is cloned (0.7: "
            "about 4% of the words changed, a word-count cosine of about 0.99)",
            maximum=1,
        ),
        "window": Param(
            int, 3, help="how many of the patient's previous notes to compare with", minimum=1
        ),
        "min_words": Param(int, 20, help="notes shorter than this are not compared"),
        "sections": Param(
            list, None, help="compare only these columns (e.g. [assessment, plan]); default: all"
        ),
        "copied_sections": Param(
            list,
            ["assessment", "plan"],
            help="also compare these parts on their own (their columns, or the narrative from "
            "its A:/P: label on): an assessment and plan pasted under new S and O; [] for none",
        ),
        "copied_min_words": Param(
            int, 20, help="parts shorter than this are not compared ('Cont POC.' may repeat)"
        ),
    },
)
def cloned_within_patient(ctx, idx: pd.Index, params: dict[str, Any]) -> CheckOutcome:
    """A note is not (nearly) identical to an earlier note of the same patient and discipline."""
    threshold = float(params["threshold"])
    window = max(int(params["window"]), 1)
    sections = params["sections"]
    sh = shingles(ctx, sections)
    notes = ctx.notes
    n = len(notes)
    # One integer per (patient, discipline); only equality and grouping matter.
    patient = pd.factorize(notes["patient_id"].fillna("").astype(str))[0].astype(np.int64)
    discipline, kinds = pd.factorize(notes["discipline"].fillna("").astype(str))
    group_code = patient * max(len(kinds), 1) + discipline
    order = np.lexsort(
        (np.arange(n), notes["date_of_service"].to_numpy(dtype="datetime64[ns]"), group_code)
    )
    comparable = sh.words >= int(params["min_words"])
    best_sim = np.zeros(n)
    best_prev = np.full(n, -1, dtype=np.int64)
    # Exact duplicates anywhere earlier in the patient's history (not only the window).
    frame = pd.DataFrame({"g": group_code[order], "d": sh.digest[order], "pos": order})
    prev_same = frame.groupby(["g", "d"], sort=False)["pos"].shift(1)
    exact = prev_same.notna().to_numpy() & comparable[order]
    best_sim[order[exact]] = 1.0
    best_prev[order[exact]] = prev_same[exact].astype(np.int64).to_numpy()
    # Near duplicates: shingle Jaccard against the previous `window` notes of the group.
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    _nearest_copy(sh, order, group_code, comparable, window, threshold, rank, best_prev, best_sim)
    what = _compared_label(ctx, sections)
    text = _compared_text(ctx, sections)
    # The assessment and plan on their own (CHK-TX-14): pasted under a new S and O they are
    # too little of the note to reach the threshold above. Only notes that have them apart
    # (columns, or labels in the narrative), long enough that repeating them is not chance;
    # the shingles are those DOC-CLONED-ACROSS compares, built once for both.
    part = params["copied_sections"] or []
    if part:
        part = chosen_parts(params, "copied_sections", SOAP_SECTIONS, "section(s)")
    by_part = np.zeros(n, dtype=bool)
    part_text = None
    if part and _by_sections(ctx, part):
        part_sh = shingles(ctx, part)
        part_ok = sections_written(ctx, part) & (part_sh.words >= int(params["copied_min_words"]))
        part_prev = best_prev.copy()
        _nearest_copy(
            part_sh, order, group_code, part_ok, window, threshold, rank, part_prev, best_sim
        )
        by_part = part_prev != best_prev
        best_prev = part_prev
        comparable = comparable | part_ok
        what = np.where(by_part, _compared_label(ctx, part), what)
        part_text = _compared_text(ctx, part)
    return _clone_outcome(
        ctx,
        idx,
        text,
        comparable,
        best_prev,
        best_sim,
        what=what,
        part=(by_part, part_text),
        message="{what} is {pct}% the same as the patient's note of {date} ({id}; 5-word shingles)",
        identical="{what} is identical to the patient's note of {date} ({id})",
        evidence="similarity {sim} to note {id} of {date}",
        identical_evidence="identical to note {id} of {date}",
    )


def _nearest_copy(
    sh: Shingles,
    order: np.ndarray,
    group_code: np.ndarray,
    comparable: np.ndarray,
    window: int,
    threshold: float,
    rank: np.ndarray,
    best_prev: np.ndarray,
    best_sim: np.ndarray,
) -> None:
    """For the notes without a match yet (best_prev < 0), the most similar of the previous
    `window` notes of their group (in `order`) at `threshold` or above: sets best_prev and
    best_sim in place. Ties go to the most recent earlier note."""
    n = len(order)
    a_list, b_list = [], []
    for d in range(1, min(window, n - 1) + 1):
        a, b = order[d:], order[:-d]
        ok = (group_code[a] == group_code[b]) & comparable[a] & comparable[b] & (best_prev[a] < 0)
        a_list.append(a[ok])
        b_list.append(b[ok])
    if not a_list:
        return
    a, b, sim = sh.similar(np.concatenate(a_list), np.concatenate(b_list), threshold)
    pairs = pd.DataFrame({"a": a, "b": b, "sim": sim})
    pairs = pairs.assign(r=rank[pairs["b"]]).sort_values(["a", "sim", "r"])
    pairs = pairs.drop_duplicates("a", keep="last")
    best_sim[pairs["a"].to_numpy()] = pairs["sim"].to_numpy()
    best_prev[pairs["a"].to_numpy()] = pairs["b"].to_numpy()


def _clone_outcome(
    ctx,
    idx: pd.Index,
    text,
    comparable: np.ndarray,
    best_other: np.ndarray,
    best_sim: np.ndarray,
    *,
    what: np.ndarray,
    message: str,
    identical: str,
    evidence: str,
    identical_evidence: str,
    part: tuple[np.ndarray, Any] | None = None,
) -> CheckOutcome:
    """Outcome of a clone check: notes with a match (best_other >= 0) fail, worded from the
    templates ({what} was compared, per note; {pct}, {sim}, {id}, {date} of the matched note;
    `identical*` when sim is 1). The evidence is the longest passage of the compared `text`
    the two notes share, else the `evidence` template. `part`: (mask of the notes matched on
    a part, that part's text)."""
    notes = ctx.notes
    pos = ctx.positions(idx)
    ne, reason = not_evaluable_for_text(ctx, idx)
    applicable = comparable[pos] | ne
    fail = (best_other[pos] >= 0) & ~ne
    msg = pd.Series(None, index=idx, dtype=object)
    ev = pd.Series(None, index=idx, dtype=object)
    if fail.any():
        other = best_other[pos[fail]]
        sim = best_sim[pos[fail]]
        parts = {
            "id": notes["note_id"].to_numpy()[other].astype(str).astype(object),
            "date": _date_text(notes["date_of_service"].iloc[other]).to_numpy().astype(object),
            "sim": np.char.mod("%.2f", sim).astype(object),
            "pct": np.floor(sim * 100).astype(int).astype(str).astype(object),
            "what": np.asarray(what, dtype=object)[pos[fail]],
        }

        def fill(template: str) -> np.ndarray:
            # A vectorised str.format: the template's literals and fields joined column-wise.
            out = np.full(len(other), "", dtype=object)
            for literal, field, _, _ in string.Formatter().parse(template):
                out = out + literal
                if field:
                    out = out + parts[field]
            return out

        same = sim >= 1.0
        msg[fail] = np.where(same, fill(identical), fill(message))
        passage = _shared_passage(text, pos[fail], other)
        if part is not None and part[1] is not None:
            on_part = part[0][pos[fail]]
            if on_part.any():
                passage[on_part] = _shared_passage(part[1], pos[fail][on_part], other[on_part])
        recorded = np.where(same, fill(identical_evidence), fill(evidence))
        ev[fail] = np.where(pd.isna(passage), recorded, passage)
    return outcome(
        idx, fail, msg, ev, applicable=applicable, not_evaluable=ne, not_evaluable_reason=reason
    )


_BANDS, _ROWS = 10, 3  # 30 of the 32 MinHash values; P(candidate | J=0.7) = 0.985


def _across_pairs(ctx, sh: Shingles, comparable: np.ndarray, days: int, neighbours: int):
    """Candidate (a, b) note pairs: same therapist, different patient, shared MinHash band bucket,
    within `days` of each other; each note is paired with the nearest other-patient runs only."""
    notes = ctx.notes
    cand = np.flatnonzero(comparable)
    if len(cand) < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    sig = sh.signature()
    therapist = pd.factorize(
        notes["therapist_id"].fillna(notes["therapist"]).fillna("").astype(str)
    )[0][cand]
    patient = pd.factorize(notes["patient_id"].fillna("").astype(str))[0][cand]
    dates = notes["date_of_service"].to_numpy(dtype="datetime64[ns]")[cand]
    day = (dates.astype("datetime64[D]").astype(np.int64)).astype(np.int64)
    if neighbours < 1:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    # Notes in date order (by therapist first: any order of groups would do).
    by_day = np.lexsort((np.arange(len(cand)), day, therapist))
    blocks = runs_of(therapist[by_day])  # each therapist's notes
    patient = patient.astype(np.int64, copy=False)
    out_a, out_b = [], []
    for band in range(_BANDS):
        bucket = np.zeros(len(cand), dtype=np.uint64)
        with np.errstate(over="ignore"):
            for j in range(band * _ROWS, (band + 1) * _ROWS):
                bucket *= _SHINGLE_MULT
                bucket += sig[cand, j]
        x, j = band_pairs(by_day, blocks, bucket, patient, day, days, neighbours)
        out_a.append(cand[x])
        out_b.append(cand[j])
    a = np.concatenate(out_a)
    b = np.concatenate(out_b)
    pairs = np.unique(np.stack([np.minimum(a, b), np.maximum(a, b)], axis=1), axis=0)
    return pairs[:, 0], pairs[:, 1]


@check_kind(
    "cloned_across_patients",
    topic="narrative",
    params={
        "threshold": Param(
            float,
            0.7,
            help="5-word shingle Jaccard similarity at or above which text is cloned (0.7: "
            "about 4% of the words changed, a word-count cosine of about 0.99)",
            maximum=1,
        ),
        "days": Param(int, 30, help="compare notes written within this many days of each other"),
        "min_words": Param(int, 20, help="texts shorter than this are not compared"),
        "sections": Param(
            list,
            ["assessment", "plan"],
            help="columns compared when exported; notes without them use the whole narrative",
        ),
        "neighbours": Param(
            int, 3, help="other-patient candidates examined per note and bucket", minimum=1
        ),
    },
)
def cloned_across_patients(ctx, idx: pd.Index, params: dict[str, Any]) -> CheckOutcome:
    """The same therapist does not write the same narrative for different patients."""
    threshold = float(params["threshold"])
    sections = params["sections"]
    sh = shingles(ctx, sections)
    notes = ctx.notes
    n = len(notes)
    comparable = sh.words >= int(params["min_words"])
    a, b = _across_pairs(ctx, sh, comparable, int(params["days"]), int(params["neighbours"]))
    best_sim = np.zeros(n)
    best_other = np.full(n, -1, dtype=np.int64)
    if len(a):
        a, b, sim = sh.similar(a, b, threshold)
        pairs = pd.DataFrame({"note": np.r_[a, b], "other": np.r_[b, a], "sim": np.r_[sim, sim]})
        pairs = pairs.sort_values(["note", "sim"]).drop_duplicates("note", keep="last")
        best_sim[pairs["note"].to_numpy()] = pairs["sim"].to_numpy()
        best_other[pairs["note"].to_numpy()] = pairs["other"].to_numpy()
    return _clone_outcome(
        ctx,
        idx,
        _compared_text(ctx, sections),
        comparable,
        best_other,
        best_sim,
        what=_compared_label(ctx, sections),
        message="{what} is {pct}% the same as another patient's note by the same therapist "
        "({id}, {date})",
        identical="{what} is identical to another patient's note by the same therapist "
        "({id}, {date})",
        evidence="similarity {sim} to note {id} of {date} (another patient)",
        identical_evidence="same text as note {id} of {date} (another patient)",
    )


# --------------------------------------------------------------------------------------------
# Goals (DOC-GOALS-MEASURABLE)
# --------------------------------------------------------------------------------------------

_HEADER_LINE = (
    r"^\s*(?P<head>[A-Za-z][A-Za-z0-9 /&()'’,.\-]{0,80}?)\s*:\s*(?P<rest>.*)$"
    # An upper-case line without a colon ("FUNCTIONAL OUTCOMES OF TREATMENT") is a header too.
    r"|^\s*(?P<caps>[A-Z][A-Z0-9 /&()'’,\-]{2,80})\s*$"
)
_TIME_FRAME_LINE = r"(?i)^\s*(?:time\s*frames?|target date|due)\s*:"
# Numbered items on one line ("1. ... 2. ..."), or goals run together with semicolons
# ("Goals: Pt will walk ...; pt will climb ..."): a part split off must say what "will" happen.
# Who a goal is for: the patient, or the family member who will carry it over at home
# ("Mother will demonstrate home practice ...", "Pt/daughter will verbalize ...").
_ACTOR = (
    r"(?:the )?(?:patient|pt|client|resident|child|student|caregiver|family|spouse|parents?|"
    r"mother|father|mom|dad|guardian|he|she|they)(?:/\w+)?"
)
# Unnumbered goals after one header, each its own sentence ("LTG: Pt will open jars ... Pt will
# knit for 30 min ..."), are split where the next sentence says who "will" do something.
_NEXT_GOAL = r"(?<=[.!?])\s+(?=" + _ACTOR + r"\s+will\b)"
# A number starts an item ("2. pt will ...", "(3) ..."); "3)" only after punctuation or before
# a goal ("3) Child will ..."), not where it closes a score in brackets ("(FOIS 6) w/o s/s").
_ITEM_START = r"(?:(?i:" + _ACTOR + r")\b|[A-Z(])"
_ITEM_SPLIT = (
    r"\s+(?=\(?\d{1,2}\.\s|\(\d{1,2}\)\s|\d{1,2}\)\s+" + _ITEM_START + r")"
    r"|(?<=[.;:,])\s+(?=\d{1,2}\)\s)"
    r"|;\s+(?=[^;]*\bwill\b)|(?i:" + _NEXT_GOAL + ")"
    # The plan written after the goals ("... 4/4 in 8 wks. Continue OT 1x/wk x 3 months.") is
    # split off (and dropped as a statement): its duration is not the goal's time frame.
    r"|(?<=[.!?])\s+(?=(?i:continue|cont\.?|con't)\s)"
)
# A goal header inside a line, after a sentence ("POC 2x/week x 8 weeks. LTG: pt will ...",
# "Prognosis good. STG (4 wks): 1. Pt will ...", "Cont OT 2x/wk. New STG (4 wks): Pt will"):
# the line is broken before it, so the header parser sees it as a header line.
_INLINE_HEADER_WORDS = (
    r"(?:(?:new|updated|revised|additional|current|initial|functional|treatment|therapy)\s+)?"
    r"(?:LTGs?|STGs?|(?:long|short)[- ]term goals?|goals?)\b[^:\n.]{0,30}:"
)
_INLINE_GOAL_HEADER = r"(?i)([.;!?])[ \t]+(" + _INLINE_HEADER_WORDS + ")"
_ITEM_BULLET = r"^\s*(?:\(?\d{1,2}[.)]|[-•*·]|[a-h][.)])\s*"
# An item that reports a goal's status and states no goal ("STG 1 UB dressing mod I - MET (SBA
# for buttons only)", "LTG 2 buttons - progressing"): a progress report's update, not a goal.
_STATUS_ITEM = (
    r"(?i)\b(?:met|not met|unmet|partially met|partly met|achieved|not achieved|progressing|"
    r"ongoing|continuing|discontinued|deferred|in progress)\b"
)
_SAYS_WILL = r"(?i)\bwill\b"


# A line that starts like a goal header, or a goal header after a sentence: only texts with
# one are parsed line by line.
_GOAL_HEADER_HINT = (
    r"(?m)^[^\n:]{0,40}\b(?:goals?|stgs?|ltgs?|objectives?|functional outcomes?)\b"
    r"|[.;!?][ \t]+" + _INLINE_HEADER_WORDS
)

# Goals written as prose, without a header ("A: ... Pt will ambulate 300 ft with SPC within 4
# weeks. P: ..."): a sentence in which the patient "will" do something by a time frame, or one
# that says what the goals are. Plan and prognosis sentences ("pt will benefit from", "will be
# seen 2x/week for 6 weeks", "will continue HEP") are not goals, nor is "PT will address ..."
# (the discipline, not the patient).
_PROSE_GOAL_HINT = (
    r"(?i)\b(?:"
    + _ACTOR
    + r"\s+will|(?:mr|mrs|ms|miss)\.?\s+\S+\s+will|goals? (?:is|are|include))\b"
)
_GOALS_ARE = (
    r"(?:(?:short|long)[- ]term |therapy |treatment |functional |our )?goals? (?:is|are|include)\b"
)
_SECTION_LABEL = r"^\W*(?:[A-Za-z][A-Za-z /]{0,24}:\s*)?"
_PROSE_GOAL = re.compile(
    _SECTION_LABEL + r"(?:(?:" + _ACTOR + r"|(?:mr|mrs|ms|miss)\.?\s+[a-z][\w'’-]+)\s+will\s+"
    r"(?!(?:not|benefit|be (?:seen|treated|discharged|re-?evaluated|reassessed|instructed|"
    r"educated|issued|given|provided|scheduled|contacted|referred|progressed|followed|monitored|"
    r"compliant)|continue|return to (?:the )?(?:clinic|therapy|md|physician|doctor)|follow|"
    r"receive|attend|need|require|have|see|call|remain|stay|take|start|begin|undergo|"
    r"be on|follow-?up|participate in (?:skilled )?(?:therapy|pt|ot|st|"
    r"treatment|sessions?)|(?:perform|do|complete) (?:(?:his|her|their|the) )?(?:hep|home "
    r"exercises?|exercises))\b)"
    r"|" + _GOALS_ARE + r")",
    re.IGNORECASE,
)
_DISCIPLINE_WILL = re.compile(_SECTION_LABEL + r"(?:PT|OT|ST|SLP)\s+will\b")
# Sentences end at ". " before a capital (not after a title: "Mrs. Jones") and at line breaks.
_SENTENCE_SPLIT = (
    r"(?<!Mr\.)(?<!Mrs\.)(?<!Ms\.)(?<!Dr\.)(?<=[.!?])\s+(?=[A-Z(])|\s*(?:\r\n|\r|\n)+\s*"
)


def goal_statements(text: pd.Series) -> pd.DataFrame:
    """Goal statements found under goal headers in note text, one row per goal.

    Recognises sections such as "SHORT-TERM GOALS TO BE COMPLETED IN 3 WEEKS:", "LTG (8 weeks):",
    "Goals:" (not "Patient's goal:"); a section ends at the next header or a blank line after
    its first item. Columns: ``row`` (index label of the text), ``goal`` (as written, without
    its number), ``header`` and ``section_time_frame`` (the header or a "Time frame:" line of
    the section gives a time frame).
    """
    columns = ["row", "goal", "header", "section_time_frame"]
    text = pd.Series(text).fillna("").astype(str)
    # Only notes with a line that starts like a goal header go through the line parser.
    quick = matches(to_arrow(text), _GOAL_HEADER_HINT)
    cand = text[quick]
    if cand.empty:
        return pd.DataFrame(columns=columns)
    # In Arrow (RE2, no look-behind): the sentence's end is kept, the blank becomes a newline.
    arr = pc.replace_substring_regex(to_arrow(cand), _INLINE_GOAL_HEADER, "\\1\n\\2")
    cand = pd.Series(pd.arrays.ArrowStringArray(arr), index=cand.index)
    lines = cand.str.split(r"\r\n|\r|\n", regex=True).explode()
    df = pd.DataFrame({"row": lines.index, "line": lines.fillna("").astype(str).to_numpy()})
    hdr = df["line"].str.extract(_HEADER_LINE)
    is_tf = df["line"].str.contains(_TIME_FRAME_LINE, regex=True)
    head = hdr["head"].fillna(hdr["caps"])
    is_header = (
        head.notna()
        & ~is_tf
        & (head.fillna("").str.count(r"\s+") < 12)
        & ~head.fillna("").str.contains(r"(?i)\b(?:will|is to|are to)\b", regex=True)
    ).to_numpy()
    blank = df["line"].str.strip().eq("").to_numpy()
    row_code = pd.factorize(df["row"])[0]
    hdr_sec = pd.Series(is_header).groupby(row_code).cumsum().to_numpy()
    item = ~blank & ~is_header & ~is_tf.to_numpy()
    items_since = pd.Series(item).groupby([row_code, hdr_sec]).cumsum().to_numpy()
    brk = is_header | (blank & (items_since > 0))
    sec = pd.Series(brk).groupby(row_code).cumsum().to_numpy()
    sec_head = (
        head.where(is_header).groupby([row_code, sec]).transform("first").fillna("").str.strip()
    )
    goal_re = phrases()["goal_section_header"]
    status_re = phrases()["goal_status_header"]
    is_goal = (
        sec_head.str.contains(goal_re, flags=re.IGNORECASE, regex=True)
        & ~sec_head.str.contains(status_re, flags=re.IGNORECASE, regex=True)
    ).to_numpy()
    tf_pat = phrases()["goal_parts"]["time_frame"]
    tf_hit = matches(to_arrow(df["line"]), tf_pat) & (is_header | is_tf.to_numpy())
    sec_tf = pd.Series(tf_hit).groupby([row_code, sec]).transform("any").to_numpy()
    item_text = df["line"].where(~is_header, hdr["rest"]).fillna("")
    keep = is_goal & ~is_tf.to_numpy() & item_text.str.strip().ne("").to_numpy()
    goals = pd.DataFrame(
        {
            "row": df["row"].to_numpy()[keep],
            "goal": item_text.to_numpy()[keep],
            "header": sec_head.to_numpy()[keep],
            "section_time_frame": sec_tf[keep],
        }
    )
    if goals.empty:
        return pd.DataFrame(columns=columns)
    goals["goal"] = goals["goal"].str.split(_ITEM_SPLIT, regex=True)
    goals = goals.explode("goal")
    goals["goal"] = goals["goal"].str.replace(_ITEM_BULLET, "", regex=True).str.strip()
    statement = goals["goal"].str.contains(phrases()["goal_not_a_goal"], flags=re.I, regex=True)
    # "STG 1 UB dressing mod I - MET": a goal's status, not a goal ("Pt will ... - met" is one).
    statement |= goals["goal"].str.contains(_STATUS_ITEM, regex=True) & ~goals["goal"].str.contains(
        _SAYS_WILL, regex=True
    )
    goals = goals[(goals["goal"].str.count(r"\w+") >= 2) & ~statement]
    return goals[columns].reset_index(drop=True)


def prose_goal_statements(text: pd.Series, untimed: bool = False) -> pd.DataFrame:
    """Goals written as sentences without a goal header (see _PROSE_GOAL), one row per goal,
    in goal_statements' columns: "Pt will ambulate 300 ft with a cane within 4 weeks."

    Only sentences with a time frame (or that say what the goals are) are taken, unless
    `untimed`: for a note that must set goals and has no other, "Pt will ..." sentences without
    a time frame are its goals (judged as missing one), not "no goals".
    """
    columns = ["row", "goal", "header", "section_time_frame"]
    text = pd.Series(text).fillna("").astype(str)
    cand = text[matches(to_arrow(text), _PROSE_GOAL_HINT)]
    if cand.empty:
        return pd.DataFrame(columns=columns)
    sentences = cand.str.split(_SENTENCE_SPLIT, regex=True).explode().dropna().astype(str)
    goal = sentences.map(_PROSE_GOAL.match).notna() & ~sentences.str.match(_DISCIPLINE_WILL)
    sentences = sentences[goal]
    if sentences.empty:
        return pd.DataFrame(columns=columns)
    timed = matches(to_arrow(sentences), phrases()["goal_parts"]["time_frame"])
    says_goals = sentences.str.contains(_SECTION_LABEL + _GOALS_ARE, case=False, regex=True)
    if not untimed:
        sentences = sentences[timed | says_goals.to_numpy()]
    goals = sentences.str.replace(_SECTION_LABEL, "", regex=True, n=1).str.strip()
    return pd.DataFrame(
        {"row": goals.index, "goal": goals.to_numpy(), "header": "", "section_time_frame": False}
    )[columns].reset_index(drop=True)


# Numbers that are not a criterion: a date ("by 10/01/2026" is a time frame), the number in
# a test's name ("complete the 6-minute walk test" sets no target; "... for 1500 ft" does) and
# a count of time spans ("2 in 3 weeks": 'in' is not inches there).
_NOT_A_CRITERION = (
    r"(?i)\b\d{1,2}/\d{1,2}/\d{2,4}\b|\b(?:by|on|before|until)\s+\d{1,2}/\d{1,2}\b"
    r"|\b(?:\d+|two|five|six|ten|nine|thirty)[\s-]*(?:minutes?|min|meters?|metres?|m|seconds?|"
    r"sec|s|times?|x|hole)[\s-]*(?:walk(?:ing)?|step|chair[\s-]*stand|sit[\s-]*to[\s-]*stands?|"
    r"sts|peg)[\s-]*(?:tests?|board)\b"
    r"|\b\d+\s+in\s+(?:the\s+next\s+)?(?:\d+|one|two|three|four|six|eight)\s*"
    r"(?:days?|wks?|weeks?|months?|mos?)\b"
)
# "Reach" that is not the activity of reaching: "reach R shoulder flexion of 150 deg" states an
# impairment target (the activity is what the range is for: "... to reach the top shelf").
_NOT_AN_ACTIVITY = (
    r"(?i)\breach(?:es|ed|ing)?\s+(?:[\w/+-]+\s+){0,4}?(?:flexion|extension|abduction|"
    r"adduction|rotation|er|ir|a?a?rom|prom|range of motion|strength|mmt)\b"
    r"|\breach(?:es|ed|ing)?\s+(?:a\s+)?\d+(?:\.\d+)?\s*(?:deg|°|/\s*5\b)"
)


# Instruments of the outcome-measure table that measure pain, not function: a target on one
# ("NPRS 2/10 or less") is not a functional activity.
_PAIN_INSTRUMENTS = ("NPRS",)


@lru_cache(maxsize=1)
def _instrument_activity() -> str:
    """Any standardized instrument the tool knows as an outcome measure (data/instruments.csv:
    Berg, LEFS, FOIS, WAB, SLUMS, GFTA, ...) other than pain scales: a goal that sets a target
    on one states function measurably, whichever discipline's test it is."""
    from ..instruments import builtin_thresholds, instrument_name_pattern

    table = builtin_thresholds()
    return instrument_name_pattern(table[~table["instrument"].isin(_PAIN_INSTRUMENTS)])


def goal_parts(goals: pd.Series, time_frame_known: np.ndarray | None = None) -> pd.DataFrame:
    """Which of actor, functional activity, condition, measurable criterion and time frame
    each goal states (boolean frame aligned to `goals`)."""
    parts = phrases()["goal_parts"]
    arr = to_arrow(pd.Series(goals))
    out = pd.DataFrame(index=pd.Series(goals).index)
    masked = {
        "measure": pc.replace_substring_regex(arr, _NOT_A_CRITERION, " "),
        "activity": pc.replace_substring_regex(arr, _NOT_AN_ACTIVITY, " "),
    }
    for part in GOAL_PARTS:
        out[part] = matches(masked.get(part, arr), parts[part])
    out["activity"] |= matches(masked["activity"], _instrument_activity())
    if time_frame_known is not None:
        out["time_frame"] |= np.asarray(time_frame_known, dtype=bool)
    return out


def shorten(text: pd.Series, width: int = 90) -> pd.Series:
    """Text on one line, at most `width` characters: a cut one ends with "…"."""
    text = text.astype(str).str.replace(r"\s+", " ", regex=True).str.strip()
    long = text.str.len() > width
    return text.where(~long, text.str.slice(0, width - 1) + "…")


@check_kind(
    "goals_measurable",
    params={
        "require": Param(
            list,
            ["actor", "activity", "measure", "time_frame"],
            help="goal parts required: actor, activity, condition, measure, time_frame",
        ),
        "require_goals_on": Param(
            list, ["evaluation"], help="note types that fail when they set no goals at all"
        ),
    },
    reads=("goals.target_date",),
)
def goals_measurable(ctx, idx: pd.Index, params: dict[str, Any]) -> CheckOutcome:
    """Goals state who will do what functional activity, how well (measurably) and by when."""
    require = chosen_parts(params, "require", GOAL_PARTS, "goal part(s)")
    notes = ctx.notes
    pos = ctx.positions(idx)
    goals = note_goals(ctx, pos)
    note_type = notes["note_type"].to_numpy()[pos]
    must_have = np.isin(note_type, list(params["require_goals_on"]))
    # An instrumental swallow study report sets no goals of its own (see instrumental_study).
    must_have &= ~instrumental_study(ctx)[pos]
    text_ok = text_exported(ctx)
    if text_ok:
        # A note that must set goals and has none but "Pt will ..." sentences without a time
        # frame: those are its goals, reported as lacking one (never "no goals documented").
        bare = pos[must_have & ~np.isin(pos, goals["pos"].to_numpy())]
        bare = bare[matches_in(ctx, notes.index[bare], _PROSE_GOAL_HINT)]
        if len(bare):
            found = prose_goal_statements(notes["narrative"].iloc[bare], untimed=True)
            if len(found):
                parts = goal_parts(found["goal"])
                at = notes.index.get_indexer(found["row"])
                goals = pd.concat([goals, _with_parts(at, found["goal"], parts, "text")])
                goals = goals.reset_index(drop=True)
    missing = ~goals[require]
    goals = goals.assign(bad=missing.any(axis=1).to_numpy())
    per_note = goals.groupby("pos").agg(n=("bad", "size"), bad=("bad", "sum"))
    n_goals = per_note["n"].reindex(pos, fill_value=0).to_numpy()
    n_bad = per_note["bad"].reindex(pos, fill_value=0).to_numpy()
    goals_table = ctx.table("goals") is not None
    blank = blank_text(ctx, idx) if text_ok else np.ones(len(idx), dtype=bool)
    ne = (n_goals == 0) & (not goals_table) & blank
    none_set = (n_goals == 0) & must_have & ~ne
    applicable = (n_goals > 0) | must_have | ne
    fail = (n_bad > 0) | none_set
    message = pd.Series(None, index=idx, dtype=object)
    evidence = pd.Series(None, index=idx, dtype=object)
    if none_set.any():
        message[none_set] = "No goals documented (no goals rows and no goal section in the note)"
        evidence[none_set] = "no goals"
    if (n_bad > 0).any():
        bad = goals[goals["bad"]].copy()
        bad_missing = missing.loc[bad.index]
        lacks = join_labels(bad_missing, GOAL_PART_LABELS)
        bad["desc"] = '"' + shorten(bad["goal"]) + '" (missing ' + lacks + ")"
        bad["rank"] = bad.groupby("pos").cumcount()
        shown = bad[bad["rank"] < 3].groupby("pos")["desc"].agg("; ".join)
        first = bad.groupby("pos")["goal"].first()
        has_bad = n_bad > 0
        label = pd.Series(pos[has_bad], index=idx[has_bad])
        more = n_bad[has_bad] - 3
        extra = np.where(more > 0, " … and " + more.astype(str) + " more", "")
        message[has_bad] = (
            n_bad[has_bad].astype(str)
            + " of "
            + n_goals[has_bad].astype(str)
            + " goals not measurable/functional: "
            + label.map(shown).to_numpy()
            + extra
        )
        evidence[has_bad] = label.map(first).str.strip().to_numpy()
    return outcome(
        idx,
        fail,
        message,
        evidence,
        applicable=applicable,
        not_evaluable=ne,
        not_evaluable_reason=(
            "the export has no goals table and the note has no text"
            if text_ok
            else "the export has neither a goals table nor note text"
        ),
    )


def _with_parts(pos: np.ndarray, goal: pd.Series, parts: pd.DataFrame, source: str):
    frame = pd.DataFrame({"pos": pos, "goal": goal.to_numpy(), "source": source})
    return pd.concat([frame, parts.reset_index(drop=True)], axis=1)


def _table_goals(ctx) -> pd.DataFrame:
    """Goals-table rows attributed to notes (rows without a note: the episode's first eval)."""
    notes = ctx.notes
    table = ctx.table("goals")
    if table is None or not len(table):
        return _with_parts(
            np.zeros(0, np.int64), pd.Series([], dtype=object), goal_parts(pd.Series([])), "goals"
        )
    g = table[filled(table["text"])]
    pos = pd.to_numeric(g["note_idx"], errors="coerce")
    lost = pos.isna() & g["episode_id"].notna()
    if lost.any():
        evals = notes["note_type"].isin(["evaluation", "re_evaluation"]).to_numpy()
        first = (
            pd.DataFrame(
                {
                    "episode": notes["episode_id"].to_numpy()[evals],
                    "date": notes["date_of_service"].to_numpy()[evals],
                    "pos": np.flatnonzero(evals),
                }
            )
            .sort_values(["date", "pos"])
            .drop_duplicates("episode")
            .set_index("episode")["pos"]
        )
        pos = pos.where(~lost, g["episode_id"].map(first))
    g, pos = g[pos.notna()], pos[pos.notna()].astype(np.int64)
    parts = goal_parts(g["text"], g["target_date"].notna().to_numpy())
    parts["measure"] |= filled(g["target"]).to_numpy()  # a structured target is a criterion
    return _with_parts(pos.to_numpy(), g["text"], parts, "goals")


def note_goals(ctx, pos: np.ndarray | None = None) -> pd.DataFrame:
    """Goals attributed to notes (all, or those at row positions `pos`), with their parts.

    Goals-table rows come first; a note without any falls back to the goal sections of its
    text, and a note without a goal section to its goal sentences. Columns: pos (row position
    of the note), goal, source ('goals' | 'text') and one boolean column per goal part.
    """
    from_table = ctx.cached("text.table_goals", lambda: _table_goals(ctx))
    wanted = np.arange(len(ctx.notes)) if pos is None else np.unique(pos)
    frames = [from_table[from_table["pos"].isin(wanted)]]
    if text_exported(ctx):
        wanted = wanted[~np.isin(wanted, from_table["pos"].to_numpy())]
        # Searched in place first: only the few narratives with a goal header are copied out.
        wanted_headed = wanted[matches_in(ctx, ctx.notes.index[wanted], _GOAL_HEADER_HINT)]
        found = goal_statements(ctx.notes["narrative"].iloc[wanted_headed])
        # Notes with no goal section may state their goals as sentences.
        rest = wanted[~np.isin(wanted, ctx.notes.index.get_indexer(found["row"]))]
        rest = rest[matches_in(ctx, ctx.notes.index[rest], _PROSE_GOAL_HINT)]
        if len(rest):
            found = pd.concat(
                [found, prose_goal_statements(ctx.notes["narrative"].iloc[rest])],
                ignore_index=True,
            )
        if len(found):
            parts = goal_parts(found["goal"], found["section_time_frame"].to_numpy())
            at = ctx.notes.index.get_indexer(found["row"])
            frames.append(_with_parts(at, found["goal"], parts, "text"))
    out = pd.concat(frames, ignore_index=True)
    out = out.astype({"pos": np.int64, **{p: bool for p in GOAL_PARTS}})
    lacking = np.flatnonzero(~out["actor"].to_numpy(bool)) if len(out) else []
    if len(lacking) and ctx.has("notes.patient_name"):
        # Only goals without another actor are looked at: most say "Pt will".
        named = _names_the_patient(ctx, out.iloc[lacking].reset_index(drop=True))
        out.iloc[lacking[named], out.columns.get_loc("actor")] = True
    return out


def _names_the_patient(ctx, goals: pd.DataFrame) -> np.ndarray:
    """Goals whose first word is the patient's first or last name ("Maria will ambulate ..."):
    the name is the actor, as much as "the patient" is."""
    name = ctx.notes["patient_name"].iloc[goals["pos"].to_numpy()].astype("string")
    # "Garcia, Maria" or "Maria Garcia": any part of the name may lead the goal.
    words = name.str.lower().str.findall(r"[^\W\d_][\w'’-]+").reset_index(drop=True).explode()
    lead = goals["goal"].astype("string").str.lower().str.extract(r"^\W*([^\W\d_][\w'’-]+)")[0]
    lead = lead.to_numpy(dtype=object, na_value="")
    same = pd.Series(words.to_numpy(dtype=object) == lead[words.index.to_numpy()])
    return (
        same.groupby(words.index.to_numpy())
        .any()
        .reindex(range(len(goals)), fill_value=False)
        .to_numpy()
    )


# --------------------------------------------------------------------------------------------
# DOC-DISCHARGE
# --------------------------------------------------------------------------------------------


@check_kind(
    "discharge_content",
    supervisor_duty="the discharge summary is {who} to write",
    params={
        "require": Param(
            list, list(DISCHARGE_PARTS), help="discharge summary parts: goal_status, reason, plan"
        ),
        "inactive_days": Param(
            int,
            60,
            help="an episode with no visit for this many days before the audit date and no "
            "discharge summary fails on its last note (0 turns this off)",
        ),
    },
)
def discharge_content(ctx, idx: pd.Index, params: dict[str, Any]) -> CheckOutcome:
    """Discharge summaries state goal status, reason and plan; inactive episodes get one."""
    require = chosen_parts(params, "require", DISCHARGE_PARTS, "part(s)")
    notes = ctx.notes
    pos = ctx.positions(idx)
    is_dc = notes["note_type"].to_numpy()[pos] == "discharge"
    cues = phrases()["discharge"]
    # Only discharge summaries are read for content.
    dc = np.flatnonzero(is_dc)
    present = pd.DataFrame(False, index=idx, columns=require)
    for part in require:
        present.iloc[dc, present.columns.get_loc(part)] = matches_in(ctx, idx[dc], cues[part])
    goals = ctx.table("goals")
    if "goal_status" in require and goals is not None and len(goals):
        with_status = pd.to_numeric(goals["note_idx"][goals["status"].notna()], errors="coerce")
        present["goal_status"] |= np.isin(pos, with_status.dropna().astype(np.int64).to_numpy())
    ne_text, reason = not_evaluable_for_text(ctx, idx)
    ne = is_dc & ne_text
    missing = ~present
    content_fail = is_dc & missing.any(axis=1).to_numpy() & ~ne
    # Episodes gone quiet without a discharge summary fail on their last note.
    days = int(params["inactive_days"])
    stale_last = np.zeros(len(notes), dtype=bool)
    last_date = pd.Series(pd.NaT, index=notes.index)
    if days > 0 and len(notes):
        episode = notes["episode_id"].fillna("").astype(str).to_numpy()
        order = np.lexsort(
            (np.arange(len(notes)), notes["date_of_service"].to_numpy(dtype="datetime64[ns]"))
        )
        frame = pd.DataFrame(
            {
                "ep": episode[order],
                "pos": order,
                "dc": notes["note_type"].to_numpy()[order] == "discharge",
                "date": notes["date_of_service"].to_numpy()[order],
            }
        )
        per_ep = frame.groupby("ep", sort=False).agg(
            last=("pos", "last"), dc=("dc", "any"), date=("date", "max")
        )
        stale = ~per_ep["dc"] & ((ctx.as_of - per_ep["date"]).dt.days >= days)
        stale_last[per_ep.loc[stale, "last"].to_numpy()] = True
        last_date.iloc[per_ep["last"].to_numpy()] = per_ep["date"].to_numpy()
    stale_fail = stale_last[pos] & ~is_dc
    applicable = is_dc | stale_fail
    fail = content_fail | stale_fail
    message = pd.Series(None, index=idx, dtype=object)
    evidence = pd.Series(None, index=idx, dtype=object)
    if content_fail.any():
        lacks = join_labels(missing[content_fail], DISCHARGE_LABELS)
        message[content_fail] = "Discharge summary does not state: " + lacks
        evidence[content_fail] = "missing: " + lacks
    if stale_fail.any():
        last = _date_text(last_date.iloc[pos[stale_fail]])
        quiet = (ctx.as_of - last_date.iloc[pos[stale_fail]]).dt.days.astype(str)
        message[stale_fail] = (
            "Episode has had no visit since "
            + last.to_numpy()
            + " ("
            + quiet.to_numpy()
            + f" days before {ctx.as_of:%Y-%m-%d}) and no discharge summary"
        )
        evidence[stale_fail] = "last visit " + last.to_numpy()
    return outcome(
        idx,
        fail,
        message,
        evidence,
        applicable=applicable,
        not_evaluable=ne,
        not_evaluable_reason=reason,
    )


# --------------------------------------------------------------------------------------------
# Instrumental swallow studies (not judged as evaluations)
# --------------------------------------------------------------------------------------------

# Motion fluoroscopic swallow study (MBSS/VFSS) and the FEES family: diagnostic procedures
# whose report states findings and recommendations, not a plan of care with goals.
INSTRUMENTAL_SWALLOW_CODES = ("92611", "92612", "92614", "92616")
# The study reported as done ("Modified barium swallow study was performed"), not one that is
# recommended or "needs to be completed" in an evaluation's plan.
_STUDY_NAME = (
    r"(?i)\b(?:modified barium swallow(?:ing)?|video\s?fluoroscopic swallow(?:ing)?|"
    r"(?:fiber\s?optic|flexible) endoscopic evaluation of swallowing|mbss?|vfss|fees(?:st)?)"
    r"(?:\s+(?:study|studies|evaluation|exam|examination|test))?"
    r"(?:\s*\([a-z]{2,8}\))?"  # "videofluoroscopic swallow study (VFSS) was completed"
    r"\s+(?:was|were)\s+(?:performed|completed|conducted|administered|done)\b"
)
# ... but one done before, which an evaluation cites: "was completed on 08/28/2026 at St.
# Mary's", "was done 3 weeks ago" (not "was performed at bedside").
_STUDY_EARLIER = (
    _STUDY_NAME + r"\s+(?:on\s+\d|in\s+(?:\d|january|february|march|april|may|june|july|"
    r"august|september|october|november|december)|last\s|\d+\s+(?:days?|weeks?|months?)"
    r"\s+ago)"
)
_STUDY_NOTE_TYPES = ("evaluation", "re_evaluation")


def _count(arr: pa.Array, pattern: str) -> np.ndarray:
    """Matches of an RE2 pattern in each text (0 for a null)."""
    counts = pc.count_substring_regex(arr, pattern=pattern.removeprefix("(?i)"), ignore_case=True)
    return counts.fill_null(0).to_numpy(zero_copy_only=False)


def instrumental_study(ctx) -> np.ndarray:
    """Per note: an instrumental swallow study report (MBSS/VFSS, FEES) that sets no goals.

    Such a report (billed as 92611/92612/92614/92616, or, without service lines, saying the
    study was performed) is exported as an evaluation, but it is a diagnostic procedure: it
    carries no plan of care, goals or baseline outcome measure of its own, and the evaluation
    items do not apply. A study written up together with a speech-language evaluation that
    sets goals is judged as an evaluation, and so is an evaluation that cites a study done
    before.
    """

    def build() -> np.ndarray:
        notes = ctx.notes
        n = len(notes)
        study = np.zeros(n, dtype=bool)
        if "note_type" not in notes.columns or n == 0:
            return study
        evaluation = notes["note_type"].isin(_STUDY_NOTE_TYPES).to_numpy(dtype=bool)
        if not evaluation.any():
            return study
        billed = np.zeros(n, dtype=bool)  # a note with service lines: its codes decide
        svc = ctx.table("services")
        if svc is not None and len(svc) and {"note_idx", "cpt_code"} <= set(svc.columns):
            owner = svc["note_idx"].to_numpy(dtype=np.int64)
            linked = owner >= 0
            billed[owner[linked]] = True
            linked[linked] = evaluation[owner[linked]]
            code = svc["cpt_code"][linked].astype("string").str.strip()
            study[owner[linked][code.isin(INSTRUMENTAL_SWALLOW_CODES).to_numpy(dtype=bool)]] = True
        if text_exported(ctx) and "discipline" in notes.columns:
            # Speech-language pathologists perform and report these studies. Unbilled, the
            # note is a study report when it says a study was done other than one it cites
            # as done before.
            slp = notes["discipline"].eq("SLP").fillna(False).to_numpy(dtype=bool)
            rest = np.flatnonzero(evaluation & slp & ~billed)
            done = _over_text(ctx, notes.index[rest], lambda a: _count(a, _STUDY_NAME))
            earlier = _over_text(ctx, notes.index[rest], lambda a: _count(a, _STUDY_EARLIER))
            if done:
                study[rest[np.concatenate(done) > np.concatenate(earlier)]] = True
        candidates = np.flatnonzero(study)
        if len(candidates):
            with_goals = np.unique(note_goals(ctx, candidates)["pos"].to_numpy())
            study[with_goals] = False
        return study

    return ctx.cached("text.instrumental_study", build)


# --------------------------------------------------------------------------------------------
# DOC-EVAL-CONTENT
# --------------------------------------------------------------------------------------------


# What a child's evaluation is missing when it states no history of the concern.
PEDIATRIC_HISTORY_LABEL = "onset, developmental history or current function"


def pediatric(ctx, idx: pd.Index) -> np.ndarray:
    """Per note in idx: the patient is a child, by the note's wording (an age under 18, school
    or pediatric words, "Child presents ...") or a developmental diagnosis code."""
    cues = phrases()["evaluation"]
    child = matches_in(ctx, idx, cues["pediatric"])
    if "diagnosis_codes" in ctx.notes.columns:
        prefixes = "|".join(re.escape(c) for c in cues["pediatric_icd10"])
        codes = ctx.notes.loc[idx, "diagnosis_codes"].astype("string").fillna("").str.upper()
        child |= codes.str.contains(rf"(?:^|[^A-Z0-9.])(?:{prefixes})", regex=True).to_numpy(bool)
    return child


@check_kind(
    "evaluation_content",
    params={
        "require": Param(
            list,
            list(EVAL_PARTS),
            help="evaluation parts: diagnosis, history (prior level of function or onset; for a "
            "child the developmental history or current function), prognosis (with a time "
            "frame); function (prior level, onset or current function: any one) instead of "
            "history is more lenient; prior_function, onset or current_function require that "
            "description itself",
        ),
    },
    reads=("notes.poc_end",),
)
def evaluation_content(ctx, idx: pd.Index, params: dict[str, Any]) -> CheckOutcome:
    """Evaluations state diagnosis, history (prior level/onset) and a timed prognosis."""
    allowed = EVAL_PARTS + ("function",) + FUNCTION_PARTS
    require = chosen_parts(params, "require", allowed, "part(s)")
    notes = ctx.notes.loc[idx, ["diagnosis_codes", "duration", "poc_end"]]
    cues = phrases()["evaluation"]

    def has(*names: str) -> np.ndarray:
        return matches_in(ctx, idx, [p for name in names for p in cues[name]])

    present = pd.DataFrame(index=idx)
    if "diagnosis" in require:
        present["diagnosis"] = has("diagnosis") | filled(notes["diagnosis_codes"]).to_numpy()
    child = np.zeros(len(idx), dtype=bool)
    if "history" in require:
        # A child has no prior level of function: the history of the concern or a description
        # of current function stands in.
        child = pediatric(ctx, idx)
        history = has("prior_function", "onset")
        young = np.flatnonzero(child & ~history)
        if len(young):
            history[young] = matches_in(
                ctx, idx[young], cues["developmental_history"] + cues["current_function"]
            )
        present["history"] = history
    if "function" in require:
        present["function"] = has(*FUNCTION_PARTS)  # one pass for all three
    for part in FUNCTION_PARTS:
        if part in require:
            present[part] = has(part)
    if "prognosis" in require:
        timed = (
            has("time_frame")
            | filled(notes["duration"]).to_numpy()
            | notes["poc_end"].notna().to_numpy()
        )
        present["prognosis"] = has("prognosis") & timed
    ne, reason = not_evaluable_for_text(ctx, idx)
    missing = ~present
    fail = missing.any(axis=1).to_numpy() & ~ne
    if "function" in missing:
        # No description of function at all: its label already names all three.
        named = missing.columns.intersection(FUNCTION_PARTS + ("history",))
        missing.loc[missing["function"], named] = False
    if "history" in missing:
        # Prior level of function or onset required on its own: named instead.
        named = missing.columns.intersection(("prior_function", "onset"))
        if len(named):
            missing.loc[missing[named].any(axis=1), "history"] = False
    message = pd.Series(None, index=idx, dtype=object)
    evidence = pd.Series(None, index=idx, dtype=object)
    if fail.any():
        lacks = join_labels(missing[fail], EVAL_LABELS)
        if "history" in missing and child[fail].any():
            young = join_labels(missing[fail], {**EVAL_LABELS, "history": PEDIATRIC_HISTORY_LABEL})
            lacks = lacks.where(~child[fail], young)
        message[fail] = "Evaluation does not state: " + lacks
        evidence[fail] = "missing: " + lacks
    return outcome(
        idx,
        fail,
        message,
        evidence,
        applicable=~instrumental_study(ctx)[ctx.positions(idx)],
        not_evaluable=ne,
        not_evaluable_reason=reason,
    )
