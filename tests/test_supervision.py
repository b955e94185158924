"""A finding that is the supervising therapist's to resolve (a progress report overdue on an
assistant's visit) counts against that therapist: in findings.csv, summary.json, the workbook,
the pages and the run history; the assistant's page shows it for information only. Through
the real CLI, on a Windows-1252 export."""

from __future__ import annotations

import csv
import json
import re
import sqlite3
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

from chartaudit.cli import app
from test_html import Page

MARTINEZ = {"therapist": "Martínez, José", "therapist_id": "1111111111", "credential": "PT, DPT"}
COTE = {"therapist": "Côté, Marie", "therapist_id": "2222222222", "credential": "PTA"}
NGUYEN = {"therapist": "Nguyen, Lan", "therapist_id": "3333333333", "credential": "DPT"}
KIM = {"therapist": "Kim, Alex", "therapist_id": "4444444444", "credential": "SPT"}
SEPTEMBER = [f"2026-09-{d:02d}" for d in range(1, 31)]


def visits(episode: str, patient: str, dates: list[str], authors: list[dict], **extra) -> list:
    return [
        {
            "note_id": f"{episode}-{i + 1:02d}",
            "patient_id": patient,
            "episode_id": episode,
            "date_of_service": d,
            "signed_at": d,
            "note_type": "evaluation" if i == 0 and who["credential"] != "PTA" else "daily",
            **who,
            **extra,
        }
        for i, (d, who) in enumerate(zip(dates, authors, strict=True))
    ]


def write_export(folder: Path) -> Path:
    """EP1: Martínez evaluates, Côté (PTA) treats on every following day, with no progress
    report: days 11 and 12 are overdue, Martínez's report to write. EP2: Côté alone, no
    therapist on record: the overdue day stays hers. EP3: Nguyen evaluates, a student co-signed
    by Martínez treats: the co-signer is the supervisor, not the episode's therapist."""
    rows = visits("EP1", "MRN100", SEPTEMBER[:12], [MARTINEZ] + [COTE] * 11)
    rows += visits("EP2", "MRN200", SEPTEMBER[:11], [COTE] * 11)
    cosigned = {**KIM, "cosigner": "Martínez, José, PT, DPT"}
    rows += visits("EP3", "MRN300", SEPTEMBER[:11], [NGUYEN] + [cosigned] * 10)
    notes = pd.DataFrame(rows)
    notes["discipline"] = "PT"
    notes["payer_type"] = "medicare_b"
    notes["cosigned_at"] = notes["date_of_service"].where(notes["cosigner"].notna())
    folder.mkdir()
    notes.to_csv(folder / "notes.csv", index=False, encoding="cp1252")
    return folder


def run(export: Path, out: Path, *args: str) -> Path:
    result = CliRunner().invoke(app, ["run", str(export), "--out", str(out), *args])
    assert result.exit_code in (0, 1), result.output
    assert "Traceback" not in result.output
    return out


@pytest.fixture(scope="module")
def export(tmp_path_factory) -> Path:
    return write_export(tmp_path_factory.mktemp("supervision") / "export")


@pytest.fixture(scope="module")
def report(export, tmp_path_factory) -> Path:
    return run(export, tmp_path_factory.mktemp("report") / "out", "--no-history")


def findings(out: Path) -> pd.DataFrame:
    return pd.read_csv(out / "findings.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")


def therapists(out: Path) -> dict[str, dict]:
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    return {t["therapist"]: t for t in summary["therapists"]}


def page(out: Path, slug: str) -> Page:
    return Page((out / "therapists" / f"{slug}.html").read_text(encoding="utf-8"))


def test_the_overdue_report_on_the_assistants_visit_counts_against_the_therapist(report):
    pr = findings(report)
    pr = pr[pr["item_id"] == "MCR-PR-10"].set_index("note_id")
    assert pr.loc[["EP1-11", "EP1-12"], "therapist"].tolist() == ["Martínez, José"] * 2
    assert pr.loc["EP1-11", "message"].endswith(
        "the report is the supervising physical therapist's to write (Martínez, José, PT, DPT); "
        "on a visit by Côté, Marie, PTA"
    )
    # No therapist in EP2 to answer for it: it stays with the assistant, and says whose it is.
    assert pr.loc["EP2-11", "therapist"] == "Côté, Marie"
    assert pr.loc["EP2-11", "message"].endswith(
        "1 treatment day past due; the report is the supervising physical therapist's to write"
    )
    # The student's co-signer supervises the visit, not the therapist who evaluated.
    assert pr.loc["EP3-11", "therapist"] == "Martínez, José"
    assert pr.loc["EP3-11", "message"].endswith(
        "(Martínez, José, PT, DPT); on a visit by Kim, Alex, SPT"
    )


def test_summary_counts_it_against_the_therapist_and_reconciles(report, export):
    t = therapists(report)
    overall = json.loads((report / "summary.json").read_text(encoding="utf-8"))["overall"]
    every = findings(report)
    # Martínez: EP1's two overdue days and EP3's are his (his evaluation's plan elements are
    # not evaluable: the export has no note text to find them in).
    assert t["Martínez, José"]["critical"] == 3
    assert t["Martínez, José"]["notes"] == 1  # his evaluation: the notes he wrote
    assert (every["therapist"] == "Martínez, José").sum() == t["Martínez, José"]["failed"]
    # Côté keeps only EP2's findings (its report overdue, its missing evaluation).
    cote = every[every["therapist"] == "Côté, Marie"]
    assert set(cote["note_id"]) <= {f"EP2-{i:02d}" for i in range(1, 12)}
    assert t["Côté, Marie"]["failed"] == len(cote)
    assert t["Kim, Alex"]["critical"] == 0
    # Only the attribution moves: the totals reconcile.
    for key in ("passed", "failed", "not_evaluable"):
        assert sum(x[key] for x in t.values()) == overall[key]
    assert overall["failed"] == len(every) == overall["findings"]
    assert sum(x["critical"] for x in t.values()) == overall["critical_findings"]
    # notes.csv is per note, by its author: EP1-11's finding is on Côté's note.
    notes = pd.read_csv(report / "notes.csv", dtype={"failed": int}, encoding="utf-8-sig")
    assert notes["failed"].sum() == len(every)
    row = notes.set_index("note_id").loc["EP1-11"]
    assert (row["therapist"], row["failed"]) == ("Côté, Marie", 1)


def test_the_workbook_counts_it_against_the_therapist(report):
    wb = openpyxl.load_workbook(report / "compliance.xlsx", read_only=True)
    rows = list(wb["Therapists"].iter_rows(values_only=True))
    sheet = {r[0]: dict(zip(rows[0], r, strict=True)) for r in rows[1:] if r[0]}
    assert sheet["Martínez, José"]["Findings: critical"] == 3
    assert sheet["Martínez, José"]["Findings on visits supervised"] == 3
    assert sheet["Côté, Marie"]["Findings for the supervisor"] == 2
    assert sheet["Côté, Marie"]["Failed"] == therapists(report)["Côté, Marie"]["failed"]
    rows = list(wb["Findings"].iter_rows(values_only=True))
    header = rows[0]
    found = [dict(zip(header, r, strict=True)) for r in rows[1:]]
    overdue = {f["note_id"]: f["therapist"] for f in found if f["item_id"] == "MCR-PR-10"}
    assert overdue["EP1-12"] == "Martínez, José" and overdue["EP2-11"] == "Côté, Marie"


def test_the_pages_show_it_on_the_therapists_and_for_information_on_the_assistants(report):
    martinez = page(report, "martinez-jose")
    supervised = martinez.plain.split("Visits you supervise", 2)[2]
    for note in ("EP1-11", "EP1-12", "EP3-11"):
        assert note in supervised
    assert "Côté, Marie, PTA" in supervised and "Kim, Alex, SPT" in supervised
    assert "They include" in martinez.plain
    assert "(3 missed, listed under Visits you supervise )" in martinez.plain
    gaps = martinez.plain.split("Top gaps", 1)[1]
    assert "Progress report at least every 10 treatment days" in gaps
    assert "on a visit by Côté, Marie, PTA" in gaps
    # Under "From your notes", the excerpt says whose visit it quotes.
    assert (
        "note EP1-11 · patient MRN100 · the visit of Côté, Marie, PTA, whom you supervise" in gaps
    )

    cote = page(report, "cote-marie")
    theirs = cote.plain.split("For your supervising therapist", 2)[2]
    assert "EP1-11" in theirs and "EP1-12" in theirs and "Martínez, José" in theirs
    assert "2 findings on your visits are your supervising therapist's" in cote.plain
    # Her notes list counts only what is hers: EP1's overdue day is a note without a finding.
    text = (report / "therapists" / "cote-marie.html").read_text(encoding="utf-8")
    row = re.search(r"<tr( class=\"met\")?><td[^>]*>2026-09-11</td>.*?EP1-11</td>(.*?)</tr>", text)
    assert row.group(1) and row.group(2).endswith('<td class="n">0</td><td></td>')
    critical = cote.plain.split("Critical findings", 1)[1].split()[0]
    assert int(critical) == therapists(report)["Côté, Marie"]["critical"]

    index = Page((report / "index.html").read_text(encoding="utf-8"))
    table = index.plain.split("Therapist Credential Discipline", 1)[1]
    assert "Martínez, José" in table


def test_therapist_filter_keeps_the_finding_with_whom_it_counts_against(export, tmp_path):
    full = therapists(run(export, tmp_path / "full", "--no-history"))
    his = run(export, tmp_path / "his", "--no-history", "--therapist", "Martinez", "--sample", "2")
    mine = run(export, tmp_path / "mine", "--no-history", "--therapist", "Côté, Marie")
    # His run: the overdue days on the visits he supervises, the same figures as the team run.
    assert set(therapists(his)) == {"Martínez, José"}
    keys = ("notes", "passed", "failed", "not_evaluable", "critical")
    assert [therapists(his)["Martínez, José"][k] for k in keys] == [
        full["Martínez, José"][k] for k in keys
    ]
    pr = findings(his)
    assert set(pr.loc[pr["item_id"] == "MCR-PR-10", "note_id"]) == {"EP1-11", "EP1-12", "EP3-11"}
    assert set(pr["therapist"]) == {"Martínez, José"}
    sample = list(csv.DictReader((his / "sample.csv").open(encoding="utf-8-sig")))
    assert {s["therapist"] for s in sample} == {"Martínez, José"}
    assert not (his / "therapists" / "cote-marie.html").exists()
    # The visits he supervises show their patient though they are not among his notes.
    supervised = page(his, "martinez-jose").plain.split("Visits you supervise", 2)[2]
    assert "EP1-11 MRN100 Côté, Marie, PTA" in supervised
    # Hers: none of his, and her figures as in the team run.
    assert set(therapists(mine)) == {"Côté, Marie"}
    assert [therapists(mine)["Côté, Marie"][k] for k in keys] == [
        full["Côté, Marie"][k] for k in keys
    ]
    assert not findings(mine)["note_id"].isin(["EP1-11", "EP1-12"]).any()


def test_the_history_records_it_against_the_therapist(tmp_path):
    """Martínez evaluates in August; in September only the visits he supervises are his. The
    September runs record the overdue days against him, and his own rerun replaces them."""
    export = write_export(tmp_path / "export")
    notes = pd.read_csv(export / "notes.csv", dtype=str, encoding="cp1252")
    first = notes["note_id"] == "EP1-01"
    notes.loc[first, ["date_of_service", "signed_at"]] = "2026-08-31"
    notes.to_csv(export / "notes.csv", index=False, encoding="cp1252")
    db = tmp_path / "history.sqlite"
    september = ("--period", "2026-09", "--history", str(db))
    run(export, tmp_path / "team", *september)
    his = run(export, tmp_path / "his", *september, "--therapist", "Martínez, José")
    assert therapists(his)["Martínez, José"]["notes"] == 0
    assert therapists(his)["Martínez, José"]["critical"] == 3
    with sqlite3.connect(db) as con:
        rows = con.execute(
            "SELECT month, therapist_id, failed FROM counts WHERE item_id = 'MCR-PR-10' "
            "AND failed > 0 ORDER BY therapist_id"
        ).fetchall()
    assert rows == [("2026-09", "1111111111", 3), ("2026-09", "2222222222", 1)]


def test_redacted_the_supervised_visits_show_no_patient_identifier(export, tmp_path):
    out = run(export, tmp_path / "redacted", "--no-history", "--redact", "--therapist", "Martinez")
    text = (out / "therapists" / "martinez-jose.html").read_text(encoding="utf-8")
    assert "EP1-11" in text.split('id="supervised"', 1)[1]
    for f in [*out.rglob("*.html"), *out.glob("*.csv"), out / "summary.json"]:
        assert "MRN" not in f.read_text(encoding="utf-8-sig"), f


@pytest.mark.parametrize(
    "cosigner",
    ["José Martínez, PT, DPT", "JOSE A. MARTINEZ", "1111111111", "Martinez, Jose PT/DPT"],
)
def test_the_cosigner_is_found_however_the_name_is_written(cosigner, tmp_path):
    """A typed co-signature names the therapist first-name first, in capitals, with an
    initial, or by NPI: the student's overdue report is still the co-signer's."""
    rows = visits("EP1", "MRN100", SEPTEMBER[:2], [MARTINEZ] * 2)  # Martínez is in the export
    cosigned = {**KIM, "cosigner": cosigner}
    rows += visits("EP3", "MRN300", SEPTEMBER[:11], [NGUYEN] + [cosigned] * 10)
    notes = pd.DataFrame(rows).assign(discipline="PT", payer_type="medicare_b")
    notes["cosigned_at"] = notes["date_of_service"].where(notes["cosigner"].notna())
    (tmp_path / "export").mkdir()
    notes.to_csv(tmp_path / "export" / "notes.csv", index=False, encoding="cp1252")
    out = run(tmp_path / "export", tmp_path / "out", "--no-history")
    pr = findings(out).query("item_id == 'MCR-PR-10'").set_index("note_id")
    assert pr.loc["EP3-11", "therapist"] == "Martínez, José"
