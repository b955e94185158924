"""Neutralise text that a spreadsheet would run as a formula (CSV/formula injection)."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(text: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Prefix a quote to text starting with = + - @ (or tab/CR) so it stays text in Excel."""
    first = pc.utf8_slice_codeunits(text, 0, 1)
    risky = pc.fill_null(pc.is_in(first, value_set=pa.array(FORMULA_START, first.type)), False)
    if not pc.any(risky).as_py():
        return text
    quote, empty = pa.scalar("'", text.type), pa.scalar("", text.type)
    return pc.if_else(risky, pc.binary_join_element_wise(quote, text, empty), text)
