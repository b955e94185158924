"""The loaded export: canonical tables plus the account of every file and rejected row."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
import pyarrow as pa

from .model import REJECTED_COLUMNS, UNREADABLE_COLUMNS


@dataclass
class FileReport:
    """What happened to one input file (or one sheet of a workbook)."""

    path: str  # relative to the export folder, as shown to users
    table: str | None  # canonical table it became, None when not recognised
    sha256: str = ""
    sheet: str | None = None
    encoding: str | None = None
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    columns: dict[str, str] = field(default_factory=dict)  # source column -> canonical
    ignored_columns: list[str] = field(default_factory=list)
    note: str = ""  # e.g. why a file was skipped

    def as_dict(self) -> dict:
        return {
            "file": self.path,
            "sheet": self.sheet,
            "table": self.table,
            "sha256": self.sha256,
            "encoding": self.encoding,
            "rows_read": self.rows_read,
            "rows_loaded": self.rows_loaded,
            "rows_rejected": self.rows_rejected,
            "columns": self.columns,
            "ignored_columns": self.ignored_columns,
            "note": self.note,
        }


@dataclass
class Export:
    """Canonical tables (every canonical column exists; absent ones are all-NA) and provenance.

    `present` names the canonical columns the input actually supplied (or the loader derived),
    so checks can tell "blank" from "not exported".
    """

    tables: dict[str, pd.DataFrame]
    present: dict[str, set[str]]
    files: list[FileReport] = field(default_factory=list)
    rejected: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=REJECTED_COLUMNS))
    root: str = ""
    notices: list[str] = field(default_factory=list)  # for the user, e.g. unused mapping patterns
    # Values of optional columns read as blank because they were no date, number or yes/no
    # (UNREADABLE_COLUMNS): the rows are loaded, and the items that judge a note by such a
    # value count that note not evaluable rather than take the value as missing.
    unreadable: pd.DataFrame = field(default_factory=lambda: no_unreadable())

    def __post_init__(self) -> None:
        for frame in self.tables.values():
            if frame is not None:
                single_chunk(frame)

    @property
    def notes(self) -> pd.DataFrame:
        return self.tables["notes"]

    def table(self, name: str) -> pd.DataFrame | None:
        """The table, or None when the export did not include it."""
        return self.tables.get(name) if name in self.present else None

    def has(self, need: str) -> bool:
        """True when `need` ("services" or "notes.signed_at") was supplied by the export."""
        table, _, column = need.partition(".")
        if table not in self.present:
            return False
        return not column or column in self.present[table]


def no_unreadable() -> pd.DataFrame:
    """An empty Export.unreadable."""
    return pd.DataFrame({c: pd.Series(dtype=object) for c in UNREADABLE_COLUMNS})


def single_chunk(frame: pd.DataFrame) -> None:
    """Give every Arrow-backed column of `frame` one chunk, in place.

    A CSV is read in blocks, so its columns arrive as chunked Arrow arrays, and Arrow's take
    on a chunked string array first joins every chunk: each .loc/.iloc of a few rows would copy
    the whole column (0.7 s for 10 narratives at a million notes). Joining once here is one copy.
    """
    for col in frame.columns:
        array = frame[col].array
        if not isinstance(array, pd.arrays.ArrowExtensionArray | pd.arrays.ArrowStringArray):
            continue
        chunked = pa.chunked_array(pa.array(array))
        if chunked.num_chunks > 1:
            joined = type(array)(pa.chunked_array([chunked.combine_chunks()]))
            frame[col] = pd.Series(joined, index=frame.index, name=col, copy=False)
