"""Field check kinds: required values, signature timeliness, co-signatures, credentials."""

from __future__ import annotations

import pandas as pd
import pytest

from chartaudit.audit import as_of_date
from chartaudit.checks import REGISTRY, AuditContext
from chartaudit.load import from_frames
from chartaudit.model import Status

BASE = {
    "patient_id": "P1",
    "therapist": "Dana Reyes",
    "credential": "DPT",
    "discipline": "PT",
    "note_type": "daily",
    "date_of_service": "2026-09-01",
}


def run(kind, notes, params=None) -> pd.DataFrame:
    """Run one check kind over every note of a mini export: status and message per note id."""
    export = from_frames({"notes": pd.DataFrame([{**BASE, **r} for r in notes])})
    ctx = AuditContext(export=export, as_of=as_of_date(export))
    check = REGISTRY[kind]
    p = {name: param.default for name, param in check.params.items()} | (params or {})
    idx = export.notes.index
    out = check.fn(ctx, idx, p)
    return pd.DataFrame(
        {
            "status": [Status(c).label for c in out.status.reindex(idx)],
            "message": out.message.reindex(idx).fillna("").to_numpy(),
        },
        index=export.notes["note_id"].to_numpy(),
    )


def test_required_field_blank_fails_and_missing_column_is_not_evaluable():
    res = run(
        "required_field",
        [{"note_id": "A", "signed_at": "2026-09-01 17:00"}, {"note_id": "B", "signed_at": " "}],
        params={"field": "signed_at", "label": "signature"},
    )
    assert res["status"].tolist() == ["pass", "fail"]
    assert res.loc["B", "message"] == "no signature (signed_at is blank)"
    res = run("required_field", [{"note_id": "A"}], params={"field": "signed_at", "label": ""})
    assert res.loc["A", "status"] == "not_evaluable"
    assert res.loc["A", "message"] == "the export has no signed_at column"


def test_signature_timely_boundary_is_inclusive_and_ignores_the_time_of_day():
    rows = [
        {"note_id": "day3", "signed_at": "2026-09-04 23:59"},
        {"note_id": "day4", "signed_at": "2026-09-05 00:01"},
        {"note_id": "same", "signed_at": "2026-09-01 18:00"},
        {"note_id": "unsigned", "signed_at": ""},
    ]
    res = run("signature_timely", rows)
    assert res["status"].tolist() == ["pass", "fail", "pass", "not_applicable"]
    assert res.loc["day4", "message"] == (
        "signed 4 days after the date of service (2026-09-01 → 2026-09-05); sign within 3 days"
    )
    assert run("signature_timely", rows, params={"max_days": 4}).loc["day4", "status"] == "pass"


def test_signature_timely_late_entries():
    rows = [
        {"note_id": "labelled", "signed_at": "2026-09-20", "is_late_entry": "Yes"},
        {"note_id": "unlabelled", "signed_at": "2026-09-20", "is_late_entry": "No"},
    ]
    res = run("signature_timely", rows)
    assert res["status"].tolist() == ["not_applicable", "fail"]
    res = run("signature_timely", rows, params={"late_entry_ok": False})
    assert res["status"].tolist() == ["fail", "fail"]


def test_signed_before_service_is_left_to_chronology():
    res = run("signature_timely", [{"note_id": "A", "signed_at": "2026-08-30"}])
    assert res.loc["A", "status"] == "not_evaluable"


def test_cosign_required_for_students_and_optionally_assistants():
    rows = [
        {"note_id": "spt", "credential": "SPT", "cosigner": "", "cosigned_at": ""},
        {
            "note_id": "spt_ok",
            "credential": "SPT",
            "cosigner": "Dana Reyes, DPT",
            "cosigned_at": "2026-09-02",
        },
        {"note_id": "spt_undated", "credential": "SPT", "cosigner": "Dana Reyes, DPT"},
        {"note_id": "pta", "credential": "PTA"},
        {"note_id": "pt", "credential": "PT"},
    ]
    res = run("cosign_required", rows)
    assert res["status"].tolist() == ["fail", "pass", "fail", "not_applicable", "not_applicable"]
    assert res.loc["spt", "message"] == "student note (SPT) is not co-signed"
    assert res.loc["spt_undated", "message"] == (
        "student note (SPT): co-signer named but the co-signature is not dated"
    )
    res = run("cosign_required", rows, params={"roles": ["student", "assistant"]})
    assert res.loc["pta", "status"] == "fail"


def test_cosign_not_evaluable_when_export_has_no_cosign_columns():
    res = run("cosign_required", [{"note_id": "spt", "credential": "SPT"}])
    assert res.loc["spt", "status"] == "not_evaluable"


def test_credential_recognised_and_matches_discipline():
    rows = [
        {"note_id": "ok", "credential": "PT, DPT"},
        {"note_id": "pta_ot", "credential": "PTA", "discipline": "OT"},
        {"note_id": "atc", "credential": "ATC"},
        {"note_id": "slp", "credential": "M.S., CCC-SLP", "discipline": "SLP"},
        {"note_id": "md", "credential": "MD"},
    ]
    res = run("credential_recognised", rows)
    assert res["status"].tolist() == ["pass", "fail", "fail", "pass", "pass"]
    assert res.loc["pta_ot", "message"] == (
        "PTA is a physical therapy credential but the note's discipline is OT"
    )
    assert res.loc["atc", "message"] == 'credential "ATC" is not a recognised PT/OT/SLP credential'


@pytest.mark.parametrize("read", ["notes.date_of_service", "notes.signed", "services.cpt_code"])
def test_a_check_kind_reads_only_optional_dates_numbers_or_yes_no(read):
    """An unreadable value is only ever an optional typed one (a required one rejects its
    row): a `reads` entry naming anything else is a mistake that would never take effect."""
    from chartaudit.checks.registry import check_kind

    with pytest.raises(ValueError, match=f"check kind 'x' reads '{read}', which is not"):
        check_kind("x", reads=(read,))(lambda ctx, idx, params: None)
