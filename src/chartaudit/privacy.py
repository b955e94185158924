"""--redact: stable keyed pseudonyms for patients and episodes, names masked in free text."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from pathlib import Path

import numpy as np
import pandas as pd
from platformdirs import user_data_dir

MASK = "[patient]"
_WORD = re.compile(r"[A-Za-zÀ-ÖØ-öø-ÿ][A-Za-zÀ-ÖØ-öø-ÿ'’-]+")


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
    """Turns patient identifiers into pseudonyms and masks patient names in text."""

    def __init__(self, key: str | bytes | None, notes: pd.DataFrame) -> None:
        self.key = key.encode() if isinstance(key, str) else (key or installation_key())
        self._ids = self._table(notes["patient_id"], "P")
        self._episodes = self._table(notes["episode_id"], "E")
        self._names = self._name_words(notes)
        self._raw_ids = [str(x) for x in notes["patient_id"].dropna().unique() if len(str(x)) >= 3]

    def _pseudo(self, value: str, prefix: str) -> str:
        digest = hmac.new(self.key, f"{prefix}:{value}".encode(), hashlib.sha256).hexdigest()
        return f"{prefix}-{digest[:10].upper()}"

    def _table(self, values: pd.Series, prefix: str) -> dict[str, str]:
        return {str(v): self._pseudo(str(v), prefix) for v in values.dropna().unique()}

    @staticmethod
    def _name_words(notes: pd.DataFrame) -> set[str]:
        if "patient_name" not in notes or notes["patient_name"].isna().all():
            return set()
        words: set[str] = set()
        for name in notes["patient_name"].dropna().unique():
            for w in _WORD.findall(str(name)):
                if len(w) >= 2 and w.lower() not in {"mr", "mrs", "ms", "dr", "jr", "sr", "ii"}:
                    words.add(w.lower())
        return words

    def patient_ids(self, values: pd.Series) -> pd.Series:
        return values.astype(object).map(self._ids)

    def episode_ids(self, values: pd.Series) -> pd.Series:
        return values.astype(object).map(self._episodes)

    def text(self, values: pd.Series) -> pd.Series:
        """Mask patient names and raw patient ids wherever they occur in free text."""
        out = values.astype(object)
        if self._names:
            names = self._names

            def repl(m: re.Match) -> str:
                return MASK if m.group(0).lower() in names else m.group(0)

            out = out.map(lambda t: _WORD.sub(repl, t) if isinstance(t, str) else t)
        if self._raw_ids:
            pattern = re.compile(
                "|".join(re.escape(i) for i in sorted(self._raw_ids, key=len, reverse=True))
            )
            out = out.map(lambda t: pattern.sub("[patient id]", t) if isinstance(t, str) else t)
        return out

    def text_one(self, value: str) -> str:
        return self.text(pd.Series([value])).iat[0]


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
