"""Fast table rows for compliance.xlsx: sheet XML built in Arrow and spliced into the workbook.

XlsxWriter spends ~10 µs of Python per cell; a million-note run has millions of detail rows
(Notes, Findings) and a table row per therapist and month, which took minutes. Here each
column is made ready once (text checked for characters to escape by scanning its bytes, each
distinct number formatted once), then the rows' XML is joined in one vectorised pass a chunk
of rows at a time and inserted into the finished workbook's sheet. Every text cell is an
inline string (`t="inlineStr"`), so nothing from a chart can ever become a formula; numbers are
written as XlsxWriter writes them. The first data row is still written by XlsxWriter so the
cell styles (date, percent) exist; their style ids are copied from it.
"""

from __future__ import annotations

import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

EXCEL_EPOCH = pd.Timestamp("1899-12-30")
_SEP = pa.scalar("", pa.large_string())
TEXT_SCAN_BYTES = 1 << 24  # text copied at a time to search for characters
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


def _offsets(strings: pa.Array) -> tuple[np.ndarray, memoryview]:
    """The string bounds (len + 1 offsets) of a string or large_string array, and its bytes."""
    _, offsets, data = strings.buffers()
    if offsets is None:  # an empty array may have no buffers at all
        return np.zeros(1, dtype=np.int64), memoryview(b"")
    width = np.int64 if pa.types.is_large_string(strings.type) else np.int32
    bounds = np.frombuffer(offsets, dtype=width)[strings.offset : strings.offset + len(strings) + 1]
    return bounds, memoryview(data) if data is not None else memoryview(b"")


def concatenated(strings: pa.Array) -> memoryview:
    """The bytes of every string of a string or large_string array, back to back."""
    if isinstance(strings, pa.ChunkedArray):
        strings = strings.combine_chunks()
    bounds, data = _offsets(strings)
    return data[int(bounds[0]) : int(bounds[-1])]


def holds_any(strings: pa.Array, *characters: bytes) -> bool:
    """Whether any string holds one of these (single-byte) characters: the bytes searched with
    memchr, a slab at a time, instead of a regular expression per string."""
    data = concatenated(strings)
    for start in range(0, len(data), TEXT_SCAN_BYTES):
        piece = bytes(data[start : start + TEXT_SCAN_BYTES])
        if any(character in piece for character in characters):
            return True
    return False


def _plain(text: pa.Array) -> bool:
    """True when the text holds nothing _escape changes: no & < >, no control character and no
    0xEF byte (which starts U+FFFE and U+FFFF). A False only sends the column through _escape."""
    codes = np.frombuffer(concatenated(text), dtype=np.uint8)
    if len(codes) and (codes.min() < 0x20 or codes.max() >= 0xEF):
        return False
    return not holds_any(text, b"&", b"<", b">")


def edge_bytes(strings: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """The first and the last byte of every string. An empty string's "first" byte is the next
    string's and its "last" the one before (or any byte when the array holds none): bytes that
    are looked at anyway, so a check that all edge bytes are harmless stays true."""
    bounds, data = _offsets(strings)
    codes = np.frombuffer(data, dtype=np.uint8)
    if not len(codes):
        return codes, codes
    return codes.take(bounds[:-1], mode="clip"), codes.take(bounds[1:] - 1)


def _edges_may_be_space(text: pa.Array) -> bool:
    """Whether any string may start or end with whitespace (XlsxWriter's `^\\s|\\s$`), judged
    by its first and last byte: a space, a control character or any non-ASCII byte counts."""
    edges = np.concatenate(edge_bytes(text))
    # Safe are "!" (0x21) to DEL (0x7F): 0x5F values from 0x21 on, in wrapping byte arithmetic.
    return bool(((edges - np.uint8(0x21)) >= np.uint8(0x5F)).any())


@dataclass
class _Prepared:
    """A deferred column made ready once for all its chunks: its cells' values as text (escaped;
    null = a blank cell), or for numbers each distinct number's text and every row's position
    in it; and the XML before the row number, between it and the value, and after the value."""

    before: str
    between: str
    after: str
    text: pa.Array | None = None
    numbers: pa.Array | None = None
    positions: pa.Array | None = None

    def values(self, start: int, stop: int) -> pa.Array:
        if self.text is not None:
            return self.text.slice(start, stop - start)
        return self.numbers.take(self.positions.slice(start, stop - start))


def _prepare(values: pd.Series, kind: str, letter: str, style: str | None) -> _Prepared:
    style = f' s="{style}"' if style else ""
    if kind != "text":
        numbers, positions = _number_values(values, kind)
        return _Prepared(f'<c r="{letter}', f'"{style}><v>', "</v></c>", None, numbers, positions)
    text = pa.array(values.astype("string").array)
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    text = text.cast(pa.large_string())
    # xml:space="preserve" only where leading or trailing whitespace needs it, as XlsxWriter
    # writes it (decided for the whole column, from the text before escaping).
    space = ' xml:space="preserve"' if _edges_may_be_space(text) else ""
    bounds, _ = _offsets(text)
    if text.null_count or (bounds[1:] == bounds[:-1]).any():  # NA or empty: a blank cell
        empty = pc.fill_null(pc.equal(text, ""), True)
        text = pc.if_else(empty, pa.scalar(None, pa.large_string()), text)
    if not _plain(text):
        text = _escape(text)
    between = f'" t="inlineStr"{style}><is><t{space}>'
    return _Prepared(f'<c r="{letter}', between, "</t></is></c>", text)


def _escape(text: pa.Array) -> pa.Array:
    # Most columns (ids, names, codes) hold none of these: one scan instead of four.
    if not pc.any(pc.match_substring_regex(text, _XML_SPECIAL)).as_py():
        return text
    text = pc.replace_substring_regex(text, _ILLEGAL_XML, "")
    text = pc.replace_substring(text, "&", "&amp;")
    text = pc.replace_substring(text, "<", "&lt;")
    return pc.replace_substring(text, ">", "&gt;")


def _number_values(values: pd.Series, kind: str) -> tuple[pa.Array, pa.Array]:
    """Each distinct number's text as XlsxWriter writes it (`{number:.16G}`), so a spliced cell
    holds the same value a written one would, and each row's position in it (null = blank)."""
    if kind in ("date", "month"):
        stamps = pd.to_datetime(values)
        numbers = ((stamps - EXCEL_EPOCH) / pd.Timedelta(days=1)).to_numpy(dtype="float64")
    else:
        numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64")
    # By their bits, so 0.0 and -0.0 keep their own text.
    codes, uniques = pd.factorize(numbers.view(np.int64))
    text = [f"{number:.16G}" for number in uniques.view(np.float64)]
    positions = pa.array(codes.astype(np.int32), mask=~np.isfinite(numbers))
    return pa.array(text, pa.large_string()), positions


def rows_xml(columns: list[_Prepared], numbers: pa.Array, start: int, stop: int) -> pa.Array:
    """One `<row>` element per row start..stop of the prepared columns, `numbers` holding every
    row's number as text (large_string, in order)."""
    numbers = numbers.slice(start, stop - start)
    # The row's pieces, joined once: a column without blanks adds its literal text and
    # arrays straight in; one with blanks is joined on its own first, since a blank cell
    # (null) must leave out the whole <c> element.
    pieces: list[pa.Array | str] = ['<row r="', numbers, '">']
    for column in columns:
        values = column.values(start, stop)
        cell = [column.before, numbers, column.between, values, column.after]
        if values.null_count:
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
    # XlsxWriter's small file moves aside and the spliced one is written as a new file:
    # renaming it over (or truncating) an existing file makes ext4 write a gigabyte-sized
    # workbook to disk at once, ~0.6 s at a million notes.
    aside = path.with_name(path.name + ".base")
    os.replace(path, aside)
    try:
        with (
            zipfile.ZipFile(aside) as src,
            zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as dst,
        ):
            parts = _sheet_paths(src)
            by_part = {parts[d.sheet]: d for d in todo}
            for info in src.infolist():
                if info.filename in by_part:
                    _splice_sheet(src, dst, info, by_part[info.filename], chunk_rows)
                else:
                    dst.writestr(info, src.read(info.filename))
    finally:
        aside.unlink()


def _splice_sheet(
    src: zipfile.ZipFile,
    dst: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    deferred: Deferred,
    chunk_rows: int,
) -> None:
    xml = src.read(info.filename).decode("utf-8")
    styles = _first_row_styles(xml, deferred.first_row)
    xml = _dimension(xml, len(deferred.columns), deferred.first_row + deferred.rows)
    head, _, tail = xml.partition("</sheetData>")
    columns = [
        _prepare(values, kind, column_letter(j), styles.get(j))
        for j, (values, kind) in enumerate(zip(deferred.columns, deferred.kinds, strict=True))
    ]
    first = deferred.first_row + 1
    numbers = pa.array(np.arange(first, first + deferred.rows)).cast(pa.large_string())
    # Deflated at level 1: a million-note workbook is 0.12 GB instead of 0.91 GB stored, for
    # ~1.3 s more CPU on the writer thread (zlib releases the GIL), and 0.8 GB less to write.
    # (dst was opened with that compression: a member opened by name takes it.)
    with dst.open(info.filename, "w", force_zip64=True) as out:
        out.write(head.encode("utf-8"))
        for start in range(0, deferred.rows, chunk_rows):
            rows = rows_xml(columns, numbers, start, min(start + chunk_rows, deferred.rows))
            # The rows' concatenation is the Arrow array's data buffer: written straight
            # from it, with no second copy.
            out.write(concatenated(rows))
        out.write(b"</sheetData>" + tail.encode("utf-8"))
