"""Billing check kinds: CMS 8-minute rule (worked examples, chart, random visits), allocation,
AMA per-code units, untimed/group/duplicate lines, G0283, GP/GO/GN, CQ/CO, KX, minutes."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from chartaudit import codes
from chartaudit.checks import REGISTRY, AuditContext
from chartaudit.checks.billing import (
    cms_allocation,
    cms_units,
    underbilled_units,
    underbilling_messages,
)
from chartaudit.cli import app
from chartaudit.load import from_frames
from chartaudit.model import Status
from conftest import REALDATA, realdata

NOTE_DEFAULTS = {
    "patient_id": "P1",
    "discipline": "PT",
    "note_type": "daily",
    "date_of_service": "2024-03-04",
    "therapist": "Dana Reyes",
    "credential": "DPT",
    "payer": "Medicare Part B",
}


def export(notes: list[dict], services: list[dict]):
    rows = [{**NOTE_DEFAULTS, **n} for n in notes]
    frames = {"notes": pd.DataFrame(rows)}
    if services is not None:
        frames["services"] = pd.DataFrame(services)
    ex = from_frames(frames, source="test")
    assert ex.rejected.empty, ex.rejected.to_dict("records")
    return ex


def run(kind: str, ex, **params) -> pd.DataFrame:
    """Status label, message and evidence per note_id for one check kind over every note."""
    spec = REGISTRY[kind]
    full = {k: p.default for k, p in spec.params.items()}
    full.update(params)
    ctx = AuditContext(export=ex, as_of=pd.Timestamp("2026-12-31"))
    idx = ex.notes.index
    out = spec.fn(ctx, idx, full)
    n = len(idx)
    msg = out.message if out.message is not None else pd.Series([""] * n, index=idx)
    ev = out.evidence if out.evidence is not None else pd.Series([""] * n, index=idx)
    return pd.DataFrame(
        {
            "status": [Status(s).label for s in out.status.reindex(idx, fill_value=0)],
            "message": msg.reindex(idx).fillna("").to_numpy(),
            "evidence": ev.reindex(idx).fillna("").to_numpy(),
        },
        index=ex.notes["note_id"].to_numpy(),
    )


def one_day(lines: dict[str, tuple[float, int]], **note) -> object:
    """One daily note; lines = {code: (minutes, units)}."""
    svc = [
        {"note_id": "N1", "cpt_code": c, "modifiers": "GP", "units": u, "minutes": m}
        for c, (m, u) in lines.items()
    ]
    return export([{"note_id": "N1", **note}], svc)


# ---------------------------------------------------------------------------------------------
# CMS worked examples and unit chart (realdata, read in place)


EXAMPLES_CSV = REALDATA / "reference" / "eight_minute_rule_examples.csv"


def _examples() -> list[dict]:
    if not EXAMPLES_CSV.exists():
        return []
    with EXAMPLES_CSV.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _pairs(text: str) -> dict[str, int]:
    return {c: int(v) for c, v in (p.split(":") for p in text.split(";"))}


def test_every_cms_example_row_is_covered():
    realdata("reference", "eight_minute_rule_examples.csv")
    rows = _examples()
    assert {r["kind"] for r in rows} == {"worked_example", "chart_boundary"}
    assert len(rows) >= 20


@pytest.mark.parametrize("row", _examples(), ids=lambda r: r["example_id"])
def test_cms_example(row):
    if row["kind"] == "worked_example":
        minutes = _pairs(row["services"])
        total = int(row["expected_total_units"])
        assert sum(minutes.values()) == int(row["total_timed_minutes"])
        for alternative in row["expected_units_by_code"].split(" OR "):
            units = _pairs(alternative)
            ex = one_day({c: (m, units.get(c, 0)) for c, m in minutes.items()})
            assert run("eight_minute_total", ex).loc["N1", "status"] == "pass"
            assert run("eight_minute_allocation", ex).loc["N1", "status"] == "pass"
            assert sum(units.values()) == total
        # The reference allocation gives one of the accepted answers.
        frame = pd.DataFrame({"day": 0, "code": list(minutes), "minutes": list(minutes.values())})
        ref = dict(zip(frame["code"], cms_allocation(frame)["ref"], strict=True))
        accepted = [_pairs(a) for a in row["expected_units_by_code"].split(" OR ")]
        assert any(all(ref[c] == a.get(c, 0) for c in minutes) for a in accepted), ref
        # All units on the longest code is never a valid CMS allocation in these examples.
        longest = max(minutes, key=minutes.get)
        lopsided = {c: (m, total if c == longest else 0) for c, m in minutes.items()}
        got = run("eight_minute_allocation", one_day(lopsided)).loc["N1"]
        assert got["status"] == "fail"
        assert f"billed {longest} {total}u" in got["message"]
        # One unit more than the total is over the 8-minute rule.
        over = {c: (m, units.get(c, 0) + (c == longest)) for c, m in minutes.items()}
        got = run("eight_minute_total", one_day(over)).loc["N1"]
        assert got["status"] == "fail"
        assert got["message"] == (
            f"{row['total_timed_minutes']} timed minutes support {total} units; {total + 1} billed"
        )
    else:
        minutes = int(row["total_timed_minutes"])
        units = int(row["expected_total_units"])
        ok = run("eight_minute_total", one_day({"97110": (minutes, units)})).loc["N1"]
        assert ok["status"] == "pass"
        over = run("eight_minute_total", one_day({"97110": (minutes, units + 1)})).loc["N1"]
        assert over["status"] == "fail"
        word = "unit" if units == 1 else "units"
        assert over["message"] == (
            f"{minutes} timed minutes support {units} {word}; {units + 1} billed"
        )
        assert over["evidence"] == f"97110 {minutes} min {units + 1}u"


def _left_off(row: dict) -> list[tuple[dict, dict]]:
    """Per accepted allocation of a worked example that gives some code 0 units: (minutes of
    the codes billed, their units), the 0-unit codes left off the claim."""
    if row["kind"] != "worked_example":
        return []
    minutes = _pairs(row["services"])
    out = []
    for alternative in row["expected_units_by_code"].split(" OR "):
        units = _pairs(alternative)
        if any(units.get(c, 0) == 0 for c in minutes):
            billed = {c: m for c, m in minutes.items() if units.get(c, 0) > 0}
            out.append((billed, {c: units[c] for c in billed}))
    return out


@pytest.mark.parametrize(
    "row", [r for r in _examples() if _left_off(r)], ids=lambda r: r["example_id"]
)
def test_cms_example_with_its_zero_unit_code_left_off_the_claim(row):
    # CMS-4: 97035's 8 minutes earn no unit, so the claim has no 97035 line; the note's
    # documented 49 minutes still support 3 units, and the 3 codes billed keep theirs.
    total = int(row["total_timed_minutes"])
    for billed, units in _left_off(row):
        on_lines = sum(billed.values())
        lines = {c: (m, units[c]) for c, m in billed.items()}
        ex = one_day(lines, total_timed_minutes=total)
        for kind in ("eight_minute_total", "eight_minute_allocation", "timed_minutes_documented"):
            assert run(kind, ex).loc["N1", "status"] == "pass", kind
        longest = max(billed, key=billed.get)
        over = one_day(
            {c: (m, u + (c == longest)) for c, (m, u) in lines.items()},
            total_timed_minutes=total,
        )
        got = run("eight_minute_total", over).loc["N1"]
        assert got["message"] == (
            f"{total} timed minutes documented ({on_lines} on the charge lines) support "
            f"{sum(units.values())} units; {sum(units.values()) + 1} billed"
        )
        assert got["evidence"].startswith(f"total timed {total} min: ")
        # Without the note's total the lines alone support fewer units.
        alone = run("eight_minute_total", one_day(lines)).loc["N1", "status"]
        assert alone == ("fail" if cms_units([on_lines])[0] < sum(units.values()) else "pass")


def test_charge_lines_partly_without_minutes_already_over_the_documented_total():
    svc = [
        {"note_id": "N1", "cpt_code": "97110", "modifiers": "GP", "units": 2, "minutes": 25},
        {"note_id": "N1", "cpt_code": "97140", "modifiers": "GP", "units": 1, "minutes": ""},
    ]
    ex = export([{"note_id": "N1", "total_timed_minutes": 20}], svc)
    got = run("timed_minutes_documented", ex).loc["N1"]
    assert got["message"] == (
        "the charge lines record at least 25 timed minutes (97110 25 min 2u; 97140 1u) but the "
        "note documents 20: 5 billed minutes the note does not support"
    )
    assert run("eight_minute_total", ex).loc["N1", "message"] == (
        "20 timed minutes support 1 unit; 3 billed"
    )


def test_minutes_documented_beyond_the_lines_of_a_day_of_two_notes():
    notes = [{"note_id": "AM", "total_timed_minutes": 20}, {"note_id": "PM"}]
    svc = [
        {"note_id": "AM", "cpt_code": "97110", "modifiers": "GP", "units": 1, "minutes": 15},
        {"note_id": "PM", "cpt_code": "97140", "modifiers": "GP", "units": 2, "minutes": 10},
    ]
    got = run("eight_minute_total", export(notes, svc))
    assert got.loc["PM", "message"] == (
        "30 timed minutes documented (25 on the charge lines) support 2 units; 3 billed "
        "(day total over 2 notes)"
    )
    assert got.loc["PM", "evidence"] == "total timed 20 min: 97110 15 min 1u; 97140 10 min 2u"
    alloc = run("eight_minute_allocation", export(notes, svc)).loc["AM"]
    assert alloc["message"] == (
        "CMS allocation of 2 units for 30 timed minutes documented (25 on the charge lines): "
        "97110 1u, 97140 1u, unbilled 5 min 0u; billed 97110 1u, 97140 2u"
    )


# ---------------------------------------------------------------------------------------------
# Property-style: random visits against the CMS chart computed the simple way


def _chart_units(total: int) -> int:
    """Units from the CMS chart: one per threshold 8, 23, 38, ... reached."""
    return sum(1 for k in range(40) if total >= 8 + 15 * k)


def test_eight_minute_total_matches_cms_chart_on_random_visits():
    rng = np.random.default_rng(20240304)
    timed = ["97110", "97112", "97140", "97530", "97116", "97035"]
    untimed = ["97161", "97010", "97150", "92507", "G0283"]
    notes, services, expected = [], [], {}
    for v in range(300):
        day = f"2024-{1 + v % 12:02d}-{1 + v % 28:02d}"
        patient = f"P{v}"
        split = rng.random() < 0.25  # the visit's services spread over two notes of the day
        note_ids = [f"V{v}a", f"V{v}b"] if split else [f"V{v}a"]
        for nid in note_ids:
            notes.append({"note_id": nid, "patient_id": patient, "date_of_service": day})
        chosen = rng.choice(timed, size=int(rng.integers(1, 5)), replace=False)
        total, billed = 0, 0
        for code in chosen:
            minutes = int(rng.integers(0, 41))
            units = int(rng.integers(0, 4))
            total += minutes
            billed += units
            services.append(
                {
                    "note_id": str(rng.choice(note_ids)),
                    "cpt_code": str(code),
                    "modifiers": "GP",
                    "units": units,
                    "minutes": minutes,
                }
            )
        for code in rng.choice(untimed, size=int(rng.integers(0, 3)), replace=False):
            services.append(
                {
                    "note_id": note_ids[0],
                    "cpt_code": str(code),
                    "modifiers": "GP",
                    "units": 1,
                    "minutes": int(rng.integers(5, 45)),
                }
            )
        allowed = _chart_units(total)
        for nid in note_ids:
            expected[nid] = (allowed, billed)
    ex = export(notes, services)
    got = run("eight_minute_total", ex)
    has_timed = {s["note_id"] for s in services if s["cpt_code"] in timed}
    fails = 0
    for nid, (allowed, billed) in expected.items():
        row = got.loc[nid]
        if nid not in has_timed:
            assert row["status"] == "not_applicable", nid
        elif billed > allowed:
            fails += 1
            assert row["status"] == "fail", nid
            assert f"support {allowed} unit" in row["message"]
            assert row["message"].split("; ")[1].startswith(f"{billed} billed")
        else:
            assert row["status"] == "pass", (nid, allowed, billed)
    assert 30 < fails < len(expected) - 30  # both outcomes well represented


# ---------------------------------------------------------------------------------------------
# 8-minute rule: details


def test_untimed_codes_and_unbilled_timed_minutes():
    # 97161 and 97150 never count; a timed line with 0 units still counts its minutes.
    ex = one_day({"97161": (40, 1), "97150": (30, 1), "97110": (20, 2), "97140": (10, 0)})
    assert run("eight_minute_total", ex).loc["N1", "status"] == "pass"
    ex = one_day({"97161": (40, 1), "97110": (20, 2)})
    got = run("eight_minute_total", ex).loc["N1"]
    assert got["message"] == "20 timed minutes support 1 unit; 2 billed"


def test_no_timed_services_is_not_applicable():
    ex = one_day({"97162": (45, 1), "97010": (10, 1)})
    assert run("eight_minute_total", ex).loc["N1", "status"] == "not_applicable"
    assert run("timed_minutes_documented", ex).loc["N1", "status"] == "not_applicable"


def test_missing_minutes_is_not_evaluable_never_pass():
    svc = [
        {"note_id": "N1", "cpt_code": "97110", "modifiers": "GP", "units": 1, "minutes": ""},
        {"note_id": "N1", "cpt_code": "97140", "modifiers": "GP", "units": 1, "minutes": ""},
    ]
    ex = export([{"note_id": "N1", "total_timed_minutes": ""}], svc)
    for kind in ("eight_minute_total", "eight_minute_allocation", "eight_minute_per_code"):
        assert run(kind, ex).loc["N1", "status"] == "not_evaluable", kind
    assert run("eight_minute_total", ex).loc["N1", "message"] == "no timed minutes documented"
    got = run("timed_minutes_documented", ex).loc["N1"]
    assert got["status"] == "fail"
    assert got["message"] == (
        "timed codes billed (97110, 97140) but the total timed minutes are not documented"
    )


def test_note_total_used_when_lines_have_no_minutes():
    svc = [{"note_id": "N1", "cpt_code": "97110", "modifiers": "GP", "units": 3, "minutes": ""}]
    ex = export([{"note_id": "N1", "total_timed_minutes": 30}], svc)
    got = run("eight_minute_total", ex).loc["N1"]
    assert got["status"] == "fail"
    assert got["message"] == "30 timed minutes support 2 units; 3 billed"
    assert got["evidence"] == "total timed 30 min: 97110 3u"
    # Allocation needs minutes per code, but one code alone is not an allocation question.
    assert run("eight_minute_allocation", ex).loc["N1", "status"] == "not_applicable"
    # The per-code rule can use the note total when it is the only timed code.
    assert run("eight_minute_per_code", ex).loc["N1", "status"] == "fail"


def test_day_total_spans_notes_of_the_same_discipline_only():
    notes = [
        {"note_id": "AM"},
        {"note_id": "PM"},
        {"note_id": "OT", "discipline": "OT", "credential": "OTR/L"},
    ]
    svc = [
        {"note_id": "AM", "cpt_code": "97110", "modifiers": "GP", "units": 1, "minutes": 10},
        {"note_id": "PM", "cpt_code": "97110", "modifiers": "GP", "units": 1, "minutes": 10},
        {"note_id": "OT", "cpt_code": "97530", "modifiers": "GO", "units": 1, "minutes": 10},
    ]
    ex = export(notes, svc)
    got = run("eight_minute_total", ex)
    assert got.loc["AM", "message"] == (
        "20 timed minutes support 1 unit; 2 billed (day total over 2 notes)"
    )
    assert got.loc["PM", "status"] == "fail"
    assert got.loc["OT", "status"] == "pass"
    pooled = run("eight_minute_total", ex, per_discipline=False)
    assert pooled.loc["OT", "message"].startswith("30 timed minutes support 2 units; 3 billed")
    # A note whose day partner lacks minutes cannot be judged either.
    svc[1]["minutes"] = ""
    got = run("eight_minute_total", export(notes, svc))
    assert got.loc["PM", "message"] == "no timed minutes documented"
    assert got.loc["AM", "status"] == "not_evaluable"
    assert got.loc["AM", "message"] == (
        "timed minutes not documented on another note of the same day"
    )


def test_underbilling_passes_but_is_reported():
    ex = one_day({"97110": (23, 1), "97140": (15, 1)})
    assert run("eight_minute_total", ex).loc["N1", "status"] == "pass"
    ctx = AuditContext(export=ex, as_of=pd.Timestamp("2024-12-31"))
    assert underbilled_units(ctx).tolist() == [1]
    assert underbilling_messages(ctx).tolist() == [
        "38 timed minutes support 3 units; 2 billed — 1 unit of documented time not billed"
    ]
    fully = AuditContext(export=one_day({"97110": (23, 2)}), as_of=pd.Timestamp("2024-12-31"))
    assert underbilled_units(fully).tolist() == [0]
    assert underbilling_messages(fully).empty


def test_allocation_rules():
    # (a) a service of 15+ minutes gets a unit when units are left to bill
    got = run("eight_minute_allocation", one_day({"97110": (30, 2), "97140": (15, 0)})).loc["N1"]
    assert got["status"] == "fail"
    assert got["message"] == (
        "CMS allocation of 3 units for 45 timed minutes: 97110 2u, 97140 1u; "
        "billed 97110 2u, 97140 0u"
    )
    # (c) two short services adding up to 8+ minutes: one unit of the longer one
    assert _alloc({"97110": (5, 0), "97140": (4, 1)}) == "fail"
    assert _alloc({"97110": (5, 1), "97140": (4, 0)}) == "pass"
    # Under-billing that keeps every code's full units is not an allocation error.
    assert _alloc({"97110": (33, 2), "97140": (7, 0)}) == "pass"


def _alloc(lines: dict[str, tuple[float, int]]) -> str:
    return run("eight_minute_allocation", one_day(lines)).loc["N1", "status"]


def test_per_code_rule_differs_from_total_time():
    ex = one_day({"97110": (8, 1), "97140": (8, 1)})
    assert run("eight_minute_per_code", ex).loc["N1", "status"] == "pass"  # 2 units per code
    total = run("eight_minute_total", ex).loc["N1"]
    assert total["status"] == "fail"
    assert total["message"] == "16 timed minutes support 1 unit; 2 billed"  # 1 under CMS
    got = run("eight_minute_per_code", one_day({"97110": (22, 2), "97140": (7, 1)})).loc["N1"]
    assert got["status"] == "fail"
    assert got["message"] == (
        "97110: 22 min support 1 unit, 2 billed; 97140: 7 min support 0 units, 1 billed"
    )
    assert got["evidence"] == "97110 22 min 2u; 97140 7 min 1u"


# ---------------------------------------------------------------------------------------------
# Untimed, group, duplicate, forbidden codes


def test_untimed_codes_one_unit_per_day():
    got = run("untimed_units_max", one_day({"97161": (45, 2)}, note_type="evaluation")).loc["N1"]
    assert got["status"] == "fail"
    assert got["message"] == (
        "97161 billed 2 units on this date; an untimed code is billed at most 1 unit a day, "
        "whatever the time spent"
    )
    assert got["evidence"] == "97161 2u"
    notes = [
        {"note_id": "A"},
        {"note_id": "B"},
        {"note_id": "C", "date_of_service": "2024-03-05"},
        {"note_id": "O", "discipline": "OT", "credential": "OTR/L"},
    ]
    svc = [
        {"note_id": n, "cpt_code": "97010", "modifiers": m, "units": 1}
        for n, m in (("A", "GP"), ("B", "GP"), ("C", "GP"), ("O", "GO"))
    ]
    got = run("untimed_units_max", export(notes, svc))
    assert got["status"].to_dict() == {"A": "fail", "B": "fail", "C": "pass", "O": "pass"}
    # Timed codes are not this item's business.
    assert run("untimed_units_max", one_day({"97110": (45, 3)})).loc["N1", "status"] == (
        "not_applicable"
    )


def test_group_therapy():
    got = run("group_therapy", one_day({"97150": (45, 2)})).loc["N1"]
    assert got["status"] == "fail"
    assert got["message"].startswith("97150 billed 2 units on this date; group therapy")
    overlap = one_day({"97150": (30, 1), "97110": (30, 2)}, total_treatment_minutes=45)
    got = run("group_therapy", overlap).loc["N1"]
    assert got["status"] == "fail"
    assert got["message"] == (
        "group 30 min and individual timed 30 min exceed the total treatment time of 45 min: "
        "the same minutes are billed twice"
    )
    apart = one_day({"97150": (30, 1), "97110": (15, 1)}, total_treatment_minutes=45)
    assert run("group_therapy", apart).loc["N1", "status"] == "pass"
    unknown = one_day({"97150": (30, 1), "97110": (15, 1)}, total_treatment_minutes="")
    assert run("group_therapy", unknown).loc["N1", "status"] == "not_evaluable"
    assert run("group_therapy", one_day({"97150": (30, 1)})).loc["N1", "status"] == "pass"


def test_duplicate_services():
    notes = [{"note_id": "A"}, {"note_id": "B"}]
    svc = [
        {"note_id": "A", "cpt_code": "97110", "modifiers": "GP", "units": 1, "minutes": 15},
        {"note_id": "B", "cpt_code": "97110", "modifiers": "GP", "units": 1, "minutes": 15},
    ]
    got = run("duplicate_service", export(notes, svc))
    assert got["status"].tolist() == ["fail", "fail"]
    assert got.loc["A", "message"] == "97110 billed on 2 notes for this patient on this date"
    # One note, the same code split by the CQ modifier (CMS's own billing examples do this).
    split = [
        {"note_id": "A", "cpt_code": "97110", "modifiers": "GP", "units": 1, "minutes": 15},
        {"note_id": "A", "cpt_code": "97110", "modifiers": "GP,CQ", "units": 1, "minutes": 15},
    ]
    assert run("duplicate_service", export(notes[:1], split)).loc["A", "status"] == "pass"
    split[1]["modifiers"] = "GP"
    got = run("duplicate_service", export(notes[:1], split)).loc["A"]
    assert got["message"] == "97110 on more than one line with the same modifiers"


def test_forbidden_code_97014():
    got = run(
        "forbidden_code", one_day({"97014": (15, 1)}), codes=["97014"], replacement="G0283"
    ).loc["N1"]
    assert (got["status"], got["message"], got["evidence"]) == (
        "fail",
        "97014 billed; bill G0283 instead",
        "97014",
    )
    ok = run("forbidden_code", one_day({"G0283": (15, 1)}), codes=["97014"], replacement="G0283")
    assert ok.loc["N1", "status"] == "pass"


# ---------------------------------------------------------------------------------------------
# Modifiers


def _lines_note(note: dict, lines: list[dict]):
    return export([{"note_id": "N1", **note}], [{"note_id": "N1", **ln} for ln in lines])


def test_discipline_modifier():
    ok = _lines_note({}, [{"cpt_code": "97110", "modifiers": "GP,KX", "units": 1}])
    assert run("discipline_modifier", ok).loc["N1", "status"] == "pass"
    missing = _lines_note({}, [{"cpt_code": "97110", "modifiers": "", "units": 1}])
    got = run("discipline_modifier", missing).loc["N1"]
    assert got["message"] == "97110 has no GP modifier (PT plan of care)"
    slp = _lines_note(
        {"discipline": "SLP", "credential": "CCC-SLP"},
        [{"cpt_code": "92507", "modifiers": "GP", "units": 1}],
    )
    assert run("discipline_modifier", slp).loc["N1", "message"] == (
        "92507 carries GP; SLP services take GN"
    )
    # Codes outside the therapy code table (supplies, E/M) are not judged.
    supply = _lines_note({}, [{"cpt_code": "A4556", "modifiers": "", "units": 1}])
    assert run("discipline_modifier", supply).loc["N1", "status"] == "not_applicable"


@pytest.mark.parametrize(
    ("credential", "assistant_minutes", "modifiers", "status"),
    [
        ("DPT", 3, "GP", "pass"),  # 3 of 30 min = 10%: de minimis
        ("DPT", 4, "GP", "fail"),  # over 10%
        ("DPT", 4, "GP,CQ", "pass"),
        ("DPT", "", "GP", "pass"),  # therapist's own service
        ("PTA", "", "GP", "fail"),  # assistant wrote the note: furnished by the assistant
        ("PTA", "", "GP,CQ", "pass"),
        ("PTA", "", "GP,CO", "fail"),  # OT's modifier on a PT line
        ("Aide", "", "GP", "not_evaluable"),  # unknown credential, no assistant minutes
    ],
)
def test_assistant_modifier_de_minimis(credential, assistant_minutes, modifiers, status):
    ex = _lines_note(
        {"credential": credential},
        [
            {
                "cpt_code": "97110",
                "modifiers": modifiers,
                "units": 2,
                "minutes": 30,
                "assistant_minutes": assistant_minutes,
            }
        ],
    )
    got = run("assistant_modifier", ex).loc["N1"]
    assert got["status"] == status, got["message"]
    if credential == "DPT" and status == "fail":
        assert got["message"] == (
            "97110 furnished in part by a PTA (4 of 30 min, over 10%) but has no CQ"
        )


def test_assistant_modifier_ot_and_slp():
    ota = _lines_note(
        {"discipline": "OT", "credential": "COTA"},
        [{"cpt_code": "97530", "modifiers": "GO", "units": 1, "minutes": 15}],
    )
    assert run("assistant_modifier", ota).loc["N1", "message"] == (
        "97530 furnished by an OTA (note author) but has no CO"
    )
    slpa = _lines_note(
        {"discipline": "SLP", "credential": "SLPA"},
        [{"cpt_code": "92507", "modifiers": "GN", "units": 1}],
    )
    assert run("assistant_modifier", slpa).loc["N1", "status"] == "not_applicable"
    bigger = _lines_note(
        {},
        [
            {
                "cpt_code": "97110",
                "modifiers": "GP",
                "units": 2,
                "minutes": 30,
                "assistant_minutes": 6,
            }
        ],
    )
    assert run("assistant_modifier", bigger, de_minimis_pct=25).loc["N1", "status"] == "pass"


# ---------------------------------------------------------------------------------------------
# KX threshold


def _kx_export(rows: list[tuple[str, str, str, str, float | str, str]], charge=None):
    """rows: (note_id, date, discipline, modifiers, allowed_amount, payer)."""
    creds = {"PT": "DPT", "OT": "OTR/L", "SLP": "CCC-SLP"}
    notes = [
        {
            "note_id": n,
            "date_of_service": d,
            "discipline": disc,
            "credential": creds[disc],
            "payer": payer,
        }
        for n, d, disc, _, _, payer in rows
    ]
    svc = [
        {
            "note_id": n,
            "cpt_code": "97110",
            "modifiers": mods,
            "units": 1,
            "allowed_amount": amount,
            **({"charge": charge[n]} if charge else {}),
        }
        for n, _, _, mods, amount, _ in rows
    ]
    return export(notes, svc)


def test_kx_buckets_pt_slp_together_ot_apart():
    mcr = "Medicare Part B"
    ex = _kx_export(
        [
            ("PT1", "2024-02-01", "PT", "GP", 1500, mcr),
            ("SLP1", "2024-03-01", "SLP", "GN", 900, mcr),  # PT+SLP 2,400 > 2,330
            ("OT1", "2024-03-02", "OT", "GO", 2000, mcr),
            ("OT2", "2024-03-09", "OT", "GO", 300, mcr),  # OT 2,300: not over
            ("OT3", "2024-03-16", "OT", "GO", 100, mcr),  # OT 2,400
            ("COM", "2024-01-15", "PT", "GP", 5000, "Aetna"),  # not Medicare: not counted
            ("PT23", "2023-12-30", "PT", "GP", 2200, mcr),  # other year
        ]
    )
    got = run("kx_threshold", ex)
    assert got["status"].to_dict() == {
        "PT1": "pass",
        "SLP1": "fail",
        "OT1": "pass",
        "OT2": "pass",
        "OT3": "fail",
        "COM": "not_applicable",
        "PT23": "pass",
    }
    assert got.loc["SLP1", "message"] == (
        "PT+SLP allowed amounts for 2024 reached $2,400.00, over the 2024 threshold of $2,330; "
        "97110 lacks KX"
    )


def test_kx_estimate_missing_year_and_gaps():
    mcr = "Medicare Part B"
    ex = _kx_export(
        [("A", "2025-02-01", "PT", "GP", "", mcr), ("B", "2025-02-08", "PT", "GP", "", mcr)],
        charge={"A": 3000, "B": 3000},
    )
    got = run("kx_threshold", ex, allowed_ratio=0.5)
    assert got.loc["A", "status"] == "pass"  # 1,500 estimated
    assert got.loc["B", "message"] == (
        "PT+SLP allowed amounts for 2025 (estimated as charge x 0.5) reached $3,000.00, over the "
        "2025 threshold of $2,410 (a figure from secondary sources); 97110 lacks KX"
    )
    future = _kx_export([("F", "2027-01-05", "PT", "GP", 100, mcr)])
    got = run("kx_threshold", future).loc["F"]
    assert (got["status"], got["message"]) == (
        "not_evaluable",
        "no KX threshold on file for 2027",
    )
    assert run("kx_threshold", future, thresholds={2027: 50}).loc["F", "status"] == "fail"
    # An earlier line without any amount: the running total is unknown unless already over.
    gap = _kx_export(
        [
            ("G1", "2024-01-05", "PT", "GP", "", mcr),
            ("G2", "2024-01-12", "PT", "GP", 100, mcr),
            ("G3", "2024-01-19", "PT", "GP", 2400, mcr),
        ]
    )
    got = run("kx_threshold", gap)["status"].to_dict()
    assert got == {"G1": "not_evaluable", "G2": "not_evaluable", "G3": "fail"}


# ---------------------------------------------------------------------------------------------
# Documented minutes


def test_total_time_documented():
    less = one_day({"97110": (38, 3)}, total_timed_minutes=38, total_treatment_minutes=30)
    got = run("total_time_documented", less).loc["N1"]
    assert got["message"] == "total treatment time of 30 min is less than the 38 timed minutes"
    blank = one_day({"97110": (38, 3)}, total_treatment_minutes="")
    assert run("total_time_documented", blank).loc["N1", "message"] == (
        "total treatment time not documented"
    )
    ok = one_day({"97110": (38, 3), "97010": (12, 1)}, total_treatment_minutes=50)
    assert run("total_time_documented", ok).loc["N1", "status"] == "pass"


def test_timed_minutes_not_exported_is_not_evaluable():
    svc = [{"note_id": "N1", "cpt_code": "97110", "modifiers": "GP", "units": 2}]
    ex = export([{"note_id": "N1"}], svc)  # neither total_timed_minutes nor minutes columns
    got = run("timed_minutes_documented", ex).loc["N1"]
    assert got["status"] == "not_evaluable"
    assert "no timed-minutes column" in got["message"]


# ---------------------------------------------------------------------------------------------
# Reference data


def test_code_table():
    table = codes.cpt_codes()
    assert set(table["billing_type"]) <= set(codes.BILLING_TYPES)
    for code, kind in {
        "97110": "timed_15min",
        "97129": "timed_15min",
        "97130": "timed_15min",
        "97763": "timed_15min",
        "97161": "untimed_service_based",
        "97168": "untimed_service_based",
        "92526": "untimed_per_session",
        "G0283": "untimed_supervised_modality",
        "97150": "group",
    }.items():
        assert table.loc[code, "billing_type"] == kind, code
    assert table["source"].str.len().gt(0).all()
    assert not table["source"].str.contains("http").any()
    assert "92506" not in table.index  # deleted from CPT in 2014


def test_kx_thresholds_table():
    table = codes.kx_thresholds()
    assert table["threshold_usd"].to_dict() == {
        2022: 2150.0,
        2023: 2230.0,
        2024: 2330.0,
        2025: 2410.0,
        2026: 2480.0,
    }
    assert table.loc[2024, "status"] == "verified"
    assert table.loc[2026, "status"] == "secondary"


# ---------------------------------------------------------------------------------------------
# Documented timed minutes, rejected charge lines and assistants' evaluations, through the CLI


def _cli_export(folder: Path) -> Path:
    """A small EMR export as a clinic writes it: notes and charges in Windows-1252."""
    folder.mkdir()
    header = (
        "note_id,patient_id,discipline,note_type,date_of_service,therapist,credential,payer,"
        "total_timed_minutes,total_treatment_minutes"
    )
    pt = '"Martínez, José",DPT,Medicare Part B'
    notes = [
        # 25 + 11 billed and gait training 9 min not billed: 45 minutes, 3 units (CMS ex. 4).
        f"UNBILLED,P1,PT,daily,2026-10-22,{pt},45,45",
        f"OVER,P2,PT,daily,2026-10-22,{pt},45,45",  # the same minutes, 4 units billed
        f"SHORTCODE,P3,PT,daily,2026-10-22,{pt},37,37",  # 12 unbilled minutes earn a unit
        f"NOTE25,P4,PT,daily,2026-10-22,{pt},25,40",  # the lines claim 38 minutes
        f"LOSTLINE,P5,PT,daily,2026-10-22,{pt},38,38",  # its 97110 line has units "two"
        f"ZERO,P8,PT,daily,2026-10-22,{pt},0,30",  # an EMR's unfilled 0 beside 25 billed minutes
        'COTAEVAL,P6,OT,evaluation,2026-10-22,"Santos, María",COTA/L,Medicare Part B,,45',
        'COTADAY,P7,OT,daily,2026-10-23,"Santos, María",COTA/L,Medicare Part B,30,30',
    ]
    charges = [
        "note_id,cpt_code,modifiers,units,minutes",
        "UNBILLED,97110,GP,2,25",
        "UNBILLED,97140,GP,1,11",
        "OVER,97110,GP,3,25",
        "OVER,97140,GP,1,11",
        "SHORTCODE,97110,GP,2,25",
        "NOTE25,97110,GP,2,20",
        "NOTE25,97140,GP,1,18",
        "LOSTLINE,97110,GP,two,23",
        "LOSTLINE,97140,GP,1,15",
        "ZERO,97110,GP,2,25",
        "COTAEVAL,97166,GO,1,45",
        "COTADAY,97530,GO,2,30",
    ]
    (folder / "notes.csv").write_text("\n".join([header, *notes]) + "\n", encoding="cp1252")
    (folder / "charges.csv").write_text("\n".join(charges) + "\n", encoding="cp1252")
    return folder


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("billing-cli")
    export = _cli_export(tmp / "export")
    out = tmp / "out"
    result = CliRunner().invoke(
        app, ["run", str(export), "--out", str(out), "--no-history", "--format", "csv,json"]
    )
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    return out


BILLING_ITEMS = {
    "MCR-8MIN",
    "MCR-8MIN-ALLOC",
    "MCR-TIMED-MIN",
    "MCR-TOTAL-TIME",
    "MCR-UNTIMED-1",
    "MCR-DISCIPLINE-MOD",
    "MCR-CQCO",
    "MCR-G0283",
    "MCR-KX",
    "MCR-DUPLICATE-SVC",
    "DOC-INTERVENTION",
}


def _findings(out: Path) -> dict[tuple[str, str], tuple[str, str]]:
    rows = pd.read_csv(out / "findings.csv", dtype=str, keep_default_na=False)
    return {(r.note_id, r.item_id): (r.message, r.evidence) for r in rows.itertuples(index=False)}


def _not_evaluable(out: Path) -> dict[str, dict[str, int]]:
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    return {e["item_id"]: e["reasons"] for e in summary["not_evaluable"]}


def test_timed_minutes_documented_but_not_billed_count_for_the_units(cli_run):
    found = _findings(cli_run)
    assert not [k for k in found if k[0] == "UNBILLED" and k[1] in BILLING_ITEMS], found
    assert found["OVER", "MCR-8MIN"] == (
        "45 timed minutes documented (36 on the charge lines) support 3 units; 4 billed",
        "total timed 45 min: 97110 25 min 3u; 97140 11 min 1u",
    )
    assert found["OVER", "MCR-8MIN-ALLOC"] == (
        "CMS allocation of 3 units for 45 timed minutes documented (36 on the charge lines): "
        "97110 2u, 97140 1u, unbilled 9 min 0u; billed 97110 3u, 97140 1u",
        "97110 25 min 3u; 97140 11 min 1u; unbilled 9 min",
    )
    # The 12 minutes not billed earn the second unit: 97110 may not take it instead.
    assert ("SHORTCODE", "MCR-8MIN") not in found
    assert found["SHORTCODE", "MCR-8MIN-ALLOC"][0] == (
        "CMS allocation of 2 units for 37 timed minutes documented (25 on the charge lines): "
        "97110 1u, unbilled 12 min 1u; billed 97110 2u"
    )


def test_charge_lines_claiming_more_minutes_than_the_note_documents(cli_run):
    found = _findings(cli_run)
    assert found["NOTE25", "MCR-TIMED-MIN"] == (
        "the charge lines record 38 timed minutes (97110 20 min 2u; 97140 18 min 1u) but the "
        "note documents 25: 13 billed minutes the note does not support",
        "total timed 25 min; 97110 20 min 2u; 97140 18 min 1u",
    )
    # The units are judged on what the note documents.
    assert found["NOTE25", "MCR-8MIN"][0] == (
        "25 timed minutes documented (38 on the charge lines) support 2 units; 3 billed"
    )
    assert ("NOTE25", "MCR-8MIN-ALLOC") not in found
    reasons = _not_evaluable(cli_run)["MCR-8MIN-ALLOC"]
    assert reasons["the charge lines record more timed minutes than the note documents"] == 1


def test_a_documented_total_of_0_beside_charge_minutes_is_no_over_billing(cli_run):
    """An EMR exports 0 for a total nobody filled in: the lines' 25 minutes judge the units
    (2, as billed), and the note's total is reported as not supporting the lines."""
    found = _findings(cli_run)
    assert ("ZERO", "MCR-8MIN") not in found
    assert found["ZERO", "MCR-TIMED-MIN"][0] == (
        "the charge lines record 25 timed minutes (97110 25 min 2u) but the note documents 0: "
        "25 billed minutes the note does not support"
    )


def test_a_note_whose_charge_line_was_rejected_is_not_judged_on_the_rest(cli_run):
    rejected = pd.read_csv(cli_run / "rejected.csv", dtype=str)
    assert rejected[["file", "row", "reason"]].values.tolist() == [
        ["charges.csv", "9", "units 'two' is not a number"]
    ]
    why = "one of the note's services rows was rejected at load (see rejected.csv)"
    reasons = _not_evaluable(cli_run)
    for item in ("MCR-8MIN", "MCR-TIMED-MIN", "MCR-DISCIPLINE-MOD", "MCR-G0283"):
        assert reasons[item] == {why: 1}, item
    assert not [k for k in _findings(cli_run) if k[0] == "LOSTLINE" and k[1] in BILLING_ITEMS]
    notes = pd.read_csv(cli_run / "notes.csv", dtype=str).set_index("note_id")
    assert int(notes.loc["LOSTLINE", "not_evaluable"]) >= 8
    assert int(notes.loc["UNBILLED", "not_evaluable"]) < int(notes.loc["LOSTLINE", "not_evaluable"])


def test_an_assistants_evaluation_is_not_told_to_add_co(cli_run):
    found = _findings(cli_run)
    assert ("COTAEVAL", "MCR-CLINICIAN-AUTHOR") in found
    assert ("COTAEVAL", "MCR-CQCO") not in found
    assert (
        found["COTADAY", "MCR-CQCO"][0] == "97530 furnished by an OTA (note author) but has no CO"
    )
