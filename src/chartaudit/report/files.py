"""findings.csv, notes.csv, rejected.csv, sample.csv and summary.json."""

from __future__ import annotations

import codecs
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..model import FINDINGS_COLUMNS, NOTES_OUTPUT_COLUMNS, REJECTED_COLUMNS
from .data import ReportData
from .safety import FORMULA_START, neutralise
from .xlsx_rows import concatenated, edge_bytes, holds_any

SAMPLE_REVIEW_COLUMNS = ["reviewer", "reviewed_on", "agrees_with_audit", "reviewer_comments"]


# Rows turned into CSV text at a time: a million-row table never exists as text all at once.
CSV_CHUNK_ROWS = 100_000
# Python's csv module (which pandas' to_csv used) quotes a field holding one of these when
# lines end with "\n"; the same rule keeps the files byte for byte as they were.
_NEEDS_QUOTES = '[,"\n]'
_FORMULA_BYTES = np.frombuffer("".join(FORMULA_START).encode("ascii"), dtype=np.uint8)


def _text(value: str) -> pa.Scalar:
    return pa.scalar(value, pa.large_string())


def _quoted(text: pa.Array) -> pa.Array:
    needs = pc.match_substring_regex(text, _NEEDS_QUOTES)
    inner = pc.replace_substring(text, '"', '""')
    quoted = pc.binary_join_element_wise(_text('"'), inner, _text('"'), _text(""))
    return pc.if_else(needs, quoted, text)


def _date_format(values: pd.Series) -> str:
    """ISO days, or minutes when any value has a time of day (a blank counts, as before)."""
    return "%Y-%m-%d %H:%M" if (values != values.dt.normalize()).any() else "%Y-%m-%d"


@dataclass
class _Fields:
    """One column's CSV fields made ready for all its chunks: each field's text (quoted a
    chunk at a time, when some field needs quotes), or for numbers and dates each distinct
    value's text and every row's position in it."""

    text: pa.Array
    positions: pa.Array | None = None
    quote: bool = False

    def chunk(self, start: int, stop: int) -> pa.Array:
        if self.positions is not None:
            return self.text.take(self.positions.slice(start, stop - start))
        text = self.text.slice(start, stop - start)
        return _quoted(text) if self.quote else text


def _formatted(values: pd.Series, date_format: str | None) -> _Fields:
    """Numbers and dates as pandas' to_csv wrote them (numpy's str(): 1.0, not Arrow's 1),
    each distinct value formatted once: a column holds few (scores, counts, days)."""
    array = values.to_numpy()
    blank = pd.isna(array)
    # Floats by their bits, so 0.0 and -0.0 keep their own text.
    keys = array.view(np.int64) if array.dtype.kind == "f" else array
    codes, uniques = pd.factorize(keys)
    if date_format:
        text = pd.DatetimeIndex(uniques).strftime(date_format).to_numpy(dtype=object)
    else:
        text = (uniques.view(np.float64) if array.dtype.kind == "f" else uniques).astype(str)
    positions = pa.array(codes.astype(np.int32), mask=blank | (codes < 0))
    return _Fields(pa.array(text, pa.large_string()), positions)


def _fields(values: pd.Series, date_format: str | None) -> _Fields:
    """One column's CSV fields as pandas' to_csv wrote them; null is an empty field."""
    if date_format or (isinstance(values.dtype, np.dtype) and values.dtype.kind in "biuf"):
        return _formatted(values, date_format)
    text = pa.array(values.astype("string").array)
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    text = text.cast(pa.large_string())
    if pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values):
        # Only text starting with one of these characters changes: when no first byte is one,
        # neutralise (a slice and a lookup per field) has nothing to do.
        if np.isin(edge_bytes(text)[0], _FORMULA_BYTES).any():
            text = neutralise(text)
    # Most columns (ids, names, codes) hold no comma, quote or line break: a byte search
    # finds that once, instead of a regular expression per field and chunk.
    return _Fields(text, quote=holds_any(text, b",", b'"', b"\n"))


def _lines(fields: list[pa.Array]) -> pa.Array:
    """Each row's fields joined by commas, with its line end: one pass over the text."""
    args: list[pa.Array | pa.Scalar] = []
    for field in fields:
        args += [field, _text(",")]
    args[-1] = _text("\n")
    return pc.binary_join_element_wise(*args, _text(""), null_handling="replace")


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """UTF-8 with BOM (Excel opens it with accents intact); text that would be a formula in a
    spreadsheet is neutralised; dates written as ISO. Each column's fields are made once, in
    Arrow; the lines are joined and written a chunk of rows at a time."""
    columns = [
        _fields(
            frame.iloc[:, j],
            _date_format(frame.iloc[:, j])
            if pd.api.types.is_datetime64_any_dtype(frame.iloc[:, j])
            else None,
        )
        for j in range(frame.shape[1])
    ]
    with open(path, "wb") as out:
        out.write(codecs.BOM_UTF8)
        header = [_quoted(pa.array([str(c)], pa.large_string())) for c in frame.columns]
        out.write(concatenated(_lines(header)))
        for start in range(0, len(frame), CSV_CHUNK_ROWS):
            stop = min(start + CSV_CHUNK_ROWS, len(frame))
            out.write(concatenated(_lines([c.chunk(start, stop) for c in columns])))


def write_findings(data: ReportData, folder: Path) -> Path:
    path = folder / "findings.csv"
    write_csv(data.findings[FINDINGS_COLUMNS], path)
    return path


def write_notes(data: ReportData, folder: Path) -> Path:
    path = folder / "notes.csv"
    write_csv(data.notes[NOTES_OUTPUT_COLUMNS], path)
    return path


def write_rejected(data: ReportData, folder: Path) -> Path:
    return write_rejected_rows(data.export.rejected, data.redactor, folder)


def write_rejected_rows(rejected: pd.DataFrame, redactor, folder: Path) -> Path:
    """rejected.csv (REJECTED_COLUMNS) in `folder`, reasons masked under --redact; `run` and
    `review` write the same file."""
    path = folder / "rejected.csv"
    rejected = rejected[REJECTED_COLUMNS]
    if redactor is not None:
        rejected = rejected.assign(reason=redactor.text(rejected["reason"]))
    write_csv(rejected, path)
    return path


def draw_sample(data: ReportData, per_therapist: int, seed: int) -> pd.DataFrame:
    """N notes per therapist, drawn reproducibly for manual review (same seed, same sample)."""
    notes = data.notes
    rng = np.random.default_rng(seed)
    # A random key per note, then the N smallest per therapist: reproducible and vectorised.
    keyed = notes.assign(_key=rng.random(len(notes)))
    keyed = keyed.sort_values(["slug", "_key"], kind="stable")
    picked = keyed.groupby("slug", sort=False).head(per_therapist)
    failed_items = _failed_items(data.findings, picked["note_idx"])
    sample = picked[
        [
            "therapist",
            "note_id",
            "patient_id",
            "episode_id",
            "discipline",
            "note_type",
            "date_of_service",
            "score",
            "note_idx",
            "slug",
        ]
    ].copy()
    sample["failed_items"] = sample["note_idx"].map(failed_items).astype(object).fillna("")
    for col in SAMPLE_REVIEW_COLUMNS:
        sample[col] = ""
    return sample.sort_values(["therapist", "date_of_service", "note_id"], ignore_index=True)


def _failed_items(findings: pd.DataFrame, note_idx: pd.Series) -> pd.Series:
    """The failing item ids of each of these notes, ", "-joined in findings order (by
    note_idx; notes without findings left out)."""
    mine = findings.loc[findings["note_idx"].isin(note_idx), ["note_idx", "item_id"]]
    table = pa.table(
        {
            "note_idx": mine["note_idx"].to_numpy(),
            "item_id": pa.array(mine["item_id"].astype("string").array),
        }
    )
    # One thread keeps each note's items in their findings order.
    lists = table.group_by("note_idx", use_threads=False).aggregate([("item_id", "list")])
    joined = pc.binary_join(lists["item_id_list"], pa.scalar(", ", pa.large_string()))
    return pd.Series(joined.to_pylist(), index=lists["note_idx"].to_numpy(), dtype=object)


def write_sample(data: ReportData, folder: Path) -> Path | None:
    if data.sample is None:
        return None
    path = folder / "sample.csv"
    write_csv(data.sample.drop(columns=["note_idx", "slug"]), path)
    return path


def _clean(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return None if np.isnan(value) else float(value)
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def _records(frame: pd.DataFrame, columns: list[str]) -> list[dict]:
    """The rows as dicts of _clean values, made a column at a time (a million-note run has
    ~11,500 therapists: 150,000 values through _clean one by one took 0.2 s)."""
    lists = [_clean_column(frame[c]) for c in columns]
    return [dict(zip(columns, row, strict=True)) for row in zip(*lists, strict=True)]


def _clean_column(values: pd.Series) -> list:
    if isinstance(values.dtype, np.dtype) and values.dtype.kind in "iu":
        return values.tolist()  # Python ints, never NA
    if isinstance(values.dtype, np.dtype) and values.dtype.kind == "f":
        return [None if math.isnan(v) else v for v in values.tolist()]
    return [_clean(v) for v in values.tolist()]


def summary(data: ReportData) -> dict:
    """summary.json's content."""
    stats = data.stats
    result = data.result
    therapist_cols = [
        "therapist",
        "therapist_id",
        "slug",
        "discipline",
        "credential",
        "notes",
        "passed",
        "failed",
        "not_evaluable",
        "critical",
        "rate",
        "ci_low",
        "ci_high",
    ]
    therapists = stats.therapists.copy()
    item_cols = [
        "item_id",
        "title",
        "severity",
        "checklist",
        "applicable",
        "passed",
        "failed",
        "not_evaluable",
        "rate",
        "ci_low",
        "ci_high",
        "not_evaluable_reason",
    ]
    files = [f.as_dict() for f in data.export.files]
    read = sum(f["rows_read"] for f in files if f["table"])
    loaded = sum(f["rows_loaded"] for f in files if f["table"])
    rejected = sum(f["rows_rejected"] for f in files if f["table"])
    not_evaluable = [
        {"item_id": item_id, "reasons": reasons}
        for item_id, reasons in result.not_evaluable.items()
    ]
    out = _clean(
        {
            "chartaudit_version": data.version,
            "created_at": data.created_at,
            "export": data.export.root if not data.redacted else Path(data.export.root).name,
            "period": {
                "start": stats.overall["period_start"],
                "end": stats.overall["period_end"],
                "as_of": result.as_of.date().isoformat() if result.as_of is not None else None,
                "requested": data.options.get("period_requested"),
            },
            "options": data.options,
            "checklists": [
                {
                    "name": c.name,
                    "title": c.title,
                    "version": c.version,
                    "source": c.source,
                    "items": len(c.items),
                }
                for c in result.checklists
            ],
            "files": files,
            "rows": {
                "read": read,
                "loaded": loaded,
                "rejected": rejected,
                "reconciled": read == loaded + rejected,
            },
            # Rows kept with a value the loader did not recognise, and the like.
            "notices": data.notices,
            "overall": stats.overall,
            # Their places in this order; filled below, already clean.
            "therapists": None,
            "items": None,
            "disciplines": None,
            "not_evaluable": not_evaluable,
        }
    )
    out["therapists"] = _records(therapists, therapist_cols)
    out["items"] = _records(stats.items, item_cols)
    out["disciplines"] = _records(
        stats.disciplines,
        ["discipline", "notes", "passed", "failed", "not_evaluable", "rate", "ci_low", "ci_high"],
    )
    return out


def write_summary(data: ReportData, folder: Path) -> Path:
    path = folder / "summary.json"
    path.write_text(
        json.dumps(summary(data), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return path
