"""Fast detail rows for compliance.xlsx: sheet XML built in Arrow and spliced into the workbook.

XlsxWriter spends ~150 µs of Python per row; a million-note run has millions of detail rows
(Notes, Findings), which took minutes. Here each column becomes its cells' XML in one
vectorised pass and the rows are inserted into the finished workbook's sheet. Every text cell
is an inline string (`t="inlineStr"`), so nothing from a chart can ever become a formula.
The first data row is still written by XlsxWriter so the cell styles (date, percent) exist;
their style ids are copied from it.
"""

from __future__ import annotations

import re
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

EXCEL_EPOCH = pd.Timestamp("1899-12-30")
_SEP = pa.scalar("", pa.large_string())
_ILLEGAL_XML = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x{fffe}\x{ffff}]"  # RE2 syntax


@dataclass
class Deferred:
    """Rows of `frame` to append to `sheet` from 0-based row `first_row`."""

    sheet: str
    frame: pd.DataFrame
    kinds: dict[str, str]  # column -> text | date | int | pct | number
    first_row: int


def column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _large(values: pa.Array) -> pa.Array:
    return values.cast(pa.large_string())


def _escape(text: pa.Array) -> pa.Array:
    text = pc.replace_substring_regex(text, _ILLEGAL_XML, "")
    text = pc.replace_substring(text, "&", "&amp;")
    text = pc.replace_substring(text, "<", "&lt;")
    return pc.replace_substring(text, ">", "&gt;")


def _text_values(values: pd.Series) -> pa.Array:
    series = values.astype("string")
    arr = pa.array(series.array)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    arr = _large(arr)
    empty = pc.equal(arr, "")
    return pc.if_else(pc.fill_null(empty, True), pa.scalar(None, pa.large_string()), arr)


def _number_values(values: pd.Series, kind: str) -> pa.Array:
    if kind == "date":
        stamps = pd.to_datetime(values)
        numbers = ((stamps - EXCEL_EPOCH) / pd.Timedelta(days=1)).to_numpy(dtype="float64")
    else:
        numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64")
    finite = np.isfinite(numbers)
    ints = finite & (numbers == np.round(numbers)) & (np.abs(numbers) < 1e15)
    text = np.full(len(numbers), None, dtype=object)
    # Whole numbers without ".0"; others with enough digits to round-trip.
    text[ints] = numbers[ints].astype(np.int64).astype(str)
    rest = finite & ~ints
    text[rest] = np.char.mod("%.15g", numbers[rest])
    return pa.array(text, type=pa.large_string())


def rows_xml(deferred: Deferred, styles: dict[int, str]) -> pa.Array:
    """One `<row>` element per row of the frame (large_string array, in order)."""
    frame = deferred.frame
    n = len(frame)
    numbers = pa.array((np.arange(n) + deferred.first_row + 1).astype(str), pa.large_string())
    parts: list[pa.Array | pa.Scalar] = []
    for j, name in enumerate(frame.columns):
        kind = deferred.kinds.get(name, "text")
        style = f' s="{styles[j]}"' if j in styles else ""
        letter = column_letter(j)
        if kind == "text":
            values = _escape(_text_values(frame[name]))
            head, tail = f'" t="inlineStr"{style}><is><t xml:space="preserve">', "</t></is></c>"
        else:
            values = _number_values(frame[name], kind)
            head, tail = f'"{style}><v>', "</v></c>"
        cell = pc.binary_join_element_wise(
            pa.scalar(f'<c r="{letter}', pa.large_string()),
            numbers,
            pa.scalar(head, pa.large_string()),
            values,
            pa.scalar(tail, pa.large_string()),
            _SEP,
        )  # null value -> null cell -> left out of the row (a blank cell)
        parts.append(pc.fill_null(cell, ""))
    return pc.binary_join_element_wise(
        pa.scalar('<row r="', pa.large_string()),
        numbers,
        pa.scalar('">', pa.large_string()),
        *parts,
        pa.scalar("</row>", pa.large_string()),
        _SEP,
    )


def concatenated(strings: pa.Array) -> memoryview:
    """The bytes of every string of a (non-null) large_string array, back to back."""
    if isinstance(strings, pa.ChunkedArray):
        strings = strings.combine_chunks()
    _, offsets, data = strings.buffers()
    bounds = np.frombuffer(offsets, dtype=np.int64)[
        strings.offset : strings.offset + len(strings) + 1
    ]
    return memoryview(data)[int(bounds[0]) : int(bounds[-1])]


def _sheet_paths(book: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> its XML part, from workbook.xml and its relationships."""
    workbook = book.read("xl/workbook.xml").decode("utf-8")
    rels = book.read("xl/_rels/workbook.xml.rels").decode("utf-8")
    targets = dict(re.findall(r'<Relationship Id="([^"]+)"[^>]*Target="([^"]+)"', rels))
    targets.update(
        {a: b for b, a in re.findall(r'<Relationship[^>]*Target="([^"]+)"[^>]*Id="([^"]+)"', rels)}
    )
    out = {}
    for name, rid in re.findall(r'<sheet name="([^"]*)"[^>]*r:id="([^"]+)"', workbook):
        name = name.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
        target = targets[rid].lstrip("/")
        out[name] = target if target.startswith("xl/") else f"xl/{target}"
    return out


def _first_row_styles(xml: str, row_number: int) -> dict[int, str]:
    """Style id of each column in row `row_number` (1-based) as XlsxWriter wrote it."""
    row = re.search(rf'<row r="{row_number}"[^>]*>(.*?)</row>', xml, flags=re.S)
    if not row:
        return {}
    styles = {}
    for ref, style in re.findall(r'<c r="([A-Z]+)\d+"[^>]*?s="(\d+)"', row.group(1)):
        index = 0
        for ch in ref:
            index = index * 26 + ord(ch) - 64
        styles[index - 1] = style
    return styles


def splice(path: Path, deferred: list[Deferred]) -> None:
    """Append each Deferred's rows to its sheet in the finished workbook at `path`."""
    todo = [d for d in deferred if len(d.frame)]
    if not todo:
        return
    tmp = path.with_name(path.name + ".rows")
    with (
        zipfile.ZipFile(path) as src,
        zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as dst,
    ):
        parts = _sheet_paths(src)
        by_part = {parts[d.sheet]: d for d in todo}
        for info in src.infolist():
            if info.filename not in by_part:
                dst.writestr(info, src.read(info.filename))
                continue
            d = by_part[info.filename]
            xml = src.read(info.filename).decode("utf-8")
            styles = _first_row_styles(xml, d.first_row)
            last_row = d.first_row + len(d.frame)
            last_col = column_letter(len(d.frame.columns) - 1)
            xml = re.sub(
                r'<dimension ref="[^"]*"/>',
                f'<dimension ref="A1:{last_col}{last_row}"/>',
                xml,
                count=1,
            )
            head, _, tail = xml.partition("</sheetData>")
            rows = rows_xml(d, styles)
            with dst.open(
                zipfile.ZipInfo(info.filename, date_time=info.date_time), "w", force_zip64=True
            ) as out:
                out.write(head.encode("utf-8"))
                # The rows' concatenation is the Arrow array's data buffer: written straight
                # from it, with no second multi-gigabyte copy.
                out.write(concatenated(rows))
                out.write(b"</sheetData>" + tail.encode("utf-8"))
    shutil.move(tmp, path)
