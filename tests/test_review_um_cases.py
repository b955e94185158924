"""`chartaudit review` on hand-built episodes a UM clinician decides every day: a plateau with an
independent home program, a caregiver who runs the program, a patient who attends half the
planned visits, approved visits still unused, a treatment note dated before the evaluation."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from chartaudit.cli import app
from test_review_cli import all_output_text, parse_text

runner = CliRunner()

EP = "EP-77"
PID = "ACCT-5077"


def note(
    note_id: str,
    day: str,
    note_type: str,
    text: str,
    therapist: str = "Renee Cote, PT",
    **plan,
) -> dict:
    """One note of the episode (therapist written with the credential, as vendors do)."""
    row = {
        "note_id": note_id,
        "patient_id": PID,
        "patient_name": "Mildred Haskell",
        "episode_id": EP,
        "discipline": "PT",
        "note_type": note_type,
        "date_of_service": day,
        "therapist": therapist,
        "signed_at": f"{day} 17:00",
        "payer": "Medicare Part B",
        "diagnosis_codes": "M17.0",
        "narrative": text,
    }
    return {**row, **plan}


def write(folder: Path, notes, measures, goals, auths) -> Path:
    folder.mkdir(parents=True)
    tables = {
        "notes": notes,
        "measures": measures,
        "goals": goals,
        "authorizations": auths,
    }
    for name, rows in tables.items():
        pd.DataFrame(rows).to_csv(folder / f"{name}.csv", index=False)
    return folder


def review(folder: Path, out: Path) -> tuple[str, pd.Series]:
    """The console text and the determinations.csv row of the one episode."""
    result = runner.invoke(app, ["review", str(folder), "--out", str(out)])
    assert result.exit_code == 0, result.output
    dets = pd.read_csv(out / "determinations.csv", encoding="utf-8-sig")
    assert len(dets) == 1
    return result.output, dets.iloc[0]


def auth(auth_id: str, status: str, request: str, visits: int, through: str, **more) -> dict:
    return {
        "auth_id": auth_id,
        "patient_id": PID,
        "episode_id": EP,
        "discipline": "PT",
        "status": status,
        "request_date": request,
        "requested_visits": visits,
        "requested_through": through,
        **more,
    }


# --------------------------------------------------------------------------- B3: plateau, HEP

PLAN = {"poc_start": "2026-08-31", "poc_end": "2026-11-27", "frequency": "2x/week"}
STOCK = (
    "S: Pt states she feels ok. O: Pt performed NuStep 10 min level 3, LAQ 3x10 2 lb, marches "
    "3x10, heel raises 3x10. Walked 600 ft with SPC. A: Pt tolerated treatment well. P: Continue "
    "skilled PT per POC."
)


def independent_hep_export(tmp_path: Path, plan_line: str, stock: bool = True) -> Path:
    """LEFS 30 -> 36 -> 37 (below the MDC 9 over two reports), independent with the HEP since
    week 3, the PTA's dailies stock and alike since the first report (with `stock`); and
    `plan_line` the latest report's plan."""
    days = pd.date_range("2026-09-03", "2026-10-29", freq="W-MON").append(
        pd.date_range("2026-09-03", "2026-10-29", freq="W-THU")
    )
    notes = [
        note(
            "N00",
            "2026-08-31",
            "evaluation",
            "S: 79 y/o F, knee OA, deconditioned. O: LEFS 30/80. A: Skilled PT for gait training "
            "due to fall risk. P: PT 2x/week x 12 weeks; HEP.",
            **PLAN,
            duration="12 weeks",
        )
    ]
    for i, day in enumerate(sorted(days)):
        stamp = f"{day:%Y-%m-%d}"
        if stamp in ("2026-09-28", "2026-10-26"):
            continue
        early = day < pd.Timestamp("2026-09-28") or not stock
        text = (
            f"STS 3x8 with cues for weight shift; gait training {400 + 50 * i} ft SPC with cues "
            "for step length. A: Needs cues for knee control on step-down. P: Progress."
            if early
            else STOCK
        )
        author = "Renee Cote, PT" if early else "Jorge Ibanez, PTA"
        notes.append(note(f"N{i + 1:02d}", stamp, "daily", text, author))
    notes += [
        note(
            "P1",
            "2026-09-28",
            "progress",
            "O: LEFS 36/80. A: LEFS +6, below the MCID. HEP independent. P: Continue 2x/week.",
        ),
        note(
            "P2",
            "2026-10-26",
            "progress",
            "S: Does HEP daily on her own. O: LEFS 37/80. A: LEFS +1 since last note; progress "
            f"has slowed. Pt independent and compliant with HEP. P: {plan_line}",
        ),
    ]
    measures = [
        {"note_id": n, "measure": "LEFS", "score": s}
        for n, s in (("N00", 30), ("P1", 36), ("P2", 37))
    ]
    goals = [
        {
            "goal_id": "G1",
            "patient_id": PID,
            "note_id": "N00",
            "term": "short",
            "text": "Pt will be independent with HEP within 3 weeks.",
            "status": "met",
        },
        {
            "goal_id": "G2",
            "patient_id": PID,
            "note_id": "N00",
            "term": "long",
            "text": "Pt will improve LEFS to 50/80 or better by 11/27/2026 to walk to the store.",
            "status": "progressing",
        },
    ]
    auths = [
        auth(
            "MCR-1",
            "approved",
            "2026-08-31",
            18,
            "2026-10-31",
            approved_visits=18,
            start="2026-08-31",
            end="2026-10-31",
        ),
        auth("MCR-2", "pending", "2026-10-30", 8, "2026-11-27"),
    ]
    return write(tmp_path / "export", notes, measures, goals, auths)


def test_a_plateau_with_an_independent_hep_and_stock_notes_is_denied_to_the_hep(tmp_path):
    """UM acceptance (B3): 'Continue skilled PT 2x/week per POC to improve strength and
    endurance' met the skilled need, the audit's stock-phrase findings on the PTA's dailies
    were ignored, and a patient independent with her HEP got 4 more visits at 1x/week."""
    folder = independent_hep_export(
        tmp_path,
        "Continue skilled PT 2x/week per POC to improve strength and endurance; request 8 "
        "visits through 11/27/2026.",
    )
    out = tmp_path / "um"
    console, row = review(folder, out)
    assert row["recommendation"] == "deny"
    assert row["recommended_visits"] == 2  # to update the HEP and discharge
    assert "home exercise program" in row["level_of_care"]
    assert "UM-SKILLED-NEED" in row["criteria_failed"]
    rationale = row["rationale"]
    # The stock statement is quoted as such, and the audit's findings weigh against it.
    assert (
        "only stock wording that names skilled care without the need it is for: “P: Continue "
        "skilled PT 2x/week per POC to improve strength and endurance" in rationale
    )
    assert "DOC-SKILLED (stock phrases or no skilled content) on" in rationale
    assert "most recent care is not documented as skilled" in rationale
    letter = parse_text(out / "letters" / f"{EP}-determination.html")
    assert "repetitive exercise that the patient or a caregiver can carry out safely" in letter
    assert "goal met: “Pt will be independent with HEP within 3 weeks.”" in letter
    assert "except 2 visit(s) to transition to the recommended level of care" in letter


def test_a_specific_skilled_need_keeps_a_plateau_from_a_denial(tmp_path):
    """The same plateau and independent HEP, but the dailies show skilled care and the report
    states what only a therapist can do and why: fewer visits to transition, not a denial."""
    folder = independent_hep_export(
        tmp_path,
        "Continue skilled PT 2x/week to progress eccentric quad control on stairs because of "
        "valgus collapse on step-down; request 8 visits.",
        stock=False,
    )
    _, row = review(folder, tmp_path / "um")
    assert row["recommendation"] == "partial"
    assert "UM-SKILLED-NEED" not in str(row["criteria_failed"])


# --------------------------------------------------------------------------- A3: caregiver


def caregiver_export(tmp_path: Path) -> Path:
    """Berg 39 -> 42 -> 43 -> 43 and gait speed 0.66 -> 0.68 -> 0.69 -> 0.70 (a plateau);
    the wife guards and cues the HEP safely (observed); 'to maintain strength and balance'
    with no reason it needs a therapist; 5 approved visits unused until 2026-11-15."""
    plan = {"poc_start": "2026-08-24", "poc_end": "2026-11-15", "frequency": "2x/week"}
    notes = [
        note(
            "E1",
            "2026-08-24",
            "evaluation",
            "Falls x2. Berg 39/56, gait speed 0.66 m/s.",
            "Tom Kessler, PT",
            **plan,
        )
    ]
    days = pd.date_range("2026-08-27", "2026-10-30", freq="W-THU").append(
        pd.date_range("2026-08-27", "2026-10-30", freq="W-MON")
    )
    for i, day in enumerate(sorted(days)[:17]):
        notes.append(
            note(
                f"T{i:02d}",
                f"{day:%Y-%m-%d}",
                "daily",
                "Pt performed NuStep 10 min, standing marches 2x10. Pt tolerated treatment well. "
                "Continue to benefit from skilled PT.",
                "Tom Kessler, PT",
            )
        )
    notes += [
        note("R1", "2026-09-21", "progress", "Berg 42/56. Modest gains.", "Tom Kessler, PT"),
        note("R2", "2026-10-19", "progress", "Berg 43/56. Scores stable.", "Tom Kessler, PT"),
        note(
            "R3",
            "2026-11-02",
            "recertification",
            "O: Berg 43/56. Gait speed 0.70 m/s. Wife guards safely and cues correctly during "
            "HEP (observed). A: Scores stable over 6 weeks. Pt would benefit from continued PT "
            "2x/week to maintain strength and balance and prevent falls. P: Request 10 visits.",
            "Tom Kessler, PT",
            poc_start="2026-11-02",
            poc_end="2026-12-11",
            frequency="2x/week",
        ),
    ]
    measures = [
        {"note_id": n, "measure": m, "score": s}
        for n, berg, speed in (
            ("E1", 39, 0.66),
            ("R1", 42, 0.68),
            ("R2", 43, 0.69),
            ("R3", 43, 0.70),
        )
        for m, s in (("Berg", berg), ("Gait speed", speed))
    ]
    goals = [
        {
            "goal_id": "G1",
            "patient_id": PID,
            "note_id": "E1",
            "term": "long",
            "text": "Pt will complete TUG in 13.5 s or less by 11/15/2026 to walk to church.",
            "status": "progressing",
        }
    ]
    auths = [
        auth(
            "MA-1",
            "approved",
            "2026-08-24",
            24,
            "2026-11-15",
            approved_visits=24,
            start="2026-08-24",
            end="2026-11-15",
        ),
        auth("MA-2", "pending", "2026-11-03", 10, "2026-12-11"),
    ]
    return write(tmp_path / "export", notes, measures, goals, auths)


def test_a_caregiver_who_runs_the_program_safely_answers_the_jimmo_question(tmp_path):
    """UM acceptance (A3): the record already shows the wife guarding and cueing the HEP
    safely, yet the review pended to ask why the patient or a caregiver cannot carry it out.
    The unused approved visits pay for the visits to hand the program over."""
    out = tmp_path / "um"
    console, row = review(caregiver_export(tmp_path), out)
    assert row["recommendation"] == "deny"
    assert row["recommended_visits"] == 0
    assert (
        "a caregiver: “Wife guards safely and cues correctly during HEP (observed).”"
        in (row["rationale"])
    )
    assert (
        "Visits: 5 approved visits of MA-1 are still unused until 2026-11-15 and pay for 2 of "
        "the transition visit(s), so 0 more are recommended." in row["rationale"]
    )
    letter = parse_text(out / "letters" / f"{EP}-determination.html")
    assert "is not approved. Visits: 5 approved visits of MA-1 are still unused" in letter
    # Credentials written after the name are not repeated after it (m1).
    for letter in ("determination", "justification"):
        text = parse_text(out / "letters" / f"{EP}-{letter}.html")
        assert "Tom Kessler, PT" in text and "Tom Kessler, PT, PT" not in text
    page = parse_text(out / "episodes" / f"{EP}.html")
    assert "treating therapist Tom Kessler, PT ·" in page
    assert "PT, PT" not in page
    # m8: a score keeps its instrument's decimals, and one day is a day.
    assert "0.69 (R2, 2026-10-19) → 0.70 (R3, 2026-11-02): +0.02 over" in row["rationale"]
    assert "Gait speed 0.66 (E1, 2026-08-24) → 0.70 (R3, 2026-11-02), 1 day before the request" in (
        page
    )
    assert "1 days" not in page


# --------------------------------------------------------------------------- A4: attendance


def attendance_export(tmp_path: Path, visit_days: list[str], auth_end: str) -> Path:
    """QuickDASH 68 -> 50 -> 36 (past the MCID), 2x/week planned to 2026-11-30, 12 approved
    to `auth_end`; 12 more requested on 2026-11-03 through 2026-11-30."""
    plan = {"poc_start": "2026-09-21", "poc_end": "2026-11-30", "frequency": "2x/week"}
    notes = [
        note(
            "V0",
            visit_days[0],
            "evaluation",
            "Distal radius ORIF. QuickDASH 68.",
            "Priya Raman, OTR/L",
            **plan,
        )
    ]
    reports = {visit_days[len(visit_days) // 2], visit_days[-1]}
    for i, day in enumerate(visit_days[1:], start=1):
        kind = "progress" if day in reports else "daily"
        text = (
            "Skilled OT needed for graded work simulation because grip fatigues after 2 h."
            if kind == "progress"
            else f"Joint mobs grade III x 10 min; putty grip 3x{10 + i} with cues for wrist "
            "extension."
        )
        notes.append(note(f"V{i}", day, kind, text, "Priya Raman, OTR/L"))
    for n in notes:
        n["discipline"] = "OT"
    scores = dict(zip([visit_days[0], *sorted(reports)], [68, 50, 36], strict=True))
    measures = [
        {"note_id": n["note_id"], "measure": "QuickDASH", "score": scores[n["date_of_service"]]}
        for n in notes
        if n["date_of_service"] in scores
    ]
    goals = [
        {
            "goal_id": "G1",
            "patient_id": PID,
            "note_id": "V0",
            "term": "long",
            "text": "Pt will improve R grip to 50 lb or more by 11/30/2026 to hold instruments.",
            "status": "progressing",
        }
    ]
    auths = [
        auth(
            "UHC-1",
            "approved",
            "2026-09-21",
            12,
            auth_end,
            approved_visits=12,
            start="2026-09-21",
            end=auth_end,
        ),
        auth("UHC-2", "pending", "2026-11-03", 12, "2026-11-30"),
    ]
    for a in auths:
        a["discipline"] = "OT"
    return write(tmp_path / "export", notes, measures, goals, auths)


def test_visits_follow_the_frequency_the_patient_attends_less_the_unused_ones(tmp_path):
    """UM acceptance (A4): 1.1 visits/week delivered against 2x/week planned, 4 approved
    visits unused, and the review approved the plan's maximum of 8 'at the planned
    frequency' without a word on either."""
    days = [
        "2026-09-21",
        "2026-09-24",
        "2026-10-01",
        "2026-10-08",
        "2026-10-13",
        "2026-10-19",
        "2026-10-26",
        "2026-11-02",
    ]
    out = tmp_path / "um"
    _, row = review(attendance_export(tmp_path, days, "2026-11-06"), out)
    assert row["recommendation"] == "partial"
    assert row["recommended_visits"] == 4
    assert "UM-ATTENDANCE" in row["criteria_failed"]
    assert "about 1.1 visits/week (the frequency delivered)" in row["level_of_care"]
    rationale = row["rationale"]
    assert "frequency delivered 1.1 visits/week (8 visits over 7 calendar week(s)" in rationale
    assert "against 2x/week planned (55%)" in rationale
    # 1.1 a week over the 24 days after 2026-11-06 is 4 (rounded up); the 5th visit of the
    # 28 days falls before and is paid by the visits still unused.
    assert (
        "at 1.1 visits/week the 28 days from 2026-11-03 to 2026-11-30 need 5 visit(s); 4 "
        "approved visits of UHC-1 are still unused until 2026-11-06 and pay for 1 of them: 4 "
        "more visit(s) needed, 12 requested" in rationale
    )
    letter = parse_text(out / "letters" / f"{EP}-determination.html")
    assert "4 visit(s) are approved" in letter


def test_unused_approved_visits_pay_for_part_of_the_visits_the_plan_supports(tmp_path):
    """Twice a week as planned, 12 approved to 2026-11-13 and 9 used: the 3 left pay for the
    visits up to 2026-11-13, and the new approval covers the plan's visits beyond them."""
    days = [
        f"{d:%Y-%m-%d}"
        for d in sorted(
            pd.date_range("2026-10-05", "2026-11-02", freq="W-MON").append(
                pd.date_range("2026-10-05", "2026-11-02", freq="W-THU")
            )
        )
    ]
    _, row = review(attendance_export(tmp_path, days, "2026-11-13"), tmp_path / "um")
    assert row["recommendation"] == "partial"
    assert "UM-ATTENDANCE" not in str(row["criteria_failed"])
    # The plan's 2x/week over the 28 days to 2026-11-30 is 8; 3 of them fall before
    # 2026-11-13 (11 days at 2 a week, rounded down) and are paid by the unused visits.
    assert row["recommended_visits"] == 5
    assert (
        "Visits: the plan's frequency needs 8 from 2026-11-03 to 2026-11-30; 3 approved visits "
        "of UHC-1 are still unused until 2026-11-13 and pay for 3 of them, so 5 are "
        "recommended." in row["rationale"]
    )


def test_unused_visits_that_pay_for_the_whole_period_leave_no_new_visit_and_a_flag(tmp_path):
    """The current authorization runs past the request's period with more visits unused than
    the plan's frequency needs in it: no new visit, and the reviewer is told why."""
    days = [
        f"{d:%Y-%m-%d}"
        for d in sorted(
            pd.date_range("2026-10-05", "2026-11-02", freq="W-MON").append(
                pd.date_range("2026-10-05", "2026-11-02", freq="W-THU")
            )
        )
    ]
    folder = attendance_export(tmp_path, days, "2026-12-05")
    auths = pd.read_csv(folder / "authorizations.csv")
    auths.loc[0, "approved_visits"] = 20
    auths.to_csv(folder / "authorizations.csv", index=False)
    console, row = review(folder, tmp_path / "um")
    assert row["recommendation"] == "partial" and row["recommended_visits"] == 0
    assert (
        "11 approved visits of UHC-1 are still unused until 2026-12-05 and pay for 8 of them, "
        "so 0 are recommended." in row["rationale"]
    )
    assert "the approved visits still unused pay for every visit counted" in row["rationale"]
    # The letter does not tell the therapist that "0 visit(s) are approved" as if care stopped.
    letter = parse_text(tmp_path / "um" / "letters" / f"{EP}-determination.html")
    assert "0 visit(s) are approved" not in letter
    assert (
        "No further visit of occupational therapy is approved now: the visits already approved "
        "and still unused cover every visit the plan of care supports" in letter
    )


# --------------------------------------------------------------------------- B4: date typo


def test_a_note_dated_before_the_evaluation_is_a_data_problem_not_the_first_visit(tmp_path):
    """UM acceptance (B4): a daily dated 1/22 for 10/22 became the first visit, the baseline
    window started there, and the approval turned into a pend for a baseline on record."""
    plan = {"poc_start": "2026-10-05", "poc_end": "2026-11-30", "frequency": "2x/week"}
    notes = [
        note("E1", "2026-10-05", "evaluation", "RCR. QuickDASH 61.", **plan),
        note("D1", "2026-10-08", "daily", "PROM flexion 125 with cues per protocol."),
        note("D2", "2026-10-12", "daily", "AAROM wand 3x10 with cues per protocol."),
        note("D3", "2026-10-19", "daily", "Isometrics sub-max 10x5 s per protocol."),
        note("D4", "2026-01-22", "daily", "Scapular retraction 3x12 per protocol."),
        note("D5", "2026-10-26", "daily", "Side-lying ER 3x10 per protocol."),
        note(
            "P1",
            "2026-11-02",
            "progress",
            "QuickDASH 39. Skilled PT for the protocol's strengthening phase because the repair "
            "is at week 11. Continue 2x/week; request 8 visits.",
        ),
    ]
    notes[4]["signed_at"] = "2026-10-22 16:38"
    measures = [
        {"note_id": "E1", "measure": "QuickDASH", "score": 61},
        {"note_id": "P1", "measure": "QuickDASH", "score": 39},
    ]
    goals = [
        {
            "goal_id": "G1",
            "patient_id": PID,
            "note_id": "E1",
            "term": "long",
            "text": "Pt will reduce QuickDASH to 20 or lower by 11/30/2026 to return to work.",
            "status": "progressing",
        }
    ]
    auths = [
        auth(
            "BC-1",
            "approved",
            "2026-10-05",
            10,
            "2026-11-06",
            approved_visits=10,
            start="2026-10-05",
            end="2026-11-06",
        ),
        auth("BC-2", "pending", "2026-11-02", 8, "2026-11-30"),
    ]
    folder = write(tmp_path / "export", notes, measures, goals, auths)
    out = tmp_path / "um"
    console, row = review(folder, out)
    assert row["recommendation"] == "approve" and row["recommended_visits"] == 8
    assert "UM-BASELINE" not in str(row["criteria_failed"])
    assert "left out as date errors (CHK-DATA-01): D4 dated 2026-01-22" in " ".join(console.split())
    page = parse_text(out / "episodes" / f"{EP}.html")
    assert "First visit 2026-10-05 — Evaluation E1" in page
    assert (
        "Daily note D4: dated 2026-01-22 (signed 2026-10-22), before the episode's first "
        "evaluation of 2026-10-05" in page
    )
    # Out of the frequency arithmetic: 6 visits over the 5 calendar weeks from 2026-10-05.
    assert "Frequency delivered 1.2 visits/week over 5 calendar weeks" in page


def test_the_audits_therapist_page_names_the_credential_once(tmp_path):
    """m1: 'Tom Kessler, PT, PT' headed the therapist's page when the export writes the
    credential after the name (the loader reads it from there and keeps the name)."""
    out = tmp_path / "run"
    result = runner.invoke(
        app,
        ["run", str(caregiver_export(tmp_path)), "--out", str(out), "--no-history"],
        catch_exceptions=False,
    )
    assert result.exit_code in (0, 1), result.output
    (page,) = (out / "therapists").glob("*.html")
    heading = parse_text(page)
    assert "Tom Kessler, PT Documentation audit" in heading
    assert "PT, PT" not in heading


def test_redact_pseudonymises_authorization_numbers(tmp_path):
    """m6: payer reference numbers ('MCR-LTG-4460-2') survived --redact verbatim; they embed
    the episode's id, so the episode pseudonym could be linked back."""
    days = ["2026-09-21", "2026-09-24", "2026-10-01", "2026-10-08", "2026-10-13", "2026-10-19"]
    folder = attendance_export(tmp_path, days, "2026-11-06")
    notes = pd.read_csv(folder / "notes.csv")
    notes["payer"] = "UnitedHealthcare Choice Plus"  # a payer that requires authorization
    notes.to_csv(folder / "notes.csv", index=False)
    auths = pd.read_csv(folder / "authorizations.csv")
    auths["auth_id"] = ["MCR-EP-77-1", "MCR-EP-77-2"]
    auths.loc[0, "approved_visits"] = 4  # visits 5 and 6 beyond it: AUTH-VISITS names it
    stray = auths.iloc[[1]].assign(auth_id="MCR-EP-99-1", episode_id="EP-99")
    pd.concat([auths, stray]).to_csv(folder / "authorizations.csv", index=False)
    review_out, run_out = tmp_path / "um", tmp_path / "run"
    result = runner.invoke(app, ["review", str(folder), "--out", str(review_out), "--redact"])
    assert result.exit_code == 0, result.output
    text = all_output_text(review_out) + result.output
    run = runner.invoke(
        app, ["run", str(folder), "--out", str(run_out), "--redact", "--no-history"]
    )
    assert run.exit_code in (0, 1), run.output
    text += all_output_text(run_out) + run.output
    for raw in ("MCR-EP-77-1", "MCR-EP-77-2", "MCR-EP-99-1", "EP-77"):
        assert raw not in text, raw
    # Pseudonyms, not blanks: the reviewer can still tell the requests apart.
    page = parse_text(next((review_out / "episodes").glob("*.html")))
    assert re.search(r"\(authorization A-[0-9A-F]{10}, pending\)", page)
    assert "[auth id]" in all_output_text(run_out)  # the AUTH-VISITS finding's message


def test_review_prints_the_loaders_notices_as_run_does(tmp_path):
    """m3: a misspelled 'Frequncy' column was announced by `run` and `inspect` but not by
    `review`, which silently fell back to the frequency written in the notes."""
    days = ["2026-09-21", "2026-09-24", "2026-10-01", "2026-10-08", "2026-10-13", "2026-10-19"]
    folder = attendance_export(tmp_path, days, "2026-11-06")
    notes = pd.read_csv(folder / "notes.csv").rename(columns={"frequency": "Frequncy"})
    notes.to_csv(folder / "notes.csv", index=False)
    out = tmp_path / "um"
    result = runner.invoke(app, ["review", str(folder), "--out", str(out)])
    assert result.exit_code == 0, result.output
    said = " ".join(result.stderr.split())
    assert "note: notes.csv: column 'Frequncy' is not read; if it holds frequency" in said
    assert "column 'Frequncy' is not read" in parse_text(out / "index.html")


def scored_export(tmp_path: Path, discipline: str, scores: dict[str, list[float]]) -> Path:
    """An evaluation and two progress reports scoring `scores` (instrument: three scores),
    a measurable goal, skilled need stated, 8 visits requested."""
    plan = {"poc_start": "2026-09-15", "poc_end": "2026-12-15", "frequency": "2x/week"}
    notes = [
        note("S0", "2026-09-15", "evaluation", "Evaluation.", "Helen Brandt, CCC-SLP", **plan),
        note(
            "S1",
            "2026-10-13",
            "progress",
            "Skilled SLP needed for aspiration judgement because of a repeat MBS.",
            "Helen Brandt, CCC-SLP",
        ),
        note(
            "S2",
            "2026-11-03",
            "progress",
            "PEG not used for 2 weeks; eating mechanical soft. Skilled SLP needed for aspiration "
            "judgement because of a repeat MBS.",
            "Helen Brandt, CCC-SLP",
        ),
    ]
    days = pd.date_range("2026-09-17", "2026-11-02", freq="W-MON").append(
        pd.date_range("2026-09-17", "2026-11-02", freq="W-THU")
    )
    notes += [
        note(
            f"T{i:02d}",
            f"{day:%Y-%m-%d}",
            "daily",
            f"Effortful swallow 3x10 with cues; chin tuck with {5 + i} mL thin liquid trials.",
            "Helen Brandt, CCC-SLP",
        )
        for i, day in enumerate(sorted(days))
        if f"{day:%Y-%m-%d}" != "2026-10-13"
    ]
    for n in notes:
        n["discipline"] = discipline
    measures = [
        {"note_id": f"S{i}", "measure": name, "score": values[i]}
        for name, values in scores.items()
        for i in range(3)
    ]
    goals = [
        {
            "goal_id": "G1",
            "patient_id": PID,
            "note_id": "S0",
            "term": "long",
            "text": "Pt will tolerate a regular diet with thin liquids without signs of "
            "aspiration in 9/10 meals by 12/15/2026.",
            "status": "progressing",
        }
    ]
    auths = [auth("R-1", "pending", "2026-11-04", 8, "2026-12-04")]
    auths[0]["discipline"] = discipline
    return write(tmp_path / "export", notes, measures, goals, auths)


def test_an_unrecognised_instrument_is_cited_and_the_ask_names_the_instruments(tmp_path):
    """m2: MASA 142 -> 158 -> 171 was on the page but missing from the criterion text and the
    letter; and the letter's 'for a level scale (FOIS, NOMS FCM)' request went to PTs whose
    instruments are Berg and TUG. (MASA is in the instrument table now; SWAL-QOL is not.)"""
    scores = {"FOIS": [3, 4, 5], "SWAL-QOL": [52, 63, 81]}
    out = tmp_path / "um"
    _, row = review(scored_export(tmp_path, "SLP", scores), out)
    assert row["recommendation"] == "pend"
    assert (
        "also documented, not a recognised instrument (no direction, MCID or MDC on file): SWAL-QOL "
        "52 (S0, 2026-09-15) → 81 (S2, 2026-11-03), +29 since baseline" in row["rationale"]
    )
    letter = parse_text(out / "letters" / f"{EP}-request-info.html")
    assert "SWAL-QOL 52 (S0, 2026-09-15) → 81 (S2, 2026-11-03)" in letter
    assert "For FOIS and SWAL-QOL, which have no MCID or MDC on file, describe the functional" in (
        letter
    )


def test_a_pt_scored_on_tug_alone_is_not_asked_about_swallowing_scales(tmp_path):
    out = tmp_path / "um"
    _, row = review(scored_export(tmp_path, "PT", {"TUG": [17.2, 16.4, 16.0]}), out)
    letter = parse_text(out / "letters" / f"{EP}-request-info.html")
    assert "For TUG, which has no MCID or MDC on file" in letter
    assert "FOIS" not in letter and "level scale" not in letter


def test_a_request_of_a_patient_without_notes_says_so(tmp_path):
    """m9: the fix for a request naming an unknown episode said 'or leave it blank to match the
    patient's latest episode', but the patient has no notes in the export at all."""
    days = ["2026-09-21", "2026-09-24", "2026-10-01", "2026-10-08", "2026-10-13", "2026-10-19"]
    folder = attendance_export(tmp_path, days, "2026-11-06")
    auths = pd.read_csv(folder / "authorizations.csv")
    stray = auths.iloc[[1]].assign(auth_id="CG-50990-1", patient_id="55190", episode_id="LTG-4419")
    pd.concat([auths, stray]).to_csv(folder / "authorizations.csv", index=False)
    result = runner.invoke(app, ["review", str(folder), "--out", str(tmp_path / "um")])
    assert result.exit_code == 0, result.output
    said = " ".join(result.stdout.split())
    assert (
        "episode_id 'LTG-4419' is not an episode_id of the notes; the request is not reviewed "
        "against another episode; this patient has no notes in the export" in said
    )
    assert "fix: check that the export holds this patient's notes" in said
    assert "leave it blank" not in said
