"""The vendor re-export helper, and that the loader maps it back to the canonical charts."""

from __future__ import annotations

import pandas as pd
import pytest

from chartaudit.load import load_export
from chartaudit.sample import generate
from vendor_layout import to_vendor_layout

NOTE_FIELDS = [
    "note_id",
    "patient_id",
    "patient_name",
    "episode_id",
    "discipline",
    "note_type",
    "date_of_service",
    "therapist",
    "therapist_id",
    "credential",
    "signed_at",
    "payer_type",
    "poc_end",
    "poc_certified_at",
    "total_timed_minutes",
]


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("vendor")
    canonical, vendor = root / "canonical", root / "vendor"
    generate(canonical, notes=400, seed=5)
    to_vendor_layout(canonical, vendor)
    return canonical, vendor


def test_vendor_files_are_written_in_cp1252(folders):
    _, vendor = folders
    names = {p.name for p in vendor.iterdir()}
    assert names == {
        "Visit Report 2026-10.csv",
        "Charges.xlsx",
        "Goals.xlsx",
        "Outcome Scores.csv",
        "Auth Requests.csv",
        "chartaudit-mapping.yaml",
    }
    raw = (vendor / "Visit Report 2026-10.csv").read_bytes()
    text = raw.decode("cp1252")
    assert "\u2019" in text  # a typographic apostrophe, one byte (0x92) in cp1252
    assert b"\x92" in raw
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    header = text.splitlines()[0]
    assert header.startswith("Doc #,MRN,Patient Name")
    assert "Visit Type" in header and "DOS" in header
    (vendor / "Outcome Scores.csv").read_bytes().decode("cp1252")
    (vendor / "Auth Requests.csv").read_bytes().decode("cp1252")


def _sorted(frame: pd.DataFrame, key: str) -> pd.DataFrame:
    return frame.sort_values(key, kind="stable").reset_index(drop=True)


def test_loading_the_vendor_folder_gives_the_canonical_charts(folders):
    canonical, vendor = folders
    a = load_export(canonical)
    b = load_export(vendor)
    assert len(b.notes) == len(a.notes)
    left = _sorted(a.notes[NOTE_FIELDS], "note_id")
    right = _sorted(b.notes[NOTE_FIELDS], "note_id")
    for col in NOTE_FIELDS:
        pd.testing.assert_series_equal(
            left[col], right[col], check_dtype=False, check_names=False, obj=col
        )
    assert "José Núñez" in set(right["therapist"])
    narr_a = _sorted(a.notes[["note_id", "narrative"]], "note_id")["narrative"]
    narr_b = _sorted(b.notes[["note_id", "narrative"]], "note_id")["narrative"]
    assert (narr_b.fillna("") == narr_a.fillna("").str.replace("'", "\u2019")).all()
    assert narr_b.str.contains("\u2019").any()
    for table in ["services", "goals", "measures", "authorizations"]:
        assert len(b.table(table)) == len(a.table(table)), table
    sa = _sorted(a.table("services")[["note_id", "cpt_code", "modifiers", "units"]], "note_id")
    sb = _sorted(b.table("services")[["note_id", "cpt_code", "modifiers", "units"]], "note_id")
    assert sa["units"].sum() == sb["units"].sum()
    assert (sa["modifiers"].str.len().sum()) == (sb["modifiers"].str.len().sum())
    ga = _sorted(a.table("goals")[["goal_id", "status", "target_date"]], "goal_id")
    gb = _sorted(b.table("goals")[["goal_id", "status", "target_date"]], "goal_id")
    assert (ga["status"].astype(str) == gb["status"].astype(str)).all()
    assert (ga["target_date"] == gb["target_date"]).all()
    pending = b.table("authorizations")["status"].eq("pending").sum()
    assert pending == a.table("authorizations")["status"].eq("pending").sum() > 0


def test_vendor_layout_audits_to_exactly_the_same_findings(folders, tmp_path):
    """Done-when of the foundation: same charts, other EMR layout, same findings."""
    from typer.testing import CliRunner

    from chartaudit.cli import app

    canonical, vendor = folders
    runner = CliRunner()
    outputs = {}
    for name, folder in (("canonical", canonical), ("vendor", vendor)):
        out = tmp_path / name
        result = runner.invoke(
            app, ["run", str(folder), "--out", str(out), "--no-history", "--format", "csv,json"]
        )
        assert result.exit_code == 0, result.output
        findings = pd.read_csv(out / "findings.csv", encoding="utf-8-sig", dtype=str)
        outputs[name] = findings.sort_values(["note_id", "item_id"], ignore_index=True)
        assert pd.read_csv(out / "rejected.csv").empty
    canon, vend = outputs["canonical"], outputs["vendor"]
    assert len(canon) > 50  # the sample has defects to find
    pd.testing.assert_frame_equal(
        canon[["note_id", "item_id", "message", "evidence"]],
        vend[["note_id", "item_id", "message", "evidence"]],
    )
