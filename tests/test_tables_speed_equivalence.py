"""The fast table writers write what the slow, obvious way would: spliced workbook rows read back
like rows XlsxWriter wrote cell by cell, and the CSV files hold what Python's csv module writes."""

from __future__ import annotations

import codecs
import csv
import io
import zipfile

import numpy as np
import openpyxl
import pandas as pd
import pytest

from chartaudit.report import files, xlsx
from chartaudit.report.safety import FORMULA_START
from chartaudit.report.xlsx_rows import splice

# Text that needs escaping, whitespace kept, a blank, or none of these; in any column position.
TRICKY = [
    " lead",
    "trail ",
    "a & b <c> d",
    "line\nbreak",
    "tab\there",
    "Zoë",
    "\u00a0nbsp",
    "",
    None,
    "=1+2",
    'say "hi", then',
]
PLAIN = ["N1", "N2", "N3", "N4", "N5", "N6"]


def _frame(tricky: str | None, at: int) -> pd.DataFrame:
    text = list(PLAIN)
    text[at] = tricky
    return pd.DataFrame(
        {
            "id": PLAIN,
            "text": pd.Series(text, dtype="string"),
            "count": [1, 2, 3, np.nan, 5, 6],
            "rate": [0.1, -0.0, 1 / 3, 1e20, np.nan, 1.0],
            "day": pd.to_datetime(
                ["2026-01-01", "2026-01-02 06:00", None, "2026-02-28", "1900-03-01", "2026-03-01"],
                format="ISO8601",
            ),
        }
    )


KINDS = {"count": "int", "rate": "pct", "day": "date"}


def _workbook(path, frame: pd.DataFrame, spliced: bool):
    book = xlsx.Book.create(path)
    ws = book.sheet("Table")
    kinds = [KINDS.get(c, "text") for c in frame.columns]
    if spliced:  # XlsxWriter writes the header and first row, the rest is spliced in
        cells = [xlsx.Cells(c, frame[c], k) for c, k in zip(frame.columns, kinds, strict=True)]
        xlsx.write_table(book, ws, cells)
    else:  # XlsxWriter writes every cell
        columns = [xlsx._col(c, frame[c], k) for c, k in zip(frame.columns, kinds, strict=True)]
        xlsx.write_rows(book, ws, [(0, columns)])
    book.workbook.close()
    splice(path, book.deferred, chunk_rows=2)
    return openpyxl.load_workbook(path)["Table"]


def _cells(ws) -> list[tuple]:
    return [(c.value, c.data_type, c.number_format) for row in ws.iter_rows() for c in row]


@pytest.mark.parametrize("tricky", TRICKY)
@pytest.mark.parametrize("at", [0, 3, 5])
def test_spliced_rows_read_back_as_xlsxwriter_wrote_them(tmp_path, tricky, at):
    frame = _frame(tricky, at)
    fast = _workbook(tmp_path / "fast.xlsx", frame, spliced=True)
    slow = _workbook(tmp_path / "slow.xlsx", frame, spliced=False)
    assert _cells(fast) == _cells(slow)
    assert all(c.data_type != "f" for row in fast.iter_rows() for c in row)


def test_whitespace_is_preserved_only_in_a_column_that_needs_it(tmp_path):
    frame = _frame(" lead", 4)
    _workbook(tmp_path / "fast.xlsx", frame, spliced=True)
    with zipfile.ZipFile(tmp_path / "fast.xlsx") as z:
        xml = z.read("xl/worksheets/sheet1.xml").decode()
    spliced = xml[xml.index('<row r="3"') :]
    assert '<c r="B6" t="inlineStr"><is><t xml:space="preserve"> lead</t>' in spliced
    assert '<c r="B4" t="inlineStr"><is><t xml:space="preserve">N3</t>' in spliced
    assert '<c r="A4" t="inlineStr"><is><t>N3</t>' in spliced


def _reference_csv(frame: pd.DataFrame) -> bytes:
    """What findings.csv always held: Python's csv module over neutralised text, numbers as
    numpy prints them, dates as ISO days (minutes when a time of day occurs)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(frame.columns)
    for row in frame.itertuples(index=False):
        fields = []
        for name, value in zip(frame.columns, row, strict=True):
            column = frame[name]
            if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
                fields.append("")
            elif value is pd.NaT:
                fields.append("")
            elif pd.api.types.is_datetime64_any_dtype(column):
                timed = (column != column.dt.normalize()).any()
                fields.append(value.strftime("%Y-%m-%d %H:%M" if timed else "%Y-%m-%d"))
            elif isinstance(value, float | np.floating):
                fields.append(str(np.float64(value)))
            elif isinstance(value, str) and value.startswith(FORMULA_START):
                fields.append("'" + value)
            else:
                fields.append(str(value))
        writer.writerow(fields)
    return codecs.BOM_UTF8 + out.getvalue().encode("utf-8")


@pytest.mark.parametrize("tricky", [*TRICKY, "-1", "@x", "+", "\tx"])
@pytest.mark.parametrize("at", [0, 5])
@pytest.mark.parametrize("chunk", [2, 4, 100])
def test_csv_rows_are_what_the_csv_module_writes(tmp_path, monkeypatch, tricky, at, chunk):
    monkeypatch.setattr(files, "CSV_CHUNK_ROWS", chunk)
    frame = _frame(tricky, at)
    path = tmp_path / "table.csv"
    files.write_csv(frame, path)
    assert path.read_bytes() == _reference_csv(frame)
