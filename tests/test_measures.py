"""Outcome-measure instruments (aliases, text mentions, MCID/MDC change) and their check kinds."""

from __future__ import annotations

import pandas as pd
import pytest

from chartaudit.errors import InputError
from chartaudit.instruments import (
    canonical_instrument,
    classify_change,
    find_instruments_in_text,
    load_thresholds,
    select_thresholds,
)
from test_text_checks import note, run


def test_canonical_instrument_aliases_ignore_case_space_and_punctuation():
    names = pd.Series(
        [
            "Oswestry",
            "BBS",
            "Lower Extremity Functional Scale",
            "quick-dash",
            "KOOS, JR.",
            "LEFS score",
            "Berg Balance Scale (BBS)",
            "6-minute walk test",
            "Modified Oswestry",
            "FIM motor",
            "Timed Up & Go",
            "Dynamic Gait Index",
            None,
        ]
    )
    assert canonical_instrument(names).tolist() == [
        "ODI",
        "Berg",
        "LEFS",
        "QuickDASH",
        "KOOS JR",
        "LEFS",
        "Berg",
        "6MWT",
        "Modified ODI",
        "FIM motor",
        "TUG",
        pd.NA,
        pd.NA,
    ]


def test_find_instruments_in_text():
    text = pd.Series(
        {
            "a": "SPECIAL TESTS: A 6-minute walk test. The patient was able to ambulate 600 feet.",
            "b": "Balance: Berg balance test 46/56 points. LEFS on 03/02/2026 was 40/80.",
            "c": "Goals: Berg balance test to be 52/56. Patient will walk 1000 ft in the 6MWT.",
            "d": "LEFS 95 recorded in error; ODI: 42%.",
            "e": None,
        }
    )
    found = find_instruments_in_text(text)
    got = found[["row", "instrument", "score"]].itertuples(index=False, name=None)
    assert [(r, i, round(s, 2)) for r, i, s in got] == [
        ("a", "6MWT", 182.88),  # feet converted to metres
        ("b", "Berg", 46.0),
        ("b", "LEFS", 40.0),  # the date is skipped
        ("d", "ODI", 42.0),  # LEFS 95 is out of range
    ]
    assert found.loc[1, "text"] == "Berg balance test 46/56 points"
    assert found.loc[1, "out_of"] == 56


@pytest.mark.parametrize(
    ("instrument", "baseline", "latest", "expected"),
    [
        ("LEFS", 40, 52, "meaningful"),  # +12 >= MCID 9
        ("LEFS", 40, 45, "no_reliable_change"),
        ("LEFS", 50, 38, "decline"),
        ("Oswestry", 40, 28, "meaningful"),  # lower is better: -12 >= MCID 10
        ("ODI", 40, 34, "no_reliable_change"),  # no MDC: below the MCID is not reliable
        ("NPRS", 6, 4.2, "meaningful"),  # 30% of baseline
        ("BBS", 30, 37, "small"),  # baseline band 25-34: MDC 7; Berg has no MCID here
        ("Berg", 50, 54, "small"),  # band 45-56: MDC 4
        ("Berg", 50, 53, "no_reliable_change"),
        ("NDI", 20, 12, "no_reliable_change"),  # -8: above MCID 7.5 but below MDC 10.2
        ("NDI", 20, 9, "meaningful"),
        ("QuickDASH", 40, 26, "small"),  # MDC 12.85 <= 14 < MCID 15.91
        ("TUG", 14, 10, pd.NA),  # no MCID or MDC on file
        ("Dynamic Gait Index", 10, 20, pd.NA),
        ("LEFS", None, 50, pd.NA),
    ],
)
def test_classify_change(instrument, baseline, latest, expected):
    got = classify_change(pd.Series([instrument]), pd.Series([baseline]), pd.Series([latest]))
    assert got.iloc[0] is expected or got.iloc[0] == expected


def test_classify_change_population_and_alignment():
    idx = pd.Index(["x", "y"])
    inst = pd.Series(["QuickDASH", "6MWT"], index=idx)
    base = pd.Series([40, 200], index=idx)
    late = pd.Series([30, 225], index=idx)
    default = classify_change(inst, base, late)
    assert default.index.equals(idx)
    assert default.tolist() == ["no_reliable_change", "meaningful"]
    shoulder = classify_change(inst, base, late, population="shoulder")
    assert shoulder.tolist() == ["meaningful", "meaningful"]  # QuickDASH shoulder MCID 8
    th = select_thresholds(inst, base, population="shoulder")
    assert th.loc["x", "source"] == "MINTKEN-2009"


def test_threshold_override_file(tmp_path):
    path = tmp_path / "thresholds.csv"
    path.write_text(
        "instrument,aliases,direction,mcid,mdc\nDGI,Dynamic Gait Index|DGI,higher_better,3,2.9\n"
    )
    table = load_thresholds(path)
    assert canonical_instrument(pd.Series(["dynamic gait index"]), table).tolist() == ["DGI"]
    got = classify_change(pd.Series(["DGI"]), pd.Series([12]), pd.Series([16]), thresholds=table)
    assert got.tolist() == ["meaningful"]
    found = find_instruments_in_text(pd.Series(["DGI 14/24"]), table)
    assert found["score"].tolist() == [14.0]


def test_threshold_file_errors_name_the_file_and_row(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("instrument,aliases,direction,mcid,mdc\nLEFS,LEFS,up,9,9\n")
    with pytest.raises(InputError, match=r"bad.csv, row 2: direction must be"):
        load_thresholds(bad)
    clash = tmp_path / "clash.csv"
    clash.write_text(
        "instrument,aliases,direction,mcid,mdc\nA,XYZ,higher_better,1,\nB,xyz,higher_better,1,\n"
    )
    with pytest.raises(InputError, match="alias 'xyz' names both 'A' and 'B'"):
        load_thresholds(clash)
    number = tmp_path / "number.csv"
    number.write_text("instrument,aliases,direction,mcid,mdc\nA,A,higher_better,nine,\n")
    with pytest.raises(InputError, match="row 2: mcid is not a number"):
        load_thresholds(number)


def test_builtin_table_has_the_reference_instruments():
    table = load_thresholds()
    for name in (
        "LEFS",
        "ODI",
        "NDI",
        "QuickDASH",
        "DASH",
        "KOOS JR",
        "HOOS JR",
        "Berg",
        "TUG",
        "6MWT",
        "Gait speed",
        "FIM",
        "PSFS",
        "NPRS",
    ):
        assert name in set(table["instrument"]), name
    assert table["source"].ne("").all()
    tug = table[table["instrument"] == "TUG"]
    assert tug["mcid"].isna().all() and tug["mdc"].isna().all()
    berg = table[(table["instrument"] == "Berg") & table["default"]]
    assert sorted(berg["mdc"].tolist()) == [4, 5, 5, 7]


# --------------------------------------------------------------------------------------------
# DOC-OUTCOME-BASELINE / DOC-OUTCOME-REPEAT
# --------------------------------------------------------------------------------------------

EVAL = {"note_type": "evaluation"}


def test_baseline_from_measures_table_or_text():
    notes = [
        note("E1", "2026-09-01", "Knee pain.", **EVAL),
        note("E2", "2026-09-01", "Knee pain. LEFS 32/80.", patient_id="P2", **EVAL),
        note("E3", "2026-09-01", "Knee pain, strength 4/5.", patient_id="P3", **EVAL),
    ]
    measures = [{"note_id": "E1", "measure": "Lower Extremity Functional Scale", "score": 30}]
    out = run("outcome_baseline", notes, measures=measures)
    assert out["status"].tolist() == ["pass", "pass", "fail"]
    assert out.loc["E3", "message"].startswith("No standardized outcome measure")
    text_off = run("outcome_baseline", notes, {"count_text_mentions": False}, measures=measures)
    assert text_off["status"].tolist() == ["pass", "fail", "fail"]


def test_slp_evaluations_get_credit_for_their_standardized_scales():
    slp = {**EVAL, "discipline": "SLP", "credential": "CCC-SLP"}
    notes = [
        note("S1", "2026-09-01", "Cognitive Linguistic Quick Test composite severity 3.2.", **slp),
        note(
            "S2",
            "2026-09-01",
            "FOIS level 4; Penetration-Aspiration Scale 5.",
            patient_id="P2",
            **slp,
        ),
        note("S3", "2026-09-01", "Swallow appears functional.", patient_id="P3", **slp),
    ]
    assert run("outcome_baseline", notes)["status"].tolist() == ["pass", "pass", "fail"]


def test_baseline_not_evaluable_without_measures_or_text():
    out = run("outcome_baseline", [note("E1", "2026-09-01", **EVAL)])
    assert out.loc["E1", "status"] == "not_evaluable"
    assert out.loc["E1", "message"] == "the export has neither a measures table nor note text"


def test_repeat_matches_instruments_through_aliases():
    notes = [
        note("E1", "2026-09-01", "Initial evaluation.", **EVAL),
        note("R1", "2026-09-29", "ODI 28% today.", note_type="progress"),
        note("X1", "2026-10-27", "Discharge, pain better.", note_type="discharge"),
    ]
    measures = [{"note_id": "E1", "measure": "Oswestry", "score": 42}]
    out = run("outcome_repeat", notes, measures=measures)
    assert out["status"].tolist() == ["not_applicable", "pass", "fail"]
    assert out.loc["X1", "message"] == "Baseline measure not repeated: ODI 42 on 2026-09-01"
    assert out.loc["X1", "evidence"] == "not repeated: ODI"


def test_repeat_not_applicable_without_baseline_and_require_all():
    notes = [
        note("E1", "2026-09-01", "Initial evaluation.", **EVAL),
        note("R1", "2026-09-29", "Progress report.", note_type="progress"),
        note("E2", "2026-09-01", "Eval.", patient_id="P2", **EVAL),
        note("R2", "2026-09-29", "LEFS 50/80.", patient_id="P2", note_type="progress"),
    ]
    measures = [
        {"note_id": "E2", "measure": "LEFS", "score": 30},
        {"note_id": "E2", "measure": "NPRS", "score": 6},
    ]
    out = run("outcome_repeat", notes, measures=measures)
    assert out.loc["R1", "status"] == "not_applicable"  # no baseline in P1's episode
    assert out.loc["R2", "status"] == "pass"
    strict = run("outcome_repeat", notes, {"require_all": True}, measures=measures)
    assert strict.loc["R2", "status"] == "fail"
    assert strict.loc["R2", "evidence"] == "not repeated: NPRS"


def test_a_goal_named_after_an_instrument_is_not_a_score():
    text = pd.Series(
        [
            "Progress on goals: LTG 3 (FOIS) progressing. Wet vocal quality on 2 of 10 trials.",
            "STG 1 (Berg) partially met; gait 2 laps.",
            "FOIS level 4 on thin liquids.",
        ]
    )
    found = find_instruments_in_text(text)
    assert found[["row", "instrument", "score"]].values.tolist() == [[2, "FOIS", 4.0]]


# Acceptance (OT/SLP trainer): pediatric and SLP evaluations scored on norm-referenced tests
# were told they had no standardized measure; the tests are in the instrument table now.
PEDIATRIC_AND_SLP_SCORES = [
    ("Visual-motor: Beery VMI standard score 81; motor coordination 74.", "Beery VMI", 81),
    ("BOT-2 fine manual control composite 39 (below average).", "BOT-2", 39),
    ("Peabody Developmental Motor Scales, 2nd ed. (PDMS-2): fine motor quotient 82.", "PDMS", 82),
    ("Sensory Profile 2: seeking raw score 57, avoiding 41.", "Sensory Profile", 57),
    ("PLS-5 expressive communication SS 71, auditory comprehension SS 88.", "PLS", 71),
    ("CELF-5 core language score 77.", "CELF", 77),
    ("GFTA-3 sounds-in-words standard score 64.", "GFTA", 64),
    ("Cognition: SLUMS 21/30; Boston Naming Test 41/60.", "SLUMS", 21),
    ("Montreal Cognitive Assessment 19/30 (education adjusted).", "MoCA", 19),
    ("EAT-10 total 22; MASA 151/200.", "EAT-10", 22),
    ("Nine-Hole Peg Test L 41 s; Box and Block L 38.", "9HPT", 41),
    ("COPM performance 3.4, satisfaction 2.8.", "COPM", 3.4),
]


@pytest.mark.parametrize("text, instrument, score", PEDIATRIC_AND_SLP_SCORES)
def test_pediatric_and_slp_tests_in_the_note_are_a_baseline(text, instrument, score):
    found = find_instruments_in_text(pd.Series([text]))
    assert (found.loc[0, "instrument"], found.loc[0, "score"]) == (instrument, score)
    child = {**EVAL, "discipline": "OT", "credential": "OTR/L"}
    out = run("outcome_baseline", [note("E1", "2026-10-01", "7 y/o M. " + text, **child)])
    assert out.loc["E1", "status"] == "pass", out.loc["E1", "message"]


def test_a_test_named_without_a_score_is_still_no_baseline():
    child = {**EVAL, "discipline": "SLP", "credential": "CCC-SLP"}
    text = "4;6 y/o F. PLS-5 to be administered next visit; Beery VMI deferred (fatigue)."
    out = run("outcome_baseline", [note("E1", "2026-10-01", text, **child)])
    assert out.loc["E1", "status"] == "fail"


def test_new_instruments_carry_no_change_threshold_the_domain_rules_do_not_give():
    table = load_thresholds()
    added = ["SLUMS", "MoCA", "GFTA", "PLS", "CELF", "Beery VMI", "BOT-2", "PDMS", "COPM", "9HPT"]
    rows = table[table["instrument"].isin(added)]
    assert set(rows["instrument"]) == set(added)
    assert rows[["mcid", "mcid_pct", "mdc"]].isna().all().all()
    assert classify_change(pd.Series(["GFTA"]), pd.Series([64]), pd.Series([80])).isna().all()
