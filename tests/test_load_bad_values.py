"""The loader on values and files an acceptance test found mishandled: JSON nulls, negative
and impossible minutes and units, a table file without a required column."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from chartaudit.cli import app


def _run(folder: Path, out: Path, *extra: str):
    """`chartaudit run` on `folder`: (exit code, console text on one line)."""
    result = CliRunner().invoke(
        app,
        ["run", str(folder), "--out", str(out), "--no-history", *extra],
        env={"COLUMNS": "300"},
    )
    return result.exit_code, " ".join(result.output.split())


def _all_output_text(out: Path) -> str:
    return "\n".join(
        p.read_text(encoding="utf-8", errors="replace")
        for p in out.rglob("*")
        if p.suffix in (".csv", ".json", ".html")
    )


class _Text(HTMLParser):
    """The text of an element by id, as a reader sees it."""

    def __init__(self, wanted: str) -> None:
        super().__init__()
        self.wanted, self.depth, self.parts, self.links = wanted, 0, [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if self.depth or attrs.get("id") == self.wanted:
            self.depth += 1
            if tag == "a":
                self.links.append(attrs.get("href"))

    def handle_endtag(self, tag):
        if self.depth:
            self.depth -= 1

    def handle_data(self, data):
        if self.depth:
            self.parts.append(data)

    def text(self) -> str:
        return " ".join("".join(self.parts).split())


def _null_export(folder: Path) -> Path:
    """A Medicare PT episode exported as JSON the way most APIs write blanks: null, or the key
    left out. Numeric ids, as some EMRs export them."""
    folder.mkdir(parents=True)
    evaluation = {
        "note_id": 1042,
        "patient_id": "MRN-77",
        "note_type": "evaluation",
        "date_of_service": "2026-10-01",
        "therapist": "Renée Côté",
        "credential": "DPT",
        "payer": "Medicare Part B",
        "signed_at": "2026-10-01 17:00",
        "cosigner": None,
        "cosigned_at": None,
        "poc_start": "2026-10-01",
        "poc_end": "2026-11-26",
        "poc_sent_at": "2026-10-02",
        "poc_certified_at": "2026-10-09",
        "certifier": "Dr. Alan Grant",
        "certifier_credential": "MD",
        "total_timed_minutes": None,
        "is_late_entry": None,
        "assessment": "Pt presents with L knee OA limiting gait and stairs; prognosis good.",
    }
    daily = {
        "note_id": 1043,
        "patient_id": "MRN-77",
        "note_type": "daily",
        "date_of_service": "2026-10-03",
        "therapist": "Renée Côté",
        "credential": "DPT",
        "payer": "Medicare Part B",
        "signed_at": "2026-10-03 12:00",
        "poc_start": None,
        "poc_certified_at": None,
        "certifier": None,
        "certifier_credential": None,
        "total_timed_minutes": 38,
        "assessment": "Gait training 150 ft with SBA; cues for step length.",
    }  # cosigned_at, poc_end ... left out: NaN once the records are a frame
    (folder / "notes.json").write_text(json.dumps([evaluation, daily]), encoding="utf-8")
    services = [
        {"note_id": 1042, "cpt_code": "97161", "modifiers": "GP", "units": 1, "minutes": None},
        {"note_id": 1043, "cpt_code": "97110", "modifiers": "GP", "units": 2, "minutes": 25},
        {"note_id": 1043, "cpt_code": "97116", "modifiers": "GP", "units": 1, "minutes": 13},
    ]
    (folder / "services.jsonl").write_text(
        "\n".join(json.dumps(s) for s in services), encoding="utf-8"
    )
    goals = [
        {
            "note_id": 1042,
            "term": "long",
            "text": "Pt will climb 12 stairs with one rail independently in 8 weeks",
            "target_date": None,
            "status": None,
        }
    ]
    (folder / "goals.json").write_text(json.dumps(goals), encoding="utf-8")
    (folder / "measures.jsonl").write_text(
        json.dumps({"note_id": 1042, "measure": "LEFS", "score": 41, "date": None}),
        encoding="utf-8",
    )
    return folder


def test_json_null_and_left_out_keys_are_blank_silently_in_every_table(tmp_path):
    """acc7 M5: null was read as the text "nan": six "'nan' read as blank" notices and a
    finding "plan certified by a NAN"."""
    out = tmp_path / "out"
    code, said = _run(_null_export(tmp_path / "export"), out)
    assert code in (0, 1), said
    assert "Rows read 7 = loaded 7 + rejected 0" in said
    assert "read as blank" not in said and "could not be read" not in said
    assert "nan" not in said.lower().replace("renée", "")
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["notices"] == []
    text = _all_output_text(out)
    assert not re.search(r"\bnan\b|'None'", text, re.IGNORECASE)
    # Numeric ids stay the ids the services rows name.
    notes = pd.read_csv(out / "notes.csv", dtype=str)
    assert sorted(notes["note_id"]) == ["1042", "1043"]
    findings = pd.read_csv(out / "findings.csv")
    assert "MCR-CERTIFIER" not in set(findings["item_id"])
    # 38 timed minutes billed as 3 units on the daily note: the services were linked and read.
    assert not ((findings["note_id"] == 1043) & (findings["item_id"] == "MCR-8MIN")).any()


def _counts_export(folder: Path) -> Path:
    """Windows-1252 exports: notes CSV and a charges TSV with a negative minutes value (acc7's
    `97110 GP 1 -15`), an impossible one, a reversal line (-2 units) and 500 units."""
    folder.mkdir(parents=True)
    notes = (
        "note_id,patient_id,note_type,date_of_service,therapist,credential,payer,signed_at,"
        "total_timed_minutes,assessment\n"
        "E1,P1,evaluation,2026-10-01,Renée Côté,DPT,Medicare Part B,2026-10-01,,"
        "L knee OA; prognosis good\n"
        "D1,P1,daily,2026-10-03,Renée Côté,DPT,Medicare Part B,2026-10-03,,Gait training\n"
        "D2,P1,daily,2026-10-06,Renée Côté,DPT,Medicare Part B,2026-10-06,-30,Gait training\n"
        "D3,P1,daily,2026-10-08,Renée Côté,DPT,Medicare Part B,2026-10-08,,Gait training\n"
    )
    (folder / "notes.csv").write_bytes(notes.encode("cp1252"))
    lines = [
        ["note_id", "cpt_code", "modifiers", "units", "minutes"],
        ["E1", "97161", "GP", "1", "40"],
        ["D1", "97112", "GP", "1", "11"],
        ["D1", "97110", "GP", "1", "-15"],
        ["D2", "97110", "GP", "2", "30"],
        ["D3", "97110", "GP", "2", "9999"],
        ["D3", "97110", "GP", "-2", "30"],
        ["D3", "97140", "GP", "500", "15"],
    ]
    text = "\n".join("\t".join(line) for line in lines) + "\n"
    (folder / "Charges.tsv").write_bytes(text.encode("cp1252"))
    return folder


def test_negative_and_impossible_minutes_and_units_never_feed_the_arithmetic(tmp_path):
    """acc7 M4: minutes -15 on a line was allocated as "97110 -1u" and gave a critical
    finding. Minutes below 0 or above a day are read as blank, with the notice an unreadable
    value gets; units below 0 (a reversed charge) or above a day's reject the line."""
    out = tmp_path / "out"
    code, said = _run(_counts_export(tmp_path / "export"), out)
    assert code in (0, 1), said
    assert "Rows read 11 = loaded 9 + rejected 2" in said
    assert (
        "Charges.tsv: 2 rows have a minutes value that could not be read as minutes of one day "
        "(0 to 1,440): '-15' (1), '9999' (1), rows 4, 6; read as blank and the rows kept, and "
        "the items that judge by minutes count the notes those rows belong to as not evaluable"
    ) in said
    assert (
        "notes.csv: 1 row has a total_timed_minutes value that could not be read as minutes "
        "of one day (0 to 1,440): '-30' (1), row 4;"
    ) in said
    rejected = pd.read_csv(out / "rejected.csv")
    assert rejected[["file", "row", "reason"]].values.tolist() == [
        [
            "Charges.tsv",
            7,
            "units '-2' is negative: if the line reverses (credits) a charge, export the "
            "charges net of reversals (remove the reversal and the charge it reverses); "
            "otherwise write the units billed, 0 or more",
        ],
        [
            "Charges.tsv",
            8,
            "units '500' is more than one day holds (96 units of 15 minutes): correct the "
            "units billed",
        ],
    ]
    findings = pd.read_csv(out / "findings.csv")
    assert not findings["message"].astype(str).str.contains(r"-\d+u|-15|9999").any()
    judged = set(zip(findings["note_id"], findings["item_id"], strict=True))
    assert ("D1", "MCR-8MIN") not in judged and ("D3", "MCR-8MIN") not in judged
    box = _Text("input-problems")  # on the overview too, for whoever reads only the HTML
    box.feed((out / "index.html").read_text(encoding="utf-8"))
    assert box.text().startswith(
        "Input problems: 2 notices about the export and 2 rows not loaded:"
    )
    assert box.links == ["compliance.xlsx", "summary.json", "rejected.csv"]
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    reasons = {r["item_id"]: r["reasons"] for r in summary["not_evaluable"]}
    # The note that also lost its rejected line is not judged for that first.
    assert reasons["MCR-8MIN"] == {
        "the minutes of one of the note's services rows could not be read as minutes of one "
        "day (0 to 1,440)": 1,
        "one of the note's services rows was rejected at load (see rejected.csv)": 1,
        "the note's total_timed_minutes could not be read as minutes of one day (0 to 1,440)": 1,
    }


_NOTES = (
    "note_id,patient_id,note_type,date_of_service,therapist,credential,payer,signed_at\n"
    "E1,P1,evaluation,2026-10-01,Renée Côté,DPT,Medicare Part B,2026-10-01\n"
    "D1,P1,daily,2026-10-03,Renée Côté,DPT,Medicare Part B,2026-10-03\n"
)


@pytest.mark.parametrize(
    ("name", "text", "message", "fix"),
    [
        (
            "Charges Oct 2026.csv",
            "Doc #,Proc,Units,Mins\nE1,97161,1,40\nD1,97110,2,30\n",
            "Charges Oct 2026.csv: the services table has no cpt_code column (columns found: "
            "Doc #, Proc, Units, Mins)",
            'under tables.services.columns: {cpt_code: "Proc"}',
        ),
        (
            "goals.csv",
            "note_id,term,Goal Txt,target_date\nE1,long,Pt will walk 300 ft in 6 weeks,\n",
            "goals.csv: the goals table has no text column (columns found: note_id, term, "
            "Goal Txt, target_date)",
            'under tables.goals.columns: {text: "Goal Txt"}',
        ),
        (
            "measures.csv",
            "note_id,measure,date\nE1,LEFS,2026-10-01\n",
            "measures.csv: the measures table has no score column (columns found: note_id, "
            "measure, date)",
            'under tables.measures.columns: {score: "Your Column"}',
        ),
        (
            "authorizations.csv",
            "auth_id,episode_id,requested_visits\nA1,EP1,8\n",
            "authorizations.csv: the authorizations table has no patient_id column (columns "
            "found: auth_id, episode_id, requested_visits)",
            'under tables.authorizations.columns: {patient_id: "Your Column"}',
        ),
    ],
    ids=["services", "goals", "measures", "authorizations"],
)
def test_a_table_file_without_a_required_column_stops_every_command(
    tmp_path, name, text, message, fix
):
    """acc7 M6: a services file without cpt_code ran on with exit 0, 285 rows rejected one by
    one for the same reason and the billing audit silently off. Each table's file now stops
    the run as a notes file does: one message with the file, the column, the columns it has
    and the mapping line that fixes it."""
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "notes.csv").write_bytes(_NOTES.encode("cp1252"))
    (folder / name).write_bytes(text.encode("cp1252"))
    runner = CliRunner()
    for command in (
        ["run", str(folder), "--out", str(tmp_path / "out"), "--no-history"],
        ["review", str(folder), "--out", str(tmp_path / "um")],
        ["inspect", str(folder)],
    ):
        result = runner.invoke(app, command, env={"COLUMNS": "300"})
        said = " ".join(result.output.split())
        assert result.exit_code == 2, (command, said)
        assert f"error: {message} fix: add the column, or map yours in " in said, said
        assert fix in said
        assert said.count("error:") == 1 and "Traceback" not in said
    assert not (tmp_path / "out").exists() and not (tmp_path / "um").exists()
    # inspect lists what it read before the error: how the mapping line gets written.
    assert f"{name} → " in said and said.index(f"{name} → ") < said.index("error:")


def test_every_file_without_a_required_column_is_named_at_once(tmp_path):
    """Two files each lacking a column: both named in one run, each with its own fix."""
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "Visits.csv").write_bytes(
        b"Note ID,MRN,DOS,Provider,Credential\r\nV1,M1,10/01/2026,Ann Lee,PT\r\n"
    )
    (folder / "Charges.csv").write_bytes(b"Note ID,Proc,Units\r\nV1,97110,2\r\n")
    code, said = _run(folder, tmp_path / "out")
    assert code == 2
    assert "error: 2 files cannot be loaded:" in said
    assert (
        "Charges.csv: the services table has no cpt_code column (columns found: Note ID, Proc, "
        "Units) fix: add the column, or map yours in chartaudit-mapping.yaml under "
        'tables.services.columns: {cpt_code: "Proc"}'
    ) in said
    assert "Visits.csv: the notes table has no note_type column" in said


def test_certification_columns_are_read_by_their_vendor_names_or_offered_a_mapping_line(
    tmp_path,
):
    """acc8 m-8: inspect listed `POC Cert Date` and `Certifying Provider` as ignored, with no
    mapping line; the user had to guess poc_certified_at and certifier."""
    header = (
        "Doc #,MRN,DOS,Visit Type,Provider,Credentials,Payer,Signed,POC Start,POC End,"
        "{cert},{who},{cred}\n"
    )
    row = (
        "E1,M1,10/01/2026,IE,Renée Côté,DPT,Medicare Part B,10/01/2026,10/01/2026,11/26/2026,"
        "10/09/2026,Dr. Alan Grant,MD\n"
    )
    folder = tmp_path / "export"
    folder.mkdir()
    names = {"cert": "POC Cert Date", "who": "Certifying Provider", "cred": "Certifier Credential"}
    (folder / "Visit Notes.csv").write_bytes((header.format(**names) + row).encode("cp1252"))
    result = CliRunner().invoke(app, ["inspect", str(folder)], env={"COLUMNS": "300"})
    said = " ".join(result.output.split())
    assert result.exit_code == 0, said
    for source, canon in [
        ("POC Cert Date", "poc_certified_at"),
        ("Certifying Provider", "certifier"),
        ("Certifier Credential", "certifier_credential"),
    ]:
        assert f"{source} → {canon}" in said
    assert "ignored" not in said

    # Names that abbreviate one word by word: not read, but the mapping line is offered.
    names = {"cert": "POC Certif. Date", "who": "Certifying Prov", "cred": "Phys Cred"}
    (folder / "Visit Notes.csv").write_bytes((header.format(**names) + row).encode("cp1252"))
    result = CliRunner().invoke(app, ["inspect", str(folder)], env={"COLUMNS": "300"})
    said = " ".join(result.output.split())
    assert result.exit_code == 0, said
    for source, canon in [
        ("POC Certif. Date", "poc_certified_at"),
        ("Certifying Prov", "certifier"),
        ("Phys Cred", "certifier_credential"),
    ]:
        assert (
            f"Visit Notes.csv: column '{source}' is not read; if it holds {canon}, map it in "
            f'chartaudit-mapping.yaml: tables.notes.columns.{canon}: "{source}"'
        ) in said, source


def test_an_unread_narrative_column_is_on_the_overview_and_fails_no_plan_element(tmp_path):
    """acc8 M-10: an SLP file whose narrative header was misspelt "Narative" gave critical
    'plan of care is missing: long-term goals', and its notice was only on the console and in
    the JSON and workbook: whoever read index.html saw no warning."""
    folder = tmp_path / "export"
    folder.mkdir()
    header = (
        "Doc #,MRN,DOS,Visit Type,Provider,Credentials,Payer,Signed,Dx Codes,Freq,Dur,"
        "POC Start,POC End,POC Cert Date,Certifying Provider,Certifier Credential,{text}\n"
    )
    plan = "R13.12,2x/week,8 weeks,10/01/2026,11/26/2026,10/05/2026,Dr. Alan Grant,MD"
    (folder / "OT Visit Notes.csv").write_bytes(
        (
            header.format(text="Assessment")
            + f"O1,M1,10/01/2026,IE,Kim Lee,OTR/L,Medicare Part B,10/01/2026,{plan},"
            '"LTG: Pt will dress independently in 8 weeks. Prognosis good."\n'
        ).encode("cp1252")
    )
    (folder / "SLP Notes Export.csv").write_bytes(
        (
            header.format(text="Narative")
            + f"S1,M2,10/02/2026,IE,Zoë Ng,CCC-SLP,Medicare Part B,10/02/2026,{plan},"
            '"LTG: Pt will tolerate a soft diet in 8 weeks. Prognosis good."\n'
        ).encode("cp1252")
    )
    out = tmp_path / "out"
    code, said = _run(folder, out)
    assert code in (0, 1), said
    assert "column 'Narative' is not read; if it holds note_text" in said
    findings = pd.read_csv(out / "findings.csv")
    assert "MCR-POC-ELEMENTS" not in set(findings["item_id"])
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    reasons = {r["item_id"]: r["reasons"] for r in summary["not_evaluable"]}
    assert reasons["MCR-POC-ELEMENTS"] == {"the note has no text in the export": 1}

    box = _Text("input-problems")
    box.feed((out / "index.html").read_text(encoding="utf-8"))
    assert box.text().startswith("Input problems: 1 notice about the export:")
    assert (
        "SLP Notes Export.csv: column 'Narative' is not read; if it holds note_text, map it in "
        'chartaudit-mapping.yaml: tables.notes.columns.note_text: "Narative"'
    ) in box.text()
    assert box.links == ["compliance.xlsx", "summary.json"]
    assert all((out / link).is_file() for link in box.links)


def test_a_negative_visit_count_leaves_its_request_out_of_the_review_with_the_fix(tmp_path):
    folder = tmp_path / "export"
    folder.mkdir()
    visits = ["Note ID,MRN,Episode,Discipline,Note Type,DOS,Provider,Credential,Signed,Assessment"]
    for n, (kind, day) in enumerate(
        [("Initial Evaluation", "10/01/2026"), ("Daily Note", "10/03/2026")], start=1
    ):
        visits.append(
            f"V{n},MRN1,EP1,PT,{kind},{day},Renée Côté,PT,{day},"
            "Pt seen for gait training with rolling walker 150 ft CGA."
        )
    (folder / "Visits.csv").write_bytes(("\r\n".join(visits) + "\r\n").encode("cp1252"))
    (folder / "authorizations.csv").write_bytes(
        b"auth_id,patient_id,episode_id,discipline,request_date,requested_visits,"
        b"requested_through\r\nA1,MRN1,EP1,PT,10/10/2026,8,11/30/2026\r\n"
        b"A2,MRN1,EP1,PT,10/10/2026,-3,11/30/2026\r\n"
    )
    result = CliRunner().invoke(
        app, ["review", str(folder), "--out", str(tmp_path / "um")], env={"COLUMNS": "300"}
    )
    assert result.exit_code in (0, 1), result.output
    skipped = pd.read_csv(tmp_path / "um" / "not-reviewed.csv", encoding="utf-8-sig")
    assert skipped[["row", "auth_id", "reason", "fix"]].values.tolist() == [
        [
            3,
            "A2",
            "requested_visits '-3' could not be read as a count of 0 or more, so the row is "
            "left out of the review",
            "write requested_visits as a whole number of visits, e.g. 12",
        ]
    ]
