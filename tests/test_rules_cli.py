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


def write_export(folder: Path, rows: list[dict], encoding: str = "utf-8") -> Path:
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
        {"note_id": "E1", "note_type": "evaluation", "date_of_service": "2026-11-02",
         "therapist": "Priya Natarajan", "credential": "CCC-SLP"},
        {"note_id": "V1", "note_type": "daily", "date_of_service": "2026-11-04",
         "therapist": "Kelsey Moore", "credential": "CF-SLP",
         "cosigner": "Priya Natarajan, CCC-SLP", "cosigned_at": "2026-11-05"},
        {"note_id": "V2", "note_type": "daily", "date_of_service": "2026-11-06",
         "therapist": "Kelsey Moore", "credential": "M.S., CF-SLP"},
        {"note_id": "V3", "note_type": "daily", "date_of_service": "2026-11-09",
         "therapist": "Priya Natarajan", "credential": "CCC-SLP"},
    ]
    for r in rows:
        for k, v in SLP.items():
            r.setdefault(k, v)
        r["signed_at"] = r["date_of_service"]
    return write_export(folder, rows)


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
