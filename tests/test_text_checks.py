"""Text check kinds on hand-written notes: SOAP, skilled language, cloning, goals, discharge."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest

from chartaudit.audit import as_of_date
from chartaudit.checks import REGISTRY, AuditContext
from chartaudit.checks.text import Shingles, goal_parts, goal_statements
from chartaudit.errors import ChecklistError
from chartaudit.load import from_frames
from chartaudit.model import Status

DEFAULTS = {
    "patient_id": "P1",
    "discipline": "PT",
    "therapist": "Dana Reyes",
    "credential": "DPT",
    "note_type": "daily",
}

LONG_NOTE = (
    "Pt performed therapeutic exercise for bilateral lower extremity strengthening and gait "
    "training with rolling walker on level surfaces in the clinic. Pt tolerated treatment well "
    "without complaints of pain. Continue plan of care to improve functional mobility, transfer "
    "safety and endurance for household distances."
)
FIRST_SENTENCE = LONG_NOTE.split(". ")[0]


def run(kind: str, notes: list[dict], params: dict | None = None, as_of=None, **tables):
    """Run one check kind over every note; one row per note: note_id, status, message, evidence."""
    rows = [{**DEFAULTS, **n} for n in notes]
    frames = {"notes": pd.DataFrame(rows), **{k: pd.DataFrame(v) for k, v in tables.items()}}
    export = from_frames(frames)
    assert export.rejected.empty, export.rejected.to_dict("records")
    ctx = AuditContext(export=export, as_of=pd.Timestamp(as_of) if as_of else as_of_date(export))
    check = REGISTRY[kind]
    values = {k: copy.deepcopy(p.default) for k, p in check.params.items()}
    values.update(params or {})
    out = check.fn(ctx, export.notes.index, values)
    frame = pd.DataFrame(
        {
            "note_id": export.notes["note_id"].to_numpy(),
            "status": [Status(int(s)).label for s in out.status.reindex(export.notes.index)],
        }
    )
    frame["message"] = out.message.to_numpy() if out.message is not None else None
    frame["evidence"] = out.evidence.to_numpy() if out.evidence is not None else None
    return frame.set_index("note_id")


def note(note_id: str, date: str, text: str | None = None, **extra) -> dict:
    row = {"note_id": note_id, "date_of_service": date, **extra}
    if text is not None:
        row["note_text"] = text
    return row


# --------------------------------------------------------------------------------------------
# DOC-SOAP
# --------------------------------------------------------------------------------------------


def test_soap_headers_in_note_text_pass_and_missing_sections_are_named():
    full = "S: Reports 3/10 pain.\nO: Gait training 150 ft, CGA.\nA: Fewer cues.\nP: Add step-ups."
    partial = "S: Reports 3/10 pain.\nO: Gait training 150 ft with CGA and cues."
    out = run("soap_sections", [note("D1", "2026-09-02", full), note("D2", "2026-09-03", partial)])
    assert out.loc["D1", "status"] == "pass"
    assert out.loc["D2", "status"] == "fail"
    assert "assessment" in out.loc["D2", "message"] and "plan" in out.loc["D2", "message"]
    assert "subjective" not in out.loc["D2", "message"]


def test_soap_sectioned_columns_count_without_headers():
    sections = {
        "subjective": "Walked to the mailbox twice.",
        "objective": "Step-ups 2x10 on 4 in. step.",
        "assessment": "More symmetric gait.",
        "plan": "Progress to 6 in. step.",
    }
    no_plan = {**sections, "plan": ""}
    out = run(
        "soap_sections",
        [note("D1", "2026-09-02", **sections), note("D2", "2026-09-03", **no_plan)],
    )
    assert out["status"].tolist() == ["pass", "fail"]
    assert out.loc["D2", "evidence"] == "missing: plan"


def test_soap_required_param_and_missing_text():
    notes = [
        note("D1", "2026-09-02", "Gait training 150 ft with rolling walker."),
        note("D2", "2026-09-03", ""),
    ]
    out = run("soap_sections", notes, {"required": ["objective"]})
    assert out.loc["D1", "status"] == "pass"
    assert out.loc["D2", "status"] == "not_evaluable"
    assert "no text" in out.loc["D2", "message"]
    with pytest.raises(ChecklistError, match="unknown section"):
        run("soap_sections", notes, {"required": ["objective", "history"]})


# Narrative notes as speech-language pathologists and OTs write them, without S/O/A/P labels:
# trial data is objective, a change against last session or a goal met is the assessment, a
# parent's report is subjective, "Next:" or "cont POC" is the plan.
SLP_NARRATIVES = [
    "Dad reports he practiced /f/ words nightly. /f/ initial words 14/20 (70%) w/ min visual "
    "cue, up from 50% last session. Next: /f/ in short phrases.",
    "Cup sips thin 12/12 clear w/ chin tuck; puree 8/8 no s/s. Caregiver reports no coughing "
    "at supper. -> STG 2 met. Cont POC, trial straw sips next session.",
    'Pt states "I found my words faster." 8-min conversation: 5 breakdowns, 4 self-resolved '
    "w/ SFA. Goal 1 progressing toward criterion. Plan: phone script practice.",
    "Teacher reports fewer disfluencies in class. 3 of 5 trials easy onset at sentence level "
    "w/ mod vc. Rate 150 wpm vs 180 on 10/2 last visit. Next: reading aloud.",
    "Pt reports she buttoned her coat at home. Buttons 6/6 in 2 min w/ SBA; name written 5/5 "
    "legible. Buttons goal MET. D/C next visit w/ updated home program.",
    "Pt/daughter agree with plan to d/c next visit. Regular solids 10/10 no oral residue; "
    "progressing toward independent strategy use.",
    # PT narratives without labels: a response read from a measure, an imperative plan.
    "Pt arrives reporting pain 3/10. Pallof press 12 reps before form broke down (was 8 last "
    "visit), showing improved endurance. Update HEP with rows; pt to log pain response.",
    "Pt is motivated; asks about returning to the tub. Sit to stand 2x12 w/ mod tactile cues. "
    "Pt remains at risk for falls outdoors. Progress dual-task gait next visit.",
    "Pt/wife report he used the planner daily. Planner entries 6/6 accurate (session 2 of 3). "
    "STG 1 nearly met. Continue spaced retrieval; fade cues.",
]


@pytest.mark.parametrize("text", SLP_NARRATIVES)
def test_slp_and_ot_narratives_without_labels_carry_all_four_parts(text):
    out = run("soap_sections", [note("D1", "2026-09-02", text)])
    assert out.loc["D1", "status"] == "pass", out.loc["D1", "message"]


@pytest.mark.parametrize(
    ("text", "missing"),
    [
        # Trial data and a plan, but nobody reported anything and nothing was judged.
        (
            "/k/ medial words 15/20 (75%) w/ min vc. Plan: /k/ medial phrases.",
            "missing: subjective (patient report), assessment",
        ),
        # A report and data, no plan.
        ("Mom reports he tied his shoes. Shoe tying 3/3 w/ 1 vc. Goal met.", "missing: plan"),
        # A pain rating with a word after it is not objective data; "since last visit" is not
        # an assessment.
        (
            "Pt reports 3/10 pain with stairs, no falls since last visit. Cont POC.",
            "missing: objective/interventions, assessment",
        ),
        (
            "Pt tolerated tx well. Cont POC.",
            "missing: subjective (patient report), objective/interventions, assessment",
        ),
    ],
)
def test_a_narrative_that_truly_lacks_a_part_still_fails(text, missing):
    out = run("soap_sections", [note("D1", "2026-09-02", text)])
    assert (out.loc["D1", "status"], out.loc["D1", "evidence"]) == ("fail", missing)


def test_soap_not_evaluable_without_text_columns():
    out = run("soap_sections", [note("D1", "2026-09-02")])
    assert out.loc["D1", "status"] == "not_evaluable"
    assert out.loc["D1", "message"] == "the export has no note text columns"


# --------------------------------------------------------------------------------------------
# DOC-SKILLED
# --------------------------------------------------------------------------------------------


def test_stock_phrase_without_skilled_content_fails_with_phrase_as_written():
    out = run(
        "skilled_language",
        [note("D1", "2026-09-02", "Pt Tolerated Treatment Well. Continue per POC.")],
    )
    assert out.loc["D1", "status"] == "fail"
    # evidence is the phrase exactly as written, so the report can highlight it in the note
    assert out.loc["D1", "evidence"] == "Tolerated Treatment Well"
    assert "no skilled content" in out.loc["D1", "message"]


def test_stock_phrase_with_enough_skilled_content_passes():
    text = (
        "Sit to stand 3x10 from 18 in. surface with min verbal cues for anterior weight shift; "
        "progressed from 20 in. to improve transfer independence. Tolerated treatment well."
    )
    assert run("skilled_language", [note("D1", "2026-09-02", text)]).loc["D1", "status"] == "pass"


def test_stock_phrase_with_one_kind_of_skilled_content_fails_and_names_it():
    out = run("skilled_language", [note("D1", "2026-09-02", "Walked in hallway 200 ft. Did well.")])
    assert out.loc["D1", "status"] == "fail"
    assert out.loc["D1", "evidence"] == "Walked in hallway"
    assert out.loc["D1", "message"] == (
        'Stock phrases "Walked in hallway" and "Did well" with 1 of the 2 kinds of skilled '
        "content needed "
        "(found: parameters or measurements (sets/reps/load/distance/time, ROM, scores))"
    )


def test_no_skilled_content_fails_unless_configured_off():
    notes = [note("D1", "2026-09-02", "Exercises as tolerated, pt happy with session.")]
    out = run("skilled_language", notes)
    assert out.loc["D1", "status"] == "fail"
    assert out.loc["D1", "message"].startswith("No skilled content")
    out = run("skilled_language", notes, {"fail_without_indicators": False})
    assert out.loc["D1", "status"] == "pass"


def test_no_change_in_a_measure_is_not_the_stock_phrase():
    measured = "No change in pain, 4/10 with stairs. Gait 150 ft with CGA."
    stock = "No changes. Gait 150 ft."
    out = run(
        "skilled_language",
        [note("D1", "2026-09-02", measured), note("D2", "2026-09-03", stock)],
        {"min_skilled_indicators": 3, "fail_without_indicators": False},
    )
    assert out.loc["D1", "status"] == "pass"
    assert out.loc["D2", "status"] == "fail"
    assert out.loc["D2", "evidence"].startswith("No changes")


# Acceptance: a progress note of scores, range of motion and strength grades, a change
# against the MCID and a stated skilled need was reported as having no skilled content.
RE_ASSESSMENT = (
    "S: Sleeps on R side now. O: QuickDASH 41 (63 at IE). PSFS 5.5. AROM flex 130, ER 50. "
    "Cuff strength 4-/5. A: QuickDASH improved 22 points, above the MCID. Remaining: overhead "
    "work. P: Continue 2x/week."
)


@pytest.mark.parametrize(
    "text",
    [
        RE_ASSESSMENT,
        "QuickDASH 41 (63 at IE). PSFS 5.5.",
        "AROM flex 130, ER 50.",
        "Cuff strength 4-/5 throughout.",
        "Cervical rotation R 55 deg, L 60 deg.",
        "QuickDASH improved 22 points since the evaluation.",
        "Skilled PT needed for protocol-based strengthening.",
        "Skilled PT for protocol-based strengthening phase.",
    ],
)
def test_measurements_interpretation_and_a_stated_skilled_need_are_skilled_content(text):
    out = run("skilled_language", [note("R1", "2026-11-02", text, note_type="progress")])
    assert out.loc["R1", "status"] == "pass", out.loc["R1", "message"]


@pytest.mark.parametrize(
    "text",
    [
        "Pt tolerated treatment well. Continue to benefit from skilled PT. Continue POC.",
        "Pt seen for skilled PT. Continue skilled PT per POC.",
        "DOS 1/5/2026. Pt doing well.",
        "Pt went to the ER on Monday. Doing well.",
    ],
)
def test_skilled_words_a_date_or_the_er_are_not_skilled_content(text):
    out = run("skilled_language", [note("D1", "2026-11-02", text)])
    assert out.loc["D1", "status"] == "fail"
    assert "no skilled content" in out.loc["D1", "message"].lower()


def test_custom_phrase_list_and_invalid_pattern():
    notes = [note("D1", "2026-09-02", "Pt ambulated 150 ft. Routine session.")]
    out = run("skilled_language", notes, {"stock_phrases": [r"routine session"]})
    assert out.loc["D1", "evidence"] == "Routine session"
    with pytest.raises(ChecklistError, match="stock_phrases"):
        run("skilled_language", notes, {"stock_phrases": [r"(?<!x)routine"]})


# --------------------------------------------------------------------------------------------
# DOC-CLONED
# --------------------------------------------------------------------------------------------


def test_identical_note_fails_but_first_of_the_run_passes():
    out = run(
        "cloned_within_patient",
        [
            note("D1", "2026-09-02", "Seen 9/2/2026. " + LONG_NOTE),
            note("D2", "2026-09-04", "Seen 9/4/2026. " + LONG_NOTE),
        ],
    )
    assert out.loc["D1", "status"] == "pass"
    assert out.loc["D2", "status"] == "fail"
    # The evidence quotes the copied passage (the longest sentence both notes have), so the
    # therapist page highlights it in the note; the message names the earlier note.
    assert out.loc["D2", "evidence"] == FIRST_SENTENCE
    assert "identical to the patient's note of 2026-09-02 (D1)" in out.loc["D2", "message"]


def test_near_identical_note_reports_similarity():
    edited = LONG_NOTE.replace("endurance", "stamina")
    out = run(
        "cloned_within_patient",
        [note("D1", "2026-09-02", LONG_NOTE), note("D2", "2026-09-04", edited)],
    )
    assert out.loc["D2", "status"] == "fail"
    assert out.loc["D2", "evidence"] == FIRST_SENTENCE
    assert "% the same as the patient's note of 2026-09-02 (D1" in out.loc["D2", "message"]


def test_clone_without_a_sentence_copied_whole_reports_the_similarity():
    # One word changed in every sentence: similar enough at 0.3, no passage to quote.
    edited = (
        LONG_NOTE.replace("bilateral", "both")
        .replace("without", "with no")
        .replace("endurance", "stamina")
    )
    out = run(
        "cloned_within_patient",
        [note("D1", "2026-09-02", LONG_NOTE), note("D2", "2026-09-04", edited)],
        {"threshold": 0.3},
    )
    assert out.loc["D2", "status"] == "fail"
    assert out.loc["D2", "evidence"].startswith("similarity 0.")


def test_a_long_copied_sentence_is_quoted_up_to_a_word_boundary():
    run_on = " ".join(["Pt performed ther ex and gait training with cues for posture"] * 8)
    out = run(
        "cloned_within_patient",
        [note("D1", "2026-09-02", run_on), note("D2", "2026-09-04", run_on)],
    )
    quoted = out.loc["D2", "evidence"]
    assert 200 < len(quoted) <= 240
    assert run_on.startswith(quoted) and run_on[len(quoted)] == " "


def test_other_patient_or_discipline_is_not_a_within_patient_clone():
    out = run(
        "cloned_within_patient",
        [
            note("D1", "2026-09-02", LONG_NOTE),
            note("D2", "2026-09-04", LONG_NOTE, patient_id="P2"),
            note("D3", "2026-09-05", LONG_NOTE, discipline="OT", credential="OTR/L"),
        ],
    )
    assert out["status"].tolist() == ["pass", "pass", "pass"]


def test_window_limits_near_duplicates_but_not_exact_copies():
    filler = [
        note(f"F{i}", f"2026-09-0{i + 3}", f"Different session {i}: " + "new words " * 12 + str(i))
        for i in range(4)
    ]
    edited = LONG_NOTE.replace("endurance", "stamina")
    notes = [note("D1", "2026-09-01", LONG_NOTE), *filler, note("D2", "2026-09-20", edited)]
    out = run("cloned_within_patient", notes, {"window": 3})
    assert out.loc["D2", "status"] == "pass"  # near-duplicate 5 notes back: outside the window
    notes[-1] = note("D2", "2026-09-20", LONG_NOTE)
    out = run("cloned_within_patient", notes, {"window": 3})
    assert out.loc["D2", "status"] == "fail"  # exact copy: found anywhere earlier


def test_short_notes_are_not_compared():
    out = run(
        "cloned_within_patient",
        [
            note("D1", "2026-09-02", "Gait 150 ft CGA."),
            note("D2", "2026-09-03", "Gait 150 ft CGA."),
        ],
    )
    assert out["status"].tolist() == ["not_applicable", "not_applicable"]


COPIED_A = (
    "Pt continues to present with reduced activity tolerance and decreased safety awareness "
    "during kitchen tasks which limits independence with meal preparation at home."
)
COPIED_P = "Pt will continue to benefit from skilled OT to address these deficits. Cont POC."


def soap_note(note_id, date, s, o, a=COPIED_A, p=COPIED_P, **extra):
    return note(note_id, date, subjective=s, objective=o, assessment=a, plan=p, **extra)


def test_an_assessment_and_plan_pasted_under_new_s_and_o_is_a_clone():
    notes = [
        soap_note("D1", "2026-09-02", "Reports cooking eggs.", "Meal prep 12 min w/ SBA, 2 vc."),
        soap_note("D2", "2026-09-04", "Tired today.", "Laundry folding 8 min seated; 3 rests."),
        soap_note(
            "D3",
            "2026-09-09",
            "Burned toast at home.",
            "Stove safety checklist 4/5 w/ min vc.",
            a="Safety awareness improving: caught 4 of 5 stove hazards, up from 2 last week.",
        ),
    ]
    out = run("cloned_within_patient", notes)
    assert out["status"].tolist() == ["pass", "fail", "pass"]
    assert out.loc["D2", "message"] == (
        "Assessment/plan is identical to the patient's note of 2026-09-02 (D1)"
    )
    assert out.loc["D2", "evidence"] == COPIED_A.rstrip(".")
    # Off when the checklist asks for the whole note only.
    out = run("cloned_within_patient", notes, {"copied_sections": []})
    assert out["status"].tolist() == ["pass", "pass", "pass"]


def test_a_labelled_narrative_has_its_assessment_and_plan_compared_too():
    def slp(note_id, date, s, o):
        return note(note_id, date, f"S: {s} O: {o} A: {COPIED_A} P: {COPIED_P}")

    notes = [
        slp("D1", "2026-09-02", "Mom reports 2-word phrases.", "Imitated 12/20 w/ max models."),
        slp("D2", "2026-09-09", "Parents report fewer tantrums.", "Book-sharing, 15 new words."),
        # No labels: the assessment cannot be told apart, only the whole note is compared.
        note("D3", "2026-09-16", f"Mom unavailable; played w/ farm set. {COPIED_A} {COPIED_P}"),
    ]
    out = run("cloned_within_patient", notes)
    assert out["status"].tolist() == ["pass", "fail", "pass"]
    assert out.loc["D2", "message"].startswith("Assessment/plan is identical to the patient's")


def test_a_short_repeated_plan_or_assessment_is_not_a_clone():
    notes = [
        soap_note(
            "D1", "2026-09-02", "Reports cooking eggs.", LONG_NOTE, a="Progressing.", p="Cont POC."
        ),
        soap_note(
            "D2",
            "2026-09-04",
            "Tired today.",
            "Laundry folding 8 min seated " * 4,
            a="Progressing.",
            p="Cont POC.",
        ),
    ]
    out = run("cloned_within_patient", notes, {"min_words": 5})
    assert out["status"].tolist() == ["pass", "pass"]
    with pytest.raises(ChecklistError, match="unknown section"):
        run("cloned_within_patient", notes, {"copied_sections": ["impression"]})


def test_shingle_similarity_is_exact_jaccard():
    sh = Shingles(pd.Series(["a b c d e f", "a b c d e g", "", "x y"]))
    # 5-word shingles: {abcde, bcdef} vs {abcde, bcdeg}: 1 shared of 3
    assert sh.jaccard([0], [1])[0] == pytest.approx(1 / 3)
    assert sh.jaccard([0, 2], [0, 3]).tolist() == [1.0, 0.0]
    assert sh.words.tolist() == [6, 6, 0, 2]


# --------------------------------------------------------------------------------------------
# DOC-CLONED-ACROSS
# --------------------------------------------------------------------------------------------

ASSESSMENT = (
    "Patient continues to demonstrate deficits in strength, balance and endurance which limit "
    "functional mobility and safety in the home."
)
PLAN = "Continue skilled physical therapy per plan of care to address the deficits listed above."


def across(note_id, date, patient, **extra):
    return note(note_id, date, patient_id=patient, assessment=ASSESSMENT, plan=PLAN, **extra)


def test_same_assessment_and_plan_for_two_patients_fails_both():
    out = run(
        "cloned_across_patients",
        [across("D1", "2026-09-02", "P1"), across("D2", "2026-09-03", "P2")],
    )
    assert out["status"].tolist() == ["fail", "fail"]
    assert out.loc["D1", "evidence"] == ASSESSMENT.rstrip(".")
    assert "(D2, 2026-09-03)" in out.loc["D1", "message"]
    # the other patient is never named
    assert "P2" not in out.loc["D1", "message"]


def test_across_patients_respects_therapist_window_and_patient():
    out = run(
        "cloned_across_patients",
        [
            across("D1", "2026-09-02", "P1"),
            across("D2", "2026-09-03", "P2", therapist="Sam Lee"),
            across("D3", "2026-11-20", "P3"),
            across("D4", "2026-09-05", "P1"),
        ],
    )
    assert out["status"].tolist() == ["pass"] * 4


def test_near_identical_text_across_patients_fails():
    changed = PLAN.replace("listed above", "we found")
    out = run(
        "cloned_across_patients",
        [
            across("D1", "2026-09-02", "P1"),
            note("D2", "2026-09-03", patient_id="P2", assessment=ASSESSMENT, plan=changed),
        ],
    )
    assert out.loc["D2", "status"] == "fail"
    assert out.loc["D2", "evidence"] == ASSESSMENT.rstrip(".")  # the plan was edited


# --------------------------------------------------------------------------------------------
# DOC-GOALS-MEASURABLE
# --------------------------------------------------------------------------------------------


def test_goals_table_goal_without_criterion_fails_and_target_date_is_a_time_frame():
    goals = [
        {
            "goal_id": "G1",
            "note_id": "E1",
            "text": "Patient will walk 200 ft with a cane independently",
            "target_date": "2026-10-01",
        },
        {"goal_id": "G2", "note_id": "E1", "text": "Improve safety"},
    ]
    out = run(
        "goals_measurable",
        [note("E1", "2026-09-01", "Eval.", note_type="evaluation")],
        goals=goals,
    )
    assert out.loc["E1", "status"] == "fail"
    assert out.loc["E1", "message"].startswith("1 of 2 goals not measurable/functional")
    assert '"Improve safety" (missing actor, functional activity' in out.loc["E1", "message"]
    assert out.loc["E1", "evidence"] == "Improve safety"


def test_text_goals_take_their_time_frame_from_the_section_header():
    text = (
        "ASSESSMENT: L knee OA.\n\nSHORT-TERM GOALS TO BE COMPLETED IN 3 WEEKS:\n"
        "1. The patient will walk 500 feet with a cane independently.\n"
        "2. The patient will climb 12 stairs with one rail and standby assist.\n\n"
        "PATIENT'S GOAL: To walk without pain.\nPROGNOSIS: Good."
    )
    out = run("goals_measurable", [note("E1", "2026-09-01", text, note_type="evaluation")])
    assert out.loc["E1", "status"] == "pass"


@pytest.mark.parametrize("name", ["Maria Garcia", "Garcia, Maria", "GARCIA, MARIA J"])
def test_a_goal_that_begins_with_the_patients_name_has_an_actor(name):
    text = (
        "ASSESSMENT: L knee OA.\n\nSHORT-TERM GOALS (3 WEEKS):\n"
        "1. Maria will walk 500 feet with a cane independently.\n"
        "2. Garcia will climb 12 stairs with one rail and standby assist.\n"
        "3. Marian will stand 5 minutes at the sink for grooming independently.\n"
    )
    row = note("E1", "2026-09-01", text, note_type="evaluation", patient_name=name)
    out = run("goals_measurable", [row])
    # The first two name the patient; "Marian" is someone else, and no actor.
    assert out.loc["E1", "status"] == "fail"
    assert out.loc["E1", "message"].startswith("1 of 3 goals not measurable/functional")
    assert '"Marian will stand 5 minutes' in out.loc["E1", "message"]
    assert "(missing actor)" in out.loc["E1", "message"]


@pytest.mark.parametrize(
    "plan",
    [
        "POC 2x/week x 8 weeks. LTG: pt will walk 1000 ft in the community without device "
        "within 8 weeks. STG: pt will climb 12 stairs with one rail, mod I, within 4 weeks.",
        "POC 2x/week x 8 weeks. Goals: Pt will walk 1000 ft in the community without device "
        "within 8 weeks; pt will climb 12 stairs with one rail, mod I, within 4 weeks.",
    ],
    ids=["ltg-stg-inline", "goals-with-semicolons"],
)
def test_goals_written_inline_are_found_and_judged(plan):
    out = run("goals_measurable", [note("E1", "2026-09-01", plan, note_type="evaluation")])
    assert out.loc["E1", "status"] == "pass", out.loc["E1", "message"]
    vague = plan.replace("climb 12 stairs with one rail, mod I,", "improve stairs")
    out = run("goals_measurable", [note("E1", "2026-09-01", vague, note_type="evaluation")])
    assert out.loc["E1", "message"].startswith("1 of 2 goals not measurable/functional")


def test_goals_written_as_sentences_without_a_header_are_found_and_judged():
    text = (
        "S: Pt reports L knee pain 6/10 after TKA. O: gait with RW 150 ft CGA. A: Pt presents "
        "with decreased ROM limiting community ambulation. Pt will ambulate 300 ft with SPC and "
        "modified independence within 4 weeks. Pt will ascend 12 steps with one rail "
        "independently by 6 weeks. P: 2x/week x 6 weeks."
    )
    out = run("goals_measurable", [note("E1", "2026-09-01", text, note_type="evaluation")])
    assert out.loc["E1", "status"] == "pass", out.loc["E1", "message"]
    vague = text.replace("ascend 12 steps with one rail independently", "do better on stairs")
    out = run("goals_measurable", [note("E1", "2026-09-01", vague, note_type="evaluation")])
    assert out.loc["E1", "message"] == (
        '1 of 2 goals not measurable/functional: "Pt will do better on stairs by 6 weeks." '
        "(missing measurable criterion)"
    )


@pytest.mark.parametrize(
    "plan",
    [
        "A: Pt will benefit from skilled PT 2x/week x 6 weeks to address deficits.",
        "P: Pt will be seen 2x/wk for 6 wks. Pt will continue HEP x 4 weeks.",
        "P: PT will address strength and gait deficits 2x/week for 6 weeks.",
        "A: Patient's goal is to return to golf in 2 months.",
        "P: He will followup in two weeks. She will remain on Coumadin for 30 days.",
    ],
)
def test_plan_and_prognosis_sentences_are_not_goals(plan):
    out = run("goals_measurable", [note("E1", "2026-09-01", plan, note_type="evaluation")])
    assert out.loc["E1", "message"].startswith("No goals documented")


def test_plan_lines_under_a_goal_header_are_not_goals():
    """Acceptance: a PTA's progress note exported as sections without headers; the plan line
    that follows "Goals updated:" was quoted back as two unmeasurable goals."""
    text = (
        "Pt reports walking 3 blocks with SPC, hip pain 4/10.\n"
        "6MWT 305 m with SPC. 30s STS 10 reps. Hip abd 4-/5.\n"
        "Pt progressing well. Goals updated: pt will walk 5 blocks. Pt is a good candidate to "
        "d/c to HEP in 2 weeks.\n"
        "Continue POC; will discharge in 2 weeks."
    )
    found = goal_statements(pd.Series([text]))["goal"].tolist()
    assert found == ["pt will walk 5 blocks. Pt is a good candidate to d/c to HEP in 2 weeks."]
    listed = (
        "Goals:\n1. Pt will walk better.\n2. Continue POC.\n3. Pt will be seen 2x/week for 4 "
        "weeks.\n4. Will discharge to HEP in 2 weeks.\n5. Pt is progressing toward goals.\n"
        # a discharge goal is still a goal
        "6. Pt will be discharged home at supervision level for ADLs within 3 weeks."
    )
    out = run("goals_measurable", [note("E1", "2026-09-01", listed, note_type="evaluation")])
    assert out.loc["E1", "message"] == (
        '1 of 2 goals not measurable/functional: "Pt will walk better." '
        "(missing measurable criterion, time frame)"
    )


def test_goal_statements_sections():
    text = pd.Series(
        [
            "FUNCTIONAL OUTCOMES OF TREATMENT\nTime Frame: 4 weeks\n"
            "1. The patient will be independent with home exercise program, not met.\n"
            "2. The patient will walk 300 ft, continuing.\n\nPLAN: Continue.",
            "Goals: STG 1. Pt will stand 5 min at the sink. 2. Pt will dress with min assist.",
            "PATIENT GOALS: return to golf.\nOBJECTIVE: walks 100 ft.",
        ]
    )
    found = goal_statements(text)
    assert found.groupby("row").size().to_dict() == {0: 2, 1: 2}
    assert (
        found.loc[0, "goal"]
        == "The patient will be independent with home exercise program, not met."
    )
    assert found["section_time_frame"].tolist() == [True, True, False, False]


def test_evaluation_without_goals_fails_other_notes_are_not_applicable():
    out = run(
        "goals_measurable",
        [
            note("E1", "2026-09-01", "Evaluation of L knee.", note_type="evaluation"),
            note("R1", "2026-09-20", "Progress report.", note_type="progress"),
            note("D1", "2026-09-03", "Gait training."),
        ],
    )
    assert out["status"].tolist() == ["fail", "not_applicable", "not_applicable"]
    assert out.loc["E1", "message"].startswith("No goals documented")


def test_goals_not_evaluable_without_goals_table_or_text():
    out = run("goals_measurable", [note("E1", "2026-09-01", note_type="evaluation")])
    assert out.loc["E1", "status"] == "not_evaluable"


def test_condition_can_be_required():
    goals = [{"goal_id": "G1", "note_id": "E1", "text": "Patient will walk 200 ft in 2 weeks"}]
    notes = [note("E1", "2026-09-01", "Eval.", note_type="evaluation")]
    assert run("goals_measurable", notes, goals=goals).loc["E1", "status"] == "pass"
    strict = {"require": ["actor", "activity", "condition", "measure", "time_frame"]}
    goals[0]["text"] = "Patient will walk 200 ft by 10/01/2026"
    out = run("goals_measurable", notes, strict, goals=goals)
    assert out.loc["E1", "status"] == "fail"
    assert "missing condition" in out.loc["E1", "message"]


def test_goal_parts_vectorised():
    parts = goal_parts(pd.Series(["Decrease pain", "Patient will walk 100 ft with SBA in 2 weeks"]))
    assert parts.iloc[0].sum() == 0
    assert parts.iloc[1].all()


def test_functional_outcome_score_goal_counts_as_functional_but_pain_does_not():
    parts = goal_parts(
        pd.Series(
            [
                "Patient will improve LEFS to 40 or better within 4 weeks",
                "Patient will decrease pain to 2/10 within 4 weeks",
            ]
        )
    )
    assert parts.loc[0, ["actor", "activity", "measure", "time_frame"]].all()
    assert not parts.loc[1, "activity"]


# Well-written OT and SLP goals (acceptance: an OT's and an SLP's evaluations were reported as
# not measurable or not functional), and the vocabulary such goals are written in.
WELL_WRITTEN_OT_SLP_GOALS = [
    "Pt will don pullover shirt with set-up only within 4 weeks.",
    "Pt will improve R Box and Blocks to >=30 to allow self-feeding with R hand within 8 weeks.",
    "Pt will cut food with R hand using adapted knife independently within 4 weeks.",
    "Pt will open a jar with R hand with pain <=2/10 within 12 weeks.",
    "Pt will improve FOIS from 4 to 6 within 8 weeks.",
    "Pt will make a 3-minute phone call to schedule an appointment independently within 10 weeks.",
    "Pt will complete the 9-hole peg test in < 30 seconds with the R hand within 6 weeks.",
    "Pt will improve COPM performance score from 3 to 6 within 8 weeks.",
    "Pt will manage her medications using a pill organizer with 100% accuracy within 4 weeks.",
    "Pt will count change for a $5 purchase with 90% accuracy within 6 weeks.",
    "Pt will pay bills using a checkbook with setup only within 6 weeks.",
    "Pt will improve FCM for spoken language expression to level 5 within 8 weeks.",
    "Pt will maintain vocal loudness =>70 dB in conversation within 8 weeks.",
    "Pt will demonstrate 90% speech intelligibility in sentences within 8 weeks.",
    "Pt will brush teeth standing at the sink with SBA within 3 weeks.",
    "Pt will complete laundry tasks with modified independence within 6 weeks.",
    "Pt will tolerate thin liquids without s/s of aspiration across 3 meals within 4 weeks.",
    "Pt will sustain attention to a 15-minute task with no more than 2 cues within 4 weeks.",
]


@pytest.mark.parametrize("goal", WELL_WRITTEN_OT_SLP_GOALS)
def test_well_written_ot_and_slp_goals_are_measurable_and_functional(goal):
    goals = [{"goal_id": "G1", "note_id": "E1", "text": goal}]
    notes = [note("E1", "2026-10-01", "Eval.", note_type="evaluation", discipline="OT")]
    out = run("goals_measurable", notes, goals=goals)
    assert out.loc["E1", "status"] == "pass", out.loc["E1", "message"]


@pytest.mark.parametrize(
    "goal, missing",
    [
        ("Pt will increase R grip strength to 40 lbs within 6 weeks.", "functional activity"),
        ("Pt will increase lateral pinch to 12 lb within 6 weeks.", "functional activity"),
        ("Pt will decrease NPRS to 2/10 within 6 weeks.", "functional activity"),
        ("Pt will increase shoulder flexion to 150 degrees within 4 weeks.", "functional activity"),
        ("Pt will decrease pain to 2/10 without medication within 4 weeks.", "functional activity"),
        ("Pt will improve swallowing within 4 weeks.", "measurable criterion"),
        # the number in a test's name is not a target, nor is a date
        ("Pt will complete the 6-minute walk test within 4 weeks.", "measurable criterion"),
        ("Pt will walk better by 10/01/2026.", "measurable criterion"),
    ],
)
def test_impairment_and_vague_goals_still_fail(goal, missing):
    goals = [{"goal_id": "G1", "note_id": "E1", "text": goal}]
    notes = [note("E1", "2026-10-01", "Eval.", note_type="evaluation")]
    out = run("goals_measurable", notes, goals=goals)
    assert out.loc["E1", "message"] == (
        f'1 of 1 goals not measurable/functional: "{goal}" (missing {missing})'
    )


# Acceptance: goals written in the units therapists abbreviate ("65 deg", "150 DEG") were
# called not measurable, and goals whose activity follows "to" or is walking through doorways
# were called not functional. These pass; the impairment-only and vague ones below still fail.
GOALS_AS_THERAPISTS_WRITE_THEM = [
    "Pt will rotate cervical spine R to 65 deg or more within 3 weeks to check blind spot while "
    "driving.",
    "Pt will reach R shoulder AROM flexion of 150 deg or more by 11/30/2026 to work overhead.",
    "Pt will reach L shoulder flexion of 150 DEG or more by 12/15/2026 to reach the overhead "
    "cabinet.",
    "Pt will demonstrate L knee flexion AROM of 105 degs. within 4 weeks to sit in a car seat.",
    "Pt will raise R arm to 120° within 4 weeks to comb her hair.",
    "Pt will improve R grip strength to 50 lb or more by 11/30/2026 to hold dental instruments "
    "through a shift.",
    "Pt will use external cueing strategy to pass through doorways without freezing in 4/5 "
    "trials by 11/08/2026.",
    "Pt will complete TUG in 13.5 s or less by 11/15/2026 to walk to church with SPC safely.",
    "Pt will improve gait speed to 0.80 m/s or faster by 11/15/2026 for community ambulation.",
    "Pt will reach forward 10 in without loss of balance within 4 weeks to get items from the "
    "counter.",
    "Pt will ambulate 150' with SPC on uneven terrain within 4 weeks.",
    "Pt will lift a 20# box floor to waist 5 times within 6 weeks to return to stocking duties.",
    "Pt will walk 3 blocks at 2.5 mph within 6 weeks.",
    "Pt will swallow 3 oz of thin liquid by cup without s/s of aspiration within 4 weeks.",
    # maintenance goals run to a date or a point of the episode
    "Pt will maintain gait speed of 0.78 m/s or faster through 01/25/2027 for household and "
    "short community distances.",
    "Pt will walk 300 ft with SPC to the mailbox without a fall until discharge.",
]


@pytest.mark.parametrize("goal", GOALS_AS_THERAPISTS_WRITE_THEM)
def test_goals_in_therapists_units_and_words_are_measurable_and_functional(goal):
    goals = [{"goal_id": "G1", "note_id": "E1", "text": goal}]
    notes = [note("E1", "2026-10-01", "Eval.", note_type="evaluation")]
    out = run("goals_measurable", notes, goals=goals)
    assert out.loc["E1", "status"] == "pass", out.loc["E1", "message"]


@pytest.mark.parametrize(
    "goal, missing",
    [
        # "reach" a range of motion is not the activity of reaching
        (
            "Pt will reach L shoulder flexion of 150 deg or more by 12/15/2026.",
            "functional activity",
        ),
        ("Pt will reach 150 deg of shoulder flexion in 6 weeks.", "functional activity"),
        ("Pt will increase cervical rotation to 65 deg within 3 weeks.", "functional activity"),
        ("Pt will increase strength to 4/5 within 4 weeks.", "functional activity"),
        ("Pt will improve R grip strength to 50 lb by 11/30/2026.", "functional activity"),
        # "in" before a time span is not inches
        ("Pt will improve balance 2 in 3 weeks.", "measurable criterion"),
        ("Pt will pass through doorways without freezing within 4 weeks.", "measurable criterion"),
    ],
)
def test_impairment_goals_in_degrees_and_unmeasured_goals_still_fail(goal, missing):
    goals = [{"goal_id": "G1", "note_id": "E1", "text": goal}]
    notes = [note("E1", "2026-10-01", "Eval.", note_type="evaluation")]
    out = run("goals_measurable", notes, goals=goals)
    assert out.loc["E1", "message"] == (
        f'1 of 1 goals not measurable/functional: "{goal}" (missing {missing})'
    )


# Acceptance (OT/SLP trainer): SLP narratives put the goal header inside the line, after the
# prognosis; their evaluations were reported as having no goals at all.
SLP_OPENING = (
    "Clinical swallow evaluation. Dx oropharyngeal dysphagia after L pontine stroke 09/02/2026. "
    "PLOF: regular diet. FOIS 2. Prognosis good for oral diet within 10 wks. "
)


@pytest.mark.parametrize(
    "header",
    [
        "STG (3 wks):",
        "Goals (10 weeks):",
        "Short-term goals (3 weeks):",
        "SHORT TERM GOALS (3 WEEKS):",
        "Initial STG (3 wks):",
    ],
)
def test_a_goal_header_inside_a_narrative_line_is_a_goal_section_with_its_time_frame(header):
    goals = (
        " 1. Pt will take puree by spoon with no overt s/s of aspiration on 9 of 10 trials."
        " 2. Pt will use a chin tuck on 80% of cup sips given min verbal cues."
    )
    row = note("E1", "2026-09-20", SLP_OPENING + header + goals, note_type="evaluation")
    out = run("goals_measurable", [row])
    assert out.loc["E1", "status"] == "pass", out.loc["E1", "message"]
    vague = goals.replace("use a chin tuck on 80% of cup sips given min verbal cues", "improve")
    out = run("goals_measurable", [{**row, "note_text": SLP_OPENING + header + vague}])
    assert out.loc["E1", "message"] == (
        '1 of 2 goals not measurable/functional: "Pt will improve." '
        "(missing functional activity, measurable criterion)"
    )


def test_a_score_in_brackets_does_not_start_a_new_goal():
    text = SLP_OPENING + (
        "LTG (10 wks): Pt will eat a soft and bite-sized diet (IDDSI 6) w/o s/s of aspiration."
    )
    out = run("goals_measurable", [note("E1", "2026-09-20", text, note_type="evaluation")])
    assert out.loc["E1", "status"] == "pass", out.loc["E1", "message"]


def test_numbered_goals_split_at_their_numbers_but_not_at_a_bracketed_score():
    text = pd.Series(
        [
            "Goals (4 wks): 1. ambulate 300 ft w/ SPC 2. ascend 12 steps w/ rail",
            "STG: 1) Pt will walk 100 ft 2) Pt will stand 5 min. 3) sit 10 min",
            "LTG (8 wks): Pt will drink thin liquids (FOIS 5) w/o s/s of aspiration.",
            "New goals: Child will zip his coat independently 4/4. Continue OT 1x/wk x 3 months.",
        ]
    )
    assert goal_statements(text)["goal"].tolist() == [
        "ambulate 300 ft w/ SPC",
        "ascend 12 steps w/ rail",
        "Pt will walk 100 ft",
        "Pt will stand 5 min.",
        "sit 10 min",
        "Pt will drink thin liquids (FOIS 5) w/o s/s of aspiration.",
        # the plan's duration after it is not the goal's time frame
        "Child will zip his coat independently 4/4.",
    ]


def test_pediatric_goals_for_the_child_and_the_parent_are_judged_as_goals():
    text = (
        "Initial speech-language evaluation. 4;8 y/o M, parents concerned about unclear speech. "
        "Prognosis good. Goals (6 months): 1. Child will produce /f/ in final position of words "
        "with 80% accuracy across 3 sessions. 2. Father will model target words during book "
        "reading at home 4 of 5 days per week. 3. Child will talk better."
    )
    out = run("goals_measurable", [note("E1", "2026-09-20", text, note_type="evaluation")])
    assert out.loc["E1", "message"] == (
        '1 of 3 goals not measurable/functional: "Child will talk better." '
        "(missing measurable criterion)"
    )


def test_unnumbered_goals_after_one_header_are_separate_goals():
    text = (
        "A: R thumb CMC OA limiting hand use.\nP: OT 1x/wk x 6 wks. LTG (6 wks): Pt will open a "
        "pill bottle independently using a built-up grip. Pt will garden for 45 min with "
        "joint protection. Pt will hold a coffee mug."
    )
    out = run("goals_measurable", [note("E1", "2026-09-20", text, note_type="evaluation")])
    assert out.loc["E1", "message"] == (
        '1 of 3 goals not measurable/functional: "Pt will hold a coffee mug." '
        "(missing measurable criterion)"
    )


def test_goal_status_lines_of_a_progress_report_are_not_goals_but_its_new_goals_are():
    """Acceptance: 'STG 1 UB dressing mod I - MET (...)' was graded as a goal missing its actor
    and time frame, and the report's new goals were ignored."""
    status = (
        "Goal status: STG 1 LB dressing w/ reacher SBA - MET. STG 2 tub bench transfer - MET "
        "(CGA). LTG 1 meal prep standing 15 min - progressing (10 min)."
    )
    new = (
        "Cont OT 2x/wk. Updated STG (3 wks): Pt will prepare a hot meal standing 15 min w/ SBA; "
        "Pt will shower on a tub bench w/ set-up only in 3 wks."
    )
    row = note(
        "R1", "2026-10-20", discipline="OT", note_type="progress", assessment=status, plan=new
    )
    out = run("goals_measurable", [row])
    assert out.loc["R1", "status"] == "pass", out.loc["R1", "message"]
    worse = new.replace("prepare a hot meal standing 15 min w/ SBA", "be safer in the kitchen")
    out = run("goals_measurable", [{**row, "plan": worse}])
    assert out.loc["R1", "message"] == (
        '1 of 2 goals not measurable/functional: "Pt will be safer in the kitchen" '
        "(missing measurable criterion)"
    )


def test_goal_sentences_without_a_time_frame_are_never_no_goals():
    text = (
        "Eval: mild cognitive-communication deficit. Pt will recall a 3-step medication routine "
        "using a pill organizer with 90% accuracy. Pt will use a wall calendar for appointments "
        "with min cues."
    )
    out = run("goals_measurable", [note("E1", "2026-09-20", text, note_type="evaluation")])
    assert out.loc["E1", "message"].startswith("2 of 2 goals not measurable/functional")
    assert out.loc["E1", "message"].count("(missing time frame)") == 2
    # a daily note's "will" sentence is not taken as a goal
    daily = note("D1", "2026-09-22", "Pt will try the built-up spoon at dinner.")
    assert run("goals_measurable", [daily]).loc["D1", "status"] == "not_applicable"


# acc7: score goals on SLP and cognitive instruments failed "missing functional activity"
# while the same form on Berg or LEFS passed.
@pytest.mark.parametrize(
    "goal",
    [
        "Pt will improve WAB-R AQ to 75 or more within 4 weeks.",
        "Pt will improve SLUMS to 24/30 or better within 6 weeks.",
        "Pt will improve MoCA to 26/30 within 6 weeks.",
        "Child will raise the GFTA-3 standard score to 85 or above within 6 months.",
        "Child will improve Beery VMI standard score to 90 within 6 months.",
        "Pt will improve Berg to 48/56 within 4 weeks.",
    ],
)
def test_a_target_on_any_known_standardized_instrument_is_functional(goal):
    goals = [{"goal_id": "G1", "note_id": "E1", "text": goal}]
    notes = [note("E1", "2026-10-01", "Eval.", note_type="evaluation", discipline="SLP")]
    out = run("goals_measurable", notes, goals=goals)
    assert out.loc["E1", "status"] == "pass", out.loc["E1", "message"]


# --------------------------------------------------------------------------------------------
# DOC-DISCHARGE
# --------------------------------------------------------------------------------------------

DC_TEXT = (
    "LTG 1 met: walks 500 ft outdoors independently. Discharged because goals are met. "
    "Independent with HEP; follow up with his physician in 4 weeks."
)


def test_complete_discharge_passes_and_missing_parts_are_named():
    out = run(
        "discharge_content",
        [
            note("E1", "2026-09-01", "Eval.", note_type="evaluation"),
            note("X1", "2026-10-20", DC_TEXT, note_type="discharge"),
            note(
                "X2",
                "2026-10-21",
                "Patient discharged. Goals met.",
                note_type="discharge",
                patient_id="P2",
            ),
        ],
    )
    assert out["status"].tolist() == ["not_applicable", "pass", "fail"]
    assert out.loc["X2", "message"] == (
        "Discharge summary does not state: discharge plan (HEP, referrals, follow-up)"
    )


def test_goal_status_from_goals_table():
    notes = [
        note(
            "X1",
            "2026-10-20",
            "Discharged due to move out of state. HEP issued.",
            note_type="discharge",
        )
    ]
    goals = [{"goal_id": "G1", "note_id": "X1", "text": "Walk 500 ft", "status": "met"}]
    assert run("discharge_content", notes, goals=goals).loc["X1", "status"] == "pass"
    assert run("discharge_content", notes).loc["X1", "status"] == "fail"


def test_inactive_episode_without_discharge_fails_on_its_last_note():
    notes = [
        note("E1", "2026-06-01", "Eval.", note_type="evaluation"),
        note("D1", "2026-06-03", "Treatment."),
        note("E2", "2026-09-01", "Eval.", note_type="evaluation", patient_id="P2"),
    ]
    out = run("discharge_content", notes)
    assert out["status"].tolist() == ["not_applicable", "fail", "not_applicable"]
    assert out.loc["D1", "message"] == (
        "Episode has had no visit since 2026-06-03 (90 days before 2026-09-01) and no discharge "
        "summary"
    )
    assert out.loc["D1", "evidence"] == "last visit 2026-06-03"
    off = run("discharge_content", notes, {"inactive_days": 0})
    assert (off["status"] == "not_applicable").all()
    later = run("discharge_content", notes, {"inactive_days": 120})
    assert (later["status"] == "not_applicable").all()


# --------------------------------------------------------------------------------------------
# DOC-EVAL-CONTENT
# --------------------------------------------------------------------------------------------


def test_evaluation_content():
    good = (
        "Onset 3 months ago; previously walked 2 miles daily. Prognosis good to walk community "
        "distances within 8 weeks."
    )
    out = run(
        "evaluation_content",
        [
            note("E1", "2026-09-01", good, note_type="evaluation", diagnosis_codes="M17.12"),
            note("E2", "2026-09-02", "Strength 4-/5.", note_type="evaluation", patient_id="P2"),
            note(
                "E3",
                "2026-09-03",
                "Dx: L knee OA. Onset 1 week ago. Prognosis good.",
                note_type="evaluation",
                patient_id="P3",
            ),
        ],
    )
    assert out["status"].tolist() == ["pass", "fail", "fail"]
    assert out.loc["E3", "message"] == "Evaluation does not state: prognosis with a time frame"


SWALLOW_STUDY = (
    "Referred for an outpatient videofluoroscopic swallow study to rule out aspiration. "
    "Thin liquid by cup sip: laryngeal penetration, Penetration-Aspiration Scale 3; nectar-thick "
    "and puree: no penetration. Recommend mechanical soft diet with nectar-thick liquids, chin "
    "tuck with every swallow, upright 90 degrees for all intake."
)
CLINICAL_SWALLOW_EVALUATION = (
    "Clinical swallow evaluation at bedside. Oral motor exam: reduced labial seal. Trials of "
    "thin liquid with delayed cough. Recommend instrumental study. Plan: dysphagia treatment "
    "3x/week for 4 weeks."
)


@pytest.mark.parametrize("kind", ["goals_measurable", "evaluation_content", "poc_elements"])
def test_instrumental_swallow_study_billed_as_such_is_not_judged_as_an_evaluation(kind):
    notes = [
        note("V1", "2026-03-02", SWALLOW_STUDY, note_type="evaluation", discipline="SLP"),
        note(
            "C1",
            "2026-03-02",
            CLINICAL_SWALLOW_EVALUATION,
            note_type="evaluation",
            discipline="SLP",
            patient_id="P2",
        ),
    ]
    services = [
        {"note_id": "V1", "cpt_code": "92611", "units": 1},
        {"note_id": "C1", "cpt_code": "92610", "units": 1},
    ]
    out = run(kind, notes, services=services)
    assert out.loc["V1", "status"] == "not_applicable"
    # a clinical (bedside) swallow evaluation starts a plan of care and is judged as one
    assert out.loc["C1", "status"] == "fail"


def test_instrumental_study_recognised_from_text_only_when_it_was_performed():
    done = "Modified barium swallow study was performed in radiology. " + SWALLOW_STUDY
    planned = "A modified barium swallow study was recommended. " + CLINICAL_SWALLOW_EVALUATION
    notes = [
        note("D1", "2026-03-02", done, note_type="evaluation", discipline="SLP"),
        note(
            "R1", "2026-03-02", planned, note_type="evaluation", discipline="SLP", patient_id="P2"
        ),
    ]
    out = run("goals_measurable", notes)
    assert out.loc["D1", "status"] == "not_applicable"
    assert out.loc["R1", "status"] == "fail"
    assert out.loc["R1", "message"].startswith("No goals documented")


def test_a_billed_bedside_evaluation_citing_an_earlier_study_is_still_an_evaluation():
    """Its codes decide: 92610 with "A modified barium swallow study was completed ... at St.
    Mary's" in the history is a clinical swallow evaluation that must set goals."""
    cited = (
        "A modified barium swallow study was completed on 08/28/2026 at St. Mary's and showed "
        "silent aspiration with thin liquids. " + CLINICAL_SWALLOW_EVALUATION
    )
    notes = [note("B1", "2026-09-02", cited, note_type="evaluation", discipline="SLP")]
    out = run(
        "goals_measurable", notes, services=[{"note_id": "B1", "cpt_code": "92610", "units": 1}]
    )
    assert out.loc["B1", "status"] == "fail"
    assert out.loc["B1", "message"].startswith("No goals documented")


@pytest.mark.parametrize(
    "opening, study",
    [
        ("A videofluoroscopic swallow study (VFSS) was completed in radiology.", True),
        ("Flexible endoscopic evaluation of swallowing (FEES) was performed at bedside.", True),
        ("FEES was completed today with the ENT.", True),
        ("A modified barium swallow study was completed on 08/28/2026 at St. Mary's.", False),
        ("An MBS was done 3 weeks ago at the hospital.", False),
        ("A modified barium swallow study was completed 2 weeks ago.", False),
    ],
)
def test_an_unbilled_study_report_is_known_by_its_wording(opening, study):
    notes = [
        note(
            "U1",
            "2026-09-02",
            opening + " " + SWALLOW_STUDY,
            note_type="evaluation",
            discipline="SLP",
        )
    ]
    out = run("goals_measurable", notes)
    assert (out.loc["U1", "status"] == "not_applicable") is study, out.loc["U1", "message"]


@pytest.mark.parametrize(
    "text, missing",
    [
        # Acceptance: onset as the complaint's duration, current function as a tolerance.
        (
            "S: Low back pain x 3 months, worse with bending. Pain 6/10 with standing > 10 min. "
            "A: Lumbar radiculopathy. Prognosis good to meet goals in 6 weeks.",
            None,
        ),
        # A condition named without ICD codes is the diagnosis.
        (
            "S: R knee OA; symptoms for 2 years. Walking limited to 2 blocks. "
            "A: Prognosis fair within 8 weeks.",
            None,
        ),
        # The plan's 'x 8 weeks' is not an onset, nor is there any function described.
        (
            "A: R knee OA. POC 2x/week x 8 weeks. Prognosis good in 8 weeks.",
            "prior level of function",
        ),
    ],
)
def test_evaluation_content_reads_onset_function_and_condition_as_written(text, missing):
    out = run("evaluation_content", [note("E1", "2026-09-01", text, note_type="evaluation")])
    if missing is None:
        assert out.loc["E1", "status"] == "pass", out.loc["E1", "message"]
    else:
        assert missing in out.loc["E1", "message"]


# Acceptance: a post-op shoulder evaluation that states onset and current function, but not the
# prior level of function, was reported as stating none of the three.
RTC_EVALUATION = (
    "66 y/o female 6 weeks s/p R arthroscopic rotator cuff repair (09/18/2026 per op note, Dr. "
    "Ruth Levin). Sling discontinued yesterday per surgeon. Pain 4/10, 7/10 reaching overhead. "
    "Unable to reach kitchen cabinets, fasten bra, or lift grandson.\n"
    "R shoulder PROM flex 120°, abd 95°, ER 35°, IR to L5. AROM flex 85° with shoulder hike. "
    "Strength deferred per protocol. QuickDASH 61.4.\n"
    "Post-op R RTC repair with expected ROM and strength deficits limiting self-care and "
    "household tasks. Good rehab potential following surgical protocol.\n"
    "PT 2x/week x 10 weeks per Levin RTC protocol: PROM/AAROM, manual therapy, scapular "
    "stabilization, progressive strengthening at 8 weeks."
)


def test_evaluation_content_names_only_the_description_of_function_that_is_missing():
    row = note(
        "E1", "2026-10-01", RTC_EVALUATION, note_type="evaluation", diagnosis_codes="M75.121"
    )
    assert run("evaluation_content", [row]).loc["E1", "status"] == "pass"
    each = {"require": ["diagnosis", "prior_function", "onset", "current_function", "prognosis"]}
    out = run("evaluation_content", [row], each)
    assert out.loc["E1", "message"] == "Evaluation does not state: prior level of function"
    assert out.loc["E1", "evidence"] == "missing: prior level of function"
    plof = RTC_EVALUATION.replace("Sling", "PLOF: independent with all ADLs and driving. Sling")
    assert run("evaluation_content", [{**row, "note_text": plof}], each).loc["E1", "status"] == (
        "pass"
    )
    # required with the function part, prior function is not named twice
    both = {"require": ["diagnosis", "prior_function", "function", "prognosis"]}
    bare = {**row, "note_text": "R shoulder PROM flex 120. Good rehab potential in 10 weeks."}
    assert run("evaluation_content", [bare], both).loc["E1", "message"] == (
        "Evaluation does not state: prior level of function, onset or current function"
    )


@pytest.mark.parametrize(
    "part, stated, not_stated",
    [
        ("onset", "6 weeks s/p R rotator cuff repair.", "s/p R rotator cuff repair."),
        ("onset", "Status post R TKA (09/18/2026).", "Status post R TKA."),
        ("onset", "Post-op day 3 R THA.", "Post-op R THA."),
        ("current_function", "Unable to reach kitchen cabinets.", "Unable to assess AROM."),
        ("current_function", "Difficulty with prolonged standing at work.", "Mild edema."),
        ("current_function", "Deficits limiting self-care.", "Deficits in ROM."),
        # Acceptance: a dated diagnosis event is an onset, a functional scale level is current
        # function (an SLP evaluation was said to state neither).
        ("onset", "L MCA ischemic stroke 07/30/2026.", "L MCA ischemic stroke."),
        ("onset", "Parkinson's disease x 8 years (H&Y 3).", "Parkinson's disease (H&Y 3)."),
        ("current_function", "FOIS 3 (tube dependent).", "MASA 142/200."),
        ("current_function", "Berg 40/56, TUG 14.8 s.", "Strength 4-/5, MoCA 22/30."),
        ("current_function", "Taking purees and honey-thick liquids only.", "Eats out often."),
        ("prognosis", "Good potential, SLP 2x/week x 13 weeks.", "SLP 2x/week x 13 weeks."),
    ],
)
def test_evaluation_content_recognises_onset_and_current_function_as_written(
    part, stated, not_stated
):
    params = {"require": [part]}
    for text, status in ((stated, "pass"), (not_stated, "fail")):
        out = run(
            "evaluation_content", [note("E1", "2026-10-01", text, note_type="evaluation")], params
        )
        assert out.loc["E1", "status"] == status, text


# Acceptance (m-1): an adult evaluation with neither prior level of function nor onset passed
# on current function alone, while the fix asked for onset and prior level of function.
ADULT_WITHOUT_HISTORY = (
    "Referred for L elbow stiffness. Difficulty with dressing and washing hair. Prognosis good "
    "to return to independent self-care within 6 weeks."
)


@pytest.mark.parametrize(
    "history, status",
    [
        ("", "fail"),
        ("Onset 5 weeks ago after a fall. ", "pass"),
        ("PLOF: independent with all ADLs, drove, cared for her grandson. ", "pass"),
    ],
)
def test_an_adult_evaluation_states_prior_level_of_function_or_onset(history, status):
    row = note(
        "E1",
        "2026-10-01",
        history + ADULT_WITHOUT_HISTORY,
        note_type="evaluation",
        diagnosis_codes="M24.622",
        discipline="OT",
    )
    out = run("evaluation_content", [row])
    assert out.loc["E1", "status"] == status
    if status == "fail":
        assert out.loc["E1", "message"] == (
            "Evaluation does not state: prior level of function or onset"
        )
        # the lenient setting takes current function alone
        lenient = {"require": ["diagnosis", "function", "prognosis"]}
        assert run("evaluation_content", [row], lenient).loc["E1", "status"] == "pass"


@pytest.mark.parametrize(
    "text",
    [
        # current function stands in for a prior level a child never had
        "3;9 y/o F referred for late talking. Speaks mostly in 2-3 word phrases; intelligibility "
        "about 50% to strangers. Prognosis good within 6 months.",
        "Child referred by her kindergarten teacher. Currently dresses w/ help for zippers. "
        "Prognosis good in 6 months.",
        # the developmental history is the child's onset
        "6 y/o M. Born at 33 wks; walked at 17 mo. Prognosis good within 6 months.",
    ],
)
def test_a_childs_evaluation_needs_no_prior_level_of_function(text):
    row = note("E1", "2026-10-01", text, note_type="evaluation", diagnosis_codes="F80.0")
    out = run("evaluation_content", [row])
    assert out.loc["E1", "status"] == "pass", out.loc["E1", "message"]


def test_a_childs_evaluation_without_any_history_names_what_a_child_can_give():
    text = "5 y/o M. Articulation screen: errors on /r/ and /l/. Prognosis good in 6 months."
    row = note("E1", "2026-10-01", text, note_type="evaluation", diagnosis_codes="F80.0")
    assert run("evaluation_content", [row]).loc["E1", "message"] == (
        "Evaluation does not state: onset, developmental history or current function"
    )


def test_every_stock_phrase_of_a_failing_note_is_quoted():
    text = (
        "Pt doing well. Pt did exercises per flowsheet, tolerated treatment well. Continue per POC."
    )
    out = run("skilled_language", [note("D1", "2026-09-02", text)])
    assert out.loc["D1", "message"].startswith(
        'Stock phrases "doing well", "Pt did exercises", "tolerated treatment well" and '
        '"Continue per POC", with no skilled content'
    )
    assert out.loc["D1", "evidence"] == "doing well"  # the first, highlighted in the excerpt


def test_the_acceptance_false_findings_are_gone_from_a_real_run(tmp_path):
    """Through `chartaudit run` on a cp1252 CSV export: goals in "deg" and goals whose activity
    follows "to", an SLP evaluation with a dated stroke and its FOIS level, and a progress note
    of scores and a stated skilled need raise no finding; the impairment-only goal and the
    stock-phrase note still do."""
    from typer.testing import CliRunner

    from chartaudit.cli import app

    export = tmp_path / "export"
    export.mkdir()
    common = {"discipline": "PT", "therapist": "Renée Côté", "credential": "DPT"}
    notes = pd.DataFrame(
        [
            {
                **common,
                "note_id": "E1",
                "patient_id": "P1",
                "note_type": "evaluation",
                "date_of_service": "2026-10-05",
                "diagnosis_codes": "M75.121",
                "note_text": "S: 55 y/o electrician, R rotator cuff repair 08/20/2026. Cannot "
                "reach overhead. O: QuickDASH 61. AROM flex 85. A: Good prognosis within 8 "
                "weeks. P: PT 2x/week x 8 weeks.",
            },
            {
                **common,
                "note_id": "R1",
                "patient_id": "P1",
                "note_type": "progress",
                "date_of_service": "2026-11-02",
                "note_text": RE_ASSESSMENT + " Skilled PT for the strengthening phase.",
            },
            {
                **common,
                "note_id": "D1",
                "patient_id": "P1",
                "note_type": "daily",
                "date_of_service": "2026-11-04",
                "note_text": "O: NuStep 10 min, LAQ 3x10 2 lb. A: Tolerated treatment well. "
                "P: Continue skilled PT per POC.",
            },
            {
                "note_id": "S1",
                "patient_id": "P2",
                "discipline": "SLP",
                "therapist": "Helen Brandt",
                "credential": "CCC-SLP",
                "note_type": "evaluation",
                "date_of_service": "2026-09-15",
                "diagnosis_codes": "I69.391; R13.12",
                "note_text": "S: 77 y/o M, L MCA ischemic stroke 07/30/2026; PEG. O: Clinical "
                "swallow evaluation. FOIS 3 (tube dependent with consistent oral intake). A: "
                "Moderate oropharyngeal dysphagia. Good potential with intensive treatment. "
                "P: SLP 2x/week x 13 weeks. Goals: Pt will reach FOIS level 6 by 12/15/2026 "
                "to eat family meals.",
            },
        ]
    )
    notes["signed_at"] = notes["date_of_service"]
    notes.to_csv(export / "notes.csv", index=False, encoding="cp1252")
    goals = [
        "Pt will reach R shoulder AROM flexion of 150 deg or more by 11/30/2026 to work overhead.",
        "Pt will improve R grip strength to 50 lb or more by 11/30/2026 to hold dental "
        "instruments through a shift.",
        "Pt will reach R shoulder flexion of 150 deg or more by 11/30/2026.",
    ]
    pd.DataFrame(
        {
            "goal_id": ["G1", "G2", "G3"],
            "patient_id": "P1",
            "note_id": "E1",
            "text": goals,
            "target_date": "2026-11-30",
        }
    ).to_csv(export / "goals.csv", index=False, encoding="cp1252")
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["run", str(export), "--out", str(out), "--no-history"])
    assert result.exit_code in (0, 1), result.output
    findings = pd.read_csv(out / "findings.csv", dtype=str)
    items = ["DOC-GOALS-MEASURABLE", "DOC-EVAL-CONTENT", "DOC-SKILLED"]
    found = findings[findings["item_id"].isin(items)].set_index(["note_id", "item_id"])
    assert sorted(found.index) == [("D1", "DOC-SKILLED"), ("E1", "DOC-GOALS-MEASURABLE")]
    assert found.loc[("E1", "DOC-GOALS-MEASURABLE"), "message"] == (
        '1 of 3 goals not measurable/functional: "Pt will reach R shoulder flexion of 150 deg '
        'or more by 11/30/2026." (missing functional activity)'
    )


def test_across_patients_compares_a_labelled_narratives_assessment_and_plan():
    # Two patients' SLP narratives with their own S and O but one assessment and plan: the
    # A/P part is compared, as it is when the export has A and P columns.
    def slp(note_id, date, patient, s, o):
        return note(note_id, date, f"S: {s} O: {o} A: {ASSESSMENT} P: {PLAN}", patient_id=patient)

    out = run(
        "cloned_across_patients",
        [
            slp("D1", "2026-09-02", "P1", "Wife reports more words.", "Naming 14/20 w/ cues."),
            slp("D2", "2026-09-03", "P2", "Son reports choking on rice.", "Puree 8/8 clear."),
        ],
    )
    assert out["status"].tolist() == ["fail", "fail"]
    assert out.loc["D2", "message"].startswith("Assessment/plan is identical to another patient")


def test_shingles_copied_from_the_narratives_equal_shingles_hashed_afresh():
    # A note without sections compares its whole narrative: its shingles are copied from the
    # narrative's, sharing one vocabulary, and judge exactly as if hashed again.
    narrative = pd.Series(
        [LONG_NOTE, "S: new words today. A: " + LONG_NOTE, LONG_NOTE.replace("gait", "stair")]
    )
    part = pd.Series([LONG_NOTE, LONG_NOTE, LONG_NOTE.replace("gait", "stair")])
    whole = np.array([True, False, True])
    base = Shingles(narrative)
    copied = Shingles(part, base=base, same_as_base=whole)
    fresh = Shingles(part)
    assert copied.words.tolist() == fresh.words.tolist()
    for d in (copied.digest, fresh.digest):  # the same text, the same digest
        assert d[0] == d[1] != d[2]
    a, b = np.array([0, 0, 1]), np.array([1, 2, 2])
    assert copied.jaccard(a, b).tolist() == fresh.jaccard(a, b).tolist()
    assert (copied.signature()[whole] == base.signature()[whole]).all()
    assert (copied.signature()[0] == copied.signature()[1]).all()


def test_cut_before_keeps_each_text_from_its_byte_offset():
    import pyarrow as pa

    from chartaudit.checks.text_gather import cut_before

    texts = pa.array(["skip", "é S: x A: yy", None, "A: z", "no label"], pa.large_string())
    part = texts.slice(1)  # an Arrow slice: offsets that do not start at 0
    # "é" is two bytes: " A:" starts at byte 7.
    got = cut_before(part, np.array([7, 0, 0, 3]))
    assert got.to_pylist() == [" A: yy", "", "A: z", "label"]


def test_ot_slp_and_pediatric_evaluations_through_the_cli(tmp_path):
    """Through `chartaudit run` on a cp1252 CSV export (SLP notes as one narrative column, OT
    notes in SOAP columns): inline goal headers, a progress report's status lines and
    pediatric tests raise no finding; bad goals, an adult evaluation without prior level of
    function or onset and a child's evaluation without a scored test still do."""
    from typer.testing import CliRunner

    from chartaudit.cli import app

    export = tmp_path / "export"
    export.mkdir()
    slp = {"discipline": "SLP", "therapist": "Inès Moreau", "credential": "CCC-SLP"}
    ot = {"discipline": "OT", "therapist": "Tomás Ruiz", "credential": "OTR/L"}
    rows = [
        {
            **slp,
            "note_id": "S1",
            "patient_id": "P1",
            "note_type": "evaluation",
            "date_of_service": "2026-10-01",
            "diagnosis_codes": "I69.391; R13.12",
            "note_text": "Bedside swallow eval. 74 y/o M s/p L MCA CVA 09/12/2026. PLOF: regular "
            "diet, thin liquids. FOIS 3; EAT-10 score 24. Prognosis good for thin liquids within "
            "8 wks. STG (4 wks): 1. Pt will drink thin liquids by cup with no overt s/s of "
            "aspiration on 9/10 trials. 2. Pt will use an effortful swallow on 80% of solid "
            "boluses given min cues. LTG (8 wks): Pt will eat a regular diet (FOIS 6) w/o s/s "
            "of aspiration.",
        },
        {
            **slp,
            "note_id": "S2",
            "patient_id": "P2",
            "note_type": "evaluation",
            "date_of_service": "2026-10-02",
            "diagnosis_codes": "F80.0",
            "note_text": "Speech eval. 4;10 y/o F, preschool teacher reports unclear speech. "
            "Baseline: communicates in 3-5 word utterances; intelligibility ~55% to unfamiliar "
            "listeners. GFTA-3 sounds-in-words SS 66. Prognosis good within 6 months. Goals (6 "
            "months): 1. Child will produce /g/ in initial position of words with 80% accuracy "
            "across 3 sessions. 2. Child will say more sounds.",
        },
        {
            **ot,
            "note_id": "O1",
            "patient_id": "P3",
            "note_type": "evaluation",
            "date_of_service": "2026-10-03",
            "diagnosis_codes": "F82",
            "subjective": "6 y/o M referred by pediatrician; 1st grade teacher reports messy "
            "handwriting. Dresses independently except buttons.",
            "objective": "Beery VMI SS 79. BOT-2 fine manual control SS 37. Writes name with "
            "5/9 letters legible.",
            "assessment": "Visual-motor deficits limiting handwriting. Good prognosis in 6 months.",
            "plan": "OT 1x/wk x 6 months. Goals: 1. In 8 weeks, pt will write his first name "
            "legibly 4/5 trials. 2. In 12 weeks, pt will fasten 5 shirt buttons in 2 min "
            "independently.",
        },
        {
            **ot,
            "note_id": "O2",
            "patient_id": "P4",
            "note_type": "evaluation",
            "date_of_service": "2026-10-03",
            "diagnosis_codes": "S62.101A",
            "subjective": "Referred for R wrist fx. Difficulty with self-care.",
            "objective": "QuickDASH 59.1. Wrist ext 25°.",
            "assessment": "Good rehab potential to return to independent ADLs in 8 wks.",
            "plan": "OT 2x/wk x 8 wks. LTG (8 wks): Pt will pour from a full jug with R hand "
            "independently. Pt will cut meat with R hand using a standard knife independently.",
        },
        {
            **ot,
            "note_id": "O3",
            "patient_id": "P4",
            "note_type": "progress",
            "date_of_service": "2026-10-31",
            "diagnosis_codes": "S62.101A",
            "subjective": "Progress report 10/03-10/31. Pours milk at home.",
            "objective": "QuickDASH 31.8. Grip R 30 lb.",
            "assessment": "Goal status: LTG 1 pouring - MET. LTG 2 cutting meat - progressing "
            "(min A). Skilled OT needed for strengthening and fine motor.",
            "plan": "Cont OT 2x/wk through 11/28/2026. New STG (4 wks): Pt will open a new jar "
            "with R hand using a jar opener independently.",
        },
    ]
    notes = pd.DataFrame(rows)
    notes["signed_at"] = notes["date_of_service"]
    notes.to_csv(export / "notes.csv", index=False, encoding="cp1252")
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["run", str(export), "--out", str(out), "--no-history"])
    assert result.exit_code in (0, 1), result.output
    findings = pd.read_csv(out / "findings.csv", dtype=str)
    items = ["DOC-GOALS-MEASURABLE", "DOC-EVAL-CONTENT", "DOC-OUTCOME-BASELINE"]
    found = findings[findings["item_id"].isin(items)].set_index(["note_id", "item_id"])
    assert sorted(found.index) == [("O2", "DOC-EVAL-CONTENT"), ("S2", "DOC-GOALS-MEASURABLE")]
    assert found.loc[("O2", "DOC-EVAL-CONTENT"), "message"] == (
        "Evaluation does not state: prior level of function or onset"
    )
    assert found.loc[("S2", "DOC-GOALS-MEASURABLE"), "message"] == (
        '1 of 2 goals not measurable/functional: "Child will say more sounds." '
        "(missing measurable criterion)"
    )
    # the new goal of the progress report is judged, its status lines are not goals
    assert "O3" not in set(findings["note_id"][findings["item_id"] == "DOC-GOALS-MEASURABLE"])
    pages = "".join(p.read_text(encoding="utf-8") for p in (out / "therapists").glob("*.html"))
    assert "No goals documented" not in pages
