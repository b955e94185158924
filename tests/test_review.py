"""UM review engine: criteria, determinations, letters (held-out-style episodes built here)."""

from __future__ import annotations

import copy
import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from chartaudit.checks.episodes import visits_per_week, weekly_frequency
from chartaudit.errors import ChartauditError
from chartaudit.load import from_frames
from chartaudit.review import episode_picture, read_thresholds, review_export
from chartaudit.review.criteria import (
    CRITERION_KINDS,
    CriteriaSet,
    example_frames,
    load_criteria,
    run_criteria,
)
from chartaudit.review.outputs import write_review
from chartaudit.review.policy import load_policy
from chartaudit.review.render import safe_file_names

PATIENTS = {
    "progressing": ("PT-400101", "Alice Brightwater"),
    "goals_met": ("PT-400102", "Bernard Quillfeather"),
    "plateau": ("PT-400103", "Carmen Stillwell"),
    "maintenance": ("PT-400104", "Dorian Keepsake"),
    "no_measures": ("PT-400105", "Evelyn Nomark"),
}
MEASURES = {
    "progressing": ("LEFS", [30, 41, 52]),
    "goals_met": ("LEFS", [40, 62, 74]),
    "plateau": ("LEFS", [50, 51, 52]),
    "maintenance": ("Berg Balance Scale", [40, 41, 41]),
}
MEASURABLE_GOALS = [
    "Pt will ascend and descend 12 stairs with one rail independently within 6 weeks",
    "Pt will walk 1000 ft on level surfaces without an assistive device within 8 weeks",
]
PROGRESS_TEXT = {
    "progressing": "Pt requires skilled PT for stair training and balance progression due to "
    "fall risk. Making good progress toward goals.",
    "goals_met": "All goals met. Pt has returned to prior level of function and is independent "
    "with the home exercise program.",
    "plateau": "Pt requires skilled PT for gait training. LEFS essentially unchanged since the "
    "last report.",
    "maintenance": "Skilled maintenance program to prevent further decline in mobility. "
    "Parkinson disease with orthostatic hypotension makes the program complex; it cannot be "
    "safely carried out by the caregiver and requires the skills of a therapist.",
    "no_measures": "Pt requires skilled PT for gait training with min verbal cues.",
}
# Mondays and Thursdays from the evaluation to the request.
VISIT_DATES = (
    pd.date_range("2026-01-05", "2026-02-26", freq="W-MON")
    .append(pd.date_range("2026-01-05", "2026-02-26", freq="W-THU"))
    .sort_values()
)


def scenario_frames(scenarios=tuple(PATIENTS)) -> dict[str, pd.DataFrame]:
    notes, measures, goals, auths = [], [], [], []
    for k, scenario in enumerate(scenarios):
        pid, name = PATIENTS[scenario]
        ep = f"{pid}-PT-1"
        progress_days = {VISIT_DATES[6], VISIT_DATES[14]}
        for i, day in enumerate(VISIT_DATES):
            nid = f"D{k}{i:02d}"
            note_type = "evaluation" if i == 0 else "progress" if day in progress_days else "daily"
            text = (
                f"{name} reports knee pain with stairs. Plan 2x/week for 8 weeks."
                if i == 0
                else PROGRESS_TEXT[scenario]
                if note_type == "progress"
                else "Ther ex 3x10 sit to stand with min verbal cues for knee alignment; gait "
                "training 200 ft with SBA to improve stair safety."
            )
            notes.append(
                {
                    "note_id": nid,
                    "patient_id": pid,
                    "patient_name": name,
                    "episode_id": ep,
                    "discipline": "PT",
                    "note_type": note_type,
                    "date_of_service": f"{day:%Y-%m-%d}",
                    "therapist": "Dana Reyes",
                    "credential": "DPT",
                    "signed_at": f"{day:%Y-%m-%d} 17:00",
                    "payer": "Blue Cross Blue Shield",
                    "setting": "outpatient",
                    "diagnosis_codes": "M17.11",
                    "frequency": "2x/week" if i == 0 else None,
                    "duration": "8 weeks" if i == 0 else None,
                    "assessment": text,
                }
            )
            if scenario in MEASURES and (i == 0 or day in progress_days):
                instrument, scores = MEASURES[scenario]
                measures.append(
                    {
                        "note_id": nid,
                        "measure": instrument,
                        "score": scores[0 if i == 0 else 1 if day == VISIT_DATES[6] else 2],
                    }
                )
        last_report = f"D{k}14"
        texts = (
            ["Improve strength", "Pt will walk better"]
            if scenario == "no_measures"
            else ["Pt will maintain a Berg score of at least 40 within 8 weeks to limit fall risk"]
            if scenario == "maintenance"
            else MEASURABLE_GOALS
        )
        for j, text in enumerate(texts):
            goals.append(
                {
                    "goal_id": f"G{k}{j}",
                    "patient_id": pid,
                    "note_id": last_report,
                    "term": "long",
                    "text": text,
                    "status": "met"
                    if scenario == "goals_met"
                    else None
                    if scenario == "no_measures"
                    else "progressing",
                }
            )
        auths += [
            {
                "auth_id": f"AUTH-{k}1",
                "patient_id": pid,
                "episode_id": ep,
                "discipline": "PT",
                "status": "approved",
                "request_date": "2026-01-05",
                "requested_visits": 20,
                "approved_visits": 20,
                "start": "2026-01-05",
                "end": "2026-02-28",
            },
            {
                "auth_id": f"AUTH-{k}2",
                "patient_id": pid,
                "episode_id": ep,
                "discipline": "PT",
                "status": "pending",
                "request_date": "2026-03-02",
                "requested_visits": 12,
                "requested_through": "2026-04-30",
            },
        ]
    return {
        "notes": pd.DataFrame(notes),
        "measures": pd.DataFrame(measures),
        "goals": pd.DataFrame(goals),
        "authorizations": pd.DataFrame(auths),
    }


@pytest.fixture(scope="module")
def review():
    export = from_frames(scenario_frames())
    assert export.rejected.empty, export.rejected.to_dict("records")
    return review_export(export)


def _row(review, scenario):
    ep = f"{PATIENTS[scenario][0]}-PT-1"
    return review.determinations.set_index("episode_id").loc[ep]


def test_progressing_episode_is_approved_for_the_visits_requested(review):
    row = _row(review, "progressing")
    assert row["recommendation"] == "approve"
    assert row["recommended_visits"] == 12
    assert row["visits_used"] == len(VISIT_DATES)
    assert "UM-PROGRESS-MCID" in row["rationale"]


def test_goals_met_episode_is_denied_with_a_lower_level_of_care(review):
    row = _row(review, "goals_met")
    assert row["recommendation"] == "deny" or (
        row["recommendation"] == "partial" and row["recommended_visits"] <= 2
    )
    assert row["recommended_visits"] <= 2
    assert "home exercise program" in row["level_of_care"]
    assert "UM-GOALS-REMAINING" in row["criteria_failed"]
    # Every reason the record holds: the report's statement and the goals marked met.
    assert "states that function is at the expected level, and all" in row["rationale"]
    assert "current goals are met" in row["rationale"]


def test_plateau_gets_fewer_visits_than_requested_at_a_lower_frequency(review):
    row = _row(review, "plateau")
    assert row["recommendation"] == "partial"
    assert 0 < row["recommended_visits"] < row["requested_visits"]
    assert "1x/week" in row["level_of_care"]
    assert "UM-PLATEAU" in row["criteria_failed"]


def test_plateau_with_documented_skilled_maintenance_is_never_denied(review):
    row = _row(review, "maintenance")
    assert row["recommendation"] in ("approve", "partial")
    assert "maintenance" in row["rationale"] and "reviewer to confirm" in row["rationale"]


def test_no_measures_and_unmeasurable_goals_pend_for_exactly_what_is_missing(review):
    row = _row(review, "no_measures")
    assert row["recommendation"] == "pend"
    ep = f"{PATIENTS['no_measures'][0]}-PT-1"
    assert review.decisions.loc[ep, "request_ids"] == [
        "UM-BASELINE",
        "UM-REMEASURED",
        "UM-GOALS-MEASURABLE",
    ]
    assert pd.isna(row["recommended_visits"])


def test_maintenance_guard_overrides_a_policy_that_would_deny(tmp_path):
    # A policy that denies every episode: the one with a documented maintenance need must not be.
    policy = tmp_path / "deny-all.yaml"
    policy.write_text(
        "policy: deny-all\ntitle: t\nversion: '1'\nrules:\n"
        "  - {id: deny-everything, recommend: deny, level_of_care: discharge, reason: deny all}\n",
        encoding="utf-8",
    )
    export = from_frames(scenario_frames(("maintenance", "plateau")))
    result = review_export(export, policy=policy)
    by_ep = result.determinations.set_index("episode_id")["recommendation"]
    assert by_ep[f"{PATIENTS['maintenance'][0]}-PT-1"] == "approve"
    assert by_ep[f"{PATIENTS['plateau'][0]}-PT-1"] == "deny"


def test_every_criterion_result_cites_note_ids_and_dates(review):
    r = review.results
    assert len(r) == 5 * len(review.criteria.items)
    for ids, dates in zip(r["note_ids"], r["dates"], strict=True):
        assert ids and len(ids) == len(dates)
        assert all(re.fullmatch(r"D\d+", i) for i in ids)
        assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", d) for d in dates)


def test_progress_is_direction_aware_lower_is_better():
    frames = scenario_frames(("progressing",))
    frames["measures"]["measure"] = "ODI"
    frames["measures"]["score"] = [48, 36, 24]  # falling disability = improvement
    result = review_export(from_frames(frames), audit=False)
    status = result.results.set_index("criterion_id")["status"]
    assert status["UM-PROGRESS-MCID"] == "met"
    frames["measures"]["score"] = [24, 36, 48]
    worse = review_export(from_frames(frames), audit=False)
    assert worse.results.set_index("criterion_id").loc["UM-PROGRESS-MCID", "status"] == "not_met"


def test_threshold_override_changes_the_mcid(tmp_path):
    csv = tmp_path / "thresholds.csv"
    csv.write_text(
        "instrument,aliases,direction,mcid,mdc\nLEFS,LEFS,higher_better,30,30\n", encoding="utf-8"
    )
    export = from_frames(scenario_frames(("progressing",)))
    result = review_export(export, thresholds=csv, audit=False)
    status = result.results.set_index("criterion_id")["status"]
    assert status["UM-PROGRESS-MCID"] == "not_met"  # +22 is below an MCID of 30
    table = read_thresholds(csv)
    assert {"ODI", "Berg", "LEFS"} <= set(table["instrument"])  # the others are kept
    assert table.loc[table["instrument"] == "LEFS", "mcid"].tolist() == [30]


def test_no_authorizations_and_no_episode_is_an_error():
    frames = scenario_frames(("progressing",))
    del frames["authorizations"]
    with pytest.raises(ChartauditError, match="--episode"):
        review_export(from_frames(frames))


def test_episode_option_reviews_an_episode_without_a_request():
    frames = scenario_frames(("progressing", "plateau"))
    frames["authorizations"] = frames["authorizations"][
        frames["authorizations"]["status"] == "approved"
    ]
    export = from_frames(frames)
    result = review_export(export, episodes=[f"{PATIENTS['plateau'][0]}-PT-1"])
    assert result.determinations["episode_id"].tolist() == [f"{PATIENTS['plateau'][0]}-PT-1"]
    with pytest.raises(ChartauditError, match="not an episode id"):
        review_export(export, episodes=["nope"])


FREQUENCY_PHRASINGS = {
    "2x/week": (2, 2),
    "2x/week x 6 weeks": (2, 2),
    "2-3x/wk": (2, 3),
    "2–3 times per week for 8 weeks": (2, 3),
    "3 times a week for 4 weeks": (3, 3),
    "3X/WEEK": (3, 3),
    "Frequency: 2x/wk x 8 wks": (2, 2),
    "2 visits a week": (2, 2),
    "1-2 sessions each week": (1, 2),
    "twice weekly": (2, 2),
    "Twice a week for 6 weeks": (2, 2),
    "two to three times a week": (2, 3),
    "six times a week": (6, 6),
    "BIW": (2, 2),
    "TIW x 4 wks": (3, 3),
}


def test_frequency_text_is_parsed():
    text = pd.Series([*FREQUENCY_PHRASINGS, "daily", "as needed"])
    parsed = weekly_frequency(text)
    expected = list(FREQUENCY_PHRASINGS.values())
    assert list(zip(parsed["low"], parsed["high"], strict=True))[:-2] == expected
    assert parsed.iloc[-2:][["low", "high"]].isna().all().all()


@pytest.mark.parametrize("text", list(FREQUENCY_PHRASINGS))
def test_the_audit_and_the_review_read_the_same_frequency(text):
    """The audit's frequency check and the review's plan frequency parse one text one way."""
    frames = scenario_frames(("progressing",))
    frames["notes"].loc[0, "frequency"] = text
    picture, _ = episode_picture(from_frames(frames), audit=False)
    audit_rate = visits_per_week(pd.Series([text])).iat[0]
    assert picture.episodes["planned_high"].iat[0] == audit_rate == FREQUENCY_PHRASINGS[text][1]
    assert picture.episodes["planned_low"].iat[0] == FREQUENCY_PHRASINGS[text][0]


def test_file_names_from_episode_ids_stay_inside_their_folder():
    names = safe_file_names(pd.Series(["../../etc/passwd", "a/b", "a:b", "", ".hidden"]))
    assert all("/" not in n and not n.startswith(".") for n in names)
    assert len(set(names)) == len(names)
    # Windows device names, reserved whatever follows the first dot.
    reserved = safe_file_names(pd.Series(["CON", "aux.1", "LPT9", "CONTROL"])).tolist()
    assert reserved == ["CON_episode", "aux_episode.1", "LPT9_episode", "CONTROL"]


# --------------------------------------------------------------------------- criteria file

CRITERIA = load_criteria()
CASES = [
    pytest.param(item, kind, n, id=f"{item.id}-{kind}{n}")
    for item in CRITERIA.items
    for kind in ("bad", "good")
    for n in range(len(item.examples[kind]))
]


@pytest.mark.parametrize(("item", "kind", "n"), CASES)
def test_criterion_example(item, kind, n):
    frames = {
        t: pd.DataFrame(rows) for t, rows in example_frames(item, item.examples[kind][n]).items()
    }
    export = from_frames(frames, source=f"{item.id} example")
    assert export.rejected.empty, export.rejected.to_dict("records")
    picture, _ = episode_picture(export, audit=item.check == "documentation_compliance")
    result = run_criteria(picture, CriteriaSet("one", "one", "1", [item]))
    status = result["status"].tolist()
    assert result["note_ids"].map(len).gt(0).all()
    if kind == "bad":
        assert "not_met" in status, result[["status", "message"]].to_dict("records")
    else:
        assert "not_met" not in status and "met" in status, result[["status", "message"]].to_dict(
            "records"
        )


def test_every_criterion_is_documented_and_every_kind_is_used():
    for item in CRITERIA.items:
        for field in ("title", "why", "fix", "reference"):
            assert len(getattr(item, field)) >= 10, (item.id, field)
    assert {i.check for i in CRITERIA.items} == set(CRITERION_KINDS)
    assert {
        "UM-BASELINE",
        "UM-REMEASURED",
        "UM-PROGRESS-MCID",
        "UM-GOALS-MEASURABLE",
        "UM-GOALS-REMAINING",
        "UM-SKILLED-NEED",
        "UM-MAINTENANCE",
        "UM-SELF-MANAGEMENT",
        "UM-PLATEAU",
        "UM-DOC-COMPLIANCE",
        "UM-UTILIZATION",
        "UM-FREQUENCY",
        "UM-ATTENDANCE",
    } == set(CRITERIA.ids)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("criteria: x\ntitle: t\nversion: '1'\nitems: []\nextra: 1\n", 'unknown key "extra"'),
        (
            "criteria: x\ntitle: t\nversion: '1'\nextends: [um-outpatient]\n"
            "overrides: {UM-PLATEAU: {params: {periods: two}}}\n",
            'param "periods" of check "plateau" must be int',
        ),
        (
            "criteria: x\ntitle: t\nversion: '1'\nitems:\n  - {id: X-1, title: t, severity: high, "
            "check: nope, why: w, fix: f, reference: r, examples: {bad: [], good: []}}\n",
            'criterion X-1: unknown check kind "nope"',
        ),
    ],
)
def test_criteria_files_are_validated_strictly(tmp_path, text, message):
    path = tmp_path / "mine.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ChartauditError) as exc:
        load_criteria(str(path))
    assert message in exc.value.message and str(path) in exc.value.message


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("{id: r1, recommend: maybe}", "rule r1: field \"recommend\": 'maybe' is not"),
        (
            "{id: r2, recommend: pend, when: {sometimes: {UM-BASELINE: met}}}",
            'rule r2: unknown condition "sometimes"',
        ),
        (
            "{id: r3, recommend: pend, when: {all: {UM-NOPE: met}}}",
            'rule r3: when.all: unknown criterion "UM-NOPE"',
        ),
        (
            "{id: r4, recommend: pend, when: {all: {UM-BASELINE: great}}}",
            "rule r4: when.all.UM-BASELINE: unknown status 'great'",
        ),
        (
            "{id: r5, recommend: deny, visits: 6}",
            'rule r5: field "visits": a deny allows at most 2',
        ),
        ("{id: r6, recommend: approve, colour: red}", 'rule r6: unknown key "colour"'),
    ],
)
def test_policy_files_are_validated_strictly(tmp_path, rule, message):
    path = tmp_path / "policy.yaml"
    path.write_text(f"policy: p\ntitle: t\nversion: '1'\nrules:\n  - {rule}\n", encoding="utf-8")
    with pytest.raises(ChartauditError) as exc:
        load_policy(path, CRITERIA)
    assert message in exc.value.message and str(path) in exc.value.message


def test_maintenance_guard_cannot_deny(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text(
        "policy: p\ntitle: t\nversion: '1'\nmaintenance_guard: {recommend: deny, visits: 0}\n"
        "rules:\n  - {id: r, recommend: pend}\n",
        encoding="utf-8",
    )
    with pytest.raises(ChartauditError, match="maintenance_guard: recommend must be approve"):
        load_policy(path, CRITERIA)


# --------------------------------------------------------------------------- pages and letters


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.rows: list[list[str]] = []
        self._row: list[str] | None = None
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self._row = []
        for k, v in attrs:
            if k in ("href", "src") and v:
                self.urls.append(v)

    def handle_endtag(self, tag):
        if tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None

    def handle_data(self, data):
        self.parts.append(data)
        if self._row is not None and data.strip():
            self._row.append(data.strip())

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.parts).split())


def parse(path: Path) -> _Text:
    p = _Text()
    p.feed(path.read_text(encoding="utf-8"))
    return p


@pytest.fixture(scope="module")
def written(review, tmp_path_factory):
    out = tmp_path_factory.mktemp("review")
    paths, views = write_review(review, out, reviewer="Jordan Lee, PT, DPT")
    return out, paths


def test_episode_page_shows_every_criterion_with_its_evidence(review, written):
    out, _ = written
    ep = f"{PATIENTS['progressing'][0]}-PT-1"
    page = parse(out / "episodes" / f"{ep}.html")
    criterion_rows = [r for r in page.rows if r and r[0].startswith("UM-")]
    assert {r[0] for r in criterion_rows} == set(CRITERIA.ids)
    for r in criterion_rows:
        assert any(re.search(r"D\d+, \d{4}-\d{2}-\d{2}", cell) for cell in r), r
    html = (out / "episodes" / f"{ep}.html").read_text(encoding="utf-8")
    assert "<svg" in html and "MCID 9" in html
    assert not [u for u in page.urls if u.startswith(("http:", "https:", "//"))]


def test_only_a_pended_episode_gets_a_request_for_information(review, written):
    """A request letter says no determination has been made: beside a determination letter
    (the goals-met episode is denied, with the skilled need not shown) it would contradict it."""
    out, _ = written
    letters = {p.name for p in (out / "letters").iterdir()}
    for ep, rec in review.determinations.set_index("episode_id")["recommendation"].items():
        assert (f"{ep}-request-info.html" in letters) == (rec == "pend"), (ep, rec)
        assert (f"{ep}-determination.html" in letters) == (rec != "pend"), (ep, rec)


def test_unmeasurable_goals_are_listed_once_on_the_episode_page(written):
    out, _ = written
    ep = f"{PATIENTS['no_measures'][0]}-PT-1"
    row = next(
        r
        for r in parse(out / "episodes" / f"{ep}.html").rows
        if r and r[0].startswith("UM-GOALS-MEASURABLE")
    )
    text = " ".join(row)
    goals = re.findall(r"“([^“”]+)” \(", text)
    assert goals and len(goals) == len(set(goals)), text


def test_request_letter_names_exactly_what_is_missing(written):
    out, _ = written
    ep = f"{PATIENTS['no_measures'][0]}-PT-1"
    text = parse(out / "letters" / f"{ep}-request-info.html").text
    for title in (
        "Baseline standardized outcome measure",
        "baseline instrument re-measured",
        "Goals are measurable",
    ):
        assert title.lower() in text.lower()
    assert "skills are still needed" not in text
    assert "Improve strength" in text and "Dana Reyes" in text
    assert not (out / "letters" / f"{ep}-determination.html").exists()


def test_determination_letter_has_reason_signature_and_appeal_placeholder(written):
    out, _ = written
    ep = f"{PATIENTS['plateau'][0]}-PT-1"
    text = parse(out / "letters" / f"{ep}-determination.html").text
    assert "UM-PLATEAU" in text and "LEFS" in text
    assert "Jordan Lee, PT, DPT" in text
    assert (
        "[Insert the appeal-rights text from the official notice (e.g. CMS-10003 for Medicare "
        "Advantage)]" in text
    )
    assert "made by the reviewing clinician" in text


def test_justification_letter_flags_what_the_record_does_not_support(written):
    out, _ = written
    plateau = parse(out / "letters" / f"{PATIENTS['plateau'][0]}-PT-1-justification.html").text
    assert "What the record does not yet support" in plateau and "UM-PLATEAU" not in plateau
    assert "No plateau" in plateau
    progressing = parse(
        out / "letters" / f"{PATIENTS['progressing'][0]}-PT-1-justification.html"
    ).text
    assert "30 on 2026-01-05 → 52" in progressing and "MCID 9" in progressing


def test_determinations_workbook_keeps_text_as_text(tmp_path):
    from openpyxl import load_workbook

    frames = scenario_frames(("progressing",))
    frames["notes"]["therapist"] = '=HYPERLINK("http://x")'
    result = review_export(from_frames(frames), audit=False)
    write_review(result, tmp_path)
    ws = load_workbook(tmp_path / "determinations.xlsx")["Determinations"]
    header = [c.value for c in ws[1]]
    assert header == [
        "episode_id",
        "patient_id",
        "discipline",
        "therapist",
        "requested_visits",
        "visits_used",
        "recommendation",
        "recommended_visits",
        "level_of_care",
        "criteria_failed",
        "rationale",
    ]
    cell = ws.cell(row=2, column=4)
    assert cell.data_type == "s" and cell.value.startswith("=HYPERLINK")
    csv = (tmp_path / "determinations.csv").read_text(encoding="utf-8-sig")
    assert "'=HYPERLINK" in csv


def test_export_text_is_escaped_in_pages_and_letters(tmp_path):
    frames = scenario_frames(("no_measures",))
    frames["goals"].loc[0, "text"] = "<script>alert(1)</script> Improve strength"
    result = review_export(from_frames(frames), audit=False)
    write_review(result, tmp_path)
    for page in tmp_path.rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        assert "<script" not in html, page.name
    letter = next((tmp_path / "letters").glob("*-request-info.html")).read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Improve strength" in letter


@pytest.mark.parametrize(("change", "status"), [("cumulative", "met"), ("each_period", "not_met")])
def test_plateau_window_is_configurable(change, status):
    # Berg 43 -> 47 -> 48: +5 over two periods equals the MDC (5 for a baseline of 35-44),
    # but neither period alone reaches it.
    frames = scenario_frames(("maintenance",))
    frames["measures"]["score"] = [43, 47, 48]
    picture, _ = episode_picture(from_frames(frames), audit=False)
    item = copy.deepcopy(CRITERIA.get("UM-PLATEAU"))
    item.params["change"] = change
    result = run_criteria(picture, CriteriaSet("one", "one", "1", [item]))
    assert result["status"].tolist() == [status]
    assert "MDC 5" in result["message"].iat[0]


def test_a_bare_export_is_reviewed_without_measures_goals_or_request_counts(tmp_path):
    # Only notes and an open request with no visit count: everything degrades to
    # not_evaluable / not_met with evidence, nothing crashes, the letters still render.
    notes = pd.DataFrame(
        [
            {
                "note_id": "X1",
                "patient_id": "MRN-7",
                "discipline": "OT",
                "note_type": "daily",
                "date_of_service": "2026-05-04",
                "therapist": "Sam Lee",
                "credential": "COTA",
            },
            {
                "note_id": "X2",
                "patient_id": "MRN-7",
                "discipline": "OT",
                "note_type": "daily",
                "date_of_service": "2026-05-06",
                "therapist": "Sam Lee",
                "credential": "COTA",
            },
        ]
    )
    auths = pd.DataFrame([{"patient_id": "MRN-7", "status": "submitted"}])
    result = review_export(from_frames({"notes": notes, "authorizations": auths}))
    row = result.determinations.iloc[0]
    assert row["recommendation"] == "pend"
    assert pd.isna(row["requested_visits"]) and row["visits_used"] == 2
    assert result.results["note_ids"].map(len).gt(0).all()
    paths, _ = write_review(result, tmp_path)
    assert any(p.name.endswith("-request-info.html") for p in paths)


def test_a_quoted_sentence_cut_to_length_says_so():
    from chartaudit.review.kinds import MAX_EXCERPT, _sentence

    long = "Skilled care is needed because " + "the program cannot be done safely " * 20 + "alone."
    short = "Skilled care is needed for gait."
    out = _sentence(pd.Series([long, short]), [r"skilled care"])
    assert len(out[0]) == MAX_EXCERPT and out[0].endswith("…")
    assert out[1] == short


def test_redaction_masks_a_name_that_is_a_word_without_touching_criterion_ids():
    from chartaudit.privacy import Redactor
    from chartaudit.review.render import build_views

    frames = scenario_frames(("progressing",))
    frames["notes"]["patient_name"] = "Rita Progress"
    frames["notes"].loc[0, "note_text"] = "Rita Progress reports less pain; progress exercises."
    export = from_frames(frames)
    views = build_views(review_export(export), Redactor("k", export.notes))
    rationale = views.determinations["rationale"].iloc[0]
    assert "Evidence: UM-PROGRESS-MCID: LEFS 30" in rationale
    text = " ".join(views.results["message"].astype(str)) + rationale
    assert "Rita" not in text and "Progress " not in text.replace("UM-PROGRESS-", "")
