"""Load an export folder (or in-memory frames) into canonical tables, rejecting bad rows."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pandas.api.extensions import take

from ..episodes import derive_episodes, normalise_credential
from ..errors import InputError
from ..export import Export, FileReport, no_unreadable
from ..model import (
    BOOL_COLUMNS,
    DATE_COLUMNS,
    NUMERIC_COLUMNS,
    REJECTED_COLUMNS,
    REQUIRED,
    SOURCE_FILE,
    SOURCE_ROW,
    TABLES,
    TEXT_COLUMNS,
    UNREADABLE_COLUMNS,
)
from . import values as V
from .columns import JOINED, map_columns, unused_column_hints
from .files import RawTable, discover, read_file, unused_patterns
from .mapping import MAPPING_FILE_NAME, Mapping, TableMapping, load_mapping

__all__ = [
    "load_export",
    "from_frames",
    "load_mapping",
    "unreadable_notices",
    "DATE_FIX",
    "MAPPING_FILE_NAME",
]

TABLE_ORDER = ["notes", "services", "goals", "measures", "authorizations"]
Progress = Callable[[str], None]


def load_export(
    root: Path, mapping_path: Path | None = None, progress: Progress | None = None
) -> Export:
    """Read every file of the export folder; raise InputError when it cannot be audited."""
    root = Path(root)
    if mapping_path is None and (root / MAPPING_FILE_NAME).is_file():
        mapping_path = root / MAPPING_FILE_NAME
    mapping = load_mapping(mapping_path)
    found = discover(root, mapping)
    reports: list[FileReport] = []
    raws = _read_all(root, found, mapping, reports, progress)
    _release_freed_memory()  # the CSV parser's blocks and the chunks joined after it
    if not any(r.table == "notes" for r in raws):
        names = (
            ", ".join(p.name for p, _ in found) or "no .csv/.tsv/.xlsx/.xls/.ods/.json/.jsonl files"
        )
        raise InputError(
            f"{root}: no notes table found (files: {names})",
            fix="name the notes file e.g. notes.csv, or map it under tables.notes.files in "
            "chartaudit-mapping.yaml",
        )
    _refuse_empty_notes(raws)
    try:
        export = _build(raws, mapping, reports)
    except InputError as exc:
        # What was read, with each file's columns, for `inspect` to show beside the error: it
        # is the command a mapping file is written with.
        reports += [_file_report(raw, mapping.for_table(raw.table)) for raw in raws]  # not reached
        exc.files = reports
        raise
    export.root = str(root)
    export.notices = unused_patterns(root, found, mapping) + _not_loaded(reports) + export.notices
    return export


def _refuse_empty_notes(raws: list[RawTable]) -> None:
    """InputError when the notes files hold no rows at all (an empty or header-only file,
    as a scheduled export writes on a day without visits): there is nothing to audit."""
    notes = [r for r in raws if r.table == "notes"]
    if any(len(r.frame) or r.bad_rows for r in notes):
        return
    names = ", ".join(
        f"{r.path}{f' [{r.sheet}]' if r.sheet else ''}"
        f" ({'header only' if len(r.frame.columns) > 1 else 'empty'})"
        for r in notes
    )
    raise InputError(
        f"no notes to audit: the notes file{'s' if len(notes) > 1 else ''} {names} "
        f"{'hold' if len(notes) > 1 else 'holds'} no rows",
        fix="export the notes again for a period with visits, or point the mapping's "
        "tables.notes.files at the file that holds them",
    )


def _not_loaded(reports: list[FileReport]) -> list[str]:
    """Notices for the files and sheets with rows that became no table: read, never audited."""
    return [
        f"{rep.path}{f' [{rep.sheet}]' if rep.sheet else ''}: {rep.rows_read:,} "
        f"row{'s' if rep.rows_read != 1 else ''} not loaded: {rep.note}"
        for rep in reports
        if rep.table is None and rep.rows_read
    ]


def _read_all(
    root: Path,
    found: list[tuple[Path, tuple[str, ...]]],
    mapping: Mapping,
    reports: list[FileReport],
    progress: Progress | None,
) -> list[RawTable]:
    """The raw tables of the recognised files; a report for each unrecognised one."""
    # A function of its own, so no loop variable keeps the last raw table alive afterwards.
    raws: list[RawTable] = []
    for path, tables in found:
        if progress:
            progress(path.name)
        for raw in read_file(root, path, tables, mapping):
            if raw.table is None:
                reports.append(
                    FileReport(
                        path=raw.path,
                        table=None,
                        sha256=raw.sha256,
                        sheet=raw.sheet,
                        encoding=raw.encoding,
                        rows_read=len(raw.frame),
                        note=raw.note
                        or "not recognised as notes, services, goals, measures or "
                        "authorizations: rename it or map it in chartaudit-mapping.yaml",
                    )
                )
                continue
            raws.append(raw)
    return raws


def _release_freed_memory() -> None:
    # Arrow's allocator keeps freed memory for reuse, and much of what the reader freed cannot
    # hold the large columns built later, so the process would carry both (~90 MB at 1M notes).
    pa.default_memory_pool().release_unused()


def from_frames(
    frames: dict[str, pd.DataFrame], mapping: Mapping | None = None, source: str = "memory"
) -> Export:
    """Normalise in-memory frames of raw values (canonical or vendor column names)."""
    raws = []
    for table, frame in frames.items():
        if table not in TABLES:
            raise InputError(f"{source}: unknown table {table!r}")
        frame = pd.DataFrame(frame).copy()
        frame["_row"] = np.arange(2, len(frame) + 2)
        raws.append(RawTable(f"{source}:{table}", table, frame, sha256=""))
    if not any(r.table == "notes" for r in raws):
        raise InputError(f"{source}: no notes table")
    return _build(raws, mapping or Mapping(), [])


class _Rejects:
    """Collects rejected rows as (file, row, table, reason)."""

    def __init__(self) -> None:
        self.parts: list[pd.DataFrame] = []

    def add(self, frame: pd.DataFrame, mask: np.ndarray | pd.Series, table: str, reason) -> None:
        """Reject the rows of `mask`: `reason` is one text for all or one per rejected row."""
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return
        part = {
            "file": frame.loc[mask, SOURCE_FILE].to_numpy(),
            "row": frame.loc[mask, SOURCE_ROW].to_numpy(),
            "table": table,
            "reason": reason if isinstance(reason, str) else np.asarray(reason, object),
        }
        if table == "authorizations" and "auth_id" in frame.columns:
            # Kept beside REJECTED_COLUMNS (not written to rejected.csv): `review` lists the
            # request it could not review by its id.
            part["auth_id"] = frame.loc[mask, "auth_id"].astype(object).to_numpy()
        if table != "notes" and "note_id" in frame.columns:
            # Kept beside REJECTED_COLUMNS too: the items that judge a note by its services
            # (goals, measures) count a note that lost one of those rows not evaluable.
            part["note_id"] = frame.loc[mask, "note_id"].astype(object).to_numpy()
        self.parts.append(pd.DataFrame(part))

    def frame(self) -> pd.DataFrame:
        if not self.parts:
            return pd.DataFrame(columns=REJECTED_COLUMNS)
        out = pd.concat(self.parts, ignore_index=True)
        return out.sort_values(["file", "row"], kind="stable", ignore_index=True)


def _build(raws: list[RawTable], mapping: Mapping, reports: list[FileReport]) -> Export:
    """The Export of the raw tables; empties `raws`, so each raw frame is freed once mapped."""
    rejects = _Rejects()
    notices: list[str] = []
    unreadable: list[pd.DataFrame] = []
    per_table: dict[str, list[pd.DataFrame]] = {}
    present: dict[str, set[str]] = {}
    errors: list[InputError] = []
    raw = frame = None
    while raws:
        # The mapped frame shares the raw columns it needs; the normaliser replaces them one by
        # one, and the raw text behind each is freed when nothing else holds it.
        raw = raws.pop(0)
        try:
            frame = _map_raw(raw, mapping.for_table(raw.table), rejects, reports, present, notices)
        except InputError as exc:
            errors.append(exc)  # every file's, at once: one run to learn them all
            continue
        if frame is not None:
            per_table.setdefault(raw.table, []).append(frame)
    del raw, frame  # nor do the loop's names keep the last one alive
    if errors:
        raise errors[0] if len(errors) == 1 else _files_error(errors)

    tables: dict[str, pd.DataFrame] = {}
    for table in TABLE_ORDER:
        parts = per_table.pop(table, [])
        if not parts:
            continue
        cleaned = []
        while parts:
            tm = mapping.for_table(table)
            cleaned.append(_normalise(table, parts.pop(0), tm, rejects, notices, unreadable))
        tables[table] = pd.concat(cleaned, ignore_index=True) if len(cleaned) > 1 else cleaned[0]

    linked = [t for t in ("services", "goals", "measures", "authorizations") if t in tables]
    codes, distinct = _id_codes(
        {
            "notes": tables["notes"]["note_id"],
            **{t: tables[t]["note_id"] for t in linked if "note_id" in tables[t].columns},
        }
    )
    note_codes = codes.pop("notes")
    duplicate = pd.Series(note_codes).duplicated(keep="first").to_numpy()
    notes = _finish_notes(tables["notes"], duplicate, rejects, present)
    tables["notes"] = notes
    # The position of each loaded note by its id's code; any other code, and NA's -1 (the
    # extra last slot), is no loaded note.
    position = np.full(distinct + 1, np.nan)
    position[note_codes[~duplicate]] = np.arange(len(notes))
    for table in linked:
        idx = None
        if table in codes:
            idx = pd.Series(position[codes[table]], index=tables[table].index, copy=False)
        tables[table] = _link(table, tables[table], notes, idx, rejects, present)
    for table in TABLES:
        if table not in tables:
            tables[table] = pd.DataFrame({c: pd.Series(dtype=object) for c in TABLES[table]})
        for col in TABLES[table]:
            if col not in tables[table].columns:
                tables[table][col] = _empty_column(table, col, len(tables[table]))
    rejected = rejects.frame()
    counts = rejected.groupby("file").size().to_dict() if len(rejected) else {}
    for rep in reports:
        if rep.table is None:
            continue
        label = rep.path if rep.sheet is None else f"{rep.path} [{rep.sheet}]"
        rep.rows_rejected = int(
            counts.get(label, 0) + (counts.get(rep.path, 0) if rep.sheet else 0)
        )
        rep.rows_loaded = rep.rows_read - rep.rows_rejected
    rejected["file"] = rejected["file"].astype(str)
    return Export(
        tables=tables,
        present=present,
        files=reports,
        rejected=rejected,
        notices=notices,
        unreadable=pd.concat(unreadable, ignore_index=True) if unreadable else no_unreadable(),
    )


def _files_error(errors: list[InputError]) -> InputError:
    """One InputError for the files that cannot be loaded, each with its own fix."""
    return InputError(
        f"{len(errors)} files cannot be loaded:\n"
        + "\n".join(f"  {exc.message}\n    fix: {exc.fix}" for exc in errors),
        fix="correct each file as its fix says, then run again",
    )


def _some_columns(frame: pd.DataFrame, limit: int) -> str:
    """The file's first `limit` column names for a message, saying how many more it has."""
    names = [str(c) for c in frame.columns if c != "_row"]
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _file_report(raw: RawTable, tm: TableMapping) -> FileReport:
    """The FileReport of a raw table as read, with its column mapping (counts to follow)."""
    col_map, ignored = map_columns(
        raw.table, [c for c in raw.frame.columns if c != "_row"], tm.columns
    )
    return FileReport(
        path=raw.path,
        table=raw.table,
        sha256=raw.sha256,
        sheet=raw.sheet,
        encoding=raw.encoding,
        rows_read=len(raw.frame) + len(raw.bad_rows),
        columns=col_map,
        ignored_columns=ignored,
        note=raw.note,
    )


def _map_raw(
    raw: RawTable,
    tm: TableMapping,
    rejects: _Rejects,
    reports: list[FileReport],
    present: dict[str, set[str]],
    notices: list[str],
) -> pd.DataFrame | None:
    """The raw table with canonical column names, or None when it has nothing to load."""
    label = raw.path if raw.sheet is None else f"{raw.path} [{raw.sheet}]"
    missing_explicit = [
        f"{canon} ← {src!r}"
        for canon, sources in tm.columns.items()
        for src in sources
        if src not in raw.frame.columns
    ]
    if missing_explicit and raw.table == "notes":
        raise InputError(
            f"{raw.path}: mapped column not found: {missing_explicit[0]}",
            fix="correct tables.notes.columns in chartaudit-mapping.yaml "
            f"(the file has: {_some_columns(raw.frame, 12)})",
        )
    report = _file_report(raw, tm)
    col_map, ignored = report.columns, report.ignored_columns
    reports.append(report)
    # Rows malformed because a title line was read as the header say what to do about it.
    title = _title_above_header(raw) if raw.bad_rows else ""
    for row, reason in raw.bad_rows:
        rejects.parts.append(
            pd.DataFrame(
                {
                    "file": [raw.path],
                    "row": [row],
                    "table": [raw.table],
                    "reason": [f"{reason}; {title}" if title else reason],
                }
            )
        )
    if raw.frame.empty and not col_map and not (raw.table == "notes" and raw.bad_rows):
        # Nothing to load. (A notes file whose every row was malformed goes on: the missing
        # columns' message below names the cause, such as a title line read as the header.)
        return None
    if missing_explicit:
        notices.append(
            f"{label}: mapped column{'s' if len(missing_explicit) > 1 else ''} not found: "
            f"{', '.join(missing_explicit)}; the {raw.table} table is read without "
            f"{'them' if len(missing_explicit) > 1 else 'it'}. Correct tables.{raw.table}.columns "
            f"in chartaudit-mapping.yaml (the file has: {_some_columns(raw.frame, 12)})"
        )
    hints = unused_column_hints(raw.table, ignored, col_map)
    notices.extend(_unused_column_notices(raw.table, label, col_map, hints))
    frame = _canonical_frame(raw.table, raw.frame, col_map)
    frame[SOURCE_FILE] = label
    if raw.table == "notes" and "credential" not in frame.columns and "therapist" in frame:
        derived = credentials_in_names(frame["therapist"])
        if derived.notna().any():
            frame["credential"] = derived
            present.setdefault("notes", set()).add("credential")
            notices.append(_credential_notice(frame, derived))
    missing = [c for c in REQUIRED[raw.table] if c not in frame.columns]
    if raw.table == "notes":
        # discipline can come from the credential
        missing = [c for c in missing if c != "discipline"]
    if missing:
        # Every missing column at once: one run to learn them all, not one per column. Any
        # table's, not only the notes': a services file without cpt_code ran on with every
        # row rejected for the one reason, and the billing audit silently off.
        names = " and ".join(
            [", ".join(missing[:-1]), missing[-1]] if len(missing) > 1 else missing
        )
        plural = "s" if len(missing) > 1 else ""
        # A column whose name is close to a missing one is likely it ("Therapist Nm").
        close = {canon: col for col, canon, kind in hints if kind == "close"}
        example = ", ".join(f'{m}: "{close.get(m, "Your Column")}"' for m in missing)
        raise InputError(
            f"{label}: the {raw.table} table has no {names} column{plural} "
            f"(columns found: {_some_columns(raw.frame, 15)})",
            fix=_title_above_header(raw)
            or f"add the column{plural}, or map yours in chartaudit-mapping.yaml "
            f"under tables.{raw.table}.columns: {{{example}}}",
        )
    frame.attrs["date_format"] = tm.date_format
    frame.attrs["values"] = tm.values
    present.setdefault(raw.table, set()).update(col_map.values())
    return frame


def _canonical_frame(table: str, raw: pd.DataFrame, col_map: dict[str, str]) -> pd.DataFrame:
    """The raw frame's mapped columns under their canonical names, with SOURCE_ROW; the
    several sources of one canonical column (Mod 1, Mod 2 -> modifiers) joined."""
    sources: dict[str, list[str]] = {}
    for src, canon in col_map.items():
        sources.setdefault(canon, []).append(src)
    joined = {canon: srcs for canon, srcs in sources.items() if len(srcs) > 1}
    single = {src: canon for src, canon in col_map.items() if canon not in joined}
    frame = raw.rename(columns=single)[list(single.values()) + ["_row"]]
    for canon, srcs in joined.items():
        frame[canon] = V.join_columns([raw[src] for src in srcs], JOINED[table][canon])
    return frame.rename(columns={"_row": SOURCE_ROW})


def _unused_column_notices(
    table: str, label: str, col_map: dict[str, str], hints: list[tuple[str, str, str]]
) -> list[str]:
    """Notices for the source columns left unused that look as if they were meant to be read:
    numbered companions of a mapped column ("Mod 2" beside "Mod 1"), or a name close to a
    canonical column nothing fills ("Dur")."""
    notices = []
    parts: dict[str, list[str]] = {}
    for col, canon, kind in hints:
        if kind == "part":
            parts.setdefault(canon, []).append(col)
        else:
            notices.append(
                f"{label}: column {col!r} is not read; if it holds {canon}, map it in "
                f'chartaudit-mapping.yaml: tables.{table}.columns.{canon}: "{col}"'
            )
    for canon, cols in parts.items():
        read_from = [src for src, c in col_map.items() if c == canon]
        if canon in JOINED.get(table, {}):
            wanted = ", ".join(f'"{s}"' for s in [*read_from, *cols])
            fix = (
                f"to read them all, map tables.{table}.columns.{canon}: [{wanted}] in "
                "chartaudit-mapping.yaml"
            )
        else:
            fix = f"only one column can fill {canon}: merge them in the export"
        plural = len(cols) > 1
        notices.append(
            f"{label}: column{'s' if plural else ''} {', '.join(repr(c) for c in cols)} "
            f"{'are' if plural else 'is'} not read, though {'they look' if plural else 'it looks'}"
            f" like part of {canon}, which is read from "
            f"{', '.join(repr(s) for s in read_from)}; {fix}"
        )
    return notices


def credentials_in_names(names: pd.Series) -> pd.Series:
    """The credentials written after therapists' names ("Jane Doe, PT, DPT, OCS" -> "PT, DPT";
    "Lee, Kim, PTA" -> "PTA"; "Kim Lee CCC-SLP" -> "CCC-SLP"), NA where there are none.

    Only upper-case words after the name that the credential table recognises count, so a
    surname ("Kim Do", "DO, KIM") is never taken for one; in a name written all in capitals
    only the parts after a comma are looked at."""
    codes, distinct = pd.factorize(names.astype("string"), use_na_sentinel=True)
    found: list[str | None] = []
    for name in distinct:
        parts = [p.strip() for p in str(name).split(",")]
        candidates = list(parts[1:])
        if not str(name).isupper():
            candidates += [w.strip(",") for w in str(name).split()[1:]]
        candidates = [c for c in dict.fromkeys(candidates) if c and c.isupper()]
        roles = normalise_credential(pd.Series(candidates, dtype="string"))[1] if candidates else []
        creds = [c for c, r in zip(candidates, roles, strict=True) if r != "unknown"]
        found.append(", ".join(creds) or None)
    values = np.append(np.array(found, dtype=object), None)[codes]
    return pd.Series(values, index=names.index, dtype="string")


def _credential_notice(frame: pd.DataFrame, derived: pd.Series) -> str:
    n, k = len(derived), int(derived.notna().sum())
    first = int(np.flatnonzero(derived.notna().to_numpy())[0])
    example = f"'{frame['therapist'].iloc[first]}' → {derived.iloc[first]}"
    rest = (
        f"; the other {n - k:,} rows name no credential and count as an unknown role"
        if k < n
        else ""
    )
    return (
        f"{frame[SOURCE_FILE].iloc[0]}: there is no credential column, so the credential was "
        f"taken from the end of the therapist's name for {k:,} of {n:,} rows (e.g. {example})"
        f"{rest}. Add a credential column, or map yours under tables.notes.columns.credential "
        "in chartaudit-mapping.yaml, if this is not right"
    )


def _title_above_header(raw) -> str:
    """The fix when the first row read as the header is a title or a blank row, else ''. In a
    sheet most of its cells are empty, so most columns are named "column N"; in a text file
    the title line has one or two fields and the rows below it more, so most are malformed."""
    frame = raw.frame
    names = [str(c) for c in frame.columns if c != "_row"]
    unnamed = sum(bool(re.fullmatch(r"column \d+", n)) for n in names)
    titled = names and unnamed * 2 >= len(names)
    rows = len(frame) + len(raw.bad_rows)
    titled = titled or (len(names) <= 2 and rows > 0 and len(raw.bad_rows) * 2 >= rows)
    if not titled:
        return ""
    return (
        "the column names must be the first row of the file or sheet: delete the title or "
        "blank rows above them"
    )


def _empty_column(table: str, col: str, n: int) -> pd.Series:
    if col in DATE_COLUMNS.get(table, []):
        return pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns]")
    if col in NUMERIC_COLUMNS.get(table, []):
        return pd.Series(np.nan, index=range(n), dtype="float64")
    if col in BOOL_COLUMNS.get(table, []):
        return pd.Series(False, index=range(n), dtype=bool)
    return pd.Series(pd.NA, index=range(n), dtype="string")


# How to write a date the loader reads (rejected.csv's reasons and the notices quote it).
DATE_FIX = (
    f"write it as YYYY-MM-DD or MM/DD/YYYY, a date of the years {V.RECORD_YEARS[0]} to "
    f"{V.RECORD_YEARS[1]}, or set date_format in chartaudit-mapping.yaml"
)


def _normalise(
    table: str,
    frame: pd.DataFrame,
    tm: TableMapping,
    rejects: _Rejects,
    notices: list[str],
    unreadable_found: list[pd.DataFrame],
) -> pd.DataFrame:
    """Types and canonical values for one source part; rows that cannot be audited go to
    rejects, values that are not recognised but whose rows are kept to notices, and optional
    values that could not be read (read as blank) to `unreadable_found` and notices."""
    frame = frame.reset_index(drop=True)
    bad = np.zeros(len(frame), dtype=bool)
    reason = np.full(len(frame), "", dtype=object)
    unrecognised: list[tuple[str, pd.Series, np.ndarray, dict[str, str], str]] = []
    placeholders: list[tuple[str, pd.Series, pd.Series]] = []
    # (column, raw values, rows, what was expected: None for its type's "a date", "a number")
    unreadable: list[tuple[str, pd.Series, np.ndarray, str | None]] = []

    def reject(mask: np.ndarray | pd.Series, why: str | pd.Series) -> None:
        """Mark rows bad; `why` is one text or a Series of texts for (at least) those rows."""
        # Every problem of a row is listed ("missing note_id; date_of_service ... not a valid
        # date"), so one fix of the export is enough.
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return
        rows = np.flatnonzero(mask)  # frame has a RangeIndex: labels are positions
        text = why if isinstance(why, str) else why.reindex(rows).to_numpy(dtype=object)
        again = bad[rows]
        reason[rows] = np.where(again, reason[rows] + "; " + text, text)
        bad[rows] = True

    def coerce(col: str, table_values: dict[str, str], outcome: str) -> pd.Series:
        """The column's canonical values (NA for a value neither the table nor the mapping
        file knows); the rows with such a value are reported, `outcome` saying what the
        audit does with them."""
        raw = frame[col]
        canonical = V.map_values(raw, table_values, user.get(col))
        unknown = (canonical.isna() & raw.notna()).to_numpy()
        if unknown.any():
            unrecognised.append((col, raw, unknown, table_values, outcome))
        return canonical

    def _placeholder(col: str, raw: pd.Series, empty: pd.Series) -> None:
        """Values that stand for no value ("N/A", "Pending"): a required column's is missing,
        an optional one's is read as blank and named in a notice."""
        if not empty.any():
            return
        if col in REQUIRED[table]:
            shown = raw[empty].astype("string").str.strip().str.slice(0, 30)
            reject(empty.to_numpy(), f"missing {col} ('" + shown + "' stands for no value)")
        else:
            placeholders.append((col, raw, empty))

    user = tm.values
    for col in frame.columns:
        if col in (SOURCE_FILE, SOURCE_ROW):
            continue
        if col in DATE_COLUMNS.get(table, []) or col in NUMERIC_COLUMNS.get(table, []):
            continue
        if col in TEXT_COLUMNS:
            # Narrative keeps its inner whitespace; only blank becomes NA.
            frame[col] = V.blank_text_to_na(frame[col])
        else:
            frame[col] = V.blank_to_na(frame[col])
    for col in REQUIRED[table]:
        if col in frame.columns and col != "discipline":
            # Date and number columns are still text here: a blank one is missing too.
            value = frame[col]
            if col in DATE_COLUMNS.get(table, []) or col in NUMERIC_COLUMNS.get(table, []):
                value = V.blank_to_na(value)
            reject(value.isna().to_numpy(), f"missing {col}")
    for col in DATE_COLUMNS.get(table, []):
        if col not in frame.columns:
            continue
        parsed, unparseable, empty = V.parse_dates(frame[col], tm.date_format, placeholders=True)
        if unparseable.any():
            if col in REQUIRED[table]:
                shown = frame.loc[unparseable, col].astype("string").str.slice(0, 40)
                reject(unparseable, f"{col} '" + shown + f"' is not a valid date ({DATE_FIX})")
            else:
                unreadable.append((col, frame[col], unparseable.to_numpy(), None))
        _placeholder(col, frame[col], empty)
        frame[col] = parsed
    if table == "notes" and "date_of_service" in frame.columns:
        signed = frame["signed_at"] if "signed_at" in frame.columns else None
        stray, why = _stray_dates(frame["date_of_service"], signed, bad)
        reject(stray, why)
    for col in NUMERIC_COLUMNS.get(table, []):
        if col not in frame.columns:
            continue
        num, unparseable, empty = V.parse_numbers(frame[col], placeholders=True)
        if unparseable.any():
            if col in REQUIRED[table]:
                shown = frame.loc[unparseable, col].astype("string").str.slice(0, 20)
                reject(unparseable, f"{col} '" + shown + "' is not a number")
            else:
                unreadable.append((col, frame[col], unparseable.to_numpy(), None))
        _placeholder(col, frame[col], empty)
        if col in COUNT_LIMITS.get(table, {}):
            _impossible_counts(table, col, frame[col], num, reject, unreadable)
        frame[col] = num
    for col in BOOL_COLUMNS.get(table, []):
        if col in frame.columns:
            flags, unparseable = V.parse_bool(frame[col])
            if unparseable.any():
                unreadable.append((col, frame[col], unparseable.to_numpy(), None))
            frame[col] = flags
    if table == "notes":
        frame = _notes_values(frame, user, reject, coerce)
    elif table == "services":
        frame["cpt_code"] = V.normalise_codes(frame["cpt_code"])
        if "modifiers" in frame.columns:
            frame["modifiers"] = V.normalise_modifiers(frame["modifiers"])
    elif table == "goals":
        # An unknown status is kept as unknown: the goal is clinical content all the same.
        for col, table_values in (("status", V.GOAL_STATUS_VALUES), ("term", V.GOAL_TERM_VALUES)):
            if col in frame.columns:
                frame[col] = coerce(
                    col, table_values, f"the goals are kept with their {col} unknown"
                )
    elif table == "authorizations":
        if "status" in frame.columns:
            frame["status"] = frame["status"].astype("string").str.lower()
        if "discipline" in frame.columns:
            frame["discipline"] = coerce(
                "discipline",
                V.DISCIPLINE_VALUES,
                "the authorizations are kept with their discipline unknown",
            )
    for col, raw, empty in placeholders:
        # Values read as blank that were not blank: "N/A", "Pending", "-" (see V.NO_VALUE).
        empty = empty.to_numpy() & ~bad
        if empty.any():
            notices.append(_placeholder_notice(frame, col, raw[empty].str.strip()))
    for col, raw, unknown, table_values, outcome in unrecognised:
        unknown = unknown & ~bad  # a rejected row is in rejected.csv, with its reasons
        if unknown.any():
            notices.append(
                _unrecognised_notice(table, frame, col, raw, unknown, table_values, outcome)
            )
    for col, raw, unread, expected in unreadable:
        # An optional value that is no date, number or yes/no: read as blank, the row kept, and
        # the items that judge a note by it do not judge that note (see Export.unreadable).
        unread = unread & ~bad
        if unread.any():
            found = unreadable_values(table, col, frame, raw, unread, expected)
            unreadable_found.append(found)
            notices.extend(unreadable_notices(found))
    rejects.add(frame, bad, table, reason[bad])
    return _drop_rows(frame, bad)


# Counts that cannot be negative, and the most one day of a patient's therapy holds (None: no
# such limit). "-15" minutes (a reversal line, a typo) or "9999" would go into the billing
# arithmetic as they are ("97110 -1u"): they are no count it can use.
DAY_MINUTES = 24 * 60
COUNT_LIMITS: dict[str, dict[str, int | None]] = {
    "notes": {"total_timed_minutes": DAY_MINUTES, "total_treatment_minutes": DAY_MINUTES},
    "services": {
        "units": DAY_MINUTES // 15,
        "minutes": DAY_MINUTES,
        "assistant_minutes": DAY_MINUTES,
    },
    "authorizations": {"requested_visits": None, "approved_visits": None},
}


def _impossible_counts(
    table: str,
    col: str,
    raw: pd.Series,
    num: pd.Series,
    reject: Callable,
    unreadable: list,
) -> None:
    """Negative counts, and more than one day holds: a required column's reject their rows
    (a negative number of units is a reversed charge in some billing exports: the fix says so),
    an optional one's are read as blank, as a value that is no number is (see _normalise)."""
    limit = COUNT_LIMITS[table][col]
    negative = (num < 0).to_numpy()
    too_many = (num > limit).to_numpy() if limit is not None else np.zeros(len(num), bool)
    if not (negative.any() or too_many.any()):
        return
    if col not in REQUIRED[table]:
        what = "minutes of one day" if "minutes" in col else "a count"
        expected = f"{what} (0 to {limit:,})" if limit is not None else f"{what} of 0 or more"
        unreadable.append((col, raw, negative | too_many, expected))
        return
    if negative.any():
        shown = num[negative].map("{:g}".format)  # the few rejected rows only
        reject(
            negative,
            f"{col} '" + shown + "' is negative: if the line reverses (credits) a charge, "
            "export the charges net of reversals (remove the reversal and the charge it "
            "reverses); otherwise write the units billed, 0 or more",
        )
    if too_many.any():
        shown = num[too_many].map("{:g}".format)
        reject(
            too_many,
            f"{col} '" + shown + f"' is more than one day holds ({limit} units of 15 minutes): "
            "correct the units billed",
        )


# A date of service more than this far from all the others, on a few notes, is a typo.
STRAY_GAP = pd.Timedelta(days=366)
STRAY_SHARE = 0.05


def _stray_dates(
    dates: pd.Series, signed: pd.Series | None, bad: np.ndarray
) -> tuple[np.ndarray, pd.Series]:
    """Dates of service separated from the rest of the file by more than a year, on at most
    one note in twenty (or one note): typos like "10/29/2062" for 2026, which would otherwise
    become the audit's "as of" date, leave every open episode "without a visit for 36 years"
    and add months to the run history. The rows and their reasons.

    Early ones only when the note was signed more than a year after that date: an export may
    hold a long episode's evaluation from over a year ago, but no note is signed a year late.
    """
    d = dates.to_numpy(dtype="datetime64[ns]")
    ok = ~np.isnat(d) & ~bad
    stray = np.zeros(len(d), dtype=bool)
    distinct = np.unique(d[ok])
    gaps = np.flatnonzero(np.diff(distinct) > STRAY_GAP)
    if not len(gaps):
        return stray, pd.Series(dtype=object)
    few = max(1, int(STRAY_SHARE * ok.sum()))
    # Before the first gap (the earliest dates) and after the last one (the latest).
    early = ok & (d <= distinct[gaps[0]])
    late = ok & (d >= distinct[gaps[-1] + 1])
    why = pd.Series("", index=dates.index, dtype=object)
    if early.sum() <= few:
        if signed is None:
            early[:] = False
        else:
            early &= (signed.to_numpy(dtype="datetime64[ns]") - d) > STRAY_GAP.to_timedelta64()
        stray |= early
        after = pd.Timestamp(distinct[gaps[0] + 1]).strftime("%Y-%m-%d")
        why[early] = (
            f"is more than a year before every other note's (the earliest {after}) and before "
            "its own signature date"
        )
    if late.sum() <= few:
        stray |= late
        before = pd.Timestamp(distinct[gaps[-1]]).strftime("%Y-%m-%d")
        why[late] = f"is more than a year after every other note's (the latest {before})"
    shown = dates[stray].dt.strftime("%Y-%m-%d")
    why[stray] = "date_of_service " + shown + " " + why[stray] + ": correct the date (a typo?)"
    return stray, why


def _values_and_rows(values: pd.Series, rows: np.ndarray) -> tuple[str, str]:
    """For a notice: the values (most frequent first, ties as first seen, at most 5) with
    their counts, and the first few rows."""
    codes, distinct = pd.factorize(values.astype("string").str.slice(0, 30))
    counts = np.bincount(codes)
    order = sorted(range(len(distinct)), key=lambda i: -counts[i])
    shown = ", ".join(f"'{distinct[i]}' ({counts[i]:,})" for i in order[:5])
    if len(order) > 5:
        shown += f" and {len(order) - 5} more values"
    row_list = ", ".join(str(r) for r in rows[:5])
    if len(rows) > 5:
        row_list += f" and {len(rows) - 5:,} more"
    return shown, row_list


def _placeholder_notice(frame: pd.DataFrame, col: str, written: pd.Series) -> str:
    """The notice for values of `col` that stand for no value ("N/A", "Pending"): read as
    blank, which the checks then treat as missing (an unsigned note, a plan not certified)."""
    rows = frame.loc[written.index, SOURCE_ROW].to_numpy()
    shown, row_list = _values_and_rows(written, rows)
    return (
        f"{frame[SOURCE_FILE].iloc[0]}: {col} {shown} read as blank (no value), "
        f"row{'s' if len(rows) > 1 else ''} {row_list}; the checks treat {col} as missing there"
    )


def unreadable_values(
    table: str,
    col: str,
    frame: pd.DataFrame,
    raw: pd.Series,
    mask: np.ndarray,
    expected: str | None = None,
) -> pd.DataFrame:
    """Export.unreadable rows (UNREADABLE_COLUMNS) for the values of `col` at `mask`;
    `expected` what the value should have been, by default its type's ("a date")."""
    expected = expected or (
        "a date"
        if col in DATE_COLUMNS.get(table, [])
        else "a number"
        if col in NUMERIC_COLUMNS.get(table, [])
        else "a yes or no"
    )
    return pd.DataFrame(
        {
            "table": table,
            "column": col,
            "file": frame[SOURCE_FILE].to_numpy()[mask].astype(object),
            "row": frame[SOURCE_ROW].to_numpy()[mask],
            "value": raw[mask].astype("string").str.strip().str.slice(0, 40).to_numpy(object),
            "expected": expected,
        },
        columns=UNREADABLE_COLUMNS,
    )


def unreadable_notices(unreadable: pd.DataFrame) -> list[str]:
    """One notice per file and column of Export.unreadable: the file, how many rows, the
    values (most frequent first) and rows (first few), what was done, and the fix."""
    notices = []
    for (file, table, col, expected), found in unreadable.groupby(
        ["file", "table", "column", "expected"], sort=False, dropna=False
    ):
        n = len(found)
        shown, row_list = _values_and_rows(found["value"], found["row"].to_numpy())
        how = f" ({DATE_FIX})" if expected == "a date" else ""
        if table == "notes":
            whose = "those notes" if n > 1 else "that note"
        else:
            whose = "the notes those rows belong to" if n > 1 else "the note that row belongs to"
        notices.append(
            f"{file}: {n:,} row{'s have' if n > 1 else ' has'} a {col} value that could not be "
            f"read as {expected}: {shown}, row{'s' if n > 1 else ''} {row_list}; read as blank and "
            f"the row{'s' if n > 1 else ''} kept, and the items that judge by {col} count "
            f"{whose} as not evaluable (neither passed nor failed). Correct the value in the "
            f"export{how}, or map the column to another one in chartaudit-mapping.yaml "
            f"(tables.{table}.columns.{col})"
        )
    return notices


def _unrecognised_notice(
    table: str,
    frame: pd.DataFrame,
    col: str,
    raw: pd.Series,
    unknown: np.ndarray,
    table_values: dict[str, str],
    outcome: str,
) -> str:
    """The notice for rows kept with a value of `col` that is not recognised: the file, how
    many rows, the values (most frequent first) and rows (first few), what is allowed and
    what was done, and the fix."""
    rows = frame[SOURCE_ROW].to_numpy()[unknown]
    shown, row_list = _values_and_rows(raw[unknown], rows)
    n = len(rows)
    allowed = ", ".join(dict.fromkeys(table_values.values()))
    return (
        f"{frame[SOURCE_FILE].iloc[0]}: {n:,} row{'s have' if n > 1 else ' has'} a {col} that "
        f"is not one of {allowed}: {shown}, row{'s' if n > 1 else ''} {row_list}; {outcome}. "
        f"Map the values under tables.{table}.values.{col} in chartaudit-mapping.yaml, or "
        "correct the export"
    )


def _drop_rows(frame: pd.DataFrame, drop: np.ndarray | pd.Series) -> pd.DataFrame:
    """frame without the rows marked in `drop`, with a fresh RangeIndex (frame is consumed).

    Column by column, so only one column is ever copied at a time, and not at all when no row
    is dropped: the notes' text is most of the loader's memory.
    """
    drop = np.asarray(drop, dtype=bool)
    if not drop.any():
        return frame.reset_index(drop=True)
    keep = ~drop
    kept: dict[str, pd.Series] = {}
    for col in list(frame.columns):
        kept[col] = frame.pop(col)[keep].reset_index(drop=True)
    return pd.DataFrame(kept)


def _notes_values(frame: pd.DataFrame, user: dict, reject, coerce) -> pd.DataFrame:
    raw_type = frame["note_type"].astype("string")
    frame["note_type"] = V.map_values(raw_type, V.NOTE_TYPE_VALUES, user.get("note_type"))
    unknown = frame["note_type"].isna() & raw_type.notna()
    reject(
        unknown,
        "note_type '" + raw_type[unknown].str.slice(0, 30) + "' is not recognised (use "
        "evaluation, re_evaluation, daily, progress, recertification or discharge, or map it "
        "under values: note_type in chartaudit-mapping.yaml)",
    )
    cred_user = user.get("credential")
    credential = frame["credential"]
    if cred_user:
        credential = V.map_values(credential, {}, cred_user).fillna(credential)
    role, cred_discipline = V.per_distinct(credential, lambda c: normalise_credential(c)[1:])
    frame["role"] = role
    if "discipline" in frame.columns:
        raw_disc = frame["discipline"].astype("string")
        # Reported for the rows the credential gives a discipline; the others are rejected.
        disc = coerce(
            "discipline",
            V.DISCIPLINE_VALUES,
            "the discipline was taken from the credential instead",
        )
        unknown_disc = disc.isna() & raw_disc.notna()
        disc = disc.fillna(cred_discipline)
        wrong = unknown_disc & disc.isna()
        reject(wrong, "discipline '" + raw_disc[wrong].str.slice(0, 20) + "' is not PT, OT or SLP")
    else:
        disc = cred_discipline
    reject(disc.isna().to_numpy(), "missing discipline (and the credential does not imply one)")
    frame["discipline"] = disc
    if "payer_type" in frame.columns:
        # Unrecognised payer types fall back to classifying the payer's name.
        frame["payer_type"] = coerce(
            "payer_type",
            V.PAYER_TYPE_VALUES,
            "the payer type was classified from the payer's name instead, where there is one"
            if "payer" in frame.columns
            else "the notes are kept with their payer type unknown",
        )
    if "payer" in frame.columns:
        from_name = V.payer_type_from_name(frame["payer"])
        if "payer_type" in frame.columns:
            frame["payer_type"] = frame["payer_type"].fillna(from_name)
        else:
            frame["payer_type"] = from_name
    if "setting" in frame.columns:
        raw_setting = frame["setting"]
        frame["setting"] = coerce(
            "setting", V.SETTING_VALUES, "the notes are counted in setting 'other'"
        )
        frame.loc[frame["setting"].isna() & raw_setting.notna(), "setting"] = "other"
    if "date_of_service" in frame.columns:
        frame["date_of_service"] = frame["date_of_service"].dt.normalize()
    return frame


def _finish_notes(
    notes: pd.DataFrame, dup: np.ndarray, rejects: _Rejects, present: dict[str, set[str]]
) -> pd.DataFrame:
    """Reject duplicate ids (`dup`), derive episodes, therapist ids and the narrative column."""
    if dup.any():
        first_row = notes.drop_duplicates("note_id").set_index("note_id")[SOURCE_ROW]
        first_file = notes.drop_duplicates("note_id").set_index("note_id")[SOURCE_FILE]
        ids = notes.loc[dup, "note_id"]
        why = (
            "duplicate note_id "
            + ids.astype(str)
            + " (first at row "
            + ids.map(first_row).astype(str)
            + " of "
            + ids.map(first_file).astype(str)
            + ")"
        )
        rejects.add(notes, dup, "notes", why)
        notes = _drop_rows(notes, dup)
    for col in TABLES["notes"]:
        if col not in notes.columns:
            notes[col] = _empty_column("notes", col, len(notes))
    present_cols = present.setdefault("notes", set())
    notes["therapist_id"] = notes["therapist_id"].fillna(notes["therapist"])
    present_cols.add("therapist_id")
    if notes["episode_id"].isna().any():
        derived = derive_episodes(notes)
        notes["episode_derived"] = notes["episode_id"].isna()
        notes["episode_id"] = notes["episode_id"].fillna(derived)
    else:
        notes["episode_derived"] = False
    present_cols.add("episode_id")
    if "payer_type" in present_cols or "payer" in present_cols:
        present_cols.add("payer_type")
    _release_freed_memory()  # before the narrative, the largest allocation of the load
    notes["narrative"] = _narrative(notes)
    return notes


def _narrative(notes: pd.DataFrame) -> pd.Series:
    """The non-blank S/O/A/P sections and note_text joined with newlines ('' when none)."""
    joined = V.join_text([V.arrow_text(notes[col]) for col in TEXT_COLUMNS], "\n")
    # A section's own trailing newlines end the narrative too (rare: copy only then).
    if pc.any(pc.ends_with(joined, "\n")).as_py():
        joined = pc.utf8_rtrim(joined, characters="\n")
    assert len(joined) == len(notes)
    return pd.Series(pd.arrays.ArrowStringArray(joined), index=notes.index)


def _link(
    table: str,
    frame: pd.DataFrame,
    notes: pd.DataFrame,
    idx: pd.Series | None,
    rejects: _Rejects,
    present: dict[str, set[str]],
) -> pd.DataFrame:
    """Attach rows to their notes (note_idx); rows pointing at no loaded note are rejected.

    `idx` is each row's position in notes (NaN when its note_id is not there), None when the
    table has no note_id column.
    """
    cols = present.setdefault(table, set())
    if idx is not None:
        has_id = frame["note_id"].notna()
        missing = (has_id & idx.isna()).to_numpy()
        if missing.any():
            rejects.add(
                frame,
                missing,
                table,
                "note_id '"
                + frame.loc[missing, "note_id"].astype(str)
                + f"' matches no note in {_notes_files(notes)} (or that note was rejected): "
                "fix the note_id or export the note",
            )
            frame = _drop_rows(frame, missing)
            idx = idx.loc[~missing].reset_index(drop=True)
        frame["note_idx"] = idx.astype("Int64") if table in ("goals",) else idx.astype("int64")
    elif table == "goals":
        # Goals exported without the note that set them (by episode only): attributed to the
        # episode's first evaluation by the goal checks.
        frame["note_idx"] = pd.Series(pd.NA, index=frame.index, dtype="Int64")
    if table in ("goals", "authorizations") and "note_idx" in frame.columns:
        rows = frame["note_idx"].fillna(-1).to_numpy(dtype="int64")  # -1: no note
        for col in ("patient_id", "episode_id"):
            from_note = take(notes[col].array, rows, allow_fill=True).to_numpy()
            if col in frame.columns:
                frame[col] = frame[col].fillna(pd.Series(from_note, index=frame.index))
            else:
                frame[col] = from_note
            cols.add(col)
    if table == "measures":
        if "date" not in frame.columns:
            frame["date"] = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns]")
        frame["date"] = frame["date"].fillna(
            pd.Series(
                notes["date_of_service"].to_numpy()[frame["note_idx"].to_numpy()], index=frame.index
            )
        )
        cols.add("date")
    if table == "authorizations" and "episode_id" not in frame.columns:
        frame["episode_id"] = pd.NA
    return frame


def _notes_files(notes: pd.DataFrame) -> str:
    """The file (or files) the notes were read from, for a message."""
    files = pd.unique(notes[SOURCE_FILE].astype(str)) if len(notes) else []
    if len(files) == 0:
        return "the notes table"
    return ", ".join(files[:3]) + (f" and {len(files) - 3} more" if len(files) > 3 else "")


def _id_codes(ids: dict[str, pd.Series]) -> tuple[dict[str, np.ndarray], int]:
    """Integer codes of each table's note ids (equal ids, equal codes; NA -1), and their count.

    One hash of every id serves both the notes' duplicates and each table's link to its note,
    where a million note ids were hashed once for each.
    """
    codes, distinct = pd.factorize(pd.concat(list(ids.values()), ignore_index=True))
    ends = np.cumsum([len(s) for s in ids.values()])[:-1]
    return dict(zip(ids, np.split(codes, ends), strict=True)), len(distinct)
