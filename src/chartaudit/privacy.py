"""--redact: stable keyed pseudonyms for patients, episodes and authorizations, names masked in
free text."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from platformdirs import user_data_dir

MASK = "[patient]"
RELATIVE_MASK = "[relative]"
# A name written right after a relation word ("her daughter Rosalind Nightingale", "wife:
# Mary") is a relative's, whose name the export does not list: the capitalised words go.
_RELATION = (
    r"(?i:\b(?:daughter|son|wife|husband|spouse|partner|mother|father|mom|mum|dad|sister"
    r"|brother|niece|nephew|aunt|uncle|cousin|grandson|granddaughter|grandmother|grandfather"
    r"|grandchild|stepdaughter|stepson|caregiver|carer|friend|neighbou?r|fianc[eé]e?|guardian)"
    r"(?:-in-law)?\b)"
)
_RELATIVE_NAME = r"\p{Lu}\p{L}[\p{L}'’-]*"
# "wife Maria", "son's friend Bo", "daughter, Jo Ann Smith,", "caregiver (named Ann Lee)".
_RELATIVE = (
    f"({_RELATION}(?:['’]s)?\\s*[,:(]?\\s*(?:named\\s+)?)"
    f"({_RELATIVE_NAME}(?:\\s+{_RELATIVE_NAME}){{0,2}})"
)
_TITLES = {"mr", "mrs", "ms", "miss", "dr", "jr", "sr", "ii", "iii", "iv"}
_WORD = re.compile(r"[^\W\d_][\w'’-]*")


def installation_key() -> bytes:
    """A per-installation secret kept in the user's data directory (created on first use)."""
    env = os.environ.get("CHARTAUDIT_REDACT_KEY")
    if env:
        return env.encode()
    path = Path(user_data_dir("chartaudit", appauthor=False)) / "redact.key"
    if path.is_file():
        return path.read_bytes().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32).encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
    return key


class Redactor:
    """Turns patient identifiers into pseudonyms and masks patient names in text.

    Authorization reference numbers (`auth_ids`, the authorizations table's auth_id) are
    identifiers too: a payer's number often embeds the episode or member id, which would link
    a pseudonym back to the patient.
    """

    def __init__(
        self, key: str | bytes | None, notes: pd.DataFrame, auth_ids: pd.Series | None = None
    ) -> None:
        self.key = key.encode() if isinstance(key, str) else (key or installation_key())
        self._ids = self._table(notes["patient_id"], "P")
        self._episodes = self._table(notes["episode_id"], "E")
        self._lower_words, self._names = self._name_forms(notes)
        # Longest first, so "MRN0045" never masks the front of "MRN004512".
        self._raw_ids = _long_ids(notes["patient_id"])
        self.raw_auth_ids = _long_ids(auth_ids) if auth_ids is not None else []

    def _pseudo(self, value: str, prefix: str) -> str:
        digest = hmac.new(self.key, f"{prefix}:{value}".encode(), hashlib.sha256).hexdigest()
        return f"{prefix}-{digest[:10].upper()}"

    def _table(self, values: pd.Series, prefix: str) -> dict[str, str]:
        return {str(v): self._pseudo(str(v), prefix) for v in values.dropna().unique()}

    @staticmethod
    def _name_forms(notes: pd.DataFrame) -> tuple[set[str], set[str]]:
        """(the words of the names in lower case; those words as names are written).

        A run of two or more name words is masked in any case ("ann lee", "LEE, ANN"). A
        single word of a name only as a name is written: as in the export, capitalised or in
        capitals ("Walker", "WALKER"), so a surname that is also a word ("walker", "progress",
        "hand") leaves the word in the chart text alone.
        """
        if "patient_name" not in notes or notes["patient_name"].isna().all():
            return set(), set()
        lower: set[str] = set()
        words: set[str] = set()
        for name in notes["patient_name"].dropna().unique():
            for w in _WORD.findall(str(name)):
                # "O'Neil-Park" is masked whole and as "O'Neil", "Neil" and "Park".
                parts = {w, *re.split(r"[-'’]", w), *w.split("-")}
                for part in parts:
                    if len(part) >= 2 and part.lower() not in _TITLES:
                        lower.add(part.lower())
                        words |= {part, part[:1].upper() + part[1:].lower(), part.upper()}
        return lower, words

    def patient_ids(self, values: pd.Series) -> pd.Series:
        return values.astype(object).map(self._ids)

    def episode_ids(self, values: pd.Series) -> pd.Series:
        return values.astype(object).map(self._episodes)

    def auth_ids(self, values: pd.Series) -> pd.Series:
        """'A-3F…' for each authorization id (NA stays NA)."""
        out = values.astype(object)
        return out.map(lambda v: self._pseudo(str(v), "A"), na_action="ignore")

    def text(self, values: pd.Series) -> pd.Series:
        """Mask patient names, relatives' names (after a relation word) and raw patient ids
        wherever they occur in free text."""
        out = values.astype(object)
        mask = out.notna().to_numpy(dtype=bool)
        if not mask.any():
            return out
        arr = pa.array(out[mask].astype(str).to_numpy(dtype=object), type=pa.large_string())
        # Relatives first: "daughter Jo Ann Lee" is masked whole, not around the patient's "Ann".
        arr = pc.replace_substring_regex(arr, _RELATIVE, f"\\1{RELATIVE_MASK}")
        arr = _replace_runs(arr, _longest_first(self._lower_words), f"{MASK} {MASK}")
        arr = _replace_all(arr, _longest_first(self._names), MASK, False)
        arr = _replace_ids(arr, self._raw_ids, "[patient id]")
        arr = _replace_ids(arr, self.raw_auth_ids, "[auth id]")
        for pattern, replacement in _OTHER_IDENTIFIERS:
            arr = pc.replace_substring_regex(arr, pattern, replacement)
        result = out.copy()
        result[mask] = np.asarray(arr.to_pylist(), dtype=object)
        return result

    def text_one(self, value: str) -> str:
        return self.text(pd.Series([value])).iat[0]


# Other identifiers chart text holds (HIPAA Safe Harbor: telephone numbers, e-mail addresses,
# social security numbers, birth dates), in RE2 syntax; relatives' names are _RELATIVE above.
_OTHER_IDENTIFIERS = [
    (r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", "[email]"),
    (r"(^|[^\p{N}])\d{3}-\d{2}-\d{4}([^\p{N}]|$)", "\\1[ssn]\\2"),
    (
        r"(^|[^\p{N}])(?:\+?1[\s.-]?)?\(?\d{3}\)?[\s.-]?\d{3}[\s.-]\d{4}([^\p{N}]|$)",
        "\\1[phone]\\2",
    ),
    (
        r"(?i)(\b(?:dob|d\.o\.b\.|date of birth|born(?: on)?)\s*[:#-]?\s*)"
        r"(?:\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}|\d{4}-\d{2}-\d{2}|\p{L}+\.? \d{1,2},? \d{4})",
        "\\1[date of birth]",
    ),
]


def auth_ids(export) -> pd.Series | None:
    """The export's authorization ids, of its authorizations table and of the authorization
    rows rejected at load (None when it has neither)."""
    parts = []
    table = export.table("authorizations")
    if table is not None and "auth_id" in table.columns:
        parts.append(table["auth_id"])
    rejected = export.rejected
    if rejected is not None and "auth_id" in rejected.columns:
        parts.append(rejected["auth_id"])
    return pd.concat(parts, ignore_index=True).astype(object) if parts else None


def _long_ids(values: pd.Series) -> list[str]:
    """The distinct ids of at least 3 characters (shorter ones would mask ordinary words and
    numbers), longest first so "MRN0045" never masks the front of "MRN004512"."""
    ids = {str(x) for x in values.dropna().unique()}
    return sorted((i for i in ids if len(i) >= 3), key=len, reverse=True)


def _longest_first(words: set[str]) -> list[str]:
    # "Ann Lee-Smith" before "Ann Lee": an alternation takes the first that matches.
    return sorted(words, key=lambda w: (-len(w), w))


_RE2_SPECIAL = set(".^$*+?()[]{}|\\")
# Letters and digits (any script): a match must not sit inside a longer word or id.
_EDGE_LEFT = r"(^|[^\p{L}\p{N}])"
_EDGE_RIGHT = r"([^\p{L}\p{N}]|$)"


def _re2_escape(word: str) -> str:
    return "".join("\\" + c if c in _RE2_SPECIAL else c for c in word)


def _replace_all(
    arr: pa.Array, words: list[str], replacement: str, ignore_case: bool, chunk: int = 1500
) -> pa.Array:
    """Replace whole-word occurrences of `words` in every string, in Arrow (RE2, linear time).

    Words go in chunks of alternations (RE2 compiles each to one automaton); two passes per
    chunk because a match consumes the separator before the next word ("Ann Lee").
    """
    flags = "(?i)" if ignore_case else ""
    for i in range(0, len(words), chunk):
        alternation = "|".join(_re2_escape(w) for w in words[i : i + chunk])
        pattern = f"{flags}{_EDGE_LEFT}(?:{alternation}){_EDGE_RIGHT}"
        for _ in range(2):
            arr = pc.replace_substring_regex(arr, pattern, f"\\1{replacement}\\2")
    return arr


def _replace_runs(arr: pa.Array, words: list[str], replacement: str, chunk: int = 3000) -> pa.Array:
    """Replace runs of two or more of `words` (any case; separated by spaces or a comma, as in
    "ann lee" or "Lee, Ann") in every string. One automaton for all the words, so its size
    grows with the distinct name words, not with the patients; past `chunk` words a run is
    found only among the words of one chunk."""
    for i in range(0, len(words), chunk):
        word = "(?:" + "|".join(_re2_escape(w) for w in words[i : i + chunk]) + ")"
        pattern = f"(?i){_EDGE_LEFT}{word}(?:(?:\\s+|\\s*,\\s*){word})+{_EDGE_RIGHT}"
        arr = pc.replace_substring_regex(arr, pattern, f"\\1{replacement}\\2")
    return arr


def _replace_ids(arr: pa.Array, ids: list[str], replacement: str) -> pa.Array:
    """_replace_all of the patient ids, run only on the texts where one can be: a text holding
    an id holds its first three characters after a word's edge. Tens of thousands of ids take
    dozens of passes over every text, and few texts (a message, an excerpt) hold one."""
    if not ids or not len(arr):
        return arr
    starts = "|".join(_re2_escape(p) for p in sorted({i[:3] for i in ids}))
    maybe = pc.fill_null(pc.match_substring_regex(arr, f"{_EDGE_LEFT}(?:{starts})"), False)
    if not pc.any(maybe).as_py():
        return arr
    found = _replace_all(pc.filter(arr, maybe), ids, replacement, False)
    return pc.replace_with_mask(arr, maybe, found)


def redact_frame(
    frame: pd.DataFrame,
    redactor: Redactor | None,
    text_columns: tuple[str, ...] = ("message", "evidence"),
) -> pd.DataFrame:
    """Copy of an output frame with identifiers pseudonymised and names masked; None = as is."""
    if redactor is None:
        return frame
    out = frame.copy()
    if "patient_id" in out:
        out["patient_id"] = redactor.patient_ids(out["patient_id"])
    if "episode_id" in out:
        out["episode_id"] = redactor.episode_ids(out["episode_id"])
    if "patient_name" in out:
        out["patient_name"] = np.where(out["patient_name"].notna(), MASK, None)
    for col in text_columns:
        if col in out:
            out[col] = redactor.text(out[col])
    return out
