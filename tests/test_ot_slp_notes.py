"""OT and SLP notes through `chartaudit run`, as a clinic exports them: an SLP file with one
narrative column in cp1252 and an OT file with SOAP columns. What a trainer reads in
findings.csv and on the therapist's page: SLP trial data, goal status and a parent's report
count as SOAP content (DOC-SOAP), and an assessment and plan pasted under a new S and O is a
clone (DOC-CLONED), while short repeated plans and notes that truly lack a part are judged as
before."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from chartaudit.cli import app

runner = CliRunner()
SLP = {
    "patient_id": "P7",
    "discipline": "SLP",
    "therapist": "Jordan Patel",
    "credential": "CCC-SLP",
    "payer": "Aetna",
    "note_type": "daily",
}
OT = {**SLP, "patient_id": "P8", "discipline": "OT", "therapist": "Robin Ames"}
OT["credential"] = "OTR/L"
PASTED = (
    "A: Pt continues to present with expressive language delay marked by reduced MLU and a "
    "limited vocabulary; she will continue to benefit from skilled ST to address expressive "
    "language deficits. P: Cont POC."
)
OT_A = (
    "Pt continues to demonstrate decreased grip strength and endurance R hand limiting IADLs "
    "such as cooking; would benefit from continued skilled OT to improve independence."
)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    export = tmp_path_factory.mktemp("export")
    slp = [
        # Narrative SLP notes without S/O/A/P labels, each with all four parts.
        (
            "S1",
            "2026-09-01",
            "Mom reports he practiced /k/ words 5 min/day. /k/ initial CV "
            "words 16/20 (80%) w/ min tactile cue, up from 60% last session. Next: /k/ in CVC "
            "words.",
        ),
        (
            "S2",
            "2026-09-03",
            "Straw sips thin 10/10 clear w/ effortful swallow cue on 2/10; "
            "soup 8/10 clear. Caregiver reports no coughing at meals. -> STG 2 met. Cont POC, "
            "fade cues next session.",
        ),
        # Truly no subjective and no assessment: still a finding.
        ("S3", "2026-09-05", "/s/ initial phrases 14/20 (70%) w/ mod vc. Plan: /s/ sentences."),
        # The same assessment and plan under new S and O, twice.
        (
            "S4",
            "2026-09-29",
            "S: Mom reports 'more juice' at home. O: Imitated 12/20 two-word "
            "phrases w/ max verbal models. " + PASTED,
        ),
        (
            "S5",
            "2026-10-06",
            "S: Parents report fewer tantrums. O: Book-sharing w/ expansion; "
            "15 novel words w/ mod cues. " + PASTED,
        ),
    ]
    rows = [
        {**SLP, "note_id": i, "date_of_service": d, "narrative": t, "patient_id": "P7"}
        for i, d, t in slp[:3]
    ] + [
        {**SLP, "note_id": i, "date_of_service": d, "narrative": t, "patient_id": "P9"}
        for i, d, t in slp[3:]
    ]
    # A curly apostrophe and a dash in cp1252, as a Windows EMR writes them.
    rows[0]["narrative"] = rows[0]["narrative"].replace("Mom reports", "Mom’s report – Mom reports")
    pd.DataFrame(rows).rename(columns={"narrative": "Narrative"}).to_csv(
        export / "slp_notes.csv", index=False, encoding="cp1252"
    )
    ot = [
        (
            "O1",
            "2026-09-02",
            "Reports opening a jar at home.",
            "Jar opening 3/3 w/ Dycem.",
            OT_A,
            "Progress to key turner next visit.",
        ),
        (
            "O2",
            "2026-09-04",
            "Pain 2/10 after gardening.",
            "Knitting 20 min w/ 2 breaks.",
            OT_A,
            "Progress to key turner next visit.",
        ),
        # Short repeated plan and a new assessment: not a clone.
        (
            "O3",
            "2026-09-08",
            "Knitted 30 min at home.",
            "Handwriting 5 lines, legible.",
            "Endurance for knitting up from 20 to 30 min.",
            "Cont POC.",
        ),
        (
            "O4",
            "2026-09-10",
            "Knitted daily.",
            "Jar opening w/o AE 2/3.",
            "Grip improving, jar w/o AE 2/3 (0/3 on 9/2).",
            "Cont POC.",
        ),
    ]
    pd.DataFrame(
        [
            {
                **OT,
                "note_id": i,
                "date_of_service": d,
                "subjective": s,
                "objective": o,
                "assessment": a,
                "plan": p,
            }
            for i, d, s, o, a, p in ot
        ]
    ).to_csv(export / "ot_notes.csv", index=False)
    out = tmp_path_factory.mktemp("report") / "out"
    result = runner.invoke(app, ["run", str(export), "--out", str(out), "--no-history"])
    assert result.exit_code in (0, 1), result.output
    assert "Traceback" not in result.output
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["rows"]["rejected"] == 0, (out / "rejected.csv").read_text()
    findings = pd.read_csv(out / "findings.csv", dtype=str, keep_default_na=False)
    return out, findings


def by_item(findings: pd.DataFrame, item: str) -> pd.DataFrame:
    return findings[findings["item_id"] == item].set_index("note_id")


def test_slp_narratives_with_trial_data_goal_status_and_a_parents_report_are_complete(report):
    _, findings = report
    soap = by_item(findings, "DOC-SOAP")
    assert sorted(soap.index) == ["S3"]
    assert soap.loc["S3", "message"] == "No subjective (patient report) / assessment content found"


def test_a_pasted_assessment_and_plan_is_reported_with_the_copied_sentence(report):
    out, findings = report
    cloned = by_item(findings, "DOC-CLONED")
    assert sorted(cloned.index) == ["O2", "S5"]
    assert cloned.loc["S5", "message"] == (
        "Assessment/plan is identical to the patient's note of 2026-09-29 (S4)"
    )
    assert cloned.loc["S5", "evidence"].startswith("Pt continues to present with expressive")
    assert cloned.loc["O2", "message"] == (
        "Assessment/plan is identical to the patient's note of 2026-09-02 (O1)"
    )
    # The therapist's page quotes the copied sentence from the note.
    page = (out / "therapists" / "jordan-patel.html").read_text(encoding="utf-8")
    assert "Assessment/plan is identical" in page
    assert "reduced MLU and a limited vocabulary" in page
