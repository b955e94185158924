"""Episode check kinds: progress-report interval, authorship, certification, plan of care,
recertification, episode start, chronology, authorizations; and the loader's episode helpers."""

from __future__ import annotations

import pandas as pd
import pytest

from chartaudit.audit import as_of_date
from chartaudit.checks import REGISTRY, AuditContext
from chartaudit.episodes import derive_episodes, normalise_credential
from chartaudit.load import from_frames
from chartaudit.model import Status

BASE = {"patient_id": "P1", "therapist": "Dana Reyes", "credential": "DPT", "discipline": "PT"}


def run(kind, notes, params=None, note_types=None, as_of=None, **tables) -> pd.DataFrame:
    """Run one check kind over a mini export; one row per judged note: status, message."""
    frames = {"notes": pd.DataFrame([{**BASE, **r} for r in notes])}
    frames.update({name: pd.DataFrame(rows) for name, rows in tables.items()})
    export = from_frames(frames)
    ctx = AuditContext(export=export, as_of=pd.Timestamp(as_of) if as_of else as_of_date(export))
    check = REGISTRY[kind]
    p = {name: param.default for name, param in check.params.items()} | (params or {})
    n = export.notes
    idx = n.index[n["note_type"].isin(note_types)] if note_types else n.index
    out = check.fn(ctx, idx, p)
    res = pd.DataFrame(
        {
            "status": [Status(c).label for c in out.status.reindex(idx)],
            "message": out.message.reindex(idx).fillna("").to_numpy()
            if out.message is not None
            else "",
            "evidence": out.evidence.reindex(idx).fillna("").to_numpy()
            if out.evidence is not None
            else "",
        },
        index=n.loc[idx, "note_id"].to_numpy(),
    )
    return res


def days(start: str, n: int, step: int = 1) -> list[str]:
    return list(pd.date_range(start, periods=n, freq=f"{step}D").strftime("%Y-%m-%d"))


def episode(n_days: int, start: str = "2026-09-01", **over) -> list[dict]:
    """An evaluation and then a daily note on each following day (one note a day)."""
    dates = days(start, n_days)
    rows = [{"note_id": "N01", "note_type": "evaluation", "date_of_service": dates[0]}]
    rows += [
        {"note_id": f"N{i + 1:02d}", "note_type": "daily", "date_of_service": d}
        for i, d in enumerate(dates[1:], start=1)
    ]
    for note_id, changes in over.items():
        row = next(r for r in rows if r["note_id"] == note_id)
        row.update(changes)
    return rows


# ----------------------------------------------------------------------- loader helpers


@pytest.mark.parametrize(
    ("written", "role", "discipline"),
    [
        ("PT", "therapist", "PT"),
        ("DPT", "therapist", "PT"),
        ("MPT", "therapist", "PT"),
        ("PT, DPT", "therapist", "PT"),
        ("DPT, OCS", "therapist", "PT"),
        ("PTA", "assistant", "PT"),
        ("OTR/L", "therapist", "OT"),
        ("MOT", "therapist", "OT"),
        ("OT", "therapist", "OT"),
        ("COTA/L", "assistant", "OT"),
        ("OTA", "assistant", "OT"),
        ("CCC-SLP", "therapist", "SLP"),
        ("M.A., CCC-SLP", "therapist", "SLP"),
        ("CF-SLP", "therapist", "SLP"),
        ("SLPA", "assistant", "SLP"),
        ("SPT", "student", "PT"),
        ("OTS", "student", "OT"),
        ("SLP student", "student", "SLP"),
        ("MD", "therapist", None),
        ("PA-C", "therapist", None),
        ("PT Aide", "unknown", None),
        ("ATC", "unknown", None),
        ("", "unknown", None),
        (None, "unknown", None),
    ],
)
def test_normalise_credential(written, role, discipline):
    upper, roles, disciplines = normalise_credential(pd.Series([written, "PT"]))
    assert roles[0] == role
    assert (pd.isna(disciplines[0]) and discipline is None) or disciplines[0] == discipline
    assert pd.isna(upper[0]) if not written else upper[0] == written.upper()


def test_derive_episodes_splits_at_evaluations_and_discharges():
    notes = pd.DataFrame(
        {
            "patient_id": ["P1"] * 6 + ["P2", "P1"],
            "discipline": ["PT"] * 6 + ["PT", "OT"],
            "note_type": [
                "daily",
                "evaluation",
                "discharge",
                "daily",
                "evaluation",
                "daily",
                "daily",
                "evaluation",
            ],
            "date_of_service": pd.to_datetime(
                [
                    "2026-09-02",
                    "2026-09-02",
                    "2026-09-10",
                    "2026-10-01",
                    "2026-10-05",
                    "2026-10-06",
                    "2026-09-01",
                    "2026-09-01",
                ]
            ),
        }
    )
    # Same-day evaluation sorts before the daily note; the daily after the discharge opens
    # episode 2 even without an evaluation; the next evaluation opens episode 3.
    assert derive_episodes(notes).tolist() == [
        "P1-PT-1",
        "P1-PT-1",
        "P1-PT-1",
        "P1-PT-2",
        "P1-PT-3",
        "P1-PT-3",
        "P2-PT-1",
        "P1-OT-1",
    ]


# ----------------------------------------------------------------------- MCR-PR-10


def test_progress_report_10th_day_passes_11th_and_later_fail():
    res = run("progress_report_interval", episode(13), note_types=["daily", "progress"])
    assert res.loc["N10", "status"] == "pass"
    assert res.loc[["N11", "N12", "N13"], "status"].tolist() == ["fail"] * 3
    assert res.loc["N11", "message"] == (
        "progress report overdue: reporting period began 2026-09-01 (episode start), "
        "report due by treatment day 10 (2026-09-10); "
        "this visit is treatment day 11, 1 treatment day past due"
    )
    assert res.loc["N13", "message"].endswith("treatment day 13, 3 treatment days past due")


def test_therapist_report_closes_the_period_and_the_next_starts_the_next_day():
    rows = episode(20, N08={"note_type": "progress"})
    res = run("progress_report_interval", rows, note_types=["daily", "progress"])
    # The report on day 8 ends the period; days 9..18 are days 1..10 of the next one.
    assert (res.loc[[f"N{i:02d}" for i in range(2, 19)], "status"] == "pass").all()
    assert res.loc["N19", "status"] == "fail"
    assert res.loc["N19", "message"] == (
        "progress report overdue: reporting period began 2026-09-09 "
        "(after the report of 2026-09-08), report due by treatment day 10 (2026-09-18); "
        "this visit is treatment day 11, 1 treatment day past due"
    )


def test_assistant_report_does_not_reset_the_count():
    rows = episode(12, N09={"note_type": "progress", "credential": "PTA"})
    res = run("progress_report_interval", rows, note_types=["daily", "progress"])
    assert res.loc[["N11", "N12"], "status"].tolist() == ["fail", "fail"]


def test_assistant_progress_report_late_says_it_does_not_count():
    rows = episode(12, N11={"note_type": "progress", "credential": "PTA"})
    res = run("progress_report_interval", rows, note_types=["daily", "progress"])
    assert res.loc["N11", "status"] == "fail"
    assert res.loc["N11", "message"].startswith(
        "progress report overdue (this one does not count: written by an assistant): "
    )
    assert "this report is treatment day 11, 1 treatment day past due" in res.loc["N11", "message"]


def signed(rows: list[dict], **unsigned: dict) -> list[dict]:
    """Every note signed on its date of service except those named (left unsigned)."""
    out = [{**r, "signed_at": r["date_of_service"]} for r in rows]
    for r in out:
        if r["note_id"] in unsigned:
            r.update(unsigned[r["note_id"]], signed_at=None)
    return out


def test_unsigned_progress_report_does_not_reset_the_count():
    # Noridian: "Progress Report after 10th Visit: Not Submitted or Signed".
    rows = signed(episode(13), N08={"note_type": "progress"})
    res = run("progress_report_interval", rows, note_types=["daily", "progress"])
    assert res.loc["N08", "status"] == "pass"
    assert res.loc[["N11", "N12", "N13"], "status"].tolist() == ["fail"] * 3
    # Signed, the same report closes the period.
    rows = signed(episode(13, N08={"note_type": "progress"}))
    res = run("progress_report_interval", rows, note_types=["daily", "progress"])
    assert (res["status"] == "pass").all()


def test_unsigned_late_report_says_it_is_not_signed():
    rows = signed(episode(12), N11={"note_type": "progress"})
    res = run("progress_report_interval", rows, note_types=["daily", "progress"])
    assert res.loc["N11", "status"] == "fail"
    assert res.loc["N11", "message"].startswith(
        "progress report overdue (this one does not count: not signed): "
    )
    # The visits after it say why the count ran on past the report.
    assert res.loc["N12", "status"] == "fail"
    assert res.loc["N12", "message"].endswith(
        "2 treatment days past due; the report of 2026-09-11 does not count (not signed)"
    )


def test_late_therapist_report_fails_itself_and_resets_afterwards():
    rows = episode(13, N11={"note_type": "progress"})
    res = run("progress_report_interval", rows, note_types=["daily", "progress"])
    assert res.loc["N11", "status"] == "fail"
    assert res.loc["N11", "message"] == (
        "progress report written late: reporting period began 2026-09-01 (episode start), "
        "report due by treatment day 10 (2026-09-10); "
        "this report is treatment day 11, 1 treatment day past due"
    )
    assert res.loc[["N12", "N13"], "status"].tolist() == ["pass", "pass"]


def test_a_report_whose_signature_date_cannot_be_read_leaves_the_visits_it_decides_unjudged():
    """signed_at '2026-13-45' on a progress report: signed or not decides whether the visits
    after it are late, so those are not evaluable; none is failed for an unsigned report."""
    rows = signed(episode(13, N08={"note_type": "progress"}))
    rows[7]["signed_at"] = "2026-13-45"
    res = run("progress_report_interval", rows, note_types=["daily", "progress"])
    assert (res.loc[[f"N{i:02d}" for i in range(2, 11)], "status"] == "pass").all()
    assert res.loc[["N11", "N12", "N13"], "status"].tolist() == ["not_evaluable"] * 3
    assert res.loc["N11", "message"] == (
        "a report of the period has a signature date that could not be read, so whether it "
        "counts is not known"
    )
    # A report written late is late whether it is signed or not; after it, it depends.
    rows = signed(episode(13, N11={"note_type": "progress"}))
    rows[10]["signed_at"] = "2026-13-45"
    res = run("progress_report_interval", rows, note_types=["daily", "progress"])
    assert res.loc["N11", "status"] == "fail"
    assert res.loc["N11", "message"].startswith("progress report written late")
    assert res.loc[["N12", "N13"], "status"].tolist() == ["not_evaluable"] * 2
    # An assistant's report does not count either way: the visits after it are late.
    rows = signed(episode(12, N09={"note_type": "progress", "credential": "PTA"}))
    rows[8]["signed_at"] = "2026-13-45"
    res = run("progress_report_interval", rows, note_types=["daily", "progress"])
    assert res.loc[["N11", "N12"], "status"].tolist() == ["fail", "fail"]


def test_cosigned_student_report_counts_uncosigned_does_not():
    cosigned = {
        "note_type": "progress",
        "credential": "SPT",
        "cosigner": "Dana Reyes, DPT",
        "cosigned_at": "2026-09-10",
    }
    res = run("progress_report_interval", episode(12, N10=cosigned), note_types=["daily"])
    assert res.loc["N11", "status"] == "pass"
    bare = {"note_type": "progress", "credential": "SPT"}
    res = run("progress_report_interval", episode(12, N10=bare), note_types=["daily"])
    assert res.loc["N11", "status"] == "fail"
    # The therapist's co-signature signs the report even when the student's signed_at is blank.
    rows = signed(episode(12, N10=cosigned), N10={})
    res = run("progress_report_interval", rows, note_types=["daily"])
    assert res.loc["N11", "status"] == "pass"


def test_interval_param_five():
    res = run(
        "progress_report_interval",
        episode(8),
        params={"max_treatment_days": 5},
        note_types=["daily"],
    )
    assert res.loc[["N05", "N06", "N07"], "status"].tolist() == ["pass", "fail", "fail"]
    assert "report due by treatment day 5 (2026-09-05)" in res.loc["N06", "message"]
    assert res.loc["N07", "message"].endswith("treatment day 7, 2 treatment days past due")


def test_treatment_days_are_distinct_dates_and_episodes_count_separately():
    rows = episode(10)
    # Two more notes on day 10 do not make day 11; another patient's notes do not count.
    rows += [{"note_id": "X1", "note_type": "daily", "date_of_service": "2026-09-10"}]
    rows += [
        {
            "note_id": "Q1",
            "note_type": "evaluation",
            "date_of_service": "2026-09-20",
            "patient_id": "P2",
        }
    ]
    res = run("progress_report_interval", rows, note_types=["daily"])
    assert (res["status"] == "pass").all()


def test_report_counts_even_when_item_applies_to_daily_notes_only():
    rows = episode(15, N10={"note_type": "re_evaluation"})
    res = run("progress_report_interval", rows, note_types=["daily"])
    assert "N10" not in res.index
    assert (res["status"] == "pass").all()


# ----------------------------------------------------------------------- MCR-CLINICIAN-AUTHOR


def test_author_role_assistant_and_student():
    rows = [
        {
            "note_id": "A",
            "note_type": "evaluation",
            "date_of_service": "2026-09-01",
            "credential": "PTA",
        },
        {
            "note_id": "B",
            "note_type": "progress",
            "date_of_service": "2026-09-02",
            "credential": "SPT",
        },
        {
            "note_id": "C",
            "note_type": "progress",
            "date_of_service": "2026-09-03",
            "credential": "SPT",
            "cosigner": "Dana Reyes",
            "cosigned_at": "2026-09-03",
        },
        {"note_id": "D", "note_type": "discharge", "date_of_service": "2026-09-04"},
        {
            "note_id": "E",
            "note_type": "re_evaluation",
            "date_of_service": "2026-09-05",
            "credential": "Rehab Aide",
        },
    ]
    res = run("author_role", rows)
    assert res["status"].tolist() == ["fail", "fail", "pass", "pass", "not_evaluable"]
    assert res.loc["A", "message"] == (
        "An evaluation written by an assistant (PTA); only therapists may write it"
    )
    assert "without a therapist's co-signature" in res.loc["B", "message"]


# ----------------------------------------------------------------------- MCR-POC-CERT-30

EVAL = {"note_id": "E", "note_type": "evaluation", "date_of_service": "2026-09-01"}


def test_certification_late_fails_exact_limit_passes():
    res = run("certification_timely", [{**EVAL, "poc_certified_at": "2026-10-12"}])
    assert res.loc["E", "status"] == "fail"
    assert res.loc["E", "message"].startswith(
        "plan of care certified 41 days after the evaluation (2026-09-01); "
        "certification was due within 30 days (by 2026-10-01)"
    )
    res = run("certification_timely", [{**EVAL, "poc_certified_at": "2026-10-01 16:30"}])
    assert res.loc["E", "status"] == "pass"


def test_certification_cy2025_exception():
    sent = {**EVAL, "poc_certified_at": "2026-11-20", "poc_sent_at": "2026-09-03"}
    assert (
        run("certification_timely", [{**sent, "order_signed_at": "2026-08-28"}]).loc["E", "status"]
        == "pass"
    )
    res = run("certification_timely", [sent])
    assert res.loc["E", "status"] == "fail"
    assert res.loc["E", "message"].endswith("no signed order/referral is on file")
    # Before 2025 the exception does not exist.
    old = {
        **sent,
        "date_of_service": "2024-09-01",
        "poc_certified_at": "2024-11-20",
        "poc_sent_at": "2024-09-03",
        "order_signed_at": "2024-08-28",
    }
    assert run("certification_timely", [old]).loc["E", "status"] == "fail"


def test_unsigned_certification_overdue_or_not_yet_due():
    rows = [
        {**EVAL, "poc_certified_at": ""},
        {"note_id": "D", "note_type": "daily", "date_of_service": "2026-09-03"},
    ]
    res = run("certification_timely", rows, as_of="2026-10-12")
    assert res.loc["E", "status"] == "fail"
    assert res.loc["E", "message"].startswith(
        "plan of care not certified 41 days after the evaluation (2026-09-01)"
    )
    assert res.loc["D", "status"] == "not_applicable"
    # Not certified but not yet due: not a pass (nothing shows a certified plan), not a fail.
    pending = run("certification_timely", rows, as_of="2026-09-20").loc["E"]
    assert pending["status"] == "not_evaluable"
    # It names the evaluation and the due date, so the user knows what to audit again.
    assert pending["message"] == (
        "plan of care of the evaluation of 2026-09-01 (E) not certified yet; it is due by "
        "2026-10-01, after the audit date: audit it again then"
    )


def test_certification_not_evaluable_without_the_column():
    assert run("certification_timely", [EVAL]).loc["E", "status"] == "not_evaluable"


def test_first_plan_note_establishes_when_no_evaluation():
    rows = [
        {
            "note_id": "R",
            "note_type": "re_evaluation",
            "date_of_service": "2026-09-01",
            "poc_certified_at": "2026-11-01",
        },
        {
            "note_id": "R2",
            "note_type": "recertification",
            "date_of_service": "2026-11-20",
            "poc_certified_at": "2027-02-01",
        },
    ]
    res = run("certification_timely", rows)
    assert res["status"].tolist() == ["fail", "not_applicable"]


# ----------------------------------------------------------------------- MCR-POC-90 / RECERT


def test_poc_interval_90_days():
    rows = [
        {**EVAL, "note_id": "A", "poc_start": "2026-09-01", "poc_end": "2026-11-30"},
        {**EVAL, "note_id": "B", "poc_end": "2026-12-01"},  # start = date of service
        {**EVAL, "note_id": "C"},
    ]
    res = run("poc_interval", rows)
    assert res["status"].tolist() == ["pass", "fail", "not_evaluable"]
    assert res.loc["B", "message"] == (
        "plan of care 2026-09-01 to 2026-12-01 covers 91 days; at most 90 days may be certified"
    )


def test_recertification_needed_after_plan_ends():
    rows = [
        {**EVAL, "poc_end": "2026-09-28"},
        {"note_id": "D1", "note_type": "daily", "date_of_service": "2026-09-28"},
        {"note_id": "D2", "note_type": "daily", "date_of_service": "2026-10-03"},
        {
            "note_id": "R",
            "note_type": "recertification",
            "date_of_service": "2026-10-06",
            "poc_end": "2026-12-15",
        },
        {"note_id": "D3", "note_type": "daily", "date_of_service": "2026-10-06"},
        {"note_id": "D4", "note_type": "daily", "date_of_service": "2026-10-08"},
    ]
    res = run("recertification", rows, note_types=["daily", "progress"])
    assert res["status"].tolist() == ["pass", "fail", "pass", "pass"]
    assert res.loc["D2", "message"] == (
        "treated 2026-10-03, 5 days after the plan of care ended 2026-09-28; no recertification"
    )


def test_a_recertification_whose_end_date_cannot_be_read_leaves_the_visits_after_it_unjudged():
    rows = [
        {**EVAL, "poc_end": "2026-09-28"},
        {"note_id": "D2", "note_type": "daily", "date_of_service": "2026-10-03"},
        {
            "note_id": "R",
            "note_type": "recertification",
            "date_of_service": "2026-10-06",
            "poc_end": "2026-13-45",
        },
        {"note_id": "D3", "note_type": "daily", "date_of_service": "2026-10-08"},
    ]
    res = run("recertification", rows, note_types=["daily", "recertification"])
    # Before the recertification the plan had ended; after it, its end is not known.
    assert res.loc["D2", "status"] == "fail"
    assert res.loc[["R", "D3"], "status"].tolist() == ["not_evaluable"] * 2
    assert res.loc["D3", "message"] == (
        "a plan of care's end date (poc_end) could not be read, so whether the plan had ended "
        "is not known"
    )


def test_recertification_not_evaluable_without_a_plan_end():
    rows = [
        EVAL,
        {"note_id": "D1", "note_type": "daily", "date_of_service": "2026-09-02", "poc_end": ""},
    ]
    res = run("recertification", rows, note_types=["daily"])
    assert res.loc["D1", "status"] == "not_evaluable"


# ----------------------------------------------------------------------- MCR-POC-ELEMENTS


def test_poc_elements_names_what_is_missing():
    rows = [
        {
            **EVAL,
            "note_id": "A",
            "diagnosis_codes": "M17.11",
            "frequency": "2x/week",
            "duration": "8 weeks",
            "plan": "LTG: independent stair climbing in 8 weeks",
        },
        {**EVAL, "note_id": "B", "diagnosis_codes": "M17.11", "plan": "Continue with skilled PT."},
        {
            **EVAL,
            "note_id": "C",
            "plan": "Dx: M54.5. Long-term goals: lift 20 lb. PT 2x/week for 6 weeks.",
        },
    ]
    res = run("poc_elements", rows)
    assert res["status"].tolist() == ["pass", "fail", "pass"]
    assert res.loc["B", "message"] == (
        "plan of care is missing: long-term goals, frequency, duration"
    )


@pytest.mark.parametrize(
    "plan",
    [
        "PT three times a week for six weeks.",  # the MTSamples PT evaluations' wording
        "Frequency two to three times a week for six weeks.",
        "Two times per week for an initial 4 weeks.",
        "Two times a week for the next 12 weeks.",
        "2x/week, duration 8 visits.",
        "2x/wk x 6-8 weeks",
    ],
)
def test_poc_duration_written_as_therapists_write_it(plan):
    row = {**EVAL, "diagnosis_codes": "M17.11", "plan": plan + " LTG: walk 500 ft in 8 weeks."}
    assert run("poc_elements", [row]).loc["E", "status"] == "pass", plan


@pytest.mark.parametrize(
    "plan, has_goals",
    [
        ("POC 2x/week x 8 weeks. Goals: Pt will walk 1000 ft without device within 8 weeks.", True),
        ("2x/week x 8 weeks.\nTreatment goals (8 wks): pt will climb 12 stairs mod I.", True),
        ("2x/week x 8 weeks. Patient's goal: to walk without pain.", False),
        ("2x/week x 8 weeks. Pt goals: return to golf.", False),
    ],
)
def test_a_plans_goals_section_states_its_long_term_goals(plan, has_goals):
    row = {**EVAL, "diagnosis_codes": "M16.11", "plan": plan}
    status = run("poc_elements", [row]).loc["E", "status"]
    assert status == ("pass" if has_goals else "fail"), plan


def test_poc_without_a_duration_still_fails():
    row = {**EVAL, "diagnosis_codes": "M17.11", "plan": "PT three times a week. LTG: walk 500 ft."}
    assert run("poc_elements", [row]).loc["E", "message"] == "plan of care is missing: duration"


def test_poc_elements_reads_long_term_goals_from_goals_table():
    row = {**EVAL, "diagnosis_codes": "M17.11", "frequency": "2x/week", "duration": "8 weeks"}
    goals = [{"goal_id": "G1", "note_id": "E", "term": "LTG", "text": "Walk 500 ft independently"}]
    assert run("poc_elements", [row], goals=goals).loc["E", "status"] == "pass"
    goals[0]["term"] = "STG"
    row["assessment"] = "Pt presents with L knee OA limiting gait; prognosis good."
    assert run("poc_elements", [row], goals=goals).loc["E", "message"] == (
        "plan of care is missing: long-term goals"
    )


def test_poc_elements_on_a_note_without_text_is_not_evaluable_for_what_its_fields_lack():
    """acc8 M-10: an SLP file whose narrative column was unread ("Narative") gave critical
    'plan of care is missing: long-term goals' on every evaluation: the goals may be in the
    text the export did not give."""
    row = {**EVAL, "diagnosis_codes": "R13.12", "frequency": "2x/week", "duration": "8 weeks"}
    res = run("poc_elements", [row, {**EVAL, "note_id": "E2", "assessment": "Dysphagia."}])
    assert res.loc["E", "status"] == "not_evaluable"
    assert res.loc["E", "message"] == "the note has no text in the export"
    assert res.loc["E2", "status"] == "fail"  # the text is there, and says none of it
    goals = [{"goal_id": "G1", "note_id": "E", "term": "LTG", "text": "Pt will eat a soft diet"}]
    assert run("poc_elements", [row], goals=goals).loc["E", "status"] == "pass"


def test_a_long_term_goal_last_updated_at_a_later_report_counts_for_the_evaluations_plan():
    """goals.note_id is where a goal was set *or last updated*: a goal linked to the progress
    report of week 4 was on the plan from the evaluation (acceptance: every episode got a
    critical 'missing: long-term goals')."""
    rows = [
        {**EVAL, "diagnosis_codes": "M17.11", "frequency": "2x/week", "duration": "8 weeks"},
        {"note_id": "P", "note_type": "progress", "date_of_service": "2026-09-29"},
    ]
    goals = [{"goal_id": "G1", "note_id": "P", "term": "LTG", "text": "Walk 500 ft, mod I"}]
    res = run("poc_elements", rows, goals=goals)
    assert res.loc["E", "status"] == "pass", res.loc["E", "message"]


# ----------------------------------------------------------------------- DOC-EVAL-FIRST


def test_episode_must_start_with_an_evaluation():
    rows = [
        {
            "note_id": "D1",
            "note_type": "daily",
            "date_of_service": "2026-09-01",
            "episode_id": "EP1",
        },
        {
            "note_id": "E1",
            "note_type": "evaluation",
            "date_of_service": "2026-09-03",
            "episode_id": "EP1",
        },
        {
            "note_id": "D2",
            "note_type": "daily",
            "date_of_service": "2026-09-05",
            "episode_id": "EP2",
            "patient_id": "P2",
        },
        {
            "note_id": "R3",
            "note_type": "re_evaluation",
            "date_of_service": "2026-09-05",
            "episode_id": "EP3",
            "patient_id": "P3",
        },
        {
            "note_id": "E4",
            "note_type": "evaluation",
            "date_of_service": "2026-09-05",
            "episode_id": "EP4",
            "patient_id": "P4",
        },
        {
            "note_id": "D4",
            "note_type": "daily",
            "date_of_service": "2026-09-05",
            "episode_id": "EP4",
            "patient_id": "P4",
        },
    ]
    res = run("episode_starts_with_evaluation", rows)
    assert res["status"].tolist() == [
        "fail",
        "not_applicable",
        "fail",
        "pass",
        "pass",
        "not_applicable",
    ]
    assert res.loc["D1", "message"] == (
        "episode starts 2026-09-01 with a daily note; the evaluation is dated 2026-09-03"
    )
    assert res.loc["D2", "message"] == (
        "episode starts 2026-09-05 with a daily note; no evaluation found"
    )


# ----------------------------------------------------------------------- DOC-CHRONOLOGY


def test_chronology_names_each_problem():
    rows = [
        {**EVAL, "note_id": "A", "signed_at": "2026-08-31 09:00"},
        {
            **EVAL,
            "note_id": "B",
            "poc_start": "2026-09-10",
            "poc_end": "2026-09-01",
            "episode_id": "X",
            "patient_id": "P2",
        },
        {
            "note_id": "C",
            "note_type": "daily",
            "date_of_service": "2026-09-02",
            "signed_at": "2026-09-02 18:00",
            "cosigned_at": "2026-09-02 08:00",
        },
        {
            "note_id": "DC",
            "note_type": "discharge",
            "date_of_service": "2026-09-20",
            "episode_id": "X",
            "patient_id": "P2",
        },
        {
            "note_id": "late",
            "note_type": "daily",
            "date_of_service": "2026-09-25",
            "episode_id": "X",
            "patient_id": "P2",
        },
        {**EVAL, "note_id": "ok", "patient_id": "P9", "signed_at": "2026-09-01 17:00"},
        {**EVAL, "note_id": "cert", "patient_id": "P5", "poc_certified_at": "2026-08-30"},
    ]
    res = run("chronology", rows)
    assert res.loc["A", "message"] == "signed 2026-08-31, before the date of service 2026-09-01"
    assert res.loc["B", "message"] == "plan of care ends 2026-09-01, before it starts 2026-09-10"
    assert res.loc["C", "message"] == "co-signed 2026-09-02, before the author signed 2026-09-02"
    assert res.loc["late", "message"] == (
        "dated 2026-09-25, after the episode's discharge on 2026-09-20"
    )
    assert res.loc["cert", "message"] == (
        "plan certified 2026-08-30, before the evaluation that established it (2026-09-01)"
    )
    assert res.loc[["DC", "ok"], "status"].tolist() == ["pass", "pass"]


def test_a_note_after_a_discharge_is_explained_not_only_called_an_episode_without_evaluation():
    """Episodes derived from the notes: a daily note three days after the discharge summary
    starts a new episode, and the message says where the patient was discharged."""
    rows = [
        {"note_id": "E", "note_type": "evaluation", "date_of_service": "2026-10-01"},
        {"note_id": "D", "note_type": "daily", "date_of_service": "2026-10-05"},
        {"note_id": "DC", "note_type": "discharge", "date_of_service": "2026-10-12"},
        {"note_id": "X", "note_type": "daily", "date_of_service": "2026-10-15"},
    ]
    res = run("episode_starts_with_evaluation", rows)
    assert res.loc["X", "message"] == (
        "episode starts 2026-10-15 with a daily note; no evaluation found; the patient was "
        "discharged from PT on 2026-10-12 (DC, 3 days earlier): care after a discharge needs a "
        "new evaluation, or the note belongs to the earlier episode"
    )
    assert res.loc["E", "status"] == "pass"
    # The evidence names the kind of note, not a word the page could find in any text.
    assert res.loc["X", "evidence"] == "daily note"


# ----------------------------------------------------------------------- AUTH-VISITS


def _visits(n: int, start="2026-09-01") -> list[dict]:
    return episode(n, start=start)


def test_authorization_visit_count_and_window():
    auths = [
        {
            "auth_id": "A-1",
            "patient_id": "P1",
            "discipline": "PT",
            "status": "Approved",
            "start": "2026-09-01",
            "end": "2026-09-30",
            "approved_visits": 12,
        }
    ]
    res = run("authorization_visits", _visits(14), authorizations=auths)
    assert res.loc["N12", "status"] == "pass"
    assert res.loc[["N13", "N14"], "status"].tolist() == ["fail", "fail"]
    assert res.loc["N13", "message"] == (
        "visit 13 of 12 authorized (authorization A-1, 2026-09-01 to 2026-09-30)"
    )
    auths[0]["approved_visits"] = 20
    auths[0]["end"] = "2026-09-12"
    res = run("authorization_visits", _visits(14), authorizations=auths)
    assert res.loc["N13", "message"] == (
        "visit on 2026-09-13 is outside the authorized dates (2026-09-01 to 2026-09-12)"
    )


def test_authorization_not_applicable_without_one_unless_required():
    auths = [{"auth_id": "A-9", "patient_id": "OTHER", "status": "approved", "approved_visits": 5}]
    res = run("authorization_visits", _visits(3), authorizations=auths)
    assert (res["status"] == "not_applicable").all()
    rows = [{**r, "payer_type": "commercial"} for r in _visits(3)]
    res = run(
        "authorization_visits",
        rows,
        params={"required_for_payer_types": ["commercial"]},
        authorizations=auths,
    )
    # The evaluation needs no authorization of its own; the treatment after it does.
    assert res.loc["N01", "status"] == "pass"
    assert res.loc["N02", "message"] == (
        "visit on 2026-09-02 is not covered by an approved authorization"
    )


def test_pending_authorization_does_not_cover_visits_after_the_request():
    auths = [
        {
            "auth_id": "A-2",
            "patient_id": "P1",
            "status": "Pending review",
            "requested_visits": 8,
            "request_date": "2026-09-03",
        }
    ]
    res = run("authorization_visits", _visits(5), authorizations=auths)
    # Visits before the first request needed none (the episode had no authorization yet).
    assert res["status"].tolist() == ["pass", "pass", "fail", "fail", "fail"]
    assert res.loc["N03", "message"] == (
        "visit on 2026-09-03 is not covered by an approved authorization"
    )


def test_medicare_part_b_visits_are_never_judged_against_authorizations():
    """Original Medicare has no prior authorization: a UM request in the table for a Part B
    episode made every one of its visits 'not covered'."""
    auths = [
        {"auth_id": "A-3", "patient_id": "P1", "status": "pending", "request_date": "2026-09-01"}
    ]
    rows = [{**r, "payer_type": "medicare_b"} for r in _visits(4)]
    res = run("authorization_visits", rows, authorizations=auths)
    assert (res["status"] == "not_applicable").all()


# ----------------------------------------------------------------------- extras


def test_frequency_consistent_flags_visits_above_plan():
    rows = [
        {
            "note_id": "E",
            "note_type": "evaluation",
            "date_of_service": "2026-09-07",
            "frequency": "2x/week",
        },  # a Monday
        {"note_id": "D1", "note_type": "daily", "date_of_service": "2026-09-08"},
        {"note_id": "D2", "note_type": "daily", "date_of_service": "2026-09-10"},
        {"note_id": "D3", "note_type": "daily", "date_of_service": "2026-09-11"},
        {"note_id": "D4", "note_type": "daily", "date_of_service": "2026-09-14"},
    ]
    res = run("frequency_consistent", rows, note_types=["daily"])
    # The evaluation day itself is not a treatment visit of the plan.
    assert res["status"].tolist() == ["pass", "pass", "fail", "pass"]
    assert res.loc["D3", "message"] == (
        "3rd visit in the week of 2026-09-07; the plan of care calls for 2x/week"
    )
    rows[0]["frequency"] = "2-3x/wk"
    assert (run("frequency_consistent", rows, note_types=["daily"])["status"] == "pass").all()


def test_certifier_must_be_physician_or_npp():
    rows = [
        {**EVAL, "note_id": "A", "poc_certified_at": "2026-09-05", "certifier_credential": "DC"},
        {**EVAL, "note_id": "B", "poc_certified_at": "2026-09-05", "certifier_credential": "PA-C"},
        {**EVAL, "note_id": "C", "poc_certified_at": "2026-09-05", "certifier_credential": "M.D."},
        {
            **EVAL,
            "note_id": "D",
            "poc_certified_at": "2026-09-05",
            "certifier_credential": "FNP-BC",
        },
        {**EVAL, "note_id": "F", "poc_certified_at": "2026-09-05"},
        {**EVAL, "note_id": "G"},
    ]
    res = run("certifier_qualified", rows)
    assert res["status"].tolist() == [
        "fail",
        "pass",
        "pass",
        "pass",
        "not_evaluable",
        "not_applicable",
    ]


def test_reevaluation_needs_an_indication():
    rows = [
        {
            "note_id": "A",
            "note_type": "re_evaluation",
            "date_of_service": "2026-09-01",
            "assessment": "Re-eval due per 30-day schedule. Continue POC.",
        },
        {
            "note_id": "B",
            "note_type": "re_evaluation",
            "date_of_service": "2026-09-01",
            "assessment": "Pt fell at home on 9/28; new onset L knee pain, gait unsafe.",
        },
        {
            "note_id": "C",
            "note_type": "re_evaluation",
            "date_of_service": "2026-09-01",
            "assessment": "Continue POC.",
        },
    ]
    res = run("reeval_justified", rows)
    assert res["status"].tolist() == ["fail", "pass", "fail"]
    assert 'appears routine ("Re-eval due")' in res.loc["A", "message"]


def test_assistant_scope_flags_clinical_judgment_in_assistant_notes():
    rows = [
        {
            "note_id": "A",
            "note_type": "daily",
            "date_of_service": "2026-09-02",
            "credential": "PTA",
            "assessment": "Progress limited due to poor HEP adherence; goals updated.",
        },
        {
            "note_id": "B",
            "note_type": "daily",
            "date_of_service": "2026-09-03",
            "credential": "PTA",
            "assessment": "Pt required min A for sit to stand x 10 with verbal cues for hip hinge.",
        },
        {
            "note_id": "C",
            "note_type": "daily",
            "date_of_service": "2026-09-04",
            "assessment": "Progress limited due to pain; goals updated.",
        },
    ]
    res = run("assistant_scope", rows)
    assert res["status"].tolist() == ["fail", "pass", "not_applicable"]
    assert '"Progress limited due to"' in res.loc["A", "message"]


def test_assistant_overdue_visits_name_the_supervising_therapist(tmp_path):
    """Through the real CLI: an OT episode whose therapist's report is unsigned; the COTA's
    visits after the 10th treatment day say whose report it is, and no patient name shows."""
    from typer.testing import CliRunner

    from chartaudit.cli import app

    dates = days("2026-09-01", 13)
    mia = {"therapist": "Mia Park", "therapist_id": "1234567890", "credential": "OTR/L"}
    lee = {"therapist": "Lee Wong", "therapist_id": "2222222222", "credential": "COTA"}
    rows = [{"note_type": "evaluation", **mia}]
    rows += [{"note_type": "daily", **mia} for _ in range(8)]
    # A PT covering one visit of the OT episode is not the OT's supervising therapist.
    rows[4] = {"note_type": "daily", "therapist": "Dana Reyes", "credential": "DPT"}
    rows += [{"note_type": "progress", **mia, "signed_at": ""}]  # day 10, never signed
    rows += [
        {"note_type": "daily", **lee},
        {"note_type": "progress", **lee},
        {"note_type": "daily", **lee},
    ]
    notes = pd.DataFrame(
        [
            {
                "note_id": f"OT{i + 1:02d}",
                "patient_id": "MRN555",
                "patient_name": "Jane Q Doe",
                "discipline": "OT",
                "date_of_service": d,
                "signed_at": d,
                "payer": "Medicare Part B",
                "payer_type": "medicare_b",
                **row,
            }
            for i, (d, row) in enumerate(zip(dates, rows, strict=True))
        ]
    )
    export = tmp_path / "export"
    export.mkdir()
    notes.to_csv(export / "notes.csv", index=False)
    out = tmp_path / "report"
    result = CliRunner().invoke(
        app, ["run", str(export), "--out", str(out), "--no-history", "--format", "csv"]
    )
    assert result.exit_code == 0, result.output
    findings = pd.read_csv(out / "findings.csv", dtype=str, keep_default_na=False)
    pr = findings[findings["item_id"] == "MCR-PR-10"].set_index("note_id")["message"]
    # The unsigned report on day 10 does not reset the count: days 11-13 fail.
    assert sorted(pr.index) == ["OT11", "OT12", "OT13"]
    assert pr["OT11"] == (
        "progress report overdue: reporting period began 2026-09-01 (episode start), "
        "report due by treatment day 10 (2026-09-10); "
        "this visit is treatment day 11, 1 treatment day past due; "
        "the report of 2026-09-10 does not count (not signed); "
        "the report is the supervising occupational therapist's to write (Mia Park, OTR/L); "
        "on a visit by Lee Wong, COTA"
    )
    assert pr["OT12"].startswith(
        "progress report overdue (this one does not count: written by an assistant): "
    )
    assert pr["OT12"].endswith("to write (Mia Park, OTR/L); on a visit by Lee Wong, COTA")
    assert pr["OT13"].endswith("to write (Mia Park, OTR/L); on a visit by Lee Wong, COTA")
    assert not pr.str.contains("Jane|Doe|MRN555").any()
    # The report is Mia Park's to write: the findings count against her.
    therapists = findings[findings["item_id"] == "MCR-PR-10"].set_index("note_id")["therapist"]
    assert therapists.to_dict() == {"OT11": "Mia Park", "OT12": "Mia Park", "OT13": "Mia Park"}


def test_assistant_overdue_visit_without_a_therapist_in_the_episode():
    from chartaudit.audit import findings_table, run_audit
    from chartaudit.checklists import load_checklists

    rows = [
        {"note_id": f"N{i:02d}", "note_type": "daily", "date_of_service": d, "credential": "PTA"}
        for i, d in enumerate(days("2026-09-01", 11), start=1)
    ]
    notes = pd.DataFrame([{**BASE, **r, "payer_type": "medicare_b"} for r in rows])
    export = from_frames({"notes": notes})
    medicare = load_checklists(["medicare-part-b"])
    findings = findings_table(run_audit(export, medicare)).set_index(["note_id", "item_id"])
    # No therapist in the episode to name: the finding stays with the assistant who wrote it.
    assert findings.loc[("N11", "MCR-PR-10"), "message"].endswith(
        "1 treatment day past due; the report is the supervising physical therapist's to write"
    )
    assert findings.loc[("N11", "MCR-PR-10"), "therapist"] == "Dana Reyes"


def test_certification_overdue_is_judged_on_the_first_visit_when_the_evaluation_is_not_audited():
    rows = [
        {**EVAL, "poc_certified_at": ""},
        {"note_id": "D1", "note_type": "daily", "date_of_service": "2026-09-25"},
        {"note_id": "D2", "note_type": "daily", "date_of_service": "2026-10-05"},
        {"note_id": "D3", "note_type": "daily", "date_of_service": "2026-10-07"},
    ]
    # The visits only, as a monthly run gives them when the evaluation was the month before.
    res = run("certification_timely", rows, note_types=["daily"], as_of="2026-10-31")
    assert res["status"].tolist() == ["not_applicable", "fail", "not_applicable"]
    assert res.loc["D2", "message"].startswith(
        "plan of care of the evaluation of 2026-09-01 (E) not certified by this visit "
        "(2026-10-05), 34 days after the evaluation; certification was due by 2026-10-01"
    )
    # Certified before the visit, or under the CY2025 exception: nothing to carry.
    rows[0]["poc_certified_at"] = "2026-10-04"
    res = run("certification_timely", rows, note_types=["daily"])
    assert (res["status"] == "not_applicable").all()
    # A certification date that could not be read decides nothing.
    rows[0]["poc_certified_at"] = "soon"
    res = run("certification_timely", rows, note_types=["daily"])
    assert res.loc["D2", "status"] == "not_evaluable"
    assert res.loc["D2", "message"] == (
        "the evaluation's poc_certified_at could not be read as a date"
    )
