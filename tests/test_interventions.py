"""DOC-INTERVENTION (intervention_described): every billed service is described in the note.

CLI runs over small exports written as CSV files, the words of each code on phrases therapists
write, real MTSamples therapy notes (read in place) with the codes their text supports, the
item's params, and the text copies the check searches.
"""

from __future__ import annotations

import copy
import json
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from typer.testing import CliRunner

from chartaudit import codes
from chartaudit.checks import REGISTRY, AuditContext
from chartaudit.checks.regex import combine
from chartaudit.checks.text_gather import TextGather
from chartaudit.cli import app
from chartaudit.errors import ChecklistError
from chartaudit.load import from_frames
from chartaudit.model import Status
from conftest import realdata

runner = CliRunner()
NOTE = {
    "patient_id": "P1",
    "discipline": "PT",
    "note_type": "daily",
    "date_of_service": "2026-09-02",
    "therapist": "Dana Reyes",
    "credential": "DPT",
    "payer": "Blue Cross Blue Shield",
}
MANUAL = (
    "97140 (Manual therapy) billed, but the note describes no manual therapy, mobilisation or "
    "soft-tissue work"
)


def run(notes: list[dict], services: list[dict] | None, **params) -> pd.DataFrame:
    """status, message, evidence per note_id of intervention_described over every note."""
    frames = {"notes": pd.DataFrame([{**NOTE, **n} for n in notes])}
    if services is not None:
        frames["services"] = pd.DataFrame(services, columns=["note_id", "cpt_code", "units"])
    export = from_frames(frames, source="test")
    assert export.rejected.empty, export.rejected.to_dict("records")
    kind = REGISTRY["intervention_described"]
    values = {k: copy.deepcopy(p.default) for k, p in kind.params.items()} | params
    ctx = AuditContext(export=export, as_of=pd.Timestamp("2026-12-31"))
    idx = export.notes.index
    out = kind.fn(ctx, idx, values)
    text = {
        name: (s.reindex(idx) if s is not None else pd.Series("", index=idx)).fillna("")
        for name, s in (("message", out.message), ("evidence", out.evidence))
    }
    return pd.DataFrame(
        {
            "status": [Status(int(s)).label for s in out.status.reindex(idx, fill_value=0)],
            "message": text["message"].to_numpy(),
            "evidence": text["evidence"].to_numpy(),
        },
        index=export.notes["note_id"].to_numpy(),
    )


def billed(text: str, *cpt: str, **note) -> pd.Series:
    """The result for one note with `text` that bills the codes `cpt`."""
    lines = [{"note_id": "N1", "cpt_code": c, "units": 1} for c in cpt]
    return run([{"note_id": "N1", "note_text": text, **note}], lines).loc["N1"]


# ---------------------------------------------------------------------------------------------
# What a user sees: chartaudit run over CSV files


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    export = tmp_path_factory.mktemp("export")
    ot = {"discipline": "OT", "therapist": "Robin Ames", "credential": "OTR/L"}
    slp = {"discipline": "SLP", "therapist": "Jordan Patel", "credential": "CCC-SLP"}
    rows = [
        (
            "D1",
            "STM and joint mobs to L shoulder x 12 min. Ther ex: ER and IR with red band "
            "3x10, min verbal cues to avoid shoulder hiking.",
            {},
        ),
        ("D2", "Pt performed ther ex. Tolerated treatment well.", {}),
        ("D3", "Pt performed ther ex 3x10 with 2 lb.", {}),
        ("D4", "", {}),
        ("D5", "Pt seen for follow up.", {}),
        ("D6", "Fine motor: pegboard 16 pegs in 2 min with R hand.", ot),
        ("D7", "Dysphagia tx: chin tuck with thin liquids, 9/10 trials without cough.", slp),
    ]
    notes = pd.DataFrame(
        [
            {**NOTE, "note_id": note_id, "patient_id": f"P{i}", "note_text": text, **extra}
            for i, (note_id, text, extra) in enumerate(rows)
        ]
    )
    notes.to_csv(export / "notes.csv", index=False)
    services = pd.DataFrame(
        [
            ("D1", "97110", 1),
            ("D1", "97140", 1),
            ("D2", "97110", 1),
            ("D2", "97140", 1),
            ("D3", "97110", 1),
            ("D3", "97112", 1),
            ("D3", "97140", 1),
            ("D4", "97110", 1),
            ("D5", "99999", 1),
            ("D6", "97530", 1),
            ("D6", "97535", 1),
            ("D7", "92526", 1),
        ],
        columns=["note_id", "cpt_code", "units"],
    )
    services.to_csv(export / "services.csv", index=False)
    out = tmp_path_factory.mktemp("report") / "out"
    result = runner.invoke(
        app, ["run", str(export), "--out", str(out), "--no-history", "--format", "csv,json"]
    )
    assert result.exit_code in (0, 1), result.output
    findings = pd.read_csv(out / "findings.csv", dtype=str, keep_default_na=False)
    findings = findings[findings["item_id"] == "DOC-INTERVENTION"].set_index("note_id")
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["rows"]["rejected"] == 0, (out / "rejected.csv").read_text()
    return findings, summary


def test_run_lists_each_billed_service_the_note_does_not_describe(report):
    findings, _ = report
    assert set(findings.index) == {"D2", "D3", "D6"}
    d2 = findings.loc["D2"]
    assert d2["item_title"] == "Every billed service is described in the note"
    assert d2["severity"] == "high"
    assert d2["message"] == MANUAL
    assert d2["evidence"] == "97140"
    assert findings.loc["D3", "message"] == (
        "97112 (Neuromuscular re-education) billed, but the note describes no neuromuscular "
        "re-education (balance, coordination, posture or proprioception); " + MANUAL
    )
    assert findings.loc["D3", "evidence"] == "97112, 97140"
    assert findings.loc["D6", "message"] == (
        "97535 (Self-care/home management training) billed, but the note describes no "
        "self-care, ADL or home-management training"
    )


def test_run_counts_a_note_without_text_as_not_evaluable_and_unknown_codes_not_at_all(report):
    _, summary = report
    item = next(i for i in summary["items"] if i["item_id"] == "DOC-INTERVENTION")
    # D1, D2, D3, D6, D7 judged; D4 has no text; D5 bills only a code not in the table.
    assert (item["applicable"], item["passed"], item["failed"]) == (6, 2, 3)
    assert item["not_evaluable"] == 1
    reasons = next(r for r in summary["not_evaluable"] if r["item_id"] == "DOC-INTERVENTION")
    assert reasons["reasons"] == {"the note has no text in the export": 1}


def test_explain_shows_the_item():
    result = runner.invoke(app, ["explain", "DOC-INTERVENTION"])
    assert result.exit_code == 0, result.output
    assert "Every billed service is described in the note" in result.output
    assert "220.3.E" in result.output


# ---------------------------------------------------------------------------------------------
# The words of each code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("STM and joint mobs to L shoulder", "97140"),
        ("IASTM to R ITB x 8 min", "97140"),
        ("MFR to thoracic paraspinals", "97140"),
        ("Grade III PA mobilizations L4-5", "97140"),
        ("Pt performed ther ex", "97110"),
        ("TherEx per flowsheet", "97110"),
        ("HEP reviewed", "97110"),
        ("NMR: SLS on foam 3x20 s", "97112"),
        ("Balance training with CGA", "97112"),
        ("Gait training 150 ft with RW", "97116"),
        ("Pt ambulated 200 ft with SBA", "97116"),
        ("Transfers sit to stand x10", "97530"),
        ("Ther act: lifting 10 lb floor to waist", "97530"),
        ("Stair training 14 steps with rail, SBA; eccentric step-downs 6 in.", "97530"),
        ("Lateral shuffles 4x30 ft, box jumps 3x8, figure-8 runs", "97530"),
        ("ADL retraining: LB dressing with reacher", "97535"),
        ("Self-care training, min A", "97535"),
        ("Dysphagia tx with thin liquids", "92526"),
        ("Effortful swallow 10x", "92526"),
        ("Word-finding tx: naming 14/20", "92507"),
        ("Cognitive tx: recall of 3-step directions", "97129"),
        ("IFC to low back x 15 min", "G0283"),
        ("NMES to quads", "97032"),
        ("US 1.0 MHz to L knee", "97035"),
        ("MHP to neck x 10 min", "97010"),
        ("Lumbar traction 60 lb", "97012"),
        ("Initial evaluation completed; prognosis good", "97162"),
        ("Aquatic therapy in pool", "97113"),
        ("W/C propulsion 100 ft", "97542"),
    ],
)
def test_words_therapists_write_describe_the_code(text, code):
    assert billed(text, code)["status"] == "pass"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Pt performed ther ex", "97140"),
        ("Tolerated treatment well. Continue per POC.", "97112"),
        ("Therapeutic exercise 3x10 bridges", "97116"),
        ("Therapeutic exercise 3x10 bridges and SLR", "97530"),
        ("Pt did well with us today", "97035"),  # "us" is not "US" (ultrasound)
        ("Gait training 150 ft", "92526"),
        ("Pt reports less pain. Continue plan.", "97162"),
    ],
)
def test_other_words_do_not(text, code):
    got = billed(text, code)
    assert got["status"] == "fail"
    assert got["evidence"] == code


# How occupational therapists and speech-language pathologists write their services (the
# acceptance test's OT/SLP trainer found 19 correct notes reported as billing an undescribed
# service: artic, phoneme targets, cognitive-communication treatment, handwriting, shoe tying).
OT_SLP_WORDS = [
    ("Artic tx: /r/ final position at word level 14/20 w/ mod tactile cues", "92507"),
    ("/g/ initial CV syllables 12/20 (60%) w/ visual cue; minimal pairs go/doe x 10", "92507"),
    ("Phon tx: cluster reduction targets, 2-syllable words 70% acc", "92507"),
    ("Lang tx: MLU 2.1 in play; 2-word combos modeled and expanded 15x", "92507"),
    ("Expressive language: labelled 12 action pictures w/ min cues", "92507"),
    ("Confrontation naming 14/20 w/ phonemic cues; SFA on 4 items", "92507"),
    ("Cog tx: spaced retrieval for room number, recalled at 4 min", "92507"),
    ("Daily planner entries 5/6 accurate; phone alarm set w/ written steps", "92507"),
    ("Med recall w/ checklist 8/10 after 10-min delay", "92507"),
    ("Rate control w/ pacing board, sentence level 140 wpm", "92507"),
    ("VFSS recs reviewed; mildly thick liquids via cup 8/8 no cough", "92526"),
    ("Straw sips 10/10 clear; soft solids w/ lingual sweep", "92526"),
    ("Handwriting: letter formation on 3-line paper, 8/10 legible", "97530"),
    ("Knitting 25 min w/ ergonomic needles and 2 rest breaks", "97530"),
    ("Opened 3/3 jars w/ Dycem and jar wrench", "97530"),
    ("Shoe tying on practice board, 2/3 steps w/ min vc", "97530"),
    ("FM: in-hand manipulation of coins, translation 8/10", "97530"),
    ("Copied 5-word sentence from board w/ spacer 3/5", "97530"),
    ("Meal prep: made a sandwich standing at counter 6 min, SBA", "97530"),
    ("Shoe tying own sneakers 3/3, double knot w/ 1 vc", "97535"),
    ("Buttoned school polo 5/5 in 90 s", "97535"),
    ("UB dressing: donned cardigan w/ hemi technique, min A", "97535"),
    ("Oral care at sink w/ built-up toothbrush, set-up", "97535"),
    ("Spaced retrieval: recalled safety rule at 1, 2, 4 min", "97129"),
    ("Cog tx: daily planner use w/ min cues", "97130"),
]


@pytest.mark.parametrize(("text", "code"), OT_SLP_WORDS)
def test_occupational_and_speech_therapists_words_describe_their_codes(text, code):
    assert billed(text, code)["status"] == "pass"


@pytest.mark.parametrize(
    ("text", "status"),
    [
        # A grip or pinch measurement is no exercise (m-10: 97530 was judged, 97110 was not).
        ("Knitting 20 min w/ 2 rest breaks. Lateral pinch R 8 lb. Grip R 36 lb.", "fail"),
        ("Wrist flexion w/ 2 lb to end range", "pass"),
        ("Shoulder flexion with 3# cuff", "pass"),
        ("Elbow flexion 5 lb DB", "pass"),
    ],
)
def test_a_load_lifted_is_exercise_a_grip_measurement_is_not(text, status):
    assert billed(text, "97110", discipline="OT")["status"] == status


@pytest.mark.parametrize("code", ["92507", "92526", "97530", "97535", "97129"])
def test_a_stock_note_still_describes_none_of_the_ot_or_slp_services(code):
    for text in ("Pt seen for tx. Tolerated well.", "Pt tolerated tx well. Cont POC."):
        got = billed(text, code, discipline="SLP" if code.startswith("92") else "OT")
        assert (got["status"], got["evidence"]) == ("fail", code)


def test_every_code_of_the_code_table_has_words_that_compile_in_re2_and_python():
    table = codes.cpt_codes()
    words = codes.interventions()
    assert set(words) == set(table.index)
    for code, service in words.items():
        assert service.name and service.describes, code
        pattern = combine(list(service.patterns))
        re.compile(pattern)
        pc.match_substring_regex(pa.array([""]), pattern, ignore_case=True)


def test_codes_not_in_the_table_are_not_judged_and_a_note_without_lines_not_applicable():
    got = run(
        [{"note_id": "N1", "note_text": "Pt seen."}, {"note_id": "N2", "note_text": "Pt seen."}],
        [{"note_id": "N1", "cpt_code": "99213", "units": 1}],
    )
    assert list(got["status"]) == ["not_applicable", "not_applicable"]


def test_a_code_on_two_lines_is_named_once():
    lines = [{"note_id": "N1", "cpt_code": "97140", "units": 1}] * 2
    got = run([{"note_id": "N1", "note_text": "Ther ex 3x10."}], lines).loc["N1"]
    assert (got["message"], got["evidence"]) == (MANUAL, "97140")


def test_a_word_late_in_the_objective_or_in_another_section_counts():
    late = "Vitals stable. " + "Reviewed the home program and footwear. " * 6 + "Joint mobs L knee."
    sections = {"objective": late, "subjective": "Reports stiffness."}
    assert billed("", "97140", **sections)["status"] == "pass"
    sections = {"objective": "Ther ex 3x10.", "assessment": "Less pain after STM today."}
    assert billed("", "97140", **sections)["status"] == "pass"


def test_without_a_services_table_or_any_text_the_item_cannot_be_judged():
    got = run([{"note_id": "N1", "note_text": "Ther ex."}], None).loc["N1"]
    assert got["status"] == "not_evaluable"
    assert got["message"] == "the export has no services table"
    frames = {
        "notes": pd.DataFrame([{**NOTE, "note_id": "N1"}]),
        "services": pd.DataFrame([{"note_id": "N1", "cpt_code": "97110", "units": 1}]),
    }
    export = from_frames(frames, source="test")
    kind = REGISTRY["intervention_described"]
    ctx = AuditContext(export=export, as_of=pd.Timestamp("2026-12-31"))
    out = kind.fn(ctx, export.notes.index, {"extra_terms": {}, "skip_codes": []})
    assert Status(int(out.status.iloc[0])) == Status.NOT_EVALUABLE
    assert out.message.iloc[0] == "the export has no note text columns"


# ---------------------------------------------------------------------------------------------
# Params


def test_extra_terms_add_words_to_a_code_and_judge_a_code_the_table_lacks():
    text = "Cupping to upper trapezius x 8 min."
    assert billed("Ther ex only.", "97140")["status"] == "fail"
    assert billed(text, "97140")["status"] == "pass"
    got = run(
        [{"note_id": "N1", "note_text": "Ther ex only."}],
        [{"note_id": "N1", "cpt_code": "97140", "units": 1}],
        extra_terms={"97140": r"\bcupping\b"},
    ).loc["N1"]
    assert got["status"] == "fail"
    assert (
        run(
            [{"note_id": "N1", "note_text": "Graston x 5 min"}],
            [{"note_id": "N1", "cpt_code": "97140", "units": 1}],
            extra_terms={"97140": [r"graston"]},
        ).loc["N1", "status"]
        == "pass"
    )
    study = run(
        [{"note_id": "N1", "note_text": "Swallow evaluation at bedside.", "discipline": "SLP"}],
        [{"note_id": "N1", "cpt_code": "92611", "units": 1}],
        extra_terms={"92611": [r"modified barium|videofluoro"]},
    ).loc["N1"]
    assert study["status"] == "fail"
    assert study["message"] == "92611 billed, but the note has none of the checklist's words for it"


def test_skip_codes_are_not_judged_and_a_bad_pattern_names_the_param():
    got = run(
        [{"note_id": "N1", "note_text": "Ther ex 3x10."}],
        [{"note_id": "N1", "cpt_code": "97140", "units": 1}],
        skip_codes=["97140"],
    )
    assert got.loc["N1", "status"] == "not_applicable"
    with pytest.raises(ChecklistError, match=r"params\.extra_terms\.97140"):
        run(
            [{"note_id": "N1", "note_text": "Ther ex."}],
            [{"note_id": "N1", "cpt_code": "97140", "units": 1}],
            extra_terms={"97140": r"(?<!x)mob"},
        )


# ---------------------------------------------------------------------------------------------
# Real therapy notes (MTSamples), read in place


@pytest.fixture(scope="module")
def mtsamples() -> pd.DataFrame:
    path = realdata("mtsamples", "mtsamples_rehab_subset.csv")
    return pd.read_csv(path, dtype=str, keep_default_na=False).set_index("sample_id")


# (sample, discipline, note type, {code: described?}) for codes the text's treatment names
REAL = [
    # OT discharge: "neuromuscular reeducation including therapeutic exercise ...; functional
    # mobility training; self-care training; cognitive retraining"
    (
        "2568",
        "OT",
        "discharge",
        {"97112": True, "97110": True, "97530": True, "97535": True, "97129": True, "97140": False},
    ),
    # PT progress report: pool therapy and gym strengthening; no manual therapy
    ("2567", "PT", "progress", {"97113": True, "97110": True, "97140": False, "97035": False}),
    # PT evaluation whose plan lists manual therapy, ultrasound and electrical stimulation
    (
        "1614",
        "PT",
        "evaluation",
        {"97162": True, "97140": True, "97035": True, "97032": True, "92526": False},
    ),
    # SLP voice therapy discharge: resonant voice and vocal hygiene; no swallowing treatment
    ("1846", "SLP", "discharge", {"92507": True, "92526": False}),
    # SLP discharge: communication and swallowing treatment over 60 sessions
    ("1847", "SLP", "discharge", {"92507": True, "92526": True}),
    # SLP cognitive-linguistic discharge
    ("1848", "SLP", "discharge", {"97129": True, "97130": True, "97140": False}),
    # SLP aphasia evaluation (Western Aphasia Battery)
    ("1851", "SLP", "evaluation", {"92523": True, "97535": False}),
]


@pytest.mark.parametrize(("sample", "discipline", "note_type", "expected"), REAL)
def test_real_notes_describe_the_services_their_treatment_names(
    mtsamples, sample, discipline, note_type, expected
):
    text = mtsamples.loc[sample, "transcription"]
    notes = [
        {
            "note_id": f"{sample}-{code}",
            "patient_id": f"P{i}",
            "note_text": text,
            "discipline": discipline,
            "note_type": note_type,
        }
        for i, code in enumerate(expected)
    ]
    lines = [{"note_id": f"{sample}-{code}", "cpt_code": code, "units": 1} for code in expected]
    got = run(notes, lines)["status"]
    want = {f"{sample}-{code}": "pass" if ok else "fail" for code, ok in expected.items()}
    assert got.to_dict() == want


# ---------------------------------------------------------------------------------------------
# The copies the check searches


def test_text_gather_copies_heads_and_whole_texts_across_chunks_and_nulls():
    chunks = [
        pa.array(["alpha beta", None, "gamma"], type=pa.large_string()),
        pa.array(["", "delta epsilon zeta"], type=pa.string()).slice(0, 2),
    ]
    column = pa.chunked_array([chunks[0], chunks[1].cast(pa.large_string())])
    gather = TextGather({"t": column})
    whole = column.combine_chunks()
    for pos in ([0, 1, 2, 3, 4], [4, 0, 2], [3], [], [4, 4, 1]):
        got = gather.take("t", np.array(pos, dtype=np.int64))
        want = [whole[p].as_py() or "" for p in pos]
        assert got.to_pylist() == want
        head = gather.take("t", np.array(pos, dtype=np.int64), limit=5)
        assert head.to_pylist() == [w[:5] for w in want]
    with pytest.raises(IndexError):
        gather.take("t", np.array([5]))


def test_a_subset_of_the_notes_is_judged_as_in_the_whole_run():
    notes = [
        {"note_id": "N1", "note_text": "Ther ex 3x10."},
        {"note_id": "N2", "note_text": "", "patient_id": "P2"},
        {"note_id": "N3", "note_text": "STM to paraspinals.", "patient_id": "P3"},
        {"note_id": "N4", "note_text": "Gait training 150 ft.", "patient_id": "P4"},
    ]
    lines = [{"note_id": f"N{i}", "cpt_code": "97140", "units": 1} for i in range(1, 5)]
    frames = {
        "notes": pd.DataFrame([{**NOTE, **n} for n in notes]),
        "services": pd.DataFrame(lines),
    }
    export = from_frames(frames, source="test")
    kind = REGISTRY["intervention_described"]
    params = {"extra_terms": {}, "skip_codes": []}
    whole = kind.fn(
        AuditContext(export=export, as_of=pd.Timestamp("2026-12-31")), export.notes.index, params
    )
    subset = export.notes.index[[3, 1, 2]]
    part = kind.fn(AuditContext(export=export, as_of=pd.Timestamp("2026-12-31")), subset, params)
    assert part.status.to_dict() == whole.status.reindex(subset).to_dict()
    labels = [Status(int(s)).label for s in part.status]
    assert labels == ["fail", "not_evaluable", "pass"]
    assert part.message.reindex(subset).tolist()[:2] == [
        MANUAL,
        "the note has no text in the export",
    ]


@pytest.mark.parametrize(
    ("note_type", "code", "status"),
    [
        ("re_evaluation", "97164", "pass"),
        ("evaluation", "97162", "pass"),
        ("recertification", "97168", "pass"),
        ("daily", "97164", "fail"),  # a daily note is no re-evaluation, whatever was billed
    ],
)
def test_an_evaluation_code_on_the_evaluation_note_itself_is_described_by_the_note(
    note_type, code, status
):
    text = "Pt reports pain 3/10. AROM knee flex 110 deg. LEFS 48/80. Continue POC."
    assert billed(text, code, note_type=note_type)["status"] == status


def test_run_over_an_ot_and_slp_export_reports_only_the_stock_notes(tmp_path):
    """An SLP narrative file in cp1252 (an EMR's export) and OT SOAP columns: the notes that
    describe artic, cognitive-communication, handwriting and shoe-tying work pass; the two
    stock notes are reported for every service they bill."""
    slp = {**NOTE, "discipline": "SLP", "therapist": "Jordan Patel", "credential": "CCC-SLP"}
    ot = {**NOTE, "discipline": "OT", "therapist": "Robin Ames", "credential": "OTR/L"}
    pd.DataFrame(
        [
            {
                **slp,
                "note_id": "S1",
                "note_text": "Artic tx – /k/ initial CV words 15/20 "
                "(75%) w/ min tactile cue; Mom’s report: practicing nightly.",
            },
            {
                **slp,
                "note_id": "S2",
                "note_text": "Cog tx: spaced retrieval for “check "
                "planner at lunch” – recalled at 2 and 4 min. Med recall w/ checklist 9/10.",
            },
            {**slp, "note_id": "S3", "note_text": "Pt seen for tx. Tolerated well."},
        ]
    ).to_csv(tmp_path / "slp_notes.csv", index=False, encoding="cp1252")
    pd.DataFrame(
        [
            {
                **ot,
                "note_id": "O1",
                "subjective": "Father reports tying shoes at home.",
                "objective": "Shoe tying 3/3 w/ 1 vc. Handwriting: name legible 5/5.",
                "assessment": "Goal met.",
                "plan": "Sentence copying next.",
            },
            {
                **ot,
                "note_id": "O2",
                "subjective": "Pt doing well.",
                "objective": "Tolerated well.",
                "assessment": "Good session.",
                "plan": "Cont POC.",
            },
        ]
    ).to_csv(tmp_path / "ot_notes.csv", index=False)
    pd.DataFrame(
        [
            ("S1", "92507"),
            ("S2", "92507"),
            ("S3", "92507"),
            ("O1", "97530"),
            ("O1", "97535"),
            ("O2", "97530"),
            ("O2", "97535"),
        ],
        columns=["note_id", "cpt_code"],
    ).assign(units=1).to_csv(tmp_path / "services.csv", index=False)
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["run", str(tmp_path), "--out", str(out), "--no-history", "--format", "csv,json"]
    )
    assert result.exit_code in (0, 1), result.output
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["rows"]["rejected"] == 0
    findings = pd.read_csv(out / "findings.csv", dtype=str, keep_default_na=False)
    found = findings[findings["item_id"] == "DOC-INTERVENTION"].set_index("note_id")
    assert sorted(found.index) == ["O2", "S3"]
    assert found.loc["O2", "evidence"] == "97530, 97535"
    assert "cognitive-communication" in found.loc["S3", "message"]
