"""Fast table rows for compliance.xlsx: sheet XML built in Arrow and spliced into the workbook.

XlsxWriter spends ~10 µs of Python per cell; a million-note run has millions of detail rows
(Notes, Findings) and a table row per therapist and month, which took minutes. Here each
column becomes its cells' XML in one vectorised pass (a chunk of rows at a time) and the rows
are inserted into the finished workbook's sheet. Every text cell is an inline string
(`t="inlineStr"`), so nothing from a chart can ever become a formula; numbers are written as
XlsxWriter writes them. The first data row is still written by XlsxWriter so the cell styles
(date, percent) exist; their style ids are copied from it.
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
_XML_SPECIAL = r"[&<>\x00-\x08\x0b\x0c\x0e-\x1f\x{fffe}\x{ffff}]"


@dataclass
class Deferred:
    """Cells to append to `sheet` from 0-based row `first_row`: one Series per column from
    column A, with its kind (text | date | month | int | pct | change | number)."""

    sheet: str
    columns: list[pd.Series]
    kinds: list[str]
    first_row: int

    @property
    def rows(self) -> int:
        return len(self.columns[0]) if self.columns else 0


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
    # Most columns (ids, names, codes) hold none of these: one scan instead of four.
    if not pc.any(pc.match_substring_regex(text, _XML_SPECIAL)).as_py():
        return text
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
    """Cell numbers as XlsxWriter writes them (`{number:.16G}`), so a spliced cell holds the
    same value a written one would; each distinct number is formatted once."""
    if kind in ("date", "month"):
        stamps = pd.to_datetime(values)
        numbers = ((stamps - EXCEL_EPOCH) / pd.Timedelta(days=1)).to_numpy(dtype="float64")
    else:
        numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64")
    # By their bits, so 0.0 and -0.0 keep their own text.
    codes, uniques = pd.factorize(numbers.view(np.int64))
    text = [f"{number:.16G}" for number in uniques.view(np.float64)]
    positions = pa.array(codes, mask=~np.isfinite(numbers))
    return pa.array(text, pa.large_string()).take(positions)


def rows_xml(deferred: Deferred, styles: dict[int, str], start: int, stop: int) -> pa.Array:
    """One `<row>` element per row start..stop of the deferred cells (large_string, in
    order)."""
    first = deferred.first_row + start + 1
    numbers = pa.array(np.arange(first, first + stop - start).astype(str), pa.large_string())
    # The row's pieces, joined once: a column without blanks adds its literal text and
    # arrays straight in; one with blanks is joined on its own first, since a blank cell
    # (null) must leave out the whole <c> element.
    pieces: list[pa.Array | str] = ['<row r="', numbers, '">']
    for j, (values, kind) in enumerate(zip(deferred.columns, deferred.kinds, strict=True)):
        values = values.iloc[start:stop]
        style = f' s="{styles[j]}"' if j in styles else ""
        if kind == "text":
            cells = _escape(_text_values(values))
            head, tail = f'" t="inlineStr"{style}><is><t xml:space="preserve">', "</t></is></c>"
        else:
            cells = _number_values(values, kind)
            head, tail = f'"{style}><v>', "</v></c>"
        cell = [f'<c r="{column_letter(j)}', numbers, head, cells, tail]
        if cells.null_count:
            pieces.append(pc.fill_null(_joined(cell), ""))
        else:
            pieces += cell
    return _joined([*pieces, "</row>"])


def _joined(pieces: list[pa.Array | str]) -> pa.Array:
    """Element-wise concatenation of arrays and literal text (adjacent literals merged)."""
    args: list[pa.Array | pa.Scalar] = []
    text = ""
    for piece in pieces:
        if isinstance(piece, str):
            text += piece
            continue
        if text:
            args.append(pa.scalar(text, pa.large_string()))
            text = ""
        args.append(piece)
    if text:
        args.append(pa.scalar(text, pa.large_string()))
    return pc.binary_join_element_wise(*args, _SEP)


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
    return {
        _column_index(ref): style
        for ref, style in re.findall(r'<c r="([A-Z]+)\d+"[^>]*?s="(\d+)"', row.group(1))
    }


def _column_index(letters: str) -> int:
    """0-based index of a column letter (A = 0)."""
    index = 0
    for ch in letters:
        index = index * 26 + ord(ch) - 64
    return index - 1


def _dimension(xml: str, columns: int, last_row: int) -> str:
    """The sheet's used range grown to `last_row` (and to `columns`, unless wider already)."""
    found = re.search(r'<dimension ref="A1(?::([A-Z]+)\d+)?"/>', xml)
    if not found:
        return xml
    width = max(columns, _column_index(found.group(1)) + 1 if found.group(1) else 1)
    ref = f'<dimension ref="A1:{column_letter(width - 1)}{last_row}"/>'
    return xml[: found.start()] + ref + xml[found.end() :]


def splice(path: Path, deferred: list[Deferred], chunk_rows: int = 100_000) -> None:
    """Append each Deferred's rows to its sheet in the finished workbook at `path`, building
    `chunk_rows` rows of XML at a time (a million rows at once would take gigabytes)."""
    todo = [d for d in deferred if d.rows]
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
            xml = _dimension(xml, len(d.columns), d.first_row + d.rows)
            head, _, tail = xml.partition("</sheetData>")
            with dst.open(
                zipfile.ZipInfo(info.filename, date_time=info.date_time), "w", force_zip64=True
            ) as out:
                out.write(head.encode("utf-8"))
                for start in range(0, d.rows, chunk_rows):
                    rows = rows_xml(d, styles, start, min(start + chunk_rows, d.rows))
                    # The rows' concatenation is the Arrow array's data buffer: written
                    # straight from it, with no second copy.
                    out.write(concatenated(rows))
                out.write(b"</sheetData>" + tail.encode("utf-8"))
    shutil.move(tmp, path)
