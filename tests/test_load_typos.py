"""Keying slips and empty exports, through the CLI as a quality lead or UM reviewer meets them:
one mistyped year, an empty scheduled export, vendor headers on the authorization sheet.
Each is reported with its file, row and fix; none stops the run with an internal error."""

from __future__ import annotations

import csv
import json
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from chartaudit.cli import app

HEADER = "Note ID,MRN,Episode,Discipline,Note Type,DOS,Provider,Credential,Signed,Assessment"


def visit(n: int, dos: str, note_type: str = "Daily Note", signed: str = "") -> str:
    signed = signed or dos
    text = f"Pt seen for gait training with rolling walker 150 ft CGA; visit {n}."
    return f"V{n},MRN1,EP1,PT,{note_type},{dos},Renée Côté,PT,{signed},{text}"


def export(tmp_path: Path, rows: list[str], header: str = HEADER) -> Path:
    folder = tmp_path / "export"
    folder.mkdir(exist_ok=True)
    text = "\r\n".join([header, *rows]) + "\r\n"
    (folder / "Visits Oct 2026.csv").write_bytes(text.encode("cp1252"))
    return folder


def month(extra: list[str]) -> list[str]:
    days = ["10/01/2026", "10/03/2026", "10/06/2026", "10/08/2026", "10/10/2026"]
    rows = [visit(1, days[0], "Initial Evaluation")]
    rows += [visit(i + 2, d) for i, d in enumerate(days[1:])]
    return rows + extra


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def rejected(out: Path) -> list[dict]:
    with open(out / "rejected.csv", encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def test_a_year_beyond_what_a_date_can_hold_rejects_only_its_row(tmp_path):
    folder = export(tmp_path, month([visit(9, "10/29/2620")]))
    out = tmp_path / "report"
    result = run("run", str(folder), "--out", str(out), "--no-history")
    assert result.exit_code in (0, 1), result.output
    assert "internal error" not in result.output
    [row] = rejected(out)
    assert (row["file"], row["row"]) == ("Visits Oct 2026.csv", "7")
    assert "date_of_service '10/29/2620' is not a valid date" in row["reason"]
    assert "1990 to 2100" in row["reason"]
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["period"]["as_of"] == "2026-10-10"
    assert "Rows read 6 = loaded 5 + rejected 1" in " ".join(result.output.split())
    # inspect and review say the same instead of stopping
    assert run("inspect", str(folder)).exit_code == 0
    review = run("review", str(folder), "--out", str(tmp_path / "um"), "--episode", "EP1")
    assert review.exit_code == 0, review.output


def test_a_spreadsheet_date_in_the_27th_century_is_rejected_with_its_row(tmp_path):
    folder = tmp_path / "export"
    folder.mkdir()
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Visits"
    ws.append(HEADER.split(","))
    for i, day in enumerate([datetime(2026, 10, 1), datetime(2026, 10, 3), datetime(2620, 10, 29)]):
        kind = "Initial Evaluation" if i == 0 else "Daily Note"
        ws.append([f"V{i}", "MRN1", "EP1", "PT", kind, day, "Ann Lee", "PT", day, "Gait 150 ft."])
    wb.save(folder / "notes.xlsx")
    out = tmp_path / "report"
    result = run("run", str(folder), "--out", str(out), "--no-history")
    assert result.exit_code in (0, 1), result.output
    [row] = rejected(out)
    assert row["row"] == "4" and "date_of_service" in row["reason"] and "2620" in row["reason"]


def test_a_date_of_service_decades_after_the_rest_is_a_typo_not_the_as_of_date(tmp_path):
    folder = export(tmp_path, month([visit(9, "10/29/2062")]))
    out = tmp_path / "report"
    result = run("run", str(folder), "--out", str(out), "--no-history")
    assert result.exit_code in (0, 1), result.output
    console = " ".join(result.output.split())
    assert "(2026-10-01 to 2026-10-10)" in console
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["period"]["as_of"] == "2026-10-10"
    [row] = rejected(out)
    assert row["row"] == "7"
    assert row["reason"] == (
        "date_of_service 2062-10-29 is more than a year after every other note's (the latest "
        "2026-10-10): correct the date (a typo?)"
    )
    # Open episodes are judged as of the last real visit, not 36 years on.
    with open(out / "findings.csv", encoding="utf-8-sig", newline="") as f:
        assert not any("days before 2062" in r["message"] for r in csv.DictReader(f))


def test_an_export_spanning_years_keeps_its_early_and_late_notes(tmp_path):
    # Continuous visits over two years: no date stands apart, none is rejected.
    days = [f"{m:02d}/15/{y}" for y in (2025, 2026) for m in range(1, 13)]
    rows = [visit(1, days[0], "Initial Evaluation")] + [
        visit(i + 2, d) for i, d in enumerate(days[1:])
    ]
    out = tmp_path / "report"
    result = run("run", str(export(tmp_path, rows)), "--out", str(out), "--no-history")
    assert result.exit_code in (0, 1), result.output
    assert rejected(out) == []


@pytest.mark.parametrize("content, what", [(b"", "empty"), (HEADER.encode() + b"\r\n", "header")])
@pytest.mark.parametrize("command", ["run", "review", "inspect"])
def test_an_empty_notes_file_is_named_not_an_internal_error(tmp_path, content, what, command):
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "notes.csv").write_bytes(content)
    args = [command, str(folder)] + ([] if command == "inspect" else ["--out", str(tmp_path / "o")])
    result = run(*args)
    assert result.exit_code == 2, result.output
    message = " ".join(result.output.split())
    assert "internal error" not in message
    assert f"notes.csv ({'empty' if what == 'empty' else 'header only'}) holds no rows" in message
    assert "fix:" in message


def test_review_with_every_note_rejected_says_so(tmp_path):
    folder = export(tmp_path, [visit(1, "13/45/2026", "Initial Evaluation")])
    result = run("review", str(folder), "--out", str(tmp_path / "o"), "--episode", "EP1")
    assert result.exit_code == 2, result.output
    assert "every row of the notes table was rejected" in " ".join(result.output.split())


def test_authorization_sheet_with_the_visit_sheets_headers_needs_no_mapping(tmp_path):
    """'Case No' and 'Service Line' name the episode and discipline on the visits sheet; the
    authorization requests use the same headers, so one patient's PT and OT requests stay
    apart and both are reviewed."""
    folder = tmp_path / "export"
    folder.mkdir()
    wb = openpyxl.Workbook()
    visits = wb.active
    visits.title = "Visits"
    visits.append(
        [
            "Doc #",
            "Acct #",
            "Case No",
            "Service Line",
            "Visit Type",
            "DOS",
            "Provider",
            "Credential",
            "Assessment",
        ]
    )
    for case, line, who, cred in (
        ("C-PT", "PT", "Ann Lee", "PT"),
        ("C-OT", "OT", "Bo Ng", "OTR/L"),
    ):
        for i, day in enumerate(["2026-10-01", "2026-10-06", "2026-10-13"]):
            kind = "Evaluation" if i == 0 else "Daily Note"
            visits.append([f"{case}-{i}", "A1", case, line, kind, day, who, cred, "Seen."])
    auths = wb.create_sheet("Auth Requests")
    auths.append(
        [
            "Auth Ref",
            "Acct #",
            "Case No",
            "Service Line",
            "Requested On",
            "Visits Requested",
            "Auth Status",
        ]
    )
    auths.append(["R1", "A1", "C-PT", "PT", "2026-10-20", 8, "Pending"])
    auths.append(["R2", "A1", "C-OT", "OT", "2026-10-21", 6, "Pending"])
    wb.save(folder / "export.xlsx")
    result = run("inspect", str(folder))
    assert "Case No → episode_id" in " ".join(result.output.split())
    out = tmp_path / "um"
    result = run("review", str(folder), "--out", str(out))
    assert result.exit_code == 0, result.output
    with open(out / "determinations.csv", encoding="utf-8-sig", newline="") as f:
        reviewed = {r["episode_id"] for r in csv.DictReader(f)}
    assert reviewed == {"C-PT", "C-OT"}


def test_goals_exported_by_episode_without_a_note_id_are_read(tmp_path):
    folder = export(tmp_path, month([]))
    (folder / "goals.csv").write_bytes(
        b"Goal #,MRN,Episode,Type,Goal Text,Due,Status\r\n"
        b"1,MRN1,EP1,Long,Pt will walk 500 ft with no device within 4 weeks to shop.,"
        b"10/29/2026,Progressing\r\n"
        b"2,MRN1,EP1,Long,Improve strength.,10/29/2026,Progressing\r\n"
    )
    out = tmp_path / "report"
    result = run("run", str(folder), "--out", str(out), "--no-history")
    assert result.exit_code in (0, 1), result.output
    with open(out / "findings.csv", encoding="utf-8-sig", newline="") as f:
        goals = [r for r in csv.DictReader(f) if r["item_id"] == "DOC-GOALS-MEASURABLE"]
    # the goals are the evaluation's: the vague one is found there, the measurable one is not
    assert [r["note_id"] for r in goals] == ["V1"]
    assert "Improve strength" in goals[0]["message"]
    assert "walk 500 ft" not in goals[0]["message"]


def test_inspect_shows_every_file_and_its_columns_before_a_missing_column_error(tmp_path):
    """inspect is how a mapping file gets written: a notes file without a note type still
    shows every file, the table it became and its columns read and ignored, then the error."""
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "Visits.csv").write_bytes(
        b"Note ID,MRN,DOS,Provider,Credential,Kind Of Visit\r\nV1,M1,10/01/2026,Ann Lee,PT,Eval\r\n"
    )
    (folder / "Charges.csv").write_bytes(b"Note ID,Proc,Units\r\nV1,97110,2\r\n")
    (folder / "Goals.csv").write_bytes(b"Goal Text,Due\r\nPt will walk 300 ft in 4 weeks,\r\n")
    result = run("inspect", str(folder))
    assert result.exit_code == 2
    said = " ".join(result.output.split())
    assert "the notes table has no note_type column" in said
    for shown in (
        "Visits.csv → notes",
        "Charges.csv → services",
        "Goals.csv → goals",
        "ignored: Kind Of Visit",
        "ignored: Proc",
        "ignored: Due",
    ):
        assert shown in said, shown
    assert said.index("Charges.csv → services") < said.index("error:")


def test_review_of_an_empty_authorization_queue_names_the_file(tmp_path):
    folder = export(tmp_path, month([]))
    (folder / "Auth Queue.jsonl").write_bytes(b"")
    result = run("review", str(folder), "--out", str(tmp_path / "um"))
    assert result.exit_code == 2
    said = " ".join(result.output.split())
    assert "the authorizations file Auth Queue.jsonl holds no rows" in said


def test_an_old_note_signed_when_written_is_kept_but_a_year_typed_wrong_is_not(tmp_path):
    """A long episode's evaluation from over a year ago belongs to the export; a date of
    service typed ten years early is known by its signature, dated a decade later."""
    old_eval = visit(1, "08/04/2025", "Initial Evaluation", signed="08/04/2025")
    typo = visit(9, "10/22/2016", signed="10/22/2026")
    rows = [old_eval] + month([typo])[1:]
    out = tmp_path / "report"
    result = run("run", str(export(tmp_path, rows)), "--out", str(out), "--no-history")
    assert result.exit_code in (0, 1), result.output
    [row] = rejected(out)
    assert row["row"] == "7"
    assert row["reason"] == (
        "date_of_service 2016-10-22 is more than a year before every other note's (the earliest "
        "2025-08-04) and before its own signature date: correct the date (a typo?)"
    )
    with open(out / "notes.csv", encoding="utf-8-sig", newline="") as f:
        assert "V1" in {r["note_id"] for r in csv.DictReader(f)}


def test_an_old_evaluation_alone_before_a_year_gap_is_kept(tmp_path):
    rows = [visit(1, "08/04/2025", "Initial Evaluation")] + month([])[1:]
    out = tmp_path / "report"
    result = run("run", str(export(tmp_path, rows)), "--out", str(out), "--no-history")
    assert result.exit_code in (0, 1), result.output
    assert rejected(out) == []
