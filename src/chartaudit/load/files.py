"""Find the files of an export folder, detect their encoding and read them as text tables."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import fnmatch
import gc
import hashlib
import html
import io
import itertools
import json
import re
import shutil
import tempfile
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from ..errors import InputError, MappingError
from .columns import table_for_name
from .mapping import MAPPING_FILE_NAME, Mapping
from .records import Records

# Spreadsheets read with calamine: Excel 2007+ (.xlsx/.xlsm), Excel 97-2003 (.xls) and
# OpenDocument (.ods), as older EMRs and LibreOffice save them.
WORKBOOK_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".ods"}
SUFFIXES = {".csv", ".tsv", ".txt", ".json", ".jsonl", ".ndjson"} | WORKBOOK_SUFFIXES


@dataclass
class RawTable:
    """One file (or sheet) read as text, before column mapping."""

    path: str  # relative to the export folder
    table: str | None
    frame: pd.DataFrame  # all values as strings (or datetimes from Excel), with _row
    sha256: str = ""
    sheet: str | None = None
    encoding: str | None = None
    bad_rows: list[tuple[int, str]] = field(default_factory=list)  # (row, reason)
    note: str = ""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def detect_encoding(data: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 by BOM, cp1252, else charset-normalizer's pick.

    A strict UTF-8 decode of the whole file is the decisive test: Windows-1252 text with a
    single accented letter is never valid UTF-8, and a detector that only samples can miss it.
    """
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    # US EMRs on Windows write cp1252. A detector guessing from letter statistics can pick a
    # neighbour (cp1250 turns "ñ" into "ń"), so cp1252 wins whenever it decodes the file.
    try:
        data.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data[: 1 << 20]).best()
    guess = best.encoding if best else "latin-1"
    try:
        data.decode(guess)
    except (UnicodeDecodeError, LookupError):
        return "latin-1"
    return guess


def discover(root: Path, mapping: Mapping) -> list[tuple[Path, tuple[str, ...]]]:
    """Files of the export with the tables the mapping file's patterns give each (none: the
    file's name decides). Only a workbook can hold several tables, one a sheet."""
    if not root.exists():
        raise InputError(f"{root}: folder not found", fix="give the path of the export folder")
    if not root.is_dir():
        raise InputError(
            f"{root}: is a file, not a folder",
            fix="put the export files in a folder and give the folder's path",
        )
    files = sorted(
        p
        for p in root.rglob("*")
        if p.is_file()
        and p.suffix.lower() in SUFFIXES
        and p.name != MAPPING_FILE_NAME
        and not p.name.startswith(("~$", "."))
    )
    out = []
    for p in files:
        rel = p.relative_to(root).as_posix()
        tables = tuple(
            table
            for table, tm in mapping.tables.items()
            if any(_matches(p, rel, pat) for pat in tm.files)
        )
        if len(tables) > 1 and p.suffix.lower() not in WORKBOOK_SUFFIXES:
            first, second = tables[:2]
            raise MappingError(
                f"{mapping.path}: {rel} matches both tables.{first}.files and "
                f"tables.{second}.files, and a {p.suffix.lower()} file holds one table",
                fix=f"make the patterns of tables.{first}.files and tables.{second}.files "
                "match different files",
            )
        out.append((p, tables))
    return out


def _matches(path: Path, rel: str, pattern: str) -> bool:
    return fnmatch.fnmatch(rel, pattern) or fnmatch.fnmatch(path.name, pattern)


def unused_patterns(root: Path, found: list[tuple[Path, tuple[str, ...]]], mapping) -> list[str]:
    """Notices for the mapping's file patterns that match no file of the export (a typo, or a
    file missing this month): the table is then found by its file name, or not at all."""
    rels = [(p, p.relative_to(root).as_posix()) for p, _ in found]
    return [
        f"mapping: tables.{table}.files pattern {pattern!r} matches no file in the export; "
        f"the {table} table was looked for by file name instead"
        for table, tm in mapping.tables.items()
        for pattern in tm.files
        if not any(_matches(p, rel, pattern) for p, rel in rels)
    ]


def read_file(root: Path, path: Path, tables: tuple[str, ...], mapping: Mapping) -> list[RawTable]:
    """Read one file into RawTables (a workbook gives one per sheet); `tables` are the ones
    the mapping's patterns give the file (none: its name decides)."""
    rel = path.relative_to(root).as_posix()
    # Hash the file while it is parsed: hashlib and Arrow both release the GIL, and a gigabyte
    # of notes takes about a second to hash.
    with ThreadPoolExecutor(max_workers=1) as pool:
        hashing = pool.submit(sha256_of, path)
        try:
            raws = _read(path, rel, tables, mapping)
        finally:
            try:
                digest = hashing.result()
            except OSError as exc:  # unreadable: the same message as a file that cannot be parsed
                raise _unreadable(rel, exc) from None
    for raw in raws:
        raw.sha256 = digest
    return raws


def _read(path: Path, rel: str, tables: tuple[str, ...], mapping: Mapping) -> list[RawTable]:
    suffix = path.suffix.lower()
    table = tables[0] if tables else None  # a text file matches one table (discover)
    try:
        if suffix in WORKBOOK_SUFFIXES:
            return _read_workbook(path, rel, tables, mapping)
        if suffix in (".json", ".jsonl", ".ndjson"):
            return [_read_json(path, rel, table or table_for_name(path.stem))]
        return [_read_delimited(path, rel, table or table_for_name(path.stem), mapping)]
    except InputError:
        raise
    except (OSError, UnicodeError, ValueError, zipfile.BadZipFile, pa.ArrowInvalid) as exc:
        raise _unreadable(rel, exc) from None


def _unreadable(rel: str, exc: Exception) -> InputError:
    fix = "re-export the file, or move it out of the export folder"
    if isinstance(exc, PermissionError):
        fix = "let this user read the file (its permissions), or move it out of the export folder"
    return InputError(f"{rel}: cannot be read ({_reason(exc)})", fix=fix)


def _reason(exc: Exception) -> str:
    if isinstance(exc, zipfile.BadZipFile):
        return "not a valid Excel workbook"
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, UnicodeError):
        return "text encoding could not be decoded"
    text = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
    # pyarrow messages can quote a whole row of chart text: keep only the kind of problem.
    return text.split(":")[0][:120]


def _read_delimited(path: Path, rel: str, table: str | None, mapping: Mapping) -> RawTable:
    tm = mapping.for_table(table) if table else None
    with path.open("rb") as fh:
        head = fh.read(1 << 16)
    wide = _two_byte_encoding(head, tm.encoding if tm else None)
    if wide:
        # Excel's "Unicode Text" and some EMRs write UTF-16: every character two bytes, so
        # neither pyarrow nor the row scan can read it. A UTF-8 copy, removed straight after,
        # is read instead; its lines and so its row numbers are the file's.
        with tempfile.TemporaryDirectory(prefix="chartaudit-") as tmp:
            copy = Path(tmp) / "utf-8.txt"
            with (
                path.open("r", encoding=wide, newline="") as src,
                copy.open("w", encoding="utf-8", newline="") as dst,
            ):
                shutil.copyfileobj(src, dst, 1 << 20)
            raw = _read_delimited(copy, rel, table, _without_encoding(mapping, table))
        raw.encoding = "utf-16"
        return raw
    if not head.strip():
        return RawTable(rel, table, pd.DataFrame(), note="empty file")
    bom = head.startswith(codecs.BOM_UTF8)
    first_line = head[3 if bom else 0 :].split(b"\n", 1)[0].decode("utf-8", errors="replace")
    if path.suffix.lower() == ".tsv" or first_line.count("\t") > first_line.count(","):
        delimiter = "\t"
    elif first_line.count(";") > first_line.count(","):
        delimiter = ";"
    else:
        delimiter = ","
    encoding = tm.encoding if tm and tm.encoding else None
    frame = bad = None
    if encoding is None:
        # Fast path: pyarrow reads UTF-8 straight from disk and validates it; only a file that
        # is not UTF-8 pays for detection and transcoding.
        try:
            frame, bad = _read_arrow(path, delimiter, "utf-8", skip_bom=bom)
            encoding = "utf-8-sig" if bom else "utf-8"
        except pa.ArrowInvalid:
            # Not UTF-8 (Arrow says so, or its handler of a malformed row could not decode
            # the row): read again in the file's own encoding; a UTF-8 file's error stands.
            encoding = detect_encoding(path.read_bytes())
            if encoding in ("utf-8", "utf-8-sig"):
                raise
    if frame is None:
        frame, bad = _read_arrow(path, delimiter, encoding, skip_bom=bom)
    if bad or _has_blank_rows(frame) or _last_row_runs_on(frame):
        # pyarrow skipped the malformed rows without saying where they were, read blank lines
        # as rows of empty values, and reads a quote never closed as a value running to the end
        # of the file: a scan of the file numbers every row, names the malformed ones (and such
        # a last row) and leaves the blank lines out.
        frame, bad = _numbered(path, delimiter, encoding, frame)
    return RawTable(rel, table, frame, encoding=encoding, bad_rows=bad)


def _two_byte_encoding(head: bytes, configured: str | None) -> str | None:
    """The Python codec of a UTF-16 file from its first bytes (by its byte-order mark, or by
    the zero bytes of ASCII text without one), or of the mapping's UTF-16/32 encoding."""
    if configured:
        name = codecs.lookup(configured).name
        return configured if name.startswith(("utf-16", "utf-32")) else None
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    sample = head[: len(head) & ~1][:4096]
    if len(sample) >= 4:
        even, odd = sample[0::2], sample[1::2]
        if odd.count(0) > 0.9 * len(odd) and even.count(0) < 0.1 * len(even):
            return "utf-16-le"
        if even.count(0) > 0.9 * len(even) and odd.count(0) < 0.1 * len(odd):
            return "utf-16-be"
    return None


def _without_encoding(mapping: Mapping, table: str | None) -> Mapping:
    """The mapping with the table's encoding unset (its file was made UTF-8)."""
    if not table or table not in mapping.tables or not mapping.tables[table].encoding:
        return mapping
    tables = dict(mapping.tables)
    tables[table] = replace(tables[table], encoding=None)
    return replace(mapping, tables=tables)


def _last_row_runs_on(frame: pd.DataFrame) -> bool:
    """Whether a value of the last row holds a line end: a quote left open runs to the end."""
    if frame.empty:
        return False
    last = frame.iloc[-1]
    return any(isinstance(v, str) and ("\n" in v or "\r" in v) for v in last.to_numpy())


def _has_blank_rows(frame: pd.DataFrame) -> bool:
    """Whether a row of pyarrow's table is a blank line (every value empty)."""
    blank = None
    for name in frame.columns:
        if name == "_row":
            continue
        arr = pa.array(frame[name].array)
        empty = pc.equal(pc.binary_length(arr), 0)
        blank = empty if blank is None else pc.and_(blank, empty)
        if not pc.any(blank).as_py():
            return False
    return blank is not None and bool(pc.any(blank).as_py())


def _numbered(
    path: Path, delimiter: str, encoding: str | None, frame: pd.DataFrame
) -> tuple[pd.DataFrame, list[tuple[int, str]]]:
    """(frame, malformed rows) with every row numbered as a spreadsheet numbers it, from a scan
    of the file (load/records.py) that finds the same rows pyarrow read; where it does not
    (a quoting pyarrow reads otherwise, a text encoding of two-byte characters) the file is
    read again with the csv module, slower but exact."""
    width = len(frame.columns) - ("_row" in frame.columns)
    if codecs.lookup(encoding or "utf-8").name in _ONE_BYTE_ENCODINGS:
        records = Records(path, delimiter)
        # pyarrow's rows: the well-formed ones and the blank lines (rows of empty values).
        read = (records.fields == width) | (records.fields == 0)
        if int(read.sum()) == len(frame):
            frame["_row"] = records.row[read]
            drop = records.fields[read] == 0
            if records.open_quote and read[-1]:
                drop[-1] = True  # pyarrow read the rest of the file into its last value
            if drop.any():
                frame = frame.loc[~drop].reset_index(drop=True)
            return frame, records.rejected(width)
    return _read_slowly(path, delimiter, encoding or "utf-8")


# Encodings in which the delimiter, quote and line ends are the ASCII bytes the scan looks for.
_ONE_BYTE_ENCODINGS = {"utf-8", "utf-8-sig", "cp1252", "latin-1", "iso8859-1", "ascii"}


def _read_slowly(path: Path, delimiter: str, encoding: str) -> tuple[pd.DataFrame, list]:
    """The file read with the csv module: every row numbered, every malformed row named."""
    text = path.read_bytes().decode(encoding, errors="replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    header = _unique_names(
        [
            h.strip()
            for h in next(csv.reader([text.split("\n", 1)[0].rstrip("\r")], delimiter=delimiter))
        ]
    )
    return _read_with_csv_module(text, delimiter, header)


def _read_arrow(
    path: Path, delimiter: str, encoding: str, skip_bom: bool
) -> tuple[pd.DataFrame, list[tuple[int, str]]]:
    """Read a delimited file with pyarrow, every column as text."""
    enc = "utf8" if encoding in ("utf-8", "utf-8-sig", "utf8") else encoding
    with path.open("rb") as fh:
        raw_header = fh.readline()
    header_text = raw_header.decode(
        encoding if enc != "utf8" else "utf-8-sig", errors="replace"
    ).rstrip("\r\n")
    header = _unique_names(
        [h.strip() for h in next(csv.reader([header_text], delimiter=delimiter))]
    )
    bad: list[tuple[int, str]] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        bad.append((row.number or 0, "malformed row"))
        return "skip"

    def read(handler) -> pa.Table:
        return pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(
                column_names=header, skip_rows=1, encoding=enc, block_size=1 << 24
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter,
                newlines_in_values=True,
                # A blank line is kept as a row of empty values rather than skipped, so that a
                # file with one is numbered by the scan (_numbered): skipped, it would shift
                # every later row's number by one.
                ignore_empty_lines=len(header) == 1,
                invalid_row_handler=handler,
            ),
            convert_options=pacsv.ConvertOptions(
                # large_string is what pandas' "string" dtype holds: no conversion afterwards.
                column_types={h: pa.large_string() for h in header},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )

    # A Python row handler makes pyarrow parse on one thread (half the speed on two cores),
    # so a well-formed file is read without one; only a file with a malformed row is read
    # again with it.
    try:
        table_pa = read(None)
    except pa.ArrowInvalid as exc:
        if not str(exc).startswith("CSV parse error"):
            raise
        if enc == "utf8" and not _is_utf8(path):
            # Arrow would hand the row handler undecodable text (and print its error): the
            # caller reads the file again in its own encoding instead.
            raise pa.ArrowInvalid("CSV file is not valid UTF8") from None
        table_pa = read(on_invalid)
    # One chunk per column (Arrow's take on a chunked string column joins every chunk first,
    # and the Export joins them anyway): joined here, two columns at a time (Arrow copies
    # without the GIL), while the raw table is the only data in memory, so each joined copy
    # replaces its chunks at a low tide.
    chunked = [i for i in range(table_pa.num_columns) if table_pa.column(i).num_chunks > 1]
    with ThreadPoolExecutor(max_workers=2) as pool:
        joined = pool.map(lambda i: (i, table_pa.column(i).combine_chunks()), chunked)
        for i, column in joined:
            table_pa = table_pa.set_column(i, table_pa.column_names[i], column)
    # Straight to the "string" dtype the normaliser works in, sharing Arrow's buffers.
    frame = table_pa.to_pandas(types_mapper={pa.large_string(): pd.StringDtype("pyarrow")}.get)
    frame["_row"] = np.arange(2, len(frame) + 2, dtype=np.int64)
    return frame, bad


def _is_utf8(path: Path) -> bool:
    """Whether the whole file decodes as UTF-8 (read 16 MB at a time)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with path.open("rb") as fh:
            while chunk := fh.read(1 << 24):
                decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _read_with_csv_module(
    text: str, delimiter: str, header: list[str]
) -> tuple[pd.DataFrame, list[tuple[int, str]]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    next(reader, None)
    records, numbers, bad = [], [], []
    width = len(header)
    for number, row in enumerate(reader, start=2):
        if not row or all(not v.strip() for v in row):
            continue
        if len(row) != width:
            bad.append((number, f"row has {len(row)} fields but the header has {width}"))
            continue
        records.append(row)
        numbers.append(number)
    frame = pd.DataFrame(records, columns=header, dtype=object)
    frame["_row"] = np.asarray(numbers, dtype=np.int64)
    return frame, bad


def _unique_names(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for i, name in enumerate(names):
        name = name or f"column {i + 1}"
        if name in seen:
            seen[name] += 1
            name = f"{name} ({seen[name]})"
        else:
            seen[name] = 1
        out.append(name)
    return out


def _read_workbook(
    path: Path, rel: str, tables: tuple[str, ...], mapping: Mapping
) -> list[RawTable]:
    """The workbook's sheets of export tables, read with calamine (Rust): openpyxl read about
    12,000 rows a second, a 1M-note month's services in minutes."""
    from python_calamine import (
        CalamineError,
        CalamineWorkbook,
        PasswordError,
        SheetTypeEnum,
        SheetVisibleEnum,
    )

    suffix = path.suffix.lower()
    kind = "OpenDocument spreadsheet" if suffix == ".ods" else "Excel workbook"
    with path.open("rb") as fh:
        magic = fh.read(8)
    # Excel 97-2003 files and password-protected workbooks are OLE containers; .xlsx and .ods
    # are zips of XML parts.
    ole = magic == _OLE_MAGIC
    zipped = magic.startswith(b"PK\x03\x04")
    try:
        # Read by content, not name: an .xls saved as .xlsx (or the reverse) still reads.
        with path.open("rb") as fh:
            wb = CalamineWorkbook.from_filelike(fh)
        worksheets = [m for m in wb.sheets_metadata if m.typ == SheetTypeEnum.WorkSheet]
        sheets = [m.name for m in worksheets]
        hidden = {m.name for m in worksheets if m.visible != SheetVisibleEnum.Visible}
        wanted = _wanted_sheets(path, rel, sheets, tables, mapping, hidden)
        # Only an Excel zip keeps the error cells' text where it can be read back.
        errors = (
            _error_cells(path, [sheet for sheet, _, _ in wanted])
            if zipped and suffix != ".ods"
            else {}
        )
        out = []
        for sheet, t, note in wanted:
            frame = _sheet_frame(wb.get_sheet_by_name(sheet), errors.get(sheet, {}))
            if frame is None:
                out.append(RawTable(rel, t, pd.DataFrame(), sheet=sheet, note="empty"))
            else:
                out.append(RawTable(rel, t, frame, sheet=sheet, encoding=suffix[1:], note=note))
        return out
    except PasswordError:
        raise InputError(
            f"{rel}: cannot be read (the {kind} is password-protected)",
            fix="open it, save a copy without a password, and put that in the export folder",
        ) from None
    except CalamineError:
        if ole:
            raise InputError(
                f"{rel}: cannot be read (not a valid {kind}: it may be password-protected)",
                fix="open it, save a copy without a password, and put that in the export "
                "folder; or re-export the file",
            ) from None
        raise InputError(
            f"{rel}: cannot be read (not a valid {kind})",
            fix="re-export the file, or move it out of the export folder",
        ) from None


_OLE_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")


def _wanted_sheets(
    path: Path,
    rel: str,
    sheets: list[str],
    tables: tuple[str, ...],
    mapping: Mapping,
    hidden: set[str] = frozenset(),
) -> list[tuple[str, str | None, str]]:
    """(sheet, table, note) of every sheet: each mapped table's sheet (default the first
    visible one), and the other sheets with the table their name (or a one-sheet workbook's
    file name) says, as in a workbook the mapping does not name. Not loaded (table None, the
    note saying why): a hidden sheet ("Notes old") the mapping does not name, and a sheet
    whose name says a table the mapping reads from another sheet of this workbook."""
    shown = [s for s in sheets if s not in hidden] or sheets
    claimed: dict[str, str] = {}
    for table in tables:
        sheet = mapping.for_table(table).sheet
        if sheet and sheet not in sheets:
            raise InputError(
                f"{rel}: has no sheet {sheet!r} (sheets: {', '.join(sheets)})",
                fix=f"correct tables.{table}.sheet in chartaudit-mapping.yaml",
            )
        sheet = sheet or (shown[0] if shown else None)
        if sheet is None:
            continue
        if sheet in claimed:
            raise MappingError(
                f"{mapping.path}: tables.{claimed[sheet]} and tables.{table} both read sheet "
                f"{sheet!r} of {rel}",
                fix=f"name each table's sheet: tables.{claimed[sheet]}.sheet and "
                f"tables.{table}.sheet (sheets: {', '.join(sheets)})",
            )
        claimed[sheet] = table
    out: list[tuple[str, str | None, str]] = []
    for s in sheets:
        if s in claimed:
            out.append((s, claimed[s], ""))
            continue
        if s in hidden:
            out.append((s, None, "a hidden sheet, read only when tables.<table>.sheet names it"))
            continue
        table = table_for_name(s) or (table_for_name(path.stem) if len(sheets) == 1 else None)
        if table in tables:
            mapped = next(k for k, v in claimed.items() if v == table)
            note = (
                f"not loaded: the mapping reads the {table} table from sheet {mapped!r} "
                f"(tables.{table}.sheet); name this sheet there to load it instead"
            )
            out.append((s, None, note))
        else:
            out.append((s, table, ""))
    return out


# Rows converted to text this many at a time: the cells of a whole sheet as Python objects
# would take a gigabyte at a million notes' services.
_BATCH_ROWS = 1 << 16


def _sheet_frame(sheet, errors: dict[tuple[int, int], str]) -> pd.DataFrame | None:
    """A calamine sheet's rows as text columns and _row, its spreadsheet row number (the
    header is row 1; blank rows are left out); None for a sheet with no cells.

    `errors` holds the text of the error cells ('#N/A') by (row, column) from 1, which
    calamine reads as blank cells.
    """
    # calamine's rows start at row 1 but at the first column that holds a cell: the columns
    # before it are blank ones, "column 1" ... as openpyxl read them, so names and numbers
    # stay those of the sheet.
    skipped = sheet.start[1] if sheet.start else 0
    rows = sheet.iter_rows()
    header = next(rows, None)
    if header is None:
        return None
    if errors:
        rows = _with_errors(rows, errors, skipped)
        header = [errors.get((1, skipped + j + 1), v) for j, v in enumerate(header)]
    names = _unique_names([""] * skipped + [_excel_text(h).strip() for h in header])
    width = len(names)
    chunks: list[list[pa.Array]] = [[] for _ in range(width)]
    numbers: list[np.ndarray] = []
    row = 2
    # Millions of cells become Python objects and back: the cyclic collector would scan them
    # all again and again, and none of them can be part of a cycle.
    collecting = gc.isenabled()
    gc.disable()
    try:
        while batch := list(itertools.islice(rows, _BATCH_ROWS)):
            kept = [not _blank(r) for r in batch]
            numbers.append(np.flatnonzero(kept).astype(np.int64) + row)
            row += len(batch)
            batch = [r for r, k in zip(batch, kept, strict=True) if k]
            # calamine's rows are as wide as the sheet's used range: the same as the header.
            for j, column in enumerate(zip(*batch, strict=True), start=skipped):
                chunks[j].append(
                    pa.array(
                        [v if v.__class__ is str else _excel_text(v) for v in column],
                        pa.large_string(),
                    )
                )
    finally:
        if collecting:
            gc.enable()
    n = sum(len(part) for part in numbers)
    frame = pd.DataFrame(
        {
            name: pd.arrays.ArrowStringArray(
                pa.chunked_array(chunks[j], pa.large_string()).combine_chunks()
                if chunks[j]
                else pa.array([""] * n, pa.large_string())
            )
            for j, name in enumerate(names)
        }
    )
    frame["_row"] = np.concatenate(numbers) if numbers else np.zeros(0, np.int64)
    return frame


def _blank(row: list) -> bool:
    """Whether every cell of a row is empty or whitespace (a number or date is not)."""
    return all(v.__class__ is str and (not v or v.isspace()) for v in row)


def _excel_text(value: object) -> str:
    """A cell's value as text, as the loader's parsers take it; dates as ISO text, so one
    parser handles every format, and whole numbers without '.0' (97110, not 97110.0)."""
    if value.__class__ is str:
        return value
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        # calamine gives a date cell at midnight as a date, openpyxl gave a datetime: the same
        # text as before, which rejected.csv's reasons quote.
        return value.isoformat() + " 00:00:00"
    return str(value)  # bool, time, timedelta


def _with_errors(rows, errors: dict[tuple[int, int], str], skipped: int):
    """calamine's rows after the header, with the text of their error cells put back;
    `skipped` is the number of blank columns before calamine's first."""
    by_row: dict[int, list[tuple[int, str]]] = {}
    for (r, c), text in errors.items():
        by_row.setdefault(r, []).append((c - skipped - 1, text))
    for number, row in enumerate(rows, start=2):
        for j, text in by_row.get(number, ()):
            if 0 <= j < len(row):
                row[j] = text
        yield row


_CELL = re.compile(rb"<c\b([^>]*?)(?:/>|>(.*?)</c>)", re.S)
_CELL_REF = re.compile(rb'\br="([A-Z]+)([0-9]+)"')
_CELL_VALUE = re.compile(rb"<v>([^<]*)</v>")


def _error_cells(path: Path, sheets: list[str]) -> dict[str, dict[tuple[int, int], str]]:
    """The error cells ('#N/A', '#DIV/0!') of the sheets that have any: {sheet: {(row,
    column): text}}. calamine reads an error as a blank cell, where openpyxl read its text."""
    out: dict[str, dict[tuple[int, int], str]] = {}
    with zipfile.ZipFile(path) as zf:
        try:
            parts = _sheet_parts(zf)
        except KeyError:  # parts named otherwise, which calamine found: no error text then
            return out
        for sheet in sheets:
            part = parts.get(sheet)
            if part is None or not _has_error_cell(zf, part):
                continue
            cells = {}
            # Rare (a formula's error left in an export): the sheet's XML is read whole.
            for match in _CELL.finditer(zf.read(part)):
                attrs, body = match.groups()
                ref = _CELL_REF.search(attrs)
                value = _CELL_VALUE.search(body or b"")
                if b't="e"' in attrs and ref and value:
                    cells[(int(ref[2]), _column_number(ref[1]))] = value[1].decode()
            out[sheet] = cells
    return out


def _has_error_cell(zf: zipfile.ZipFile, part: str) -> bool:
    """Whether a sheet's XML holds a cell of type error (t="e"), read in blocks."""
    tail = b""
    with zf.open(part) as fh:
        while block := fh.read(1 << 22):
            if b't="e"' in tail + block[:8] or b't="e"' in block:
                return True
            tail = block[-8:]
    return False


_SHEET_TAG = re.compile(rb"<(?:\w+:)?sheet\s([^>]*)>")
_RELATIONSHIP_TAG = re.compile(rb"<(?:\w+:)?Relationship\s([^>]*)>")
_ATTRIBUTE = re.compile(rb'([\w:]+)\s*=\s*"([^"]*)"')


def _sheet_parts(zf: zipfile.ZipFile) -> dict[str, str]:
    """Each sheet's name to the zip member holding its XML (from the workbook's two small
    index parts; read with patterns, as no XML parser need expand what an export holds)."""
    targets = {}
    for tag in _RELATIONSHIP_TAG.finditer(zf.read("xl/_rels/workbook.xml.rels")):
        attrs = dict(_ATTRIBUTE.findall(tag[1]))
        targets[attrs.get(b"Id")] = html.unescape(attrs.get(b"Target", b"").decode())
    parts = {}
    for tag in _SHEET_TAG.finditer(zf.read("xl/workbook.xml")):
        attrs = dict(_ATTRIBUTE.findall(tag[1]))
        rid = next((v for k, v in attrs.items() if k.endswith(b":id")), None)
        target = targets.get(rid, "")
        name = html.unescape(attrs.get(b"name", b"").decode())
        parts[name] = target.lstrip("/") if target.startswith("/") else "xl/" + target
    return parts


def _column_number(letters: bytes) -> int:
    number = 0
    for ch in letters:
        number = number * 26 + ch - 64
    return number


def _read_json(path: Path, rel: str, table: str | None) -> RawTable:
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        records = []
        numbers = []
        bad = []
        for i, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                bad.append((i, "line is not valid JSON"))
                continue
            if not isinstance(obj, dict):
                bad.append((i, "line is not a JSON object"))
                continue
            records.append(obj)
            numbers.append(i)
    else:
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"{rel}: not valid JSON (line {exc.lineno})",
                fix="export an array of records, or one JSON object per line as .jsonl",
            ) from None
        if isinstance(obj, dict):
            # {"notes": [...]} or {"records": [...]}: take the one list of records inside.
            lists = [v for v in obj.values() if isinstance(v, list)]
            obj = lists[0] if len(lists) == 1 else None
        if not isinstance(obj, list):
            raise InputError(
                f"{rel}: expected a JSON array of records",
                fix="export an array of objects, one per row",
            )
        bad = [
            (i + 1, "record is not a JSON object")
            for i, r in enumerate(obj)
            if not isinstance(r, dict)
        ]
        records = [r for r in obj if isinstance(r, dict)]
        numbers = [i + 1 for i, r in enumerate(obj) if isinstance(r, dict)]
    # dtype=object: a column of ids or counts with a null keeps its ints ("1042", not
    # "1042.0", which would match no services row).
    frame = pd.DataFrame(records, dtype=object) if records else pd.DataFrame()
    frame = frame.map(_json_cell)
    frame["_row"] = numbers
    return RawTable(rel, table, frame, encoding="utf-8", bad_rows=bad)


def _json_cell(value: object) -> str:
    """A JSON value as the text a CSV cell would hold. null, and a key a record leaves out
    (NaN in the frame), is blank: str() would make either the text "None" or "nan"."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list | dict):
        return json.dumps(value)
    return str(value)
