"""Run history: recording months idempotently, the trend frames, and `chartaudit trend` output."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from rich.console import Console

from chartaudit import history
from chartaudit.audit import run_audit
from chartaudit.checklists import load_checklists
from chartaudit.errors import ChartauditError
from chartaudit.load import from_frames
from chartaudit.report import xlsx
from chartaudit.report.data import ReportData, build

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
"""
BASE = {
    "patient_id": "PX-771",
    "discipline": "PT",
    "note_type": "daily",
    "credential": "DPT",
    "therapist": "Dana Reyes",
    "therapist_id": "T1",
    "payer": "Medicare",
}


def note(note_id: str, day: str, signed: str | None, **extra) -> dict:
    return {**BASE, "note_id": note_id, "date_of_service": day, "signed_at": signed or "", **extra}


def make_data(
    tmp_path: Path, rows: list[dict], therapists: list[str] | None = None, checklist=CHECKLIST
) -> ReportData:
    path = tmp_path / "tiny.yaml"
    path.write_text(checklist, encoding="utf-8")
    export = from_frames({"notes": pd.DataFrame(rows)})
    result = run_audit(export, load_checklists([str(path)]))
    options = {"formats": ["xlsx"], "therapists": therapists or []}
    return build(export, result, options, created_at="2026-11-01T10:00:00")


def month_rows(db: Path, therapist_id: str = "") -> pd.DataFrame:
    frame = history.months(db)
    return frame[frame["therapist_id"] == therapist_id].set_index("month")


OCTOBER = [
    note("N1", "2026-10-01", "2026-10-01"),
    note("N2", "2026-10-02", None),
    note("N3", "2026-10-05", "2026-10-05", therapist="Lee Park", therapist_id="T2"),
]
NOVEMBER = [
    note("N4", "2026-11-02", "2026-11-02"),
    note("N5", "2026-11-03", "2026-11-03"),
    note("N6", "2026-11-04", "2026-11-20", therapist="Lee Park", therapist_id="T2"),
]


def test_two_runs_for_two_months_give_both_months_and_the_change(tmp_path):
    db = tmp_path / "h.sqlite"
    history.record(make_data(tmp_path, OCTOBER), db)
    history.record(make_data(tmp_path, NOVEMBER), db)
    team = month_rows(db)
    assert list(team.index) == ["2026-10", "2026-11"]
    # October: N1 2/2, N2 0/1 (unsigned: T-TIMELY not applicable), N3 2/2 -> 4 of 5.
    assert team.loc["2026-10", ["passed", "failed", "notes"]].tolist() == [4, 1, 3]
    assert team.loc["2026-10", "rate"] == pytest.approx(0.8)
    assert team.loc["2026-11", "rate"] == pytest.approx(5 / 6)
    assert team.loc["2026-11", "change_vs_previous"] == pytest.approx(5 / 6 - 0.8)
    low, high = team.loc["2026-10", ["ci_low", "ci_high"]]
    assert 0 < low < 0.8 < high < 1
    lee = month_rows(db, "T2")
    assert lee["therapist"].tolist() == ["Lee Park", "Lee Park"]
    assert lee.loc["2026-11", "change_vs_previous"] == pytest.approx(0.5 - 1.0)


def test_rerunning_a_month_replaces_it_instead_of_duplicating(tmp_path):
    db = tmp_path / "h.sqlite"
    history.record(make_data(tmp_path, OCTOBER), db)
    fixed = [dict(r, signed_at=r["date_of_service"]) for r in OCTOBER]  # N2 signed after all
    history.record(make_data(tmp_path, fixed), db)
    history.record(make_data(tmp_path, fixed), db)
    frame = history.months(db)
    assert frame["month"].tolist().count("2026-10") == 3  # team + two therapists, once each
    assert month_rows(db).loc["2026-10", "rate"] == 1.0
    assert month_rows(db).loc["2026-10", "notes"] == 3


def test_a_history_made_before_the_tables_were_keyed_keeps_working(tmp_path):
    # Histories created before the count tables were WITHOUT ROWID have rowid tables.
    db = tmp_path / "old.sqlite"
    con = sqlite3.connect(db)
    con.executescript(history._SCHEMA.replace(") WITHOUT ROWID;", ");"))
    con.execute("INSERT INTO schema_version VALUES (?)", (history.SCHEMA_VERSION,))
    con.commit()
    con.close()
    history.record(make_data(tmp_path, OCTOBER), db)
    history.record(make_data(tmp_path, OCTOBER), db)  # replaced, not duplicated
    history.record(make_data(tmp_path, NOVEMBER), db)
    team = month_rows(db)
    assert list(team.index) == ["2026-10", "2026-11"]
    assert team.loc["2026-10", ["passed", "failed", "notes"]].tolist() == [4, 1, 3]
    new = tmp_path / "new.sqlite"
    history.record(make_data(tmp_path, OCTOBER), new)
    sql = sqlite3.connect(new).execute("SELECT sql FROM sqlite_master WHERE name = 'counts'")
    assert "WITHOUT ROWID" in sql.fetchone()[0]


def test_an_export_spanning_two_months_gives_two_points(tmp_path):
    db = tmp_path / "h.sqlite"
    history.record(make_data(tmp_path, OCTOBER + NOVEMBER), db)
    assert list(month_rows(db).index) == ["2026-10", "2026-11"]
    # Re-recording only November keeps October as it was.
    history.record(make_data(tmp_path, NOVEMBER), db)
    assert month_rows(db).loc["2026-10", "notes"] == 3
    assert month_rows(db).loc["2026-11", "notes"] == 3


def test_a_run_limited_to_one_therapist_replaces_only_that_therapist(tmp_path):
    db = tmp_path / "h.sqlite"
    history.record(make_data(tmp_path, OCTOBER), db)
    lee_only = [note("N3", "2026-10-05", "2026-10-30", therapist="Lee Park", therapist_id="T2")]
    history.record(make_data(tmp_path, lee_only, therapists=["Lee Park"]), db)
    assert month_rows(db, "T1").loc["2026-10", "notes"] == 2  # Dana's October kept
    assert month_rows(db, "T2").loc["2026-10", "rate"] == 0.5  # Lee's replaced (signed late)
    assert month_rows(db).loc["2026-10", "notes"] == 3


def test_a_run_of_one_checklist_replaces_only_its_items_in_the_month(tmp_path):
    db = tmp_path / "h.sqlite"
    history.record(make_data(tmp_path, OCTOBER), db)
    before = month_rows(db).loc["2026-10", ["passed", "failed", "notes"]].tolist()
    signed_only = CHECKLIST.split("  - id: T-TIMELY")[0]
    history.record(make_data(tmp_path, OCTOBER, checklist=signed_only), db)
    # T-TIMELY's October counts are kept: the month still compares both items.
    assert month_rows(db).loc["2026-10", ["passed", "failed", "notes"]].tolist() == before
    items = sqlite3.connect(db).execute("SELECT DISTINCT item_id FROM counts").fetchall()
    assert sorted(i for (i,) in items) == ["T-SIGNED", "T-TIMELY"]
    fixed = [dict(r, signed_at=r["date_of_service"]) for r in OCTOBER]
    history.record(make_data(tmp_path, fixed, checklist=signed_only), db)
    assert month_rows(db).loc["2026-10", "failed"] == before[1] - 1  # T-SIGNED replaced


def test_month_counts_equal_the_status_matrix_grouped_by_month_therapist_and_item(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(CHECKLIST, encoding="utf-8")
    rows = OCTOBER + NOVEMBER + [note("N7", "2026-11-05", "2026-11-05", therapist_id="T0")]
    export = from_frames({"notes": pd.DataFrame(rows)})
    scope = export.notes["note_id"].ne("N5").to_numpy()  # one note out of the audited period
    result = run_audit(export, load_checklists([str(path)]), scope=scope)
    data = build(export, result, {"formats": []}, created_at="2026-11-01T10:00:00")
    counts, notes = history.month_counts(data)

    scoped = export.notes[scope]
    keys = [scoped["date_of_service"].dt.strftime("%Y-%m"), scoped["therapist_id"]]
    status = result.status[scope]
    expected = pd.concat(
        {
            name: (status == code).groupby(keys).sum().stack()
            for name, code in [("passed", 1), ("failed", 2), ("not_evaluable", 3)]
        },
        axis=1,
    )
    expected = expected[expected.sum(axis=1) > 0]
    assert counts.set_index(["month", "therapist_id", "item_id"]).to_dict("index") == (
        expected.to_dict("index")
    )
    # Rows in (month, therapist, item) order, every (month, therapist) with its notes.
    assert counts[["month", "therapist_id"]].drop_duplicates().values.tolist() == [
        ["2026-10", "T1"],
        ["2026-10", "T2"],
        ["2026-11", "T0"],
        ["2026-11", "T1"],
        ["2026-11", "T2"],
    ]
    assert counts["item_id"].tolist()[:2] == ["T-SIGNED", "T-TIMELY"]
    assert notes.values.tolist() == [
        ["2026-10", "T1", 2],
        ["2026-10", "T2", 1],
        ["2026-11", "T0", 1],
        ["2026-11", "T1", 1],
        ["2026-11", "T2", 1],
    ]


def test_history_feeds_the_trend_sheet(tmp_path):
    db = tmp_path / "h.sqlite"
    history.record(make_data(tmp_path, OCTOBER), db)
    data = make_data(tmp_path, NOVEMBER)
    history.record(data, db)
    data.trend = history.months(db)
    wb = openpyxl.load_workbook(xlsx.write_workbook(data, tmp_path))
    ws = wb["Trend"]
    header = [c.value for c in ws[1]]
    month_col, who_col = header.index("Month"), header.index("Therapist")
    team_months = {
        row[month_col].strftime("%Y-%m")
        for row in ws.iter_rows(min_row=2, values_only=True)
        if row[who_col] == history.ALL_THERAPISTS
    }
    assert team_months == {"2026-10", "2026-11"}
    assert ws._charts, "the Trend sheet has a line chart"


def test_worsened_items_lists_the_items_whose_rate_fell(tmp_path):
    db = tmp_path / "h.sqlite"
    history.record(make_data(tmp_path, OCTOBER), db)
    history.record(make_data(tmp_path, NOVEMBER), db)
    worse = history.worsened_items(db)
    # T-TIMELY: October 2/2, November 2/3 (N6 signed 16 days late). T-SIGNED improved.
    assert worse[["month", "item_id"]].values.tolist() == [["2026-11", "T-TIMELY"]]
    assert worse.iloc[0]["title"] == "Signed within 3 days"
    assert worse.iloc[0]["previous_rate"] == 1.0


def test_print_trend_shows_months_change_and_worse_items(tmp_path):
    db = tmp_path / "h.sqlite"
    history.record(make_data(tmp_path, OCTOBER), db)
    history.record(make_data(tmp_path, NOVEMBER), db)
    console = Console(record=True, width=140)
    history.print_trend(console, db)
    text = console.export_text()
    assert "2026-10" in text and "2026-11" in text
    assert "80.0%" in text and "83.3%" in text
    assert "+3.3 pts" in text  # team: 80.0% -> 83.3%
    assert text.count("Lee Park") == 1 and "-50.0 pts" in text  # one row per therapist
    assert "Items that got worse in 2026-11" in text and "T-TIMELY" in text


def test_print_trend_without_history_is_friendly(tmp_path, monkeypatch):
    monkeypatch.setenv(history.ENV_VAR, str(tmp_path / "none-yet.sqlite"))
    console = Console(record=True, width=140)
    history.print_trend(console, None)
    assert "No runs recorded yet" in console.export_text()


def test_print_trend_with_a_missing_history_file_names_it(tmp_path):
    missing = tmp_path / "typo.sqlite"
    with pytest.raises(ChartauditError) as err:
        history.print_trend(Console(record=True), missing)
    assert str(missing) in str(err.value) and "--history" in err.value.fix


@pytest.mark.parametrize("content", [b"this is not sqlite at all" * 100, b""])
def test_a_corrupt_history_file_is_a_named_error(tmp_path, content):
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(content)
    with pytest.raises(ChartauditError) as err:
        history.print_trend(Console(record=True), bad)
    assert str(bad) in str(err.value)
    if content:  # an empty file is a new SQLite database: recording starts a history there
        with pytest.raises(ChartauditError, match="not a chartaudit history"):
            history.record(make_data(tmp_path, OCTOBER), bad)


def test_another_sqlite_database_is_refused(tmp_path):
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as con:
        con.execute("CREATE TABLE stuff (x)")
    with pytest.raises(ChartauditError, match="no counts table"):
        history.months(other)


def test_history_stores_counts_but_no_patient_data(tmp_path):
    db = tmp_path / "h.sqlite"
    history.record(make_data(tmp_path, OCTOBER), db)
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT version FROM schema_version").fetchone() == (1,)
        dump = "\n".join(con.iterdump())
    assert "PX-771" not in dump and "N1" not in dump
    assert "Dana Reyes" in dump and '"name": "tiny", "version": "1.0"' in dump


def test_resolve_path_order(tmp_path, monkeypatch):
    monkeypatch.setenv(history.ENV_VAR, str(tmp_path / "env.sqlite"))
    assert history.resolve_path(tmp_path / "given.sqlite") == tmp_path / "given.sqlite"
    assert history.resolve_path(None) == tmp_path / "env.sqlite"
    monkeypatch.delenv(history.ENV_VAR)
    default = history.resolve_path(None)
    assert default.name == "history.sqlite" and "chartaudit" in str(default)


def test_a_run_that_fails_in_its_statistics_records_nothing(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from chartaudit.cli import app

    runner = CliRunner()
    export = tmp_path / "export"
    assert runner.invoke(app, ["sample-data", str(export), "--notes", "300"]).exit_code == 0
    db = tmp_path / "h.sqlite"
    first = runner.invoke(app, ["run", str(export), "--out", str(tmp_path / "a"), "--history",
                                str(db), "--format", "json"])  # fmt: skip
    assert first.exit_code == 0, first.output
    before = db.read_bytes()

    def broken(*_args, **_kwargs):
        raise OSError("statistics failed")

    monkeypatch.setattr("chartaudit.job.build", broken)
    failed = runner.invoke(app, ["run", str(export), "--out", str(tmp_path / "b"), "--history",
                                 str(db), "--format", "json"])  # fmt: skip
    assert failed.exit_code == 2
    assert db.read_bytes() == before  # the counts inserted alongside were rolled back
    assert not list(tmp_path.glob(".h.sqlite*draft"))


def test_rerunning_a_month_with_different_counts_says_what_was_replaced(tmp_path):
    db = tmp_path / "h.sqlite"
    history.record(make_data(tmp_path, OCTOBER), db)

    def rerun(rows: list[dict], therapists: list[str] | None = None) -> list:
        data = make_data(tmp_path, rows, therapists=therapists)
        recorder = history.Recorder(data.result, db, therapists=therapists)
        recorder.finish(data)
        return recorder.changed

    assert rerun(OCTOBER) == []  # the same counts again: nothing to say
    # N2 signed after all: October had 1 finding in 5 checks, now 0 in 6.
    fixed = [dict(r, signed_at=r["date_of_service"]) for r in OCTOBER]
    changed = rerun(fixed)
    assert changed == [("2026-10", 1, 5, 0, 6)]
    notice = history.describe_changes(db, changed)
    assert "replaced what was stored for 2026-10 (1 finding in 5 checks; now 0 in 6)" in notice
    assert "show the old figures" in notice
    # Under --therapist only that therapist's stored counts are compared.
    late = [note("N3", "2026-10-05", "2026-10-30", therapist="Lee Park", therapist_id="T2")]
    assert rerun(late, therapists=["Lee Park"]) == [("2026-10", 0, 2, 1, 2)]


def test_the_run_prints_and_records_a_replaced_month(tmp_path):
    from typer.testing import CliRunner

    from chartaudit.cli import app

    export = tmp_path / "export"
    export.mkdir()
    pd.DataFrame(OCTOBER).to_csv(export / "notes.csv", index=False)
    db = tmp_path / "h.sqlite"
    runner = CliRunner()

    def run(out: str):
        args = ["run", str(export), "--out", str(tmp_path / out), "--history", str(db)]
        result = runner.invoke(app, [*args, "--format", "json"], env={"COLUMNS": "400"})
        assert result.exit_code == 0, result.output
        summary = json.loads((tmp_path / out / "summary.json").read_text(encoding="utf-8"))
        return result.output, summary

    first, _ = run("a")
    assert "replaced what was stored" not in first
    again, _ = run("b")
    assert "replaced what was stored" not in again  # the same export: the same counts
    rows = pd.DataFrame(OCTOBER)
    rows.loc[0, "signed_at"] = ""  # a second note left unsigned in the re-exported month
    rows.to_csv(export / "notes.csv", index=False)
    output, summary = run("c")
    assert "replaced what was stored for 2026-10 (" in " ".join(output.split())
    notice = [n for n in summary["notices"] if "replaced what was stored" in n]
    assert len(notice) == 1, summary["notices"]
    before, now = re.search(
        r"2026-10 \((\d+) findings? in \d+ checks; now (\d+) in", notice[0]
    ).groups()
    assert int(now) == int(before) + 1  # the note left unsigned
