"""Checklist rules a clinic configures, through the real CLI on small exports written as files:
co-signature of clinical fellows' notes, certification in monthly runs, assistants' evaluations
for every payer."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from chartaudit.cli import app

runner = CliRunner()


def invoke(*args: object):
    result = runner.invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.output, result.output
    return result


def write_export(
    folder: Path, rows: list[dict], encoding: str = "utf-8", defaults: dict | None = None
) -> Path:
    """notes.csv of `rows`; with `defaults`, each row takes the values it does not set and is
    signed on its date of service."""
    if defaults is not None:
        rows = [{**defaults, **r, "signed_at": r["date_of_service"]} for r in rows]
    folder.mkdir()
    pd.DataFrame(rows).to_csv(folder / "notes.csv", index=False, encoding=encoding)
    return folder


def findings(out: Path) -> pd.DataFrame:
    return pd.read_csv(out / "findings.csv", encoding="utf-8-sig", dtype=str, keep_default_na=False)


SLP = {
    "patient_id": "P1",
    "discipline": "SLP",
    "payer": "Aetna PPO",
    "signed_at": "",
    "cosigner": "",
    "cosigned_at": "",
}


def cf_export(folder: Path) -> Path:
    """A fellow's two visits (one co-signed by her mentor, one not) and a certified SLP's."""
    rows = [
        {
            "note_id": "E1",
            "note_type": "evaluation",
            "date_of_service": "2026-11-02",
            "therapist": "Priya Natarajan",
            "credential": "CCC-SLP",
        },
        {
            "note_id": "V1",
            "note_type": "daily",
            "date_of_service": "2026-11-04",
            "therapist": "Kelsey Moore",
            "credential": "CF-SLP",
            "cosigner": "Priya Natarajan, CCC-SLP",
            "cosigned_at": "2026-11-05",
        },
        {
            "note_id": "V2",
            "note_type": "daily",
            "date_of_service": "2026-11-06",
            "therapist": "Kelsey Moore",
            "credential": "M.S., CF-SLP",
        },
        {
            "note_id": "V3",
            "note_type": "daily",
            "date_of_service": "2026-11-09",
            "therapist": "Priya Natarajan",
            "credential": "CCC-SLP",
        },
    ]
    return write_export(folder, rows, defaults=SLP)


def test_a_clinic_can_require_the_mentors_cosignature_on_a_clinical_fellows_notes(tmp_path):
    export = cf_export(tmp_path / "export")
    ours = tmp_path / "ours.yaml"
    ours.write_text(
        'checklist: ours\ntitle: Ours\nversion: "1"\nextends: [documentation-quality]\n'
        "overrides:\n  DOC-COSIGN: {params: {roles: [student, clinical_fellow]}}\n",
        encoding="utf-8",
    )
    assert invoke("checklists", "validate", ours).exit_code == 0
    out = tmp_path / "out"
    result = invoke("run", export, "--checklist", ours, "--out", out, "--no-history")
    assert result.exit_code == 0, result.output
    cosign = findings(out).query("item_id == 'DOC-COSIGN'")
    # Only the fellow's note without a co-signature: not her co-signed one, not the CCC-SLP's.
    assert cosign["note_id"].tolist() == ["V2"]
    assert cosign["message"].iat[0] == "clinical fellow note (M.S., CF-SLP) is not co-signed"
    # The built-in checklist (students only) does not ask it of the fellow.
    out2 = tmp_path / "out2"
    assert invoke("run", export, "--out", out2, "--no-history").exit_code == 0
    assert "DOC-COSIGN" not in findings(out2)["item_id"].tolist()


def test_an_unknown_role_is_a_checklist_error_naming_the_allowed_ones(tmp_path):
    ours = tmp_path / "ours.yaml"
    ours.write_text(
        'checklist: ours\ntitle: Ours\nversion: "1"\nextends: [documentation-quality]\n'
        "overrides:\n  DOC-COSIGN: {params: {roles: [student, bogus_role_xyz]}}\n",
        encoding="utf-8",
    )
    result = invoke("checklists", "validate", ours)
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert "overrides.DOC-COSIGN" in text and "'bogus_role_xyz' is not one of" in text
    assert "clinical_fellow" in text
    mcr = tmp_path / "mcr.yaml"
    mcr.write_text(
        'checklist: mcr\ntitle: M\nversion: "1"\nextends: [medicare-part-b]\n'
        "overrides:\n  MCR-CLINICIAN-AUTHOR: {params: {roles: [therapists]}}\n",
        encoding="utf-8",
    )
    result = invoke("checklists", "validate", mcr)
    assert result.exit_code == 2
    assert "'therapists' is not one of therapist" in " ".join(result.output.split())


def ot_export(folder: Path) -> Path:
    """An OT's evaluations and an OTA's re-evaluation and evaluation under Medicaid and a
    commercial plan, and a PTA's co-signed progress report under Medicare (cp1252, as EMRs
    write it)."""
    good_eval = (
        "Dx: R wrist fx s/p ORIF 09/20. PLOF independent in ADLs. Current function: mod A for UB "
        "dressing. Prognosis good. Goals: Pt will don shirt with mod I in 4 wks. "
        "QuickDASH 62."
    )
    ot = {"discipline": "OT", "signed_at": "", "cosigner": "", "cosigned_at": ""}
    rows = [
        {
            "note_id": "E1",
            "patient_id": "P1",
            "note_type": "evaluation",
            "date_of_service": "2026-10-01",
            "therapist": "Daniel Brennan",
            "credential": "OTR/L",
            "payer": "Medicaid",
            "note_text": good_eval,
        },
        {
            "note_id": "R1",
            "patient_id": "P1",
            "note_type": "re_evaluation",
            "date_of_service": "2026-10-29",
            "therapist": "María Santos",
            "credential": "COTA/L",
            "payer": "Medicaid",
            "note_text": "Rehab potential good. Goals updated. New goals: Pt will don socks w/ "
            "sock aid mod I in 4 wks.",
        },
        {
            "note_id": "E2",
            "patient_id": "P2",
            "note_type": "evaluation",
            "date_of_service": "2026-10-05",
            "therapist": "María Santos",
            "credential": "COTA/L",
            "payer": "Aetna PPO",
            "note_text": good_eval,
        },
        {
            "note_id": "E4",
            "patient_id": "P4",
            "note_type": "evaluation",
            "date_of_service": "2026-10-06",
            "therapist": "María Santos",
            "credential": "COTA/L",
            "payer": "",
            "note_text": good_eval,
        },
        {
            "note_id": "E3",
            "patient_id": "P3",
            "note_type": "evaluation",
            "date_of_service": "2026-10-02",
            "therapist": "Tom Kessler",
            "credential": "DPT",
            "discipline": "PT",
            "payer": "Medicare Part B",
            "note_text": good_eval,
        },
        {
            "note_id": "P3",
            "patient_id": "P3",
            "note_type": "progress",
            "date_of_service": "2026-10-27",
            "therapist": "Lee Wong",
            "credential": "PTA",
            "discipline": "PT",
            "payer": "Medicare Part B",
            "cosigner": "Tom Kessler, DPT",
            "cosigned_at": "2026-10-28",
            "note_text": "Progress note. Gait 150 ft with SBA.",
        },
    ]
    return write_export(folder, rows, encoding="cp1252", defaults=ot)


def test_an_assistants_evaluation_is_a_finding_for_every_payer_and_earns_no_credit(tmp_path):
    import json

    out = tmp_path / "out"
    result = invoke("run", ot_export(tmp_path / "export"), "--out", out, "--no-history")
    assert result.exit_code == 0, result.output
    f = findings(out)
    author = f[f["item_id"].str.endswith("CLINICIAN-AUTHOR")].set_index("note_id")
    assert author["item_id"].to_dict() == {
        "R1": "DOC-CLINICIAN-AUTHOR",  # Medicaid
        "E2": "DOC-CLINICIAN-AUTHOR",  # commercial
        "E4": "DOC-CLINICIAN-AUTHOR",  # no payer in the export
        "P3": "MCR-CLINICIAN-AUTHOR",  # Medicare: judged once, by the Medicare item
    }
    assert (author["severity"] == "critical").all()
    # Counted against the supervising OT, whom the message names, as on Medicare visits.
    assert author.loc["R1", "therapist"] == "Daniel Brennan"
    assert author.loc["R1", "message"] == (
        "A re-evaluation written by an assistant (COTA/L); only therapists may write it; it is "
        "the supervising occupational therapist's to write (Daniel Brennan, OTR/L); on a visit "
        "by María Santos, COTA/L"
    )
    # A co-signature does not make an assistant's report a progress report: the therapist's to
    # write, not "to write or co-sign" (acc7 MINOR 3).
    assert author.loc["P3", "message"].endswith(
        "it is the supervising physical therapist's to write (Tom Kessler, DPT); on a visit by "
        "Lee Wong, PTA"
    )
    # The evaluation items judge the therapists' evaluations only: the assistant's are not
    # counted as met evaluation content, outcome baseline or goals.
    items = {
        i["item_id"]: i for i in json.loads((out / "summary.json").read_text("utf-8"))["items"]
    }
    for item in ("DOC-EVAL-CONTENT", "DOC-OUTCOME-BASELINE"):
        assert items[item]["applicable"] == 2, item  # E1 and E3
    assert items["DOC-GOALS-MEASURABLE"]["applicable"] == 2


def cert_export(folder: Path) -> Path:
    """Medicare PT episodes evaluated in October and treated in November: A never certified
    (plan sent, no signed order), B certified late (2026-11-12, due 11-04), C on time, and D
    evaluated 2026-11-20, its certification not yet due at the end of November."""
    plans = {
        "A": ("2026-10-02", "", ["2026-10-09", "2026-11-03", "2026-11-05"]),
        "B": ("2026-10-05", "2026-11-12", ["2026-11-04", "2026-11-10", "2026-11-16"]),
        "C": ("2026-10-06", "2026-10-20", ["2026-11-02", "2026-11-09"]),
        "D": ("2026-11-20", "", ["2026-11-24"]),
    }
    rows = []
    for ep, (evaluated, certified, visits) in plans.items():
        base = {
            "patient_id": f"P{ep}",
            "therapist": "Tom Kessler",
            "credential": "PT, DPT",
            "discipline": "PT",
            "payer": "Medicare Part B",
        }
        rows.append(
            {
                **base,
                "note_id": f"E{ep}",
                "note_type": "evaluation",
                "date_of_service": evaluated,
                "poc_certified_at": certified,
                "poc_sent_at": evaluated,
                "signed_at": evaluated,
            }
        )
        rows += [
            {
                **base,
                "note_id": f"V{ep}{i}",
                "note_type": "daily",
                "date_of_service": day,
                "poc_certified_at": "",
                "poc_sent_at": "",
                "signed_at": day,
            }
            for i, day in enumerate(visits, start=1)
        ]
    # B's visit on the due date's next week is an assistant's.
    next(r for r in rows if r["note_id"] == "VB2").update(therapist="Lee Wong", credential="PTA")
    return write_export(folder, rows, encoding="cp1252")


def test_a_monthly_run_reports_a_plan_overdue_for_certification_on_its_visits(tmp_path):
    import json

    export = cert_export(tmp_path / "export")
    out = tmp_path / "nov"
    result = invoke("run", export, "--period", "2026-11", "--out", out, "--no-history")
    assert result.exit_code == 0, result.output
    f = findings(out)
    cert = f[f["item_id"] == "MCR-POC-CERT-30"].set_index("note_id")
    # The first November visit past the due date, while the plan was still not certified.
    assert cert["severity"].to_dict() == {"VA2": "critical", "VB2": "medium"}
    assert cert.loc["VA2", "message"] == (
        "plan of care of the evaluation of 2026-10-02 (EA) not certified by this visit "
        "(2026-11-03), 32 days after the evaluation; certification was due by 2026-11-01, and "
        "the visits since are at risk; the plan was sent in time but no signed order/referral "
        "is on file"
    )
    assert cert.loc["VB2", "message"].startswith(
        "plan of care of the evaluation of 2026-10-05 (EB) certified only on 2026-11-12, after "
        "this visit; certification was due by 2026-11-04"
    )
    # On an assistant's visit, the plan's certification is the supervising therapist's.
    assert cert.loc["VB2", "therapist"] == "Tom Kessler"
    assert cert.loc["VB2", "message"].endswith(
        "; the certification is the supervising physical therapist's to obtain (Tom Kessler, "
        "PT, DPT); on a visit by Lee Wong, PTA"
    )
    summary = json.loads((out / "summary.json").read_text("utf-8"))
    # The counts follow each finding's own severity.
    assert summary["overall"]["critical_findings"] == int((f["severity"] == "critical").sum())
    critical = {t["therapist"]: t["critical"] for t in summary["therapists"]}
    assert critical["Tom Kessler"] == int(
        ((f["severity"] == "critical") & (f["therapist"] == "Tom Kessler")).sum()
    )
    # The plan not yet due is named where the report lists what it could not judge.
    reasons = {r["item_id"]: r["reasons"] for r in summary["not_evaluable"]}
    assert reasons["MCR-POC-CERT-30"] == {
        "plan of care of the evaluation of 2026-11-20 (ED) not certified yet; it is due by "
        "2026-12-20, after the audit date: audit it again then": 1
    }
    assert "(ED) not certified yet" in (out / "index.html").read_text("utf-8")

    # The whole export at once: judged on the evaluations, never twice on their visits.
    whole = tmp_path / "all"
    assert invoke("run", export, "--out", whole, "--no-history").exit_code == 0
    f = findings(whole)
    cert = f[f["item_id"] == "MCR-POC-CERT-30"].set_index("note_id")
    assert cert["severity"].to_dict() == {"EA": "critical", "EB": "medium"}
