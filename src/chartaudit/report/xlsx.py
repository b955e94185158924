"""compliance.xlsx: statistics, detail and trend sheets with native charts (XlsxWriter).

XlsxWriter in constant_memory mode streams every sheet row by row, so a million-note run fits
in memory; measured with benchmarks/xlsx_writers.py it wrote 1,000,000 rows x 12 columns
2.6 times as fast as openpyxl's write-only mode (whose shared-string table also grows with
every distinct message). Text from the export is only ever written with write_string (and
the workbook refuses to turn strings into formulas or links), so no cell is a formula. Table
rows after the first (detail, therapist, matrix and trend sheets, all growing with the export)
are built in Arrow and spliced in after close (xlsx_rows.py), again as inline strings.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xlsxwriter
from xlsxwriter.worksheet import Worksheet

from ..model import FINDINGS_COLUMNS, NOTES_OUTPUT_COLUMNS, REJECTED_COLUMNS, SEVERITY_ORDER
from . import svg
from .data import ReportData
from .xlsx_rows import Deferred, splice

FILE_NAME = "compliance.xlsx"
# Excel's rows per sheet, header included. Tests patch it small to exercise the split.
EXCEL_MAX_ROWS = 1_048_576
# A detail table needing more sheets than this is left to its CSV (when that CSV was written).
MAX_SPLIT_SHEETS = 4
CHUNK_ROWS = 50_000  # spliced rows turned into sheet XML at a time
WIDTH_SAMPLE = 2000  # rows a text column's width is measured on
WORST_ITEMS = 10
CHART_THERAPISTS = 8  # per-therapist lines on the trend chart up to this many therapists
EXCEL_EPOCH = pd.Timestamp("1899-12-30")
FORMATS: dict[str, dict[str, Any]] = {
    "text": {},
    "int": {"num_format": "#,##0"},
    "pct": {"num_format": "0.0%"},
    "change": {"num_format": "+0.0%;-0.0%;0.0%"},
    "date": {"num_format": "yyyy-mm-dd"},
    "month": {"num_format": "yyyy-mm"},
    "header": {"bold": True, "bg_color": "#DCE6F1", "bottom": 1, "text_wrap": True},
    "title": {"bold": True, "font_size": 14},
    "section": {"bold": True, "font_size": 12},
    "note": {"italic": True, "font_color": "#7F3F00"},
}
WIDTHS = {"int": 11, "pct": 9, "change": 10, "date": 11, "month": 9}
# Red below 50 %, amber at 75 %, green at 100 %: the same colours mean the same rate everywhere.
RATE_SCALE = {
    "type": "3_color_scale",
    "min_type": "num",
    "min_value": 0.5,
    "min_color": "#F8696B",
    "mid_type": "num",
    "mid_value": 0.75,
    "mid_color": "#FFEB84",
    "max_type": "num",
    "max_value": 1,
    "max_color": "#63BE7B",
}


@dataclass
class Column:
    """One column of cells: values already converted (str, float or None = blank)."""

    header: str
    values: list
    kind: str = "text"  # a FORMATS key; "mixed" = per-row kinds in `kinds`
    width: float | None = None
    kinds: list[str] | None = None


@dataclass
class Cells:
    """One column of a table whose rows after the first are spliced in (xlsx_rows.py): the
    values stay a Series until then."""

    header: str
    values: pd.Series
    kind: str = "text"


def _text(values: pd.Series) -> list:
    """str per cell; None (a blank cell) for NA and empty text."""
    text = values.astype("string")
    return text.astype(object).where(text.notna() & (text != ""), None).tolist()


def _numbers(values: pd.Series | list) -> list:
    numbers = pd.to_numeric(pd.Series(values), errors="coerce").astype(float).to_numpy()
    out = numbers.astype(object)
    out[~np.isfinite(numbers)] = None
    return out.tolist()


def _dates(values: pd.Series) -> list:
    """Excel serial day numbers (fractions keep the time), computed for the column at once."""
    stamps = pd.to_datetime(values)
    return _numbers((stamps - EXCEL_EPOCH) / pd.Timedelta(days=1))


def _col(header: str, values: pd.Series, kind: str = "text") -> Column:
    if kind == "text":
        return Column(header, _text(values), kind)
    if kind in ("date", "month"):
        return Column(header, _dates(values), kind)
    return Column(header, _numbers(values), kind)


@dataclass
class Part:
    """One sheet of a detail table: its name, rows, and a note when the table was split."""

    sheet: str
    rows: slice
    note: str = ""


@dataclass
class DetailPlan:
    parts: list[Part]
    pointer: str = ""  # set when the table is left to its CSV instead
    about: str = ""  # the note for the About sheet, when split or replaced


def plan_detail(sheet: str, n: int, csv_name: str | None) -> DetailPlan:
    """How a detail table of n rows fits Excel: one sheet, numbered sheets, or its CSV."""
    if n <= EXCEL_MAX_ROWS - 1:
        return DetailPlan([Part(sheet, slice(0, n))])
    per_sheet = EXCEL_MAX_ROWS - 2  # a note row and the header row
    count = math.ceil(n / per_sheet)
    limit = f"more than one Excel sheet holds ({EXCEL_MAX_ROWS - 1:,} rows below the header)"
    if count > MAX_SPLIT_SHEETS and csv_name:
        text = (
            f"{sheet}: {n:,} rows are {limit} and would need {count} sheets; they are not in "
            f"this workbook but every one is in {csv_name} beside it."
        )
        return DetailPlan([Part(sheet, slice(0, 0))], pointer=text, about=text)
    names = [sheet] + [f"{sheet} {k}" for k in range(2, count + 1)]
    parts = []
    for k, name in enumerate(names):
        start, stop = k * per_sheet, min(n, (k + 1) * per_sheet)
        note = f"{sheet} part {k + 1} of {count}: rows {start + 1:,}–{stop:,} of {n:,}."
        if k + 1 < count:
            note += f" Continued on sheet '{names[k + 1]}'."
        if csv_name:
            note += f" All rows are also in {csv_name}."
        parts.append(Part(name, slice(start, stop), note))
    about = f"{sheet}: {n:,} rows are {limit}; split across sheets " + ", ".join(
        f"'{name}'" for name in names
    )
    about += f" (all rows are also in {csv_name})." if csv_name else "."
    return DetailPlan(parts, about=about)


@dataclass
class Book:
    """The open workbook and its formats."""

    workbook: xlsxwriter.Workbook
    formats: dict[str, Any] = field(default_factory=dict)
    # Detail rows past each sheet's first, spliced in after close (report/xlsx_rows.py).
    deferred: list[Deferred] = field(default_factory=list)

    @classmethod
    def create(cls, path: Path) -> Book:
        workbook = xlsxwriter.Workbook(
            str(path),
            {
                "constant_memory": True,
                # Text stays text: never a formula, a link or a number.
                "strings_to_formulas": False,
                "strings_to_urls": False,
                "strings_to_numbers": False,
            },
        )
        book = cls(workbook)
        book.formats = {k: workbook.add_format(v) if v else None for k, v in FORMATS.items()}
        return book

    def sheet(self, name: str) -> Worksheet:
        return self.workbook.add_worksheet(name)


def _width(column: Column) -> float:
    if column.width:
        return column.width
    if column.kind in WIDTHS:
        return max(WIDTHS[column.kind], min(len(column.header), 30) + 2)
    sample = [len(v) for v in column.values[:WIDTH_SAMPLE] if isinstance(v, str)]
    longest = max([len(column.header), *sample]) if sample else len(column.header)
    return float(min(max(longest + 2, 8), 60))


def write_rows(
    book: Book,
    ws: Worksheet,
    blocks: list[tuple[int, list[Column]]],
    top: int = 0,
    header: bool = True,
) -> int:
    """Side-by-side blocks (left column, columns): headers on row `top` (unless `header` is
    False: then `top` is the row already written) and cells from the row below, strictly row by
    row as constant_memory requires. Returns the last row written."""
    fmt = book.formats
    rows = max((len(col.values) for _, cols in blocks for col in cols), default=0)
    specs: list[tuple[int, Callable, Any, list | None]] = []
    cells: list[list] = []
    for left, columns in blocks:
        for j, column in enumerate(columns):
            c = left + j
            if header:
                ws.set_column(c, c, _width(column))
                ws.write_string(top, c, column.header, fmt["header"])
            if column.kinds is not None:
                kinds = [fmt.get(k) for k in column.kinds]
                specs.append((c, _writer(ws, "mixed"), None, kinds))
            else:
                specs.append((c, _writer(ws, column.kind), fmt.get(column.kind), None))
            short = rows - len(column.values)
            cells.append(column.values + [None] * short if short else column.values)
    for i, row in enumerate(zip(*cells, strict=True)):
        r = top + 1 + i
        for (c, write, cell_format, kinds), value in zip(specs, row, strict=True):
            if value is not None:
                write(r, c, value, cell_format if kinds is None else kinds[i])
    return top + rows


def _writer(ws: Worksheet, kind: str) -> Callable:
    if kind == "text":
        return ws.write_string
    if kind == "mixed":
        return lambda r, c, v, f: (
            ws.write_string(r, c, v, f) if isinstance(v, str) else ws.write_number(r, c, v, f)
        )
    return ws.write_number


def write_table(
    book: Book,
    ws: Worksheet,
    table: list[Cells],
    top: int = 0,
    beside: list[tuple[int, list[Column]]] | None = None,
    width_rows: int = WIDTH_SAMPLE,
) -> int:
    """A table from column A with its header on row `top`. XlsxWriter writes the header and
    the first row (or as many as the blocks `beside` it fill), so the cell styles exist; the
    other rows are built in Arrow and spliced in after close, at a fraction of XlsxWriter's
    ~10 µs per cell. Text widths are measured on the first `width_rows` rows. Returns the last
    row."""
    beside = beside or []
    rows = len(table[0].values) if table else 0
    head = max([1, *(len(c.values) for _, cols in beside for c in cols)])
    columns = []
    for cells in table:
        column = _col(cells.header, cells.values.iloc[:head], cells.kind)
        if cells.kind == "text":
            column.width = _width(_col(cells.header, cells.values.iloc[:width_rows]))
        columns.append(column)
    last = write_rows(book, ws, [(0, columns), *beside], top=top)
    if rows <= head:
        return last
    # The spliced rows copy their styles from the last row written here: a blank number
    # there still gets its cell format.
    for c, column in enumerate(columns):
        if column.values[head - 1] is None and book.formats.get(column.kind) is not None:
            ws.write_blank(top + head, c, None, book.formats[column.kind])
    rest = [cells.values.iloc[head:] for cells in table]
    book.deferred.append(Deferred(ws.name, rest, [c.kind for c in table], first_row=last + 1))
    return last + rows - head


def _table_sheet(book: Book, name: str, table: list[Cells], freeze_cols: int = 1) -> Worksheet:
    ws = book.sheet(name)
    last = write_table(book, ws, table)
    ws.freeze_panes(1, freeze_cols)
    ws.autofilter(0, 0, last, len(table) - 1)
    return ws


def _note(book: Book, ws: Worksheet, row: int, text: str) -> None:
    ws.write_string(row, 0, text, book.formats["note"])


def _severity_counts(data: ReportData) -> dict[str, int]:
    counts = data.findings["severity"].value_counts()
    return {s: int(counts.get(s, 0)) for s in SEVERITY_ORDER}


def _row_totals(data: ReportData) -> dict[str, int]:
    files = [f for f in data.export.files if f.table]
    return {
        "read": sum(f.rows_read for f in files),
        "loaded": sum(f.rows_loaded for f in files),
        "rejected": sum(f.rows_rejected for f in files),
    }


def _summary(book: Book, data: ReportData) -> None:
    overall = data.stats.overall
    as_of = data.result.as_of
    rows = _row_totals(data)
    figures: list[tuple[str, Any, str]] = [
        ("Period start", overall["period_start"], "date"),
        ("Period end", overall["period_end"], "date"),
        ("Audited as of", as_of, "date"),
        ("Notes audited", overall["notes"], "int"),
        ("Therapists", overall["therapists"], "int"),
        ("Patients", overall["patients"], "int"),
        ("Episodes", overall["episodes"], "int"),
        ("Checks with a result (passed + failed)", overall["passed"] + overall["failed"], "int"),
        ("Passed", overall["passed"], "int"),
        ("Failed (findings)", overall["failed"], "int"),
        ("Not evaluable (data missing)", overall["not_evaluable"], "int"),
        ("Overall compliance rate", overall["rate"], "pct"),
        ("95% interval, low", overall["ci_low"], "pct"),
        ("95% interval, high", overall["ci_high"], "pct"),
        ("Notes without any finding", overall["notes_without_findings"], "int"),
        ("Share of notes without any finding", overall["notes_without_findings_rate"], "pct"),
    ]
    figures += [(f"Findings: {sev}", n, "int") for sev, n in _severity_counts(data).items()]
    figures += [
        ("Input rows read", rows["read"], "int"),
        ("Input rows loaded", rows["loaded"], "int"),
        ("Input rows rejected (sheet Input problems)", rows["rejected"], "int"),
    ]
    values: list[Any] = []
    for _, value, kind in figures:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            values.append("–")
        elif kind == "date":
            values.append(float((pd.Timestamp(value) - EXCEL_EPOCH) / pd.Timedelta(days=1)))
        else:
            values.append(float(value))
    key_figures = [
        Column("Figure", [f[0] for f in figures], width=40),
        Column("Value", values, "mixed", width=14, kinds=[f[2] for f in figures]),
    ]
    items = data.stats.items
    rated = items[items["rate"].notna()]
    worst = rated.sort_values(["rate", "failed"], ascending=[True, False]).head(WORST_ITEMS)
    worst_columns = [
        _col("Worst items", worst["item_id"]),
        _col("Title", worst["title"]),
        _col("Rate", worst["rate"], "pct"),
        _col("Passed", worst["passed"], "int"),
        _col("Failed", worst["failed"], "int"),
    ]
    worst_columns[1].width = 45
    ws = book.sheet("Summary")
    ws.write_string(0, 0, "Compliance summary", book.formats["title"])
    write_rows(book, ws, [(0, key_figures), (3, worst_columns)], top=2)
    if data.notices:  # below the key figures and the chart (rows of 20 px), whole rows
        below_chart = 5 + len(worst) + math.ceil((60 + 28 * len(worst)) / 20) if len(worst) else 0
        notices = [Column("Notices about the export (also on the console)", data.notices, width=40)]
        _section(book, ws, max(4 + len(figures), below_chart), "Notices", notices)
    ws.freeze_panes(3, 0)
    if len(worst):
        chart = book.workbook.add_chart({"type": "bar"})
        chart.add_series(
            {
                "name": "Compliance rate",
                "categories": ["Summary", 3, 3, 2 + len(worst), 3],
                "values": ["Summary", 3, 5, 2 + len(worst), 5],
                "data_labels": {"value": True, "num_format": "0%"},
            }
        )
        chart.set_title({"name": f"The {len(worst)} items with the lowest rate"})
        chart.set_x_axis({"min": 0, "max": 1, "num_format": "0%"})
        chart.set_y_axis({"reverse": True})
        chart.set_legend({"none": True})
        chart.set_size({"width": 640, "height": 60 + 28 * len(worst)})
        ws.insert_chart(4 + len(worst), 3, chart)


def _therapists(book: Book, data: ReportData) -> None:
    t = data.stats.therapists
    columns = [
        Cells("Therapist", t["therapist"]),
        Cells("Therapist ID", t["therapist_id"]),
        Cells("Discipline", t["discipline"]),
        Cells("Credential", t["credential"]),
        Cells("Notes audited", t["notes"], "int"),
        Cells("Passed", t["passed"], "int"),
        Cells("Failed", t["failed"], "int"),
        Cells("Not evaluable", t["not_evaluable"], "int"),
        Cells("Rate", t["rate"], "pct"),
        Cells("95% CI low", t["ci_low"], "pct"),
        Cells("95% CI high", t["ci_high"], "pct"),
    ]
    columns += [Cells(f"Findings: {sev}", t[f"failed_{sev}"], "int") for sev in SEVERITY_ORDER]
    # Findings on assistants' and students' visits that are the supervising therapist's (a
    # report, recertification, co-signature): in the counts above of the therapist they count
    # against, and shown here from both sides.
    columns += [
        Cells("Findings on visits supervised", t["supervised_failed"], "int"),
        Cells("Findings for the supervisor", t["for_supervisor"], "int"),
    ]
    ws = _table_sheet(book, "Therapists", columns)
    if len(t):
        ws.conditional_format(1, 8, len(t), 8, RATE_SCALE)


def _items(book: Book, data: ReportData) -> None:
    items = data.stats.items
    columns = [
        Cells("Item ID", items["item_id"]),
        Cells("Title", items["title"]),
        Cells("Severity", items["severity"]),
        Cells("Checklist", items["checklist"]),
        Cells("Applicable", items["applicable"], "int"),
        Cells("Passed", items["passed"], "int"),
        Cells("Failed", items["failed"], "int"),
        Cells("Not evaluable", items["not_evaluable"], "int"),
        Cells("Not-evaluable reason", items["not_evaluable_reason"]),
        Cells("Rate", items["rate"], "pct"),
        Cells("95% CI low", items["ci_low"], "pct"),
        Cells("95% CI high", items["ci_high"], "pct"),
    ]
    ws = _table_sheet(book, "Items", columns)
    if len(items):
        ws.conditional_format(1, 9, len(items), 9, RATE_SCALE)


def _matrix(book: Book, data: ReportData) -> None:
    t = data.stats.therapists
    matrix = data.stats.matrix.reindex(t["therapist_id"].astype(str))
    columns = [Cells("Therapist", t["therapist"]), Cells("Therapist ID", t["therapist_id"])]
    columns += [Cells(str(i), matrix[i], "pct") for i in matrix.columns]
    ws = _table_sheet(book, "Matrix", columns, freeze_cols=2)
    if len(t) and len(matrix.columns):
        ws.conditional_format(1, 2, len(t), 1 + len(matrix.columns), RATE_SCALE)


def _detail(
    book: Book, plan: DetailPlan, frame: pd.DataFrame, kinds: dict[str, str], empty: str
) -> None:
    """A detail table over its planned sheets; a note row above the header when split, and
    `empty` below the header when there are no rows at all."""
    for part in plan.parts:
        ws = book.sheet(part.sheet)
        if plan.pointer:
            _note(book, ws, 0, plan.pointer)
            ws.set_column(0, 0, 120)
            continue
        top = 1 if part.note else 0
        if part.note:
            _note(book, ws, 0, part.note)
        rows = frame.iloc[part.rows]
        table = [
            Cells(str(name), rows.iloc[:, j], kinds.get(name, "text"))
            for j, name in enumerate(frame.columns)
        ]
        # Widths from the first row only, as these sheets always had them.
        last = write_table(book, ws, table, top=top, width_rows=1)
        ws.freeze_panes(top + 1, 0)
        ws.autofilter(top, 0, last, len(frame.columns) - 1)
        if last == top:
            _note(book, ws, top + 2, empty)


def _trend_frame(data: ReportData) -> tuple[pd.DataFrame, str]:
    if data.trend is not None and len(data.trend):
        return data.trend, "the run history (the months recorded for this team)"
    from ..history import trend_frame

    # The statistics already hold the counts per month and therapist: the same frame as
    # history.trend_from_data without grouping the status matrix per item again.
    months = data.stats.months
    per = months[months["therapist_id"] != ""]
    counts = per[["month", "therapist_id", "passed", "failed", "not_evaluable"]]
    names = data.stats.therapists.set_index("therapist_id")["therapist"]
    trend = trend_frame(counts, per[["month", "therapist_id", "notes"]], names)
    return trend, "this run's data only (no run history was used)"


def _trend(book: Book, data: ReportData, trend: pd.DataFrame, source: str) -> None:
    frame = trend.copy()
    frame["_team"] = frame["therapist_id"] != ""
    frame = frame.sort_values(["_team", "therapist", "therapist_id", "month"], ignore_index=True)
    month_dates = pd.to_datetime(frame["month"] + "-01")
    long_columns = [
        Cells("Month", month_dates, "month"),
        Cells("Therapist", frame["therapist"]),
        Cells("Therapist ID", frame["therapist_id"]),
        Cells("Notes", frame["notes"], "int"),
        Cells("Passed", frame["passed"], "int"),
        Cells("Failed", frame["failed"], "int"),
        Cells("Rate", frame["rate"], "pct"),
        Cells("95% CI low", frame["ci_low"], "pct"),
        Cells("95% CI high", frame["ci_high"], "pct"),
        Cells("Change vs previous month", frame["change_vs_previous"], "change"),
    ]
    # The chart's data: one row per month, one column per line.
    team = frame[~frame["_team"]].set_index("month")
    people = frame[frame["_team"]]
    # Two therapists may share a display name; their lines are told apart by id.
    ids = people.drop_duplicates("therapist_id")
    shared = ids.loc[ids["therapist"].duplicated(keep=False), "therapist"]
    label = people["therapist"].where(
        ~people["therapist"].isin(shared),
        people["therapist"] + " (" + people["therapist_id"] + ")",
    )
    wide = people.assign(label=label).pivot(index="month", columns="label", values="rate")
    months = sorted(frame["month"].unique())
    wide = wide.reindex(index=months)
    pivot_columns = [
        Column("Month", _dates(pd.to_datetime(pd.Series(months) + "-01")), "month"),
        Column("All therapists", _numbers(team["rate"].reindex(months).to_numpy()), "pct"),
        Column("All: 95% CI low", _numbers(team["ci_low"].reindex(months).to_numpy()), "pct"),
        Column("All: 95% CI high", _numbers(team["ci_high"].reindex(months).to_numpy()), "pct"),
    ]
    # One line per therapist only while the chart can show them; with thousands of therapists
    # a column each (padded to the long table's rows) made this sheet quadratic in therapists.
    if len(wide.columns) <= CHART_THERAPISTS:
        pivot_columns += [Column(str(c), _numbers(wide[c].to_numpy()), "pct") for c in wide.columns]
    left = len(long_columns) + 1
    ws = book.sheet("Trend")
    last = write_table(book, ws, long_columns, beside=[(left, pivot_columns)])
    ws.freeze_panes(1, 0)
    ws.autofilter(0, 0, last, len(long_columns) - 1)
    if not months:
        return
    chart = book.workbook.add_chart({"type": "line"})
    n = len(months)
    lines = [(left + 1, {"width": 3}), (left + 2, None), (left + 3, None)]
    if len(wide.columns) <= CHART_THERAPISTS:
        lines += [(left + 4 + k, {"width": 1.5}) for k in range(len(wide.columns))]
    for col, line in lines:
        series = {
            "name": ["Trend", 0, col],
            "categories": ["Trend", 1, left, n, left],
            "values": ["Trend", 1, col, n, col],
            "marker": {"type": "circle", "size": 5},
        }
        if line is None:  # the interval bounds: thin, dashed, grey
            series["line"] = {"width": 1, "dash_type": "dash", "color": "#A6A6A6"}
            series["marker"] = {"type": "none"}
        else:
            series["line"] = line
        chart.add_series(series)
    chart.set_title({"name": f"Compliance by month — from {source}"})
    chart.set_x_axis({"date_axis": True, "num_format": "yyyy-mm", "base_unit": "months"})
    # Fitted to the lines drawn (as the HTML chart is): rates of 96-99% on a 0-100% axis
    # look flat.
    plotted = [team[c].reindex(months).to_numpy(float) for c in ("rate", "ci_low", "ci_high")]
    if len(wide.columns) <= CHART_THERAPISTS:
        plotted.append(wide.to_numpy(float).ravel())
    floor, step = svg.rate_axis(np.concatenate(plotted).tolist())
    chart.set_y_axis({"num_format": "0%", "min": floor, "max": 1, "major_unit": step})
    chart.set_size({"width": 760, "height": 380})
    ws.insert_chart(n + 2, left, chart)


def _about(book: Book, data: ReportData, notes: list[str], trend_source: str) -> None:
    ws = book.sheet("About")
    ws.write_string(0, 0, "About this workbook", book.formats["title"])
    result = data.result
    export = data.export.root if not data.redacted else Path(data.export.root).name
    meta = [
        ("chartaudit version", data.version),
        ("Created at", data.created_at),
        ("Export", export),
        ("Period", f"{data.stats.overall['period_start']} to {data.stats.overall['period_end']}"),
        ("Audited as of", result.as_of.date().isoformat() if result.as_of is not None else ""),
        ("Patient identifiers redacted", "yes" if data.redacted else "no"),
        ("Trend sheet", f"from {trend_source}"),
    ]
    row = write_rows(
        book,
        ws,
        [
            (
                0,
                [
                    Column("Run", [m[0] for m in meta], width=34),
                    _text_col("Value", [m[1] for m in meta]),
                ],
            )
        ],
        top=2,
    )
    lists = result.checklists
    row = _section(
        book,
        ws,
        row + 2,
        "Checklists",
        [
            _text_col("Checklist", [c.name for c in lists]),
            _text_col("Title", [c.title for c in lists]),
            _text_col("Version", [c.version for c in lists]),
            _text_col("Source", [c.source for c in lists]),
            Column("Items", [float(len(c.items)) for c in lists], "int"),
        ],
    )
    files = [f.as_dict() for f in data.export.files]
    row = _section(
        book,
        ws,
        row + 2,
        "Input files",
        [
            _text_col("File", [f["file"] for f in files]),
            _text_col("Sheet", [f["sheet"] for f in files]),
            _text_col("Table", [f["table"] or "(not used)" for f in files]),
            _text_col("SHA-256", [f["sha256"] for f in files]),
            Column("Rows read", [float(f["rows_read"]) for f in files], "int"),
            Column("Rows loaded", [float(f["rows_loaded"]) for f in files], "int"),
            Column("Rows rejected", [float(f["rows_rejected"]) for f in files], "int"),
            _text_col("Note", [f["note"] for f in files]),
        ],
    )
    options = data.options
    row = _section(
        book,
        ws,
        row + 2,
        "Options",
        [
            _text_col("Option", list(options)),
            _text_col("Value", [_option_text(v) for v in options.values()]),
        ],
    )
    _section(
        book,
        ws,
        row + 2,
        "Sheets split or replaced",
        [_text_col("Note", notes or ["None: every table is complete on its own sheet."])],
    )
    # Fixed widths: the sections share columns, so the last section must not set them.
    for c, width in enumerate([34, 40, 18, 66, 12, 12, 14, 40]):
        ws.set_column(c, c, width)


def _text_col(header: str, values: list) -> Column:
    return Column(header, [None if v is None else str(v) for v in values])


def _option_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def _section(book: Book, ws: Worksheet, row: int, title: str, columns: list[Column]) -> int:
    ws.write_string(row, 0, title, book.formats["section"])
    return write_rows(book, ws, [(0, columns)], top=row + 1)


def write_workbook(data: ReportData, folder: Path) -> Path:
    """Write compliance.xlsx into folder and return its path."""
    path = Path(folder) / FILE_NAME
    csv_written = "csv" in (data.options.get("formats") or [])
    notes_frame = data.notes[NOTES_OUTPUT_COLUMNS]
    findings_frame = data.findings[FINDINGS_COLUMNS]
    rejected = data.export.rejected[REJECTED_COLUMNS]
    if data.redactor is not None:
        rejected = rejected.assign(reason=data.redactor.text(rejected["reason"]))
    plans = {
        "Notes": plan_detail("Notes", len(notes_frame), "notes.csv" if csv_written else None),
        "Findings": plan_detail(
            "Findings", len(findings_frame), "findings.csv" if csv_written else None
        ),
        "Input problems": plan_detail(
            "Input problems", len(rejected), "rejected.csv" if csv_written else None
        ),
    }
    trend, trend_source = _trend_frame(data)
    counts = {"applicable": "int", "passed": "int", "failed": "int", "not_evaluable": "int"}
    book = Book.create(path)
    try:
        _summary(book, data)
        _therapists(book, data)
        _items(book, data)
        _matrix(book, data)
        _detail(
            book,
            plans["Notes"],
            notes_frame,
            {"date_of_service": "date", "score": "pct", **counts},
            "No notes were audited (check --period and --therapist).",
        )
        _detail(
            book,
            plans["Findings"],
            findings_frame,
            {"date_of_service": "date"},
            "No findings: every evaluated check passed.",
        )
        _trend(book, data, trend, trend_source)
        _detail(
            book,
            plans["Input problems"],
            rejected,
            {"row": "int"},
            "None: every input row was loaded.",
        )
        _about(book, data, [p.about for p in plans.values() if p.about], trend_source)
    finally:
        book.workbook.close()
    splice(path, book.deferred, CHUNK_ROWS)
    return path
