"""compliance.xlsx: reopened with openpyxl, as a user's spreadsheet program would read it."""

from __future__ import annotations

import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from chartaudit.audit import run_audit
from chartaudit.checklists import load_checklists
from chartaudit.load import from_frames
from chartaudit.privacy import Redactor
from chartaudit.report import xlsx
from chartaudit.report.data import ReportData, build
from chartaudit.report.files import summary

CHECKLIST = """
checklist: tiny
title: Tiny test checklist
version: "1.0"
items:
  - id: T-SIGNED
    title: Note is signed
    severity: critical
    check: required_field
    params: {field: signed_at}
    why: An unsigned note is not a record.
    fix: Sign the note.
    reference: test
    examples: {bad: [{notes: [{note_id: a}]}], good: [{notes: [{note_id: b}]}]}
  - id: T-TIMELY
    title: Signed within 3 days
    severity: medium
    check: signature_timely
    why: Memory fades.
    fix: Sign sooner.
    reference: test
    examples: {bad: [{notes: [{note_id: a}]}], good: [{notes: [{note_id: b}]}]}
  - id: T-CRED
    title: Credential recognised
    severity: low
    check: credential_recognised
    why: The author must be identifiable as a clinician.
    fix: Record the credential.
    reference: test
    examples: {bad: [{notes: [{note_id: a}]}], good: [{notes: [{note_id: b}]}]}
"""
ATTACK = '=HYPERLINK("http://x","click")'
BASE = {
    "patient_id": "PX-771",
    "patient_name": "Alma Quintero",
    "discipline": "PT",
    "note_type": "daily",
    "credential": "DPT",
    "therapist": "Dana Reyes",
    "therapist_id": "T1",
    "payer": "Medicare",
}


def note(note_id: str, day: str, signed: str | None, **extra) -> dict:
    return {**BASE, "note_id": note_id, "date_of_service": day, "signed_at": signed or "", **extra}


ROWS = [
    note("N1", "2026-10-01", "2026-10-01"),
    note("N2", "2026-10-02", None),
    note("N3", "2026-10-05", "2026-10-09", therapist="Lee Park", therapist_id="T2"),
    note("N4", "2026-11-02", "2026-11-02", therapist="Lee Park", therapist_id="T2"),
    note("N5", "2026-11-03", "2026-11-03", credential="XYZ"),
]


def make_data(
    tmp_path: Path, rows: list[dict], formats=("xlsx",), redact: bool = False
) -> ReportData:
    path = tmp_path / "tiny.yaml"
    path.write_text(CHECKLIST, encoding="utf-8")
    export = from_frames({"notes": pd.DataFrame(rows)})
    result = run_audit(export, load_checklists([str(path)]))
    redactor = Redactor("test-key", export.notes) if redact else None
    options = {"formats": list(formats), "therapists": [], "redact": redact}
    return build(export, result, options, redactor, created_at="2026-11-30T10:00:00")


def sheet_rows(ws, header_row: int = 1) -> list[dict]:
    rows = list(ws.iter_rows(min_row=header_row, values_only=True))
    header = rows[0]
    return [dict(zip(header, r, strict=True)) for r in rows[1:] if any(v is not None for v in r)]


def sheet_xml(path: Path) -> str:
    with zipfile.ZipFile(path) as z:
        return "\n".join(
            z.read(n).decode("utf-8") for n in z.namelist() if n.startswith("xl/worksheets/")
        )


@pytest.fixture(scope="module")
def workbook(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("workbook")
    data = make_data(tmp_path, ROWS)
    path = xlsx.write_workbook(data, tmp_path)
    return data, path, openpyxl.load_workbook(path)


def test_every_sheet_is_there_in_order(workbook):
    _, path, wb = workbook
    assert path.name == "compliance.xlsx"
    assert wb.sheetnames == [
        "Summary",
        "Therapists",
        "Items",
        "Matrix",
        "Notes",
        "Findings",
        "Trend",
        "Input problems",
        "About",
    ]


def test_therapist_figures_equal_summary_json(workbook):
    data, _, wb = workbook
    expected = {t["therapist_id"]: t for t in summary(data)["therapists"]}
    rows = {r["Therapist ID"]: r for r in sheet_rows(wb["Therapists"])}
    assert set(rows) == set(expected) == {"T1", "T2"}
    for tid, t in expected.items():
        row = rows[tid]
        assert row["Therapist"] == t["therapist"]
        assert row["Notes audited"] == t["notes"]
        assert (row["Passed"], row["Failed"]) == (t["passed"], t["failed"])
        assert row["Rate"] == pytest.approx(t["rate"])
        assert row["95% CI low"] == pytest.approx(t["ci_low"])
        assert row["95% CI high"] == pytest.approx(t["ci_high"])


def test_summary_key_figures_and_worst_items_chart(workbook):
    data, _, wb = workbook
    ws = wb["Summary"]
    figures = {r["Figure"]: r["Value"] for r in sheet_rows(ws, header_row=3) if r["Figure"]}
    overall = data.stats.overall
    assert figures["Notes audited"] == 5
    assert figures["Therapists"] == 2
    assert figures["Overall compliance rate"] == pytest.approx(overall["rate"])
    assert figures["Findings: critical"] == 1  # N2 unsigned
    assert figures["Input rows read"] == 5
    assert figures["Period start"].date().isoformat() == "2026-10-01"
    rate_row = next(r for r in ws.iter_rows(min_row=4) if r[0].value == "Overall compliance rate")
    assert rate_row[1].number_format == "0.0%"
    assert len(ws._charts) == 1


def test_rates_are_percent_fractions_and_dates_are_dates(workbook):
    _, _, wb = workbook
    for sheet, column in [("Therapists", "Rate"), ("Items", "Rate"), ("Matrix", "T-SIGNED")]:
        ws = wb[sheet]
        header = [c.value for c in ws[1]]
        cells = [row[header.index(column)] for row in ws.iter_rows(min_row=2)]
        values = [c for c in cells if c.value is not None]
        assert values, sheet
        assert all(c.number_format == "0.0%" and 0 <= c.value <= 1 for c in values), sheet
    notes = wb["Notes"]
    header = [c.value for c in notes[1]]
    dos = notes.cell(row=2, column=header.index("date_of_service") + 1)
    assert dos.is_date and dos.value.date().isoformat() == "2026-10-01"


def test_table_sheets_have_frozen_headers_filters_and_colour_scales(workbook):
    _, _, wb = workbook
    for name in ("Therapists", "Items", "Matrix", "Notes", "Findings", "Trend", "Input problems"):
        ws = wb[name]
        assert ws.freeze_panes and ws.freeze_panes[-1] == "2", name
        assert ws.auto_filter.ref and ws.auto_filter.ref.startswith("A1:"), name
    for name in ("Therapists", "Items", "Matrix"):
        rules = [r for cf in wb[name].conditional_formatting for r in cf.rules]
        assert any(r.type == "colorScale" for r in rules), name
    assert wb["Input problems"]["A3"].value == "None: every input row was loaded."


def test_rejected_rows_are_listed_under_input_problems(tmp_path):
    bad = note("N9", "not a date", None)
    data = make_data(tmp_path, ROWS + [bad])
    wb = openpyxl.load_workbook(xlsx.write_workbook(data, tmp_path))
    [problem] = sheet_rows(wb["Input problems"])
    assert (problem["file"], problem["row"], problem["table"]) == ("memory:notes", 7, "notes")
    assert "date_of_service 'not a date' is not a valid date" in problem["reason"]
    figures = {r["Figure"]: r["Value"] for r in sheet_rows(wb["Summary"], 3) if r["Figure"]}
    assert figures["Input rows rejected (sheet Input problems)"] == 1


def test_notes_and_findings_sheets_hold_the_csv_rows(workbook):
    data, _, wb = workbook
    notes = sheet_rows(wb["Notes"])
    assert [r["note_id"] for r in notes] == data.notes["note_id"].tolist()
    findings = sheet_rows(wb["Findings"])
    assert len(findings) == len(data.findings) == 3
    assert {(r["note_id"], r["item_id"]) for r in findings} == {
        ("N2", "T-SIGNED"),
        ("N3", "T-TIMELY"),
        ("N5", "T-CRED"),
    }


def test_trend_without_history_shows_this_runs_months(workbook):
    _, _, wb = workbook
    rows = sheet_rows(wb["Trend"])
    team = [r for r in rows if r["Therapist"] == "All therapists"]
    assert [r["Month"].strftime("%Y-%m") for r in team] == ["2026-10", "2026-11"]
    assert team[0]["Notes"] == 3 and team[1]["Notes"] == 2
    assert len(wb["Trend"]._charts) == 1
    about = "\n".join(str(v) for row in wb["About"].iter_rows(values_only=True) for v in row)
    assert "this run's data only" in about


def test_about_names_version_checklists_files_and_options(workbook):
    data, _, wb = workbook
    about = "\n".join(str(v) for row in wb["About"].iter_rows(values_only=True) for v in row)
    assert data.version in about and "2026-11-30T10:00:00" in about
    assert "tiny" in about and "1.0" in about
    assert "memory:notes" in about
    assert "Sheets split or replaced" in about and "None: every table is complete" in about


@pytest.mark.parametrize(
    "field",
    ["therapist", "credential", "note_id", "patient_id"],
)
def test_export_text_is_never_a_formula(tmp_path, field):
    rows = [dict(r) for r in ROWS]
    rows[1][field] = ATTACK  # N2: unsigned, so it has a finding
    if field == "credential":
        rows[1]["credential"] = ATTACK  # unrecognised: also the finding's evidence
    data = make_data(tmp_path, rows)
    path = xlsx.write_workbook(data, tmp_path)
    wb = openpyxl.load_workbook(path)
    hits = [
        cell
        for ws in wb
        for row in ws.iter_rows()
        for cell in row
        if isinstance(cell.value, str) and "HYPERLINK" in cell.value
    ]
    assert hits, "the text should be in the workbook"
    for cell in hits:
        assert cell.data_type == "s" and ATTACK in cell.value
    xml = sheet_xml(path)
    assert "<f>" not in xml and "<f " not in xml
    assert "HYPERLINK" in xml


def test_text_starting_with_plus_minus_at_stays_text(tmp_path):
    rows = [dict(r) for r in ROWS]
    rows[0]["note_id"], rows[1]["note_id"], rows[2]["note_id"] = "+1", "-2", "@SUM(A1)"
    path = xlsx.write_workbook(make_data(tmp_path, rows), tmp_path)
    ids = [r[0] for r in openpyxl.load_workbook(path)["Notes"].iter_rows(min_row=2)]
    assert [(c.value, c.data_type) for c in ids[:3]] == [
        ("+1", "s"),
        ("-2", "s"),
        ("@SUM(A1)", "s"),
    ]


def test_detail_rows_written_in_chunks_arrive_whole_and_in_order(tmp_path, monkeypatch):
    monkeypatch.setattr(xlsx, "CHUNK_ROWS", 2)
    data = make_data(tmp_path, ROWS)
    wb = openpyxl.load_workbook(xlsx.write_workbook(data, tmp_path))
    notes = sheet_rows(wb["Notes"])
    assert [r["note_id"] for r in notes] == data.notes["note_id"].tolist()
    assert [r["failed"] for r in notes] == data.notes["failed"].tolist()
    assert wb["Notes"].auto_filter.ref == "A1:M6"


def test_a_detail_table_too_big_for_one_sheet_is_split(tmp_path, monkeypatch):
    monkeypatch.setattr(xlsx, "EXCEL_MAX_ROWS", 4)  # a note row + header + 2 rows per sheet
    data = make_data(tmp_path, ROWS, formats=("xlsx", "csv"))
    wb = openpyxl.load_workbook(xlsx.write_workbook(data, tmp_path))
    assert [n for n in wb.sheetnames if n.startswith("Notes")] == ["Notes", "Notes 2", "Notes 3"]
    # 3 findings + header fill exactly the 4 rows: not split, no note row.
    assert [n for n in wb.sheetnames if n.startswith("Findings")] == ["Findings"]
    assert wb["Findings"]["A1"].value == "note_id" and wb["Findings"].max_row == 4
    assert wb.sheetnames[-1] == "About"
    first = wb["Notes"]["A1"].value
    assert "Notes part 1 of 3: rows 1–2 of 5" in first and "'Notes 2'" in first
    assert "notes.csv" in first
    ids = [r["note_id"] for n in ("Notes", "Notes 2", "Notes 3") for r in sheet_rows(wb[n], 2)]
    assert ids == data.notes["note_id"].tolist()  # every row, once, in order
    for name in ("Notes", "Notes 2", "Notes 3"):
        assert wb[name].max_row <= 4
    about = "\n".join(str(v) for row in wb["About"].iter_rows(values_only=True) for v in row)
    assert "Notes: 5 rows are more than one Excel sheet holds" in about
    assert "'Notes', 'Notes 2', 'Notes 3'" in about


def test_a_detail_table_beyond_the_split_limit_points_to_its_csv(tmp_path, monkeypatch):
    monkeypatch.setattr(xlsx, "EXCEL_MAX_ROWS", 4)
    monkeypatch.setattr(xlsx, "MAX_SPLIT_SHEETS", 2)
    data = make_data(tmp_path, ROWS, formats=("xlsx", "csv"))
    wb = openpyxl.load_workbook(xlsx.write_workbook(data, tmp_path))
    assert "Notes 2" not in wb.sheetnames
    pointer = wb["Notes"]["A1"].value
    assert "5 rows" in pointer and "notes.csv" in pointer
    assert wb["Notes"].max_row == 1
    assert len(sheet_rows(wb["Findings"])) == 3  # fits one sheet: neither split nor replaced
    about = "\n".join(str(v) for row in wb["About"].iter_rows(values_only=True) for v in row)
    assert pointer in about


def test_without_the_csv_a_big_table_is_split_never_dropped(tmp_path, monkeypatch):
    monkeypatch.setattr(xlsx, "EXCEL_MAX_ROWS", 4)
    monkeypatch.setattr(xlsx, "MAX_SPLIT_SHEETS", 1)
    data = make_data(tmp_path, ROWS, formats=("xlsx",))
    wb = openpyxl.load_workbook(xlsx.write_workbook(data, tmp_path))
    assert "Notes 3" in wb.sheetnames
    assert ".csv" not in wb["Notes"]["A1"].value


def test_redacted_workbook_holds_no_patient_identifier(tmp_path):
    data = make_data(tmp_path, ROWS, redact=True)
    path = xlsx.write_workbook(data, tmp_path)
    with zipfile.ZipFile(path) as z:
        text = "\n".join(z.read(n).decode("utf-8", "replace") for n in z.namelist())
    assert "PX-771" not in text and "Quintero" not in text
    assert re.search(r"P-[0-9A-F]{10}", text)


def test_libreoffice_opens_the_workbook(workbook, tmp_path):
    """The workbook is valid for a second, independent reader (and its charts render)."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if not soffice:
        pytest.skip("LibreOffice (soffice) is not installed")
    _, path, _ = workbook
    out = tmp_path / "pdf"
    done = subprocess.run(
        [soffice, "--headless", "--convert-to", "pdf", "--outdir", str(out), str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert (out / "compliance.pdf").stat().st_size > 0


def test_csv_text_a_spreadsheet_would_run_keeps_a_leading_quote(tmp_path):
    """findings.csv and notes.csv open in the same spreadsheet programs: text starting with
    = + - @ gets a leading quote there; commas, quotes and line breaks stay inside one field."""
    import csv

    from chartaudit.report.files import write_findings, write_notes

    rows = [dict(r) for r in ROWS]
    rows[0]["note_id"], rows[1]["note_id"], rows[2]["note_id"] = "+1", ATTACK, "@SUM(A1)"
    rows[3]["note_id"], rows[4]["note_id"] = 'a,"b"\nc', "-2"
    data = make_data(tmp_path, rows)
    with open(write_notes(data, tmp_path), encoding="utf-8-sig", newline="") as f:
        notes = list(csv.DictReader(f))
    assert [r["note_id"] for r in notes] == ["'+1", "'" + ATTACK, "'@SUM(A1)", 'a,"b"\nc', "'-2"]
    assert [r["date_of_service"] for r in notes][:2] == ["2026-10-01", "2026-10-02"]
    assert notes[0]["score"] == "1.0" and notes[1]["failed"] == "1"
    with open(write_findings(data, tmp_path), encoding="utf-8-sig", newline="") as f:
        findings = list(csv.DictReader(f))
    assert "'" + ATTACK in [r["note_id"] for r in findings]


def test_every_row_of_a_table_keeps_its_cell_format(tmp_path):
    """Rows after the first are spliced in: they carry the same formats as the first, even
    where the first row's cell is blank (no rate for an item nobody could fail)."""
    rows = [dict(r) for r in ROWS]
    # The worst therapist first: T3 with one unsigned note, so T-TIMELY is blank on row 2.
    rows.append(note("N6", "2026-11-04", None, therapist="Ann Bell", therapist_id="T3"))
    wb = openpyxl.load_workbook(xlsx.write_workbook(make_data(tmp_path, rows), tmp_path))
    expected = {
        "Therapists": {"Rate": "0.0%", "Passed": "#,##0"},
        "Matrix": {"T-TIMELY": "0.0%", "T-SIGNED": "0.0%"},
        "Trend": {
            "Month": "yyyy-mm",
            "Rate": "0.0%",
            "Change vs previous month": "+0.0%;-0.0%;0.0%",
        },
        "Notes": {"date_of_service": "yyyy-mm-dd", "score": "0.0%"},
    }
    for sheet, columns in expected.items():
        ws = wb[sheet]
        header = [c.value for c in ws[1]]
        assert ws.max_row > 3
        for name, number_format in columns.items():
            cells = [row[header.index(name)] for row in ws.iter_rows(min_row=2)]
            filled = [c for c in cells if c.value is not None]
            assert len(filled) >= 2, (sheet, name)
            assert {c.number_format for c in filled} == {number_format}, (sheet, name)
    matrix = wb["Matrix"]
    assert matrix["B2"].value == "T3" and matrix["D2"].value is None  # T-TIMELY: blank


def test_notices_about_the_export_reach_summary_json_and_the_workbook(tmp_path):
    """A quality lead who only receives the report still learns that 4 goals had a status
    chartaudit did not know (the console is not all a reader of the report sees)."""
    import json

    from typer.testing import CliRunner

    from chartaudit.cli import app

    export = tmp_path / "export"
    shutil.copytree(Path(__file__).resolve().parent.parent / "sample_charts", export)
    goals = pd.read_csv(export / "goals.csv", dtype=str, keep_default_na=False)
    goals.loc[:3, "status"] = "Plateaued"
    goals.to_csv(export / "goals.csv", index=False)
    out = tmp_path / "report"
    result = CliRunner().invoke(app, ["run", str(export), "--out", str(out), "--no-history"])
    assert result.exit_code in (0, 1), result.output
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    [notice] = summary["notices"]
    assert notice.startswith("goals.csv: 4 rows have a status that is not one of met")
    assert "'Plateaued' (4)" in notice
    sheet = openpyxl.load_workbook(out / "compliance.xlsx", read_only=True)["Summary"]
    cells = [c for row in sheet.iter_rows(values_only=True) for c in row if c is not None]
    assert "Notices" in cells and notice in cells
