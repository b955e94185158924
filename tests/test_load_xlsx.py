"""Excel exports: read with calamine, they load exactly as openpyxl read them (the same rows,
spreadsheet row numbers, dates, numbers, sheets and mapping), and a workbook that cannot be
read gets a message naming the file and the fix, never a traceback."""

from __future__ import annotations

import datetime as dt
import json
import zipfile
from dataclasses import asdict
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import xlsxwriter
from typer.testing import CliRunner

from chartaudit.cli import app
from chartaudit.errors import InputError
from chartaudit.load import files, load_export
from chartaudit.model import TABLES
from conftest import sample_export

# --- The reader before calamine, as it was (openpyxl, about 12,000 rows a second): the
# reference the new reader is held to. benchmarks/xlsx_read.py times it too.


def openpyxl_read_workbook(path, rel, tables, mapping):
    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        # Which sheet becomes which table is the loader's choice, not the reader's.
        wanted = files._wanted_sheets(path, rel, wb.sheetnames, tables, mapping)
        out = []
        for sheet, t, note in wanted:
            rows = wb[sheet].iter_rows(values_only=True)
            header = next(rows, None)
            if header is None:
                out.append(files.RawTable(rel, t, pd.DataFrame(), sheet=sheet, note="empty"))
                continue
            names = files._unique_names(["" if h is None else str(h).strip() for h in header])
            records = []
            numbers = []
            for i, row in enumerate(rows, start=2):
                if row is None or all(
                    v is None or (isinstance(v, str) and not v.strip()) for v in row
                ):
                    continue
                records.append(list(row[: len(names)]) + [None] * (len(names) - len(row)))
                numbers.append(i)
            frame = pd.DataFrame(records, columns=names, dtype=object)
            frame = frame.map(_openpyxl_cell_text)
            frame["_row"] = numbers
            out.append(files.RawTable(rel, t, frame, sheet=sheet, encoding="xlsx", note=note))
        return out
    finally:
        wb.close()


def _openpyxl_cell_text(value):
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# ---


def load_both(folder: Path, monkeypatch):
    """(export as openpyxl read it, export as calamine reads it)."""
    new = load_export(folder)
    with monkeypatch.context() as m:
        m.setattr(files, "_read_workbook", openpyxl_read_workbook)
        old = load_export(folder)
    return old, new


def assert_same_export(old, new) -> None:
    for table in TABLES:
        pd.testing.assert_frame_equal(old.tables[table], new.tables[table], obj=table)
    pd.testing.assert_frame_equal(old.rejected, new.rejected, obj="rejected")
    assert [asdict(f) for f in old.files] == [asdict(f) for f in new.files]
    assert old.notices == new.notices


def write_xlsx(path: Path, sheets: dict[str, list[list]], engine: str = "xlsxwriter") -> Path:
    """A real workbook of rows of typed cells (None: no cell), one sheet per entry."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if engine == "openpyxl":
        wb = openpyxl.Workbook()
        wb.remove(wb.active)
        for name, rows in sheets.items():
            ws = wb.create_sheet(name)
            for row in rows:
                ws.append(row)
                for cell in ws[ws.max_row]:
                    if isinstance(cell.value, dt.date):
                        cell.number_format = "yyyy-mm-dd h:mm"
        wb.save(path)
        return path
    wb = xlsxwriter.Workbook(path)
    date_fmt = wb.add_format({"num_format": "mm/dd/yyyy"})
    datetime_fmt = wb.add_format({"num_format": "mm/dd/yyyy hh:mm"})
    time_fmt = wb.add_format({"num_format": "hh:mm"})
    for name, rows in sheets.items():
        ws = wb.add_worksheet(name)
        for r, row in enumerate(rows):
            for c, v in enumerate(row):
                if v is None:
                    continue
                if isinstance(v, dt.datetime):
                    ws.write_datetime(r, c, v, datetime_fmt)
                elif isinstance(v, dt.time):
                    ws.write_datetime(r, c, v, time_fmt)
                elif isinstance(v, dt.date):
                    ws.write_datetime(r, c, v, date_fmt)
                elif isinstance(v, str) and v.startswith("#"):
                    ws.write_formula(r, c, "=NA()", None, v)  # an error cell, as Excel keeps one
                else:
                    ws.write(r, c, v)
    wb.close()
    return path


def sample_as_workbooks(src: Path, dst: Path) -> Path:
    """The sample export's CSV files as Excel: typed date and number cells, text dates in
    part of the rows, services and goals as two sheets of one workbook written by openpyxl."""
    dates = {"date_of_service", "signed_at", "cosigned_at", "target_date", "date"}
    numbers = {"units", "minutes", "charge", "allowed_amount", "total_timed_minutes", "score"}

    def typed(frame: pd.DataFrame) -> list[list]:
        rows = [list(frame.columns)]
        for i, rec in enumerate(frame.itertuples(index=False)):
            row = []
            for col, v in zip(frame.columns, rec, strict=True):
                if v == "":
                    row.append(None)
                elif col in dates and i % 3:  # every third row keeps its text date
                    row.append(pd.Timestamp(v).to_pydatetime())
                elif col in numbers:
                    row.append(float(v))
                else:
                    row.append(v)
            rows.append(row)
        return rows

    def read(name: str) -> pd.DataFrame:
        return pd.read_csv(src / name, dtype=str, keep_default_na=False)

    write_xlsx(dst / "notes.xlsx", {"Notes": typed(read("notes.csv"))})
    write_xlsx(
        dst / "Export.xlsx",
        {"Services": typed(read("services.csv")), "Goals": typed(read("goals.csv"))},
        engine="openpyxl",
    )
    for name in ("measures.csv", "authorizations.csv"):
        (dst / name).write_bytes((src / name).read_bytes())
    return dst


def test_a_sample_export_as_workbooks_loads_as_openpyxl_loaded_it(tmp_path, monkeypatch):
    folder = sample_as_workbooks(sample_export(tmp_path / "csv", 400, seed=3), tmp_path / "x")
    old, new = load_both(folder, monkeypatch)
    assert_same_export(old, new)
    # and as the CSV export loads: nothing was lost on the way through Excel
    csv = load_export(tmp_path / "csv")
    assert len(new.notes) == len(csv.notes) > 300
    assert len(new.tables["services"]) == len(csv.tables["services"])
    pd.testing.assert_series_equal(
        new.notes["date_of_service"], csv.notes["date_of_service"], check_names=False
    )


NOTES = ["note_id", "patient_id", "note_type", "date_of_service", "therapist", "credential"]


def test_tricky_cells_load_as_openpyxl_read_them(tmp_path, monkeypatch):
    notes = [
        NOTES + ["signed_at", "is_late_entry", "assessment", None, "assessment"],
        ["N1", "0097", "evaluation", dt.date(2026, 9, 1), "Kim Lee", "PT", 46266.75, True],
        [],  # a blank row
        ["N2", 97, "daily", "09/03/2026", "Kim Lee", "PTA", dt.datetime(2026, 9, 3, 14, 30)],
        ["  ", " ", None, "\t"],  # whitespace only: blank too
        [
            "N3",
            97,
            "daily",
            46268,
            "Kim Lee",
            "PTA",
            "2026-09-05 08:00",
            False,
            "x",
            "under no header",
        ],
        ["N4", 97, "daily", "#N/A", "Kim Lee", "PTA", dt.time(14, 30), 0, "#DIV/0!"],
        ["N5", 97, "#N/A", dt.datetime(2026, 9, 8), "Kim Lee", "PTA", 1.5, 1, " lead", None, "2nd"],
    ]
    services = [
        [None, None, "note_id", "cpt_code", "units", "minutes", "charge"],  # from column C
        [None, None, "N1", 97161, 1, 45, 156.02],
        [None, None, "N2", "97110", "2", 30.0, "$1,200.50"],
        [None, None, "N3", 97110.0, -1, 8, 1e20],
        [None, None, "N9", "97530", 1, 15, 0.1],
    ]
    write_xlsx(tmp_path / "notes.xlsx", {"Notes": notes, "Summary": [["total", 5]]})
    write_xlsx(tmp_path / "services.xlsx", {"Charges": services})
    old, new = load_both(tmp_path, monkeypatch)
    assert_same_export(old, new)

    # what the user sees, whichever reader: spreadsheet row numbers (header = row 1) past
    # blank rows, and an error cell quoted as Excel shows it
    rejected = {(r.file, r.row): r.reason for r in new.rejected.itertuples()}
    assert rejected[("notes.xlsx [Notes]", 7)].startswith(
        "date_of_service '#N/A' is not a valid date"
    )
    # an optional value that is no date (a time, 1.5: no Excel date of the years of therapy
    # records) is no reason to reject a row, whose required values are
    assert "signed_at" not in rejected[("notes.xlsx [Notes]", 7)]
    assert rejected[("notes.xlsx [Notes]", 8)].startswith("note_type '#N/A' is not recognised")
    assert "signed_at" not in rejected[("notes.xlsx [Notes]", 8)]
    assert rejected[("services.xlsx [Charges]", 4)].startswith("units '-1' is negative: ")
    assert rejected[("services.xlsx [Charges]", 5)].startswith(
        "note_id 'N9' matches no note in notes.xlsx [Notes] (or that note was rejected)"
    )
    notes_out = new.notes.set_index("note_id")
    assert notes_out.loc["N1", "patient_id"] == "0097"  # a number stored as text stays text
    assert notes_out.loc["N1", "signed_at"] == pd.Timestamp("2026-09-01 18:00")  # serial date
    assert notes_out.loc["N2", "signed_at"] == pd.Timestamp("2026-09-03 14:30")  # date cell
    assert notes_out.loc["N3", "date_of_service"] == pd.Timestamp("2026-09-03")
    assert notes_out["is_late_entry"].tolist() == [True, False, False]
    assert notes_out.loc["N3", "assessment"] == "x"
    assert new.tables["services"]["cpt_code"].tolist() == ["97161", "97110"]
    assert new.tables["services"]["charge"].tolist() == [156.02, 1200.50]
    summary = next(f for f in new.files if f.sheet == "Summary")
    assert summary.table is None and "not recognised" in summary.note


def test_a_mapped_sheet_of_vendor_columns_loads_as_openpyxl_read_it(tmp_path, monkeypatch):
    visits = [
        ["Doc #", "MRN", "Visit Type", "DOS", "Provider", "Creds"],
        ["A1", 77, "IE", dt.date(2026, 9, 1), "Kim Lee", "OTR/L"],
        ["A2", 77, "TX", "09/03/2026", "Kim Lee", "COTA"],
    ]
    write_xlsx(
        tmp_path / "Visit Report.xlsx",
        {"Cover": [["Run on", dt.date(2026, 10, 1)]], "Visits": visits},
        engine="openpyxl",
    )
    (tmp_path / "chartaudit-mapping.yaml").write_text(
        "tables:\n  notes:\n    files: ['Visit Report*.xlsx']\n    sheet: Visits\n"
        "    columns: {credential: Creds}\n"
        "    values:\n      note_type: {IE: evaluation, TX: daily}\n",
        encoding="utf-8",
    )
    old, new = load_both(tmp_path, monkeypatch)
    assert_same_export(old, new)
    assert new.notes["note_type"].tolist() == ["evaluation", "daily"]
    assert new.notes["patient_id"].tolist() == ["77", "77"]
    # The cover sheet is read too, and listed as no table: nothing in a workbook goes unseen.
    assert [(f.sheet, f.table) for f in new.files] == [("Cover", None), ("Visits", "notes")]

    (tmp_path / "chartaudit-mapping.yaml").write_text(
        "tables:\n  notes:\n    files: ['Visit Report*.xlsx']\n    sheet: Vists\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError) as info:
        load_export(tmp_path)
    assert str(info.value).startswith(
        "Visit Report.xlsx: has no sheet 'Vists' (sheets: Cover, Visits)"
    )


def test_line_ends_and_control_characters_read_as_written(tmp_path):
    # Excel (and XlsxWriter) store a carriage return as _x000D_; openpyxl showed that code in
    # the note's text.
    rows = [NOTES + ["assessment"], ["N1", "P1", "daily", "2026-09-01", "Kim Lee", "PT"]]
    rows[1].append("Gait training.\r\nTolerated well.")
    write_xlsx(tmp_path / "notes.xlsx", {"Notes": rows})
    assert load_export(tmp_path).notes.loc[0, "assessment"] == ("Gait training.\r\nTolerated well.")


def test_a_chart_sheet_is_passed_over(tmp_path):
    wb = openpyxl.Workbook()
    wb.active.title = "Notes"
    wb.active.append(NOTES)
    wb.active.append(["N1", "P1", "daily", "2026-09-01", "Kim Lee", "PT"])
    wb.create_chartsheet("Visits by month")
    wb.save(tmp_path / "notes.xlsx")
    export = load_export(tmp_path)
    assert export.notes["note_id"].tolist() == ["N1"]
    assert [f.sheet for f in export.files] == ["Notes"]


def _damaged_sheet(path: Path) -> None:
    write_xlsx(path, {"Notes": [NOTES, ["N1", "P1", "daily", "2026-09-01", "Kim Lee", "PT"]]})
    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    parts["xl/worksheets/sheet1.xml"] = parts["xl/worksheets/sheet1.xml"][:400]
    with zipfile.ZipFile(path, "w") as z:
        for name, data in parts.items():
            z.writestr(name, data)


def _zip_of_other_things(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("readme.txt", "not a workbook")


@pytest.mark.parametrize(
    ("make", "reason", "fix"),
    [
        (
            lambda p: p.write_text("this is not a workbook"),
            "not a valid Excel workbook",
            "re-export the file",
        ),
        (lambda p: p.write_bytes(b""), "not a valid Excel workbook", "re-export the file"),
        (
            # A workbook saved with a password is an OLE container, as an old .xls file is.
            lambda p: p.write_bytes(bytes.fromhex("D0CF11E0A1B11AE1") + bytes(4088)),
            "not a valid Excel workbook: it may be password-protected",
            "save a copy without a password",
        ),
        (_zip_of_other_things, "not a valid Excel workbook", "re-export the file"),
        (_damaged_sheet, "not a valid Excel workbook", "re-export the file"),
    ],
    ids=["text", "empty", "encrypted-or-xls", "zip-of-other-files", "damaged-sheet"],
)
def test_a_workbook_that_cannot_be_read_is_named_with_the_fix(tmp_path, make, reason, fix):
    (tmp_path / "notes.csv").write_text(
        ",".join(NOTES) + "\nN1,P1,daily,2026-09-01,Kim Lee,PT\n", encoding="utf-8"
    )
    make(tmp_path / "services.xlsx")
    result = CliRunner().invoke(app, ["inspect", str(tmp_path)], env={"COLUMNS": "300"})
    output = " ".join(result.output.split())  # the console wraps long lines
    assert result.exit_code == 2
    assert f"services.xlsx: cannot be read ({reason}" in output
    assert fix in output
    assert "Traceback" not in output


def test_a_title_row_above_the_header_is_named_as_the_fix(tmp_path):
    """Many EMR exports put a report title above the column names; the user is told to
    delete it, not to "add a note_id column" that is plainly there."""
    header = [
        "Note ID",
        "Patient ID",
        "Discipline",
        "Note Type",
        "Date of Service",
        "Therapist",
        "Credential",
    ]
    row = ["N1", "P1", "PT", "Daily Note", dt.date(2026, 8, 3), "Dana Reyes", "DPT"]
    write_xlsx(
        tmp_path / "notes.xlsx", {"Notes": [["Therapy notes export Aug 2026"], [], header, row]}
    )
    result = CliRunner().invoke(app, ["run", str(tmp_path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    output = " ".join(result.output.split())
    assert "the notes table has no note_id, patient_id," in output
    assert "the column names must be the first row of the file or sheet" in output
    assert "Traceback" not in output


def test_a_hidden_sheet_is_not_read_as_a_table(tmp_path):
    """A workbook's hidden "Notes old" sheet is a leftover, not a second notes table."""
    header = [
        "note_id",
        "patient_id",
        "discipline",
        "note_type",
        "date_of_service",
        "therapist",
        "credential",
    ]
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Notes"
    ws.append(header)
    ws.append(["N1", "P1", "PT", "daily", "2026-08-03", "Dana Reyes", "DPT"])
    old = wb.create_sheet("Notes old")
    old.append(header)
    old.append(["N1", "P1", "PT", "daily", "2025-08-03", "Dana Reyes", "DPT"])
    old.sheet_state = "hidden"
    wb.save(tmp_path / "export.xlsx")
    export = load_export(tmp_path)
    assert export.notes["note_id"].tolist() == ["N1"] and export.rejected.empty
    assert export.notes["date_of_service"].dt.year.tolist() == [2026]


def _clinic_workbook(path: Path) -> None:
    """One workbook of four vendor sheets and a summary sheet, written by openpyxl: 4 visits,
    3 charges (one of negative units), 2 goals and 2 measures."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    sheets = {
        "Visits": [
            ["Visit ID", "Chart #", "Visit Type", "Service Date", "Therapist", "Cred"],
            ["RT-1", "C1", "Initial Eval", dt.date(2026, 10, 1), "Nair, Priya", "OTR/L"],
            ["RT-2", "C1", "Daily Note", dt.date(2026, 10, 3), "Nair, Priya", "OTR/L"],
            ["RT-3", "C2", "Initial Eval", dt.date(2026, 10, 2), "Herrera, Luis", "COTA"],
            ["RT-4", "C2", "Daily Note", dt.date(2026, 10, 6), "Herrera, Luis", "COTA"],
        ],
        "Charges": [
            ["Visit ID", "CPT", "Modifiers", "Units", "Minutes"],
            ["RT-1", "97166", "GO", 1, 45],
            ["RT-2", "97530", "GO", 2, 30],
            ["RT-4", "97530", "GO CO", -1, 15],
        ],
        "Goals": [
            ["Goal #", "Visit ID", "Goal Term", "Goal", "Goal Status"],
            ["G1", "RT-1", "STG", "Pt will don shirt independently in 4 weeks.", "Progressing"],
            ["G2", "RT-3", "LTG", "Pt will cook a meal with set-up only in 8 weeks.", "Met"],
        ],
        "Outcome Measures": [
            ["Visit ID", "Instrument", "Score", "Date"],
            ["RT-1", "QuickDASH", 52, dt.date(2026, 10, 1)],
            ["RT-3", "QuickDASH", 40, dt.date(2026, 10, 2)],
        ],
        "Run Info": [["Report", "Raintree export"], ["Run by", "admin"], ["Rows", 11]],
    }
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
    wb.save(path)


def test_tables_mapped_to_sheets_of_one_workbook_each_load_their_sheet(tmp_path):
    """Every table's `files:` names the same workbook, each with its own `sheet:`: only the
    first table's sheet was read, the others dropped without a word while the rows-read line
    still reconciled (acceptance test B-1)."""
    folder = tmp_path / "export"
    folder.mkdir()
    _clinic_workbook(folder / "Raintree_Export_Oct2026.xlsx")
    (folder / "chartaudit-mapping.yaml").write_text(
        "tables:\n"
        "  notes: {files: ['Raintree_Export*.xlsx'], sheet: Visits,"
        " columns: {credential: Cred}}\n"
        "  services: {files: ['Raintree_Export*.xlsx'], sheet: Charges}\n"
        "  goals: {files: ['Raintree_Export*.xlsx'], sheet: Goals}\n"
        "  measures: {files: ['Raintree_Export*.xlsx'], sheet: Outcome Measures,"
        " columns: {measure: Instrument}}\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["run", str(folder), "--out", str(out), "--no-history", "--format", "csv,json"]
    )
    assert result.exit_code in (0, 1), result.output
    console = " ".join(result.output.split())
    # 4 + 3 + 2 + 2 data rows: every sheet that became a table is counted.
    assert "Rows read 11 = loaded 10 + rejected 1 (see rejected.csv)" in console
    # The sheet no table uses is named, with its rows, not dropped silently.
    assert "Raintree_Export_Oct2026.xlsx [Run Info]: 2 rows not loaded: not recognised" in console
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    tables = {f["sheet"]: (f["table"], f["rows_read"]) for f in summary["files"]}
    assert tables == {
        "Visits": ("notes", 4),
        "Charges": ("services", 3),
        "Goals": ("goals", 2),
        "Outcome Measures": ("measures", 2),
        "Run Info": (None, 2),
    }
    rejected = pd.read_csv(out / "rejected.csv")
    assert rejected[["row", "table"]].values.tolist() == [[4, "services"]]

    inspected = CliRunner().invoke(app, ["inspect", str(folder)], env={"COLUMNS": "200"})
    assert inspected.exit_code == 0, inspected.output
    for line in (
        "Raintree_Export_Oct2026.xlsx [Charges] → services",
        "Raintree_Export_Oct2026.xlsx [Goals] → goals",
        "Raintree_Export_Oct2026.xlsx [Outcome Measures] → measures",
    ):
        assert line in inspected.output


def test_two_tables_reading_one_sheet_or_one_csv_are_named_in_the_mapping(tmp_path):
    _clinic_workbook(tmp_path / "Raintree_Export_Oct2026.xlsx")
    mapping = tmp_path / "chartaudit-mapping.yaml"
    mapping.write_text(
        "tables:\n  notes: {files: ['Raintree*.xlsx']}\n  services: {files: ['*.xlsx']}\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["inspect", str(tmp_path)], env={"COLUMNS": "300"})
    assert result.exit_code == 2
    assert " ".join(result.output.split()).startswith(
        f"error: {mapping}: tables.notes and tables.services both read sheet 'Visits' of "
        "Raintree_Export_Oct2026.xlsx fix: name each table's sheet: tables.notes.sheet and "
        "tables.services.sheet (sheets: Visits, Charges, Goals, Outcome Measures, Run Info)"
    )

    (tmp_path / "Raintree_Export_Oct2026.xlsx").unlink()
    (tmp_path / "Export.csv").write_text("a,b\n1,2\n", encoding="cp1252")
    mapping.write_text(
        "tables:\n  notes: {files: ['Export*.csv']}\n  goals: {files: ['*.csv']}\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["inspect", str(tmp_path)], env={"COLUMNS": "300"})
    assert result.exit_code == 2
    assert " ".join(result.output.split()).startswith(
        f"error: {mapping}: Export.csv matches both tables.notes.files and tables.goals.files, "
        "and a .csv file holds one table fix: make the patterns of tables.notes.files and "
        "tables.goals.files match different files"
    )


@pytest.mark.parametrize(
    "frequency, duration",
    [("Freq", "Dur"), ("POC Frequency", "POC Duration"), ("Frequency", "Duration")],
)
def test_plan_frequency_and_duration_columns_are_recognised(tmp_path, frequency, duration):
    """A Raintree sheet's "Dur" column was listed as ignored and `run` said nothing
    (acceptance test minor 7)."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Visits"
    ws.append(["Visit ID", "Chart #", "Visit Type", "Service Date", "Therapist", "Therapist Cred"])
    ws.cell(1, 7, frequency)
    ws.cell(1, 8, duration)
    ws.append(["RT-1", "C1", "Initial Eval", dt.date(2026, 10, 1), "Nair, Priya", "OTR/L"])
    ws.cell(2, 7, "2x/week")
    ws.cell(2, 8, "8 weeks")
    wb.save(tmp_path / "Raintree_Export.xlsx")
    result = CliRunner().invoke(app, ["inspect", str(tmp_path)], env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    assert f"{frequency} → frequency" in result.output
    assert f"{duration} → duration" in result.output
    assert "ignored" not in result.output and "note:" not in result.output
    notes = load_export(tmp_path).notes
    assert notes.loc[0, ["frequency", "duration"]].tolist() == ["2x/week", "8 weeks"]
