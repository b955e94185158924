"""Neutralise text that a spreadsheet would run as a formula (CSV/formula injection)."""

from __future__ import annotations

import pandas as pd

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(values: pd.Series) -> pd.Series:
    """Prefix a quote to text starting with = + - @ (or tab/CR) so it stays text in Excel."""
    if not (pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values)):
        return values
    text = values.astype(object)
    risky = text.astype("string").str.startswith(FORMULA_START).fillna(False).to_numpy(bool)
    if not risky.any():
        return text
    out = text.copy()
    out[risky] = "'" + text[risky].astype(str)
    return out


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for col in out.columns:
        out[col] = neutralise(out[col])
    return out
