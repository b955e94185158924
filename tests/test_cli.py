"""Every command and error path through the real CLI (typer's CliRunner), as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

from chartaudit.cli import app
from conftest import sample_export

runner = CliRunner()


def invoke(*args: str):
    result = runner.invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.output, result.output
    return result


def read_notes(export_dir: Path) -> pd.DataFrame:
    return pd.read_csv(export_dir / "notes.csv", dtype=str, keep_default_na=False)


def export_with(notes: pd.DataFrame, export_dir: Path, folder: Path) -> Path:
    """A copy of export_dir in `folder` with `notes` as its notes.csv."""
    folder.mkdir()
    for f in export_dir.glob("*.csv"):
        (folder / f.name).write_bytes(f.read_bytes())
    notes.to_csv(folder / "notes.csv", index=False)
    return folder


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory) -> Path:
    return sample_export(tmp_path_factory.mktemp("export"), notes=400, seed=3)


@pytest.fixture(scope="module")
def report(export_dir, tmp_path_factory) -> tuple[Path, object]:
    out = tmp_path_factory.mktemp("report") / "r"
    result = runner.invoke(
        app, ["run", str(export_dir), "--out", str(out), "--no-history", "--format", "csv,json"]
    )
    return out, result


def test_help_lists_every_command_and_each_has_help():
    result = invoke("--help")
    for command in ("run", "inspect", "checklists", "explain", "review", "trend", "sample-data"):
        assert command in result.output
    for args in (
        ["run"],
        ["inspect"],
        ["explain"],
        ["review"],
        ["trend"],
        ["sample-data"],
        ["checklists", "list"],
        ["checklists", "show"],
        ["checklists", "validate"],
    ):
        sub = invoke(*args, "--help")
        assert sub.exit_code == 0 and "Usage" in sub.output, args


def test_run_writes_spec_outputs_and_reconciles(report):
    out, result = report
    assert result.exit_code == 0, result.output
    assert "Overall compliance" in result.output
    findings = pd.read_csv(out / "findings.csv", encoding="utf-8-sig")
    assert list(findings.columns) == [
        "note_id",
        "patient_id",
        "episode_id",
        "therapist",
        "discipline",
        "note_type",
        "date_of_service",
        "item_id",
        "item_title",
        "severity",
        "message",
        "evidence",
    ]
    notes = pd.read_csv(out / "notes.csv", encoding="utf-8-sig")
    for col in ("note_id", "applicable", "passed", "failed", "not_evaluable", "score"):
        assert col in notes.columns
    assert list(pd.read_csv(out / "rejected.csv").columns) == ["file", "row", "table", "reason"]
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["rows"]["reconciled"] is True
    for f in summary["files"]:
        assert f["rows_read"] == f["rows_loaded"] + f["rows_rejected"]
        assert len(f["sha256"]) == 64
    assert summary["overall"]["notes"] == len(notes)
    assert {c["name"] for c in summary["checklists"]} >= {
        "medicare-part-b",
        "documentation-quality",
    }
    assert sum(t["failed"] for t in summary["therapists"]) == len(findings)
    item = summary["items"][0]
    for key in ("applicable", "passed", "failed", "not_evaluable", "rate", "ci_low", "ci_high"):
        assert key in item


def test_medicare_items_never_fire_on_commercial_notes(report):
    out, _ = report
    findings = pd.read_csv(out / "findings.csv", encoding="utf-8-sig")
    notes = pd.read_csv(out / "notes.csv", encoding="utf-8-sig")
    payer = findings.merge(notes[["note_id", "payer_type"]], on="note_id")
    medicare_items = payer[payer["item_id"].str.startswith("MCR-")]
    assert set(medicare_items["payer_type"]) <= {"medicare_b", "medicare_advantage"}
    commercial_items = payer[payer["item_id"].str.startswith("COM-")]
    assert set(commercial_items["payer_type"]) <= {"commercial"}


def test_fail_under_and_fail_on_exit_1(export_dir, tmp_path):
    result = invoke(
        "run",
        export_dir,
        "--out",
        tmp_path / "a",
        "--no-history",
        "--format",
        "json",
        "--fail-under",
        "100",
    )
    assert result.exit_code == 1
    assert "below --fail-under" in result.output
    result = invoke(
        "run",
        export_dir,
        "--out",
        tmp_path / "b",
        "--no-history",
        "--format",
        "json",
        "--fail-on",
        "critical",
    )
    assert result.exit_code == 1


def test_period_and_therapist_scope(export_dir, tmp_path):
    notes = pd.read_csv(export_dir / "notes.csv")
    month = str(notes["date_of_service"].min())[:7]
    who = notes["therapist"].iloc[0]
    result = invoke(
        "run",
        export_dir,
        "--out",
        tmp_path / "p",
        "--no-history",
        "--format",
        "csv",
        "--period",
        month,
        "--therapist",
        who,
    )
    assert result.exit_code == 0, result.output
    audited = pd.read_csv(tmp_path / "p" / "notes.csv", encoding="utf-8-sig")
    assert set(audited["therapist"]) == {who}
    assert audited["date_of_service"].str.startswith(month).all()


def test_sample_is_reproducible(export_dir, tmp_path):
    for name in ("s1", "s2"):
        result = invoke(
            "run",
            export_dir,
            "--out",
            tmp_path / name,
            "--no-history",
            "--format",
            "csv",
            "--sample",
            "2",
            "--seed",
            "11",
        )
        assert result.exit_code == 0, result.output
    a = pd.read_csv(tmp_path / "s1" / "sample.csv", encoding="utf-8-sig")
    b = pd.read_csv(tmp_path / "s2" / "sample.csv", encoding="utf-8-sig")
    assert a["note_id"].tolist() == b["note_id"].tolist()
    assert a.groupby("therapist").size().max() <= 2
    assert {"reviewer", "reviewer_comments"} <= set(a.columns)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "/no/such/folder"], "folder not found"),
        (["run", "{export}", "--period", "2026-13"], "--period '2026-13' is not a month"),
        (["run", "{export}", "--period", "2019-01"], "no notes to audit in the requested period"),
        (["run", "{export}", "--format", "docx"], "unknown format 'docx'"),
        (["run", "{export}", "--therapist", "Nobody Here"], "no such therapist"),
        (["run", "{export}", "--checklist", "nope"], "nope: no such checklist"),
        (["run", "{export}", "--fail-on", "urgent"], "not a severity"),
        (["explain", "NOPE-1"], "no item 'NOPE-1'"),
        (["checklists", "show", "nope"], "no such checklist"),
        (["inspect", "/no/such/folder"], "folder not found"),
    ],
)
def test_errors_exit_2_with_one_message(export_dir, tmp_path, args, message):
    args = [a.replace("{export}", str(export_dir)) for a in args]
    if args[0] == "run":
        args += ["--out", str(tmp_path / "o"), "--no-history"]
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not (tmp_path / "o").exists()  # nothing half-written


def test_notes_without_required_column_exit_2(tmp_path):
    (tmp_path / "notes.csv").write_text("note_id,patient_id\n1,2\n", encoding="utf-8")
    result = invoke("run", tmp_path, "--out", tmp_path / "o", "--no-history")
    assert result.exit_code == 2
    output = " ".join(result.output.split())
    assert "notes.csv: the notes table has no note_type, date_of_service, therapist" in output
    assert "fix:" in result.output


def test_inspect_shows_mapping_and_blind_spots(export_dir, tmp_path):
    result = invoke("inspect", export_dir)
    assert result.exit_code == 0, result.output
    assert "notes.csv" in result.output and "notes" in result.output
    only_notes = tmp_path / "only"
    only_notes.mkdir()
    (only_notes / "notes.csv").write_bytes((export_dir / "notes.csv").read_bytes())
    result = invoke("inspect", only_notes)
    assert "cannot be evaluated" in result.output
    assert "services" in result.output


def test_a_mapping_pattern_that_matches_no_file_is_reported(export_dir, tmp_path):
    folder = export_with(read_notes(export_dir), export_dir, tmp_path / "export")
    (folder / "chartaudit-mapping.yaml").write_text(
        "tables:\n  services:\n    files: [Charges*.xlsx]\n", encoding="utf-8"
    )
    expected = "tables.services.files pattern 'Charges*.xlsx' matches no file in the export"
    for args in (("inspect", folder), ("run", folder, "--out", tmp_path / "r", "--no-history")):
        result = invoke(*args)
        assert result.exit_code in (0, 1), result.output
        assert expected in " ".join(result.output.split()), args[0]


def test_checklists_list_show_and_explain():
    listed = invoke("checklists", "list")
    assert listed.exit_code == 0 and "MCR-PR-10" in listed.output and "DOC-SIGNED" in listed.output
    kinds = runner.invoke(app, ["checklists", "list", "--kinds"], env={"COLUMNS": "250"})
    assert kinds.exit_code == 0 and "progress_report_interval" in kinds.output
    assert "max_treatment_days" in kinds.output
    shown = invoke("checklists", "show", "medicare-part-b")
    assert shown.exit_code == 0 and "MCR-8MIN" in shown.output
    explained = invoke("explain", "mcr-pr-10")
    assert explained.exit_code == 0
    for heading in ("Why it matters", "How to fix", "Reference", "Bad example", "Good example"):
        assert heading in explained.output
    # Whom a finding counts against, when it is the supervising therapist's on an assistant's note.
    assert "Counted against: the supervising therapist" in explained.output
    assert "Counted against" not in invoke("explain", "DOC-SOAP").output
    criterion = invoke("explain", "UM-PLATEAU")
    assert criterion.exit_code == 0 and "Why it matters" in criterion.output


def test_sample_data_is_deterministic(tmp_path):
    for name in ("a", "b"):
        assert (
            invoke("sample-data", tmp_path / name, "--notes", "120", "--seed", "5").exit_code == 0
        )
    for f in (tmp_path / "a").iterdir():
        assert f.read_bytes() == (tmp_path / "b" / f.name).read_bytes()


def test_history_records_whole_months_only_and_nothing_from_a_failed_run(
    export_dir, tmp_path, monkeypatch
):
    import sqlite3

    db = tmp_path / "h.sqlite"
    notes = pd.read_csv(export_dir / "notes.csv")
    month = str(notes["date_of_service"].max())[:7]
    result = invoke(
        "run",
        export_dir,
        "--out",
        tmp_path / "a",
        "--history",
        db,
        "--format",
        "json",
        "--from",
        f"{month}-10",
        "--to",
        f"{month}-20",
    )
    assert result.exit_code == 0, result.output
    assert "only partly audited" in result.output
    with sqlite3.connect(db) as con:
        months = {m for (m,) in con.execute("SELECT DISTINCT month FROM counts")}
    assert month not in months

    import chartaudit.report.xlsx as xlsx

    def broken(*_args, **_kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(xlsx, "write_workbook", broken)
    before = db.read_bytes()
    result = invoke("run", export_dir, "--out", tmp_path / "b", "--history", db)
    assert result.exit_code == 2
    assert db.read_bytes() == before  # the failed run left the history as it was
    assert not list(tmp_path.glob(".h.sqlite*draft"))
    assert not (tmp_path / "b").exists()  # and no half-written report


def test_trend_command_two_months_rerun_and_errors(export_dir, tmp_path):
    db = tmp_path / "trend.sqlite"
    empty = invoke("trend", "--history", tmp_path / "none.sqlite")
    assert empty.exit_code == 2 and "fix:" in empty.output  # a named file that is not there
    notes = pd.read_csv(export_dir / "notes.csv")
    months = sorted(notes["date_of_service"].str[:7].unique())[-2:]
    for month in (*months, months[-1]):  # the last month twice: replaced, not duplicated
        result = invoke(
            "run",
            export_dir,
            "--out",
            tmp_path / month,
            "--history",
            db,
            "--format",
            "json",
            "--period",
            month,
        )
        assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["trend", "--history", str(db)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for month in months:
        assert result.output.count(month) >= 1
    assert "Per therapist" in result.output
    (tmp_path / "corrupt.sqlite").write_bytes(b"not a database at all" * 100)
    broken = invoke("trend", "--history", tmp_path / "corrupt.sqlite")
    assert broken.exit_code == 2 and "corrupt.sqlite" in broken.output


def test_a_second_run_into_the_same_folder_replaces_every_file(export_dir, tmp_path):
    out = tmp_path / "monthly"
    first = invoke("run", export_dir, "--out", out, "--no-history", "--format", "csv,json,html")
    assert first.exit_code == 0, first.output
    (out / "findings.csv").write_text("stale", encoding="utf-8")
    second = invoke(
        "run", export_dir, "--out", out, "--no-history", "--format", "csv,json,html",
        "--therapist", pd.read_csv(out / "notes.csv")["therapist"].iloc[0],
    )  # fmt: skip
    assert second.exit_code == 0, second.output
    findings = pd.read_csv(out / "findings.csv")
    assert findings["therapist"].nunique() == 1  # the second run's file, not the first's
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]  # nothing left aside
    assert not list(out.parent.glob(".chartaudit-*"))  # no staging folder left


@pytest.mark.parametrize("command", ["run", "inspect"])
def test_an_unreadable_export_file_names_the_file_and_the_permissions_fix(
    export_dir, tmp_path, monkeypatch, command
):
    # As on a file without read permission (the tests may run as root, who reads anything).
    real = Path.open

    def refuse(self, *args, **kwargs):
        if self.name == "services.csv":
            raise PermissionError(13, "Permission denied", str(self))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", refuse)
    out = tmp_path / "r"
    extra = ("--out", out, "--no-history") if command == "run" else ()
    result = invoke(command, export_dir, *extra)
    assert result.exit_code == 2
    said = " ".join(result.output.split())
    assert "services.csv: cannot be read (permission denied)" in said
    assert "permissions" in said and "make room on the disk" not in said
    assert not out.exists()


def test_a_report_page_that_cannot_be_written_is_a_clear_error_and_no_report(
    export_dir, tmp_path, full_disk_for_pages
):
    out = tmp_path / "r"
    result = invoke("run", export_dir, "--out", out, "--no-history", "--format", "html")
    assert result.exit_code == 2
    assert "No space left on device" in result.output
    assert not out.exists()


def test_a_run_with_the_page_helper_writes_what_a_run_in_one_process_writes(
    export_dir, tmp_path, monkeypatch
):
    import re

    from chartaudit.report import html

    def files(folder: Path) -> dict[str, bytes]:
        out = {}
        for p in sorted(folder.rglob("*")):
            if p.suffix in (".html", ".csv"):
                text = p.read_text(encoding="utf-8")
                text = re.sub(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d", "<when>", text)
                out[str(p.relative_to(folder))] = text
        return out

    args = ("--no-history", "--format", "html,csv,xlsx,json")
    monkeypatch.setenv("CHARTAUDIT_THREADS", "1")
    alone = invoke("run", export_dir, "--out", tmp_path / "alone", *args)
    monkeypatch.delenv("CHARTAUDIT_THREADS")
    monkeypatch.setattr(html.HtmlPages, "MIN_BATCH", 1)  # every page a batch: a helper forks
    helped = invoke("run", export_dir, "--out", tmp_path / "helped", *args)
    assert alone.exit_code == helped.exit_code == 0, helped.output
    a, b = files(tmp_path / "alone"), files(tmp_path / "helped")
    assert len([n for n in a if n.startswith("therapists")]) > 2
    assert a == b
    assert (tmp_path / "helped" / "compliance.xlsx").stat().st_size > 0


def test_control_characters_from_the_export_never_reach_the_terminal(export_dir, tmp_path):
    notes = read_notes(export_dir)
    notes["therapist"] = "\x1b]0;pwned\x07\x1b[31mRed " + notes["therapist"]
    folder = export_with(notes, export_dir, tmp_path / "export")
    result = invoke("run", folder, "--out", tmp_path / "r", "--no-history", "--fail-under", "100")
    assert result.exit_code == 1, result.output
    assert "Red " in result.output  # the names are still shown
    assert "\x1b" not in result.output and "\x07" not in result.output


def test_two_therapists_with_one_name_are_told_apart_by_their_ids(export_dir, tmp_path):
    notes = read_notes(export_dir)
    first, second = notes["therapist_id"].drop_duplicates().iloc[:2]
    notes.loc[notes["therapist_id"].isin([first, second]), "therapist"] = "Jordan Same"
    folder = export_with(notes, export_dir, tmp_path / "export")
    out = tmp_path / "r"
    result = invoke("run", folder, "--out", out, "--no-history", "--format", "html")
    assert result.exit_code in (0, 1), result.output
    index = (out / "index.html").read_text(encoding="utf-8")
    pages = [p.read_text(encoding="utf-8") for p in (out / "therapists").glob("jordan-same*")]
    assert len(pages) == 2
    for tid in (first, second):
        assert f"Jordan Same (ID {tid})" in index
        assert sum(f"<h1>Jordan Same (ID {tid})" in page for page in pages) == 1


def test_another_teams_months_in_the_history_are_named_and_kept_out_of_the_trend(
    export_dir, tmp_path
):
    """The Quick start's sample data, then a clinic's own export, into one history: the
    clinic's trend shows only its months, and the console names what was replaced."""
    db = tmp_path / "shared.sqlite"
    first = invoke("run", export_dir, "--out", tmp_path / "a", "--history", db, "--format", "json")
    assert first.exit_code == 0, first.output
    clinic = read_notes(export_dir)
    clinic["therapist_id"] = "CLINIC-" + clinic["therapist_id"]  # no therapist in common
    last = sorted(clinic["date_of_service"].str[:7].unique())[-1]
    clinic = clinic[clinic["date_of_service"].str.startswith(last)]
    folder = export_with(clinic, export_dir, tmp_path / "clinic")
    result = runner.invoke(
        app,
        ["run", str(folder), "--out", str(tmp_path / "b"), "--history", str(db)],
        env={"COLUMNS": "400"},
    )
    assert result.exit_code == 0, result.output
    assert f"{last} (" in result.output and "held the counts of another team" in result.output
    assert "the trend leaves out" in result.output
    months = set(read_notes(export_dir)["date_of_service"].str[:7])
    assert len(months) > 1
    sheet = openpyxl.load_workbook(tmp_path / "b" / "compliance.xlsx", read_only=True)["Trend"]
    shown_months = {
        row[0].strftime("%Y-%m") for row in sheet.iter_rows(min_row=2, values_only=True)
    }
    assert shown_months == {last}, shown_months
    shown = runner.invoke(app, ["trend", "--history", str(db)], env={"COLUMNS": "200"})
    assert shown.exit_code == 0 and "Left out:" in shown.output
    # The same team again: nothing to say.
    again = runner.invoke(
        app,
        ["run", str(folder), "--out", str(tmp_path / "c"), "--history", str(db)],
        env={"COLUMNS": "400"},
    )
    assert again.exit_code == 0 and "held the counts of another team" not in again.output


def test_therapist_is_found_by_name_in_any_order_and_without_accents(tmp_path):
    rows = ["note_id,patient_id,note_type,date_of_service,therapist,credential,signed_at"]
    for i, who in enumerate(["Martínez, José", "Martínez, Ana", "Lee, Sam"]):
        rows.append(f'N{i},P{i},daily,2026-10-0{i + 1},"{who}",PT,2026-10-0{i + 1}')
    export = tmp_path / "export"
    export.mkdir()
    (export / "notes.csv").write_text("\n".join(rows) + "\n", encoding="cp1252")
    out = tmp_path / "out"
    result = invoke(
        "run",
        export,
        "--out",
        out,
        "--no-history",
        "--format",
        "csv",
        "--therapist",
        "jose martinez",
    )
    assert result.exit_code == 0, result.output
    assert read_notes(out)["therapist"].tolist() == ["Martínez, José"]
    result = invoke("run", export, "--out", out, "--no-history", "--therapist", "lee")
    assert result.exit_code == 0 and read_notes(out)["therapist"].tolist() == ["Lee, Sam"]
    result = invoke("run", export, "--out", out, "--no-history", "--therapist", "Martinez")
    assert result.exit_code == 2
    assert "matches 2 therapists: Martínez, Ana; Martínez, José" in " ".join(result.output.split())


@pytest.mark.parametrize(
    ("typed", "first"),
    [("MCR-9MIN", "MCR-8MIN"), ("doc-cosing", "DOC-COSIGN"), ("8MIN", "MCR-8MIN")],
)
def test_explain_a_mistyped_id_suggests_the_nearest_first(typed, first):
    result = invoke("explain", typed)
    assert result.exit_code == 2
    said = " ".join(result.output.split())
    assert f"no item '{typed}'" in said
    assert f"similar: {first}," in said, said
