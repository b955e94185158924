"""`chartaudit review` through the CLI: outputs, --episode, --redact, errors and exit codes."""

from __future__ import annotations

import html as html_lib
import re
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from chartaudit.cli import app
from test_review import PATIENTS, scenario_frames

runner = CliRunner()


def squash(text: str) -> str:
    """Console output without the line wrapping rich adds."""
    return re.sub(r"\s+", "", text)


def write_export(folder: Path, frames: dict[str, pd.DataFrame]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for table, frame in frames.items():
        frame.to_csv(folder / f"{table}.csv", index=False)
    return folder


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory) -> Path:
    frames = scenario_frames()
    # Patient names inside the narrative, where excerpts are taken from.
    names = frames["notes"]["patient_name"]
    frames["notes"]["assessment"] = (
        names + " requires skilled cueing for safety; " + frames["notes"]["assessment"]
    )
    # Note ids that embed the patient id, as some EMRs write them.
    notes = frames["notes"]
    new_id = dict(zip(notes["note_id"], notes["patient_id"] + "/" + notes["note_id"], strict=True))
    for table in ("notes", "measures", "goals"):
        frames[table]["note_id"] = frames[table]["note_id"].map(new_id)
    return write_export(tmp_path_factory.mktemp("export"), frames)


def all_output_text(folder: Path) -> str:
    parts = []
    for path in folder.rglob("*"):
        if path.suffix == ".xlsx":
            with zipfile.ZipFile(path) as z:
                parts += [z.read(n).decode("utf-8") for n in z.namelist()]
        elif path.is_file():
            parts.append(path.name)
            parts.append(path.read_text(encoding="utf-8-sig"))
        else:
            parts.append(path.name)
    return "\n".join(parts)


def test_review_writes_determinations_pages_and_letters(export_dir, tmp_path):
    out = tmp_path / "um"
    result = runner.invoke(app, ["review", str(export_dir), "--out", str(out)])
    assert result.exit_code == 0, result.output
    dets = pd.read_csv(out / "determinations.csv", encoding="utf-8-sig")
    assert list(dets.columns) == [
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
    by_ep = dets.set_index("episode_id")["recommendation"]
    assert by_ep[f"{PATIENTS['progressing'][0]}-PT-1"] == "approve"
    assert by_ep[f"{PATIENTS['no_measures'][0]}-PT-1"] == "pend"
    assert len(list((out / "episodes").glob("*.html"))) == 5
    assert (out / "letters" / f"{PATIENTS['no_measures'][0]}-PT-1-request-info.html").exists()
    assert (out / "letters" / f"{PATIENTS['plateau'][0]}-PT-1-determination.html").exists()
    assert len(list((out / "letters").glob("*-justification.html"))) == 5
    assert "Recommended determinations" in result.stdout
    assert "2 approve, 1 partial, 1 deny, 1 pend" in " ".join(result.stdout.split())
    for page in out.rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        assert "http://" not in html and "https://" not in html and "<script" not in html


def test_episode_option_limits_the_review(export_dir, tmp_path):
    ep = f"{PATIENTS['plateau'][0]}-PT-1"
    out = tmp_path / "one"
    result = runner.invoke(app, ["review", str(export_dir), "--out", str(out), "--episode", ep])
    assert result.exit_code == 0, result.output
    dets = pd.read_csv(out / "determinations.csv", encoding="utf-8-sig")
    assert dets["episode_id"].tolist() == [ep]
    assert [p.name for p in (out / "episodes").iterdir()] == [f"{ep}.html"]


def test_redact_leaves_no_patient_id_or_name_in_any_output(export_dir, tmp_path):
    out = tmp_path / "redacted"
    result = runner.invoke(
        app, ["review", str(export_dir), "--out", str(out), "--redact", "--reviewer", "J. Lee, PT"]
    )
    assert result.exit_code == 0, result.output
    text = all_output_text(out) + result.stdout
    for pid, name in PATIENTS.values():
        assert pid not in text
        for word in name.split():
            assert word not in text, word
    dets = pd.read_csv(out / "determinations.csv", encoding="utf-8-sig")
    assert dets["patient_id"].str.match(r"P-[0-9A-F]{10}$").all()
    assert dets["episode_id"].str.match(r"E-[0-9A-F]{10}$").all()
    assert sorted(p.stem for p in (out / "episodes").iterdir()) == sorted(dets["episode_id"])
    # Masked, not dropped: the excerpt is still there with the name replaced.
    assert "[patient]" in text


def test_missing_authorizations_exit_2_with_the_fix(tmp_path):
    frames = scenario_frames(("progressing",))
    del frames["authorizations"]
    folder = write_export(tmp_path / "noauth", frames)
    result = runner.invoke(app, ["review", str(folder), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert squash("no authorizations table") in squash(result.output)
    assert "--episode" in result.output
    assert not (tmp_path / "o").exists()


def test_bad_policy_exit_2_naming_file_and_rule(export_dir, tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "policy: p\ntitle: t\nversion: '1'\nrules:\n  - {id: too-kind, recommend: approve, "
        "when: {all: {UM-NOTHING: met}}}\n",
        encoding="utf-8",
    )
    result = runner.invoke(
        app, ["review", str(export_dir), "--out", str(tmp_path / "o"), "--policy", str(policy)]
    )
    assert result.exit_code == 2
    assert squash(f"{policy}: rule too-kind") in squash(result.output)
    assert "UM-NOTHING" in result.output


def test_unknown_episode_and_bad_thresholds_exit_2(export_dir, tmp_path):
    result = runner.invoke(app, ["review", str(export_dir), "--episode", "nope"])
    assert result.exit_code == 2 and squash("not an episode id") in squash(result.output)
    assert squash("--episode #1 ('nope') is not an episode id") in squash(result.output)
    csv = tmp_path / "t.csv"
    csv.write_text("instrument,direction,mcid,mdc\nLEFS,upwards,9,9\n", encoding="utf-8")
    result = runner.invoke(
        app, ["review", str(export_dir), "--out", str(tmp_path / "o"), "--thresholds", str(csv)]
    )
    assert result.exit_code == 2
    assert squash("t.csv, row 2: direction") in squash(result.output)


# --------------------------------------------------------------------------- nothing lost


def three_episodes(tmp_path: Path, name: str, change) -> tuple[Path, pd.DataFrame]:
    """An export of three episodes (progressing, plateau, goals met) whose authorizations
    `change(frame)` edits before they are written; the authorizations as written."""
    frames = scenario_frames(("progressing", "plateau", "goals_met"))
    auths = frames["authorizations"].astype(object)
    change(auths)
    frames["authorizations"] = auths
    return write_export(tmp_path / name, frames), auths


def test_a_request_rejected_at_load_is_listed_counted_and_in_rejected_csv(tmp_path):
    plateau_ep = f"{PATIENTS['plateau'][0]}-PT-1"

    def no_patient(auths):
        auths.loc[3, "patient_id"] = None  # the plateau episode's pending request

    folder, auths = three_episodes(tmp_path, "nopatient", no_patient)
    auth = auths.loc[3, "auth_id"]
    out = tmp_path / "um"
    result, _ = reviewed(folder, out)
    text = squash(result.stdout)
    # Every authorization row accounted for: 6 read = 2 reviewed + 1 rejected + 3 decided.
    assert (
        squash(
            "Authorization rows read 6 = 2 request(s) reviewed + 1 rejected at load (not reviewed) "
            "+ 3 already decided (approved, denied or closed)"
        )
        in text
    )
    assert squash("rejected 1 (see rejected.csv)") in text
    # The row itself: file, row, column, reason and fix.
    assert (
        squash(
            f"authorizations.csv row 5 ({auth}), column patient_id: rejected at load: "
            "missing patient_id"
        )
        in text
    )
    assert squash("fix: fill in patient_id on this row") in text
    assert "not reviewed" in result.stderr
    dets = pd.read_csv(out / "determinations.csv", encoding="utf-8-sig")
    assert plateau_ep not in set(dets["episode_id"]) and len(dets) == 2
    rejected = pd.read_csv(out / "rejected.csv", encoding="utf-8-sig")
    assert rejected[["file", "row", "table"]].values.tolist() == [
        ["authorizations.csv", 5, "authorizations"]
    ]
    listed = pd.read_csv(out / "not-reviewed.csv", encoding="utf-8-sig")
    assert list(listed.columns) == ["file", "row", "auth_id", "column", "reason", "fix"]
    assert listed[["file", "row", "column"]].values.tolist() == [
        ["authorizations.csv", 5, "patient_id"]
    ]
    # The request is named by its id, as the user's authorization system knows it.
    assert listed["auth_id"].tolist() == [auth]
    assert list(rejected.columns) == ["file", "row", "table", "reason"]  # as SPEC has it
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "Requests not reviewed (1)" in index and "missing patient_id" in index


def test_a_request_whose_date_or_visits_cannot_be_read_is_not_reviewed_on_a_blank(tmp_path):
    """request_date is optional, so a row with "2026-31-02" is loaded (it was rejected): the
    request is still left out of the review, named with its column, value and fix, and not
    reviewed as if it had no date."""
    plateau_ep = f"{PATIENTS['plateau'][0]}-PT-1"
    progressing_ep = f"{PATIENTS['progressing'][0]}-PT-1"

    def unreadable(auths):
        auths.loc[3, "request_date"] = "2026-31-02"  # the plateau episode's pending request
        auths.loc[1, "requested_visits"] = "twelve"  # the progressing episode's

    folder, auths = three_episodes(tmp_path, "unreadable", unreadable)
    notes = pd.read_csv(folder / "notes.csv", dtype=str, keep_default_na=False)
    notes.loc[0, "signed_at"] = "2026-13-45"
    notes.to_csv(folder / "notes.csv", index=False)
    out = tmp_path / "um"
    result, dets = reviewed(folder, out)
    # A note's value that could not be read is named for the reviewer too.
    assert squash(
        "notes.csv: 1 row has a signed_at value that could not be read as a date: "
        "'2026-13-45' (1), row 2"
    ) in squash(result.stderr)
    text = squash(result.stdout)
    assert squash("Rows read") in text and squash("rejected 0") in text
    assert (
        squash(
            "Authorization rows read 6 = 1 request(s) reviewed + 2 open request(s) not reviewed "
            "+ 3 already decided (approved, denied or closed)"
        )
        in text
    )
    assert (
        squash(
            f"authorizations.csv row 5 ({auths.loc[3, 'auth_id']}), column request_date: "
            "request_date '2026-31-02' could not be read as a date, so the row is left out of "
            "the review"
        )
        in text
    )
    assert squash("fix: write it as YYYY-MM-DD or MM/DD/YYYY") in text
    assert squash("fix: write requested_visits as a whole number of visits, e.g. 12") in text
    assert {plateau_ep, progressing_ep}.isdisjoint(dets["episode_id"]) and len(dets) == 1
    listed = pd.read_csv(out / "not-reviewed.csv", encoding="utf-8-sig")
    assert listed[["file", "row", "column"]].values.tolist() == [
        ["authorizations.csv", 3, "requested_visits"],
        ["authorizations.csv", 5, "request_date"],
    ]
    rejected = pd.read_csv(out / "rejected.csv", encoding="utf-8-sig")
    assert rejected.empty


def test_a_request_for_an_unknown_episode_is_not_reviewed_against_another(tmp_path):
    plateau_ep = f"{PATIENTS['plateau'][0]}-PT-1"

    def unknown_episode(auths):
        auths.loc[3, "episode_id"] = "EP-NOPE"  # the plateau patient's pending request

    folder, _ = three_episodes(tmp_path, "unknown", unknown_episode)
    out = tmp_path / "um"
    result, dets = reviewed(folder, out)
    # Not silently reviewed as the patient's latest episode.
    assert plateau_ep not in set(dets["episode_id"])
    text = squash(result.stdout)
    assert (
        squash(
            "authorizations.csv row 5 (AUTH-12), column episode_id: episode_id 'EP-NOPE' is not an "
            "episode_id of the notes; the request is not reviewed against another episode"
        )
        in text
    )
    assert squash("fix: correct episode_id to the id this episode of care has in the notes") in text
    assert squash("1 open request(s) not reviewed") in text
    listed = pd.read_csv(out / "not-reviewed.csv", encoding="utf-8-sig")
    assert listed[["row", "auth_id", "column"]].values.tolist() == [[5, "AUTH-12", "episode_id"]]


def test_a_blank_episode_id_still_matches_the_patients_episode(tmp_path):
    plateau_ep = f"{PATIENTS['plateau'][0]}-PT-1"

    def blank_episode(auths):
        auths["episode_id"] = None

    folder, _ = three_episodes(tmp_path, "blank", blank_episode)
    out = tmp_path / "um"
    result, dets = reviewed(folder, out)
    assert plateau_ep in set(dets["episode_id"]) and len(dets) == 3
    assert "not reviewed" not in result.output


def test_a_request_without_its_number_of_visits_pends_for_it(tmp_path):
    progressing_ep = f"{PATIENTS['progressing'][0]}-PT-1"

    def blank_visits(auths):
        auths.loc[1, "requested_visits"] = None  # the progressing episode's pending request

    folder, _ = three_episodes(tmp_path, "blankvisits", blank_visits)
    out = tmp_path / "um"
    result, dets = reviewed(folder, out)
    dets = dets.set_index("episode_id")
    # Reviewed (the criteria support approval) but no number can be approved: pend for it.
    assert dets.loc[progressing_ep, "recommendation"] == "pend"
    assert "number of visits requested is not on file" in dets.loc[progressing_ep, "rationale"]
    assert "would support approval" in dets.loc[progressing_ep, "rationale"]
    assert squash("authorizations.csv row 3 (AUTH-02): requested_visits is blank") in squash(
        result.stderr
    )
    letter = (out / "letters" / f"{progressing_ep}-request-info.html").read_text(encoding="utf-8")
    assert "Number of visits requested" in letter and "AUTH-02" in letter
    assert not (out / "letters" / f"{progressing_ep}-determination.html").exists()
    for page in (
        out / "episodes" / f"{progressing_ep}.html",
        out / "letters" / f"{progressing_ep}-request-info.html",
    ):
        html = page.read_text(encoding="utf-8")
        assert "? visit" not in html and "number requested not on file" in html
    assert "not on" in result.stdout  # the Requested column (wrapped at 80 columns)


def test_a_missing_requested_visits_column_is_named_with_the_mapping_key(tmp_path):
    def drop_column(auths):
        del auths["requested_visits"]

    folder, _ = three_episodes(tmp_path, "nocolumn", drop_column)
    out = tmp_path / "um"
    result, _ = reviewed(folder, out)
    assert squash(
        "authorizations.csv: no requested_visits column, so the number of visits requested is "
        "not known for any request"
    ) in squash(result.stderr)
    assert squash('tables.authorizations.columns: {requested_visits: "Your Column"}') in squash(
        result.stderr
    )
    dets = pd.read_csv(out / "determinations.csv", encoding="utf-8-sig")
    assert set(dets["recommendation"]) <= {"pend", "deny"}
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "no requested_visits column" in index


# --------------------------------------------------------------------------- plan of care


def planned_export(tmp_path: Path, name: str, recert: dict) -> Path:
    """The progressing episode (request: 12 visits 2026-03-02 through 2026-04-30) with a plan
    of care at 2x/week to 2026-04-30 set at the evaluation and a newer one (`recert`) set at
    the second progress report."""
    frames = scenario_frames(("progressing",))
    notes = frames["notes"]
    for col in ("poc_start", "poc_end"):
        notes[col] = None
    evaluation = notes.index[notes["note_type"] == "evaluation"][0]
    notes.loc[evaluation, ["poc_start", "poc_end", "frequency", "duration"]] = [
        "2026-01-05",
        "2026-04-30",
        "2x/week",
        "16 weeks",
    ]
    second_report = notes.index[notes["note_type"] == "progress"][-1]
    for col, value in recert.items():
        notes.loc[second_report, col] = value
    return write_export(tmp_path / name, frames)


def test_a_request_beyond_the_newest_plan_is_approved_in_part_and_flagged(tmp_path):
    ep = f"{PATIENTS['progressing'][0]}-PT-1"
    folder = planned_export(
        tmp_path,
        "beyond",
        {
            "poc_start": "2026-03-01",
            "poc_end": "2026-03-28",
            "frequency": "1x/week",
            "duration": "4 weeks",
        },
    )
    out = tmp_path / "um"
    result, dets = reviewed(folder, out)
    row = dets.iloc[0]
    # The newest plan (1x/week to 2026-03-28), not the evaluation's 2x/week to 2026-04-30:
    # 2026-03-02 to 2026-03-28 is 27 days, 4 visits at 1x/week.
    assert row["recommendation"] == "partial" and row["recommended_visits"] == 4
    assert "UM-FREQUENCY" in row["criteria_failed"]
    assert row["rationale"].startswith("[recertification needed]")
    assert (
        "supports 4 visit(s) from 2026-03-02 to 2026-03-28: 8 more than the plan supports"
        in (row["rationale"])
    )
    assert "runs past the plan's end 2026-03-28" in row["rationale"]
    letter = parse_text(out / "letters" / f"{ep}-determination.html")
    assert "Of the 12 visit(s) of physical therapy requested, 4 visit(s) are approved" in letter
    assert "UM-FREQUENCY" in letter and "1x/week" in letter
    assert "recertification needed" in letter


def test_a_request_within_the_newest_plan_is_approved_without_a_flag(tmp_path):
    folder = planned_export(
        tmp_path,
        "within",
        {
            "poc_start": "2026-03-01",
            "poc_end": "2026-04-30",
            "frequency": "2x/week",
            "duration": "8 weeks",
        },
    )
    out = tmp_path / "um"
    result, dets = reviewed(folder, out)
    row = dets.iloc[0]
    assert row["recommendation"] == "approve" and row["recommended_visits"] == 12
    assert not row["rationale"].startswith("[")
    page = parse_text(out / "episodes" / f"{PATIENTS['progressing'][0]}-PT-1.html")
    assert "12 visit(s) requested through 2026-04-30" in page and "supports 18 visit(s)" in page


def reviewed(folder: Path, out: Path) -> tuple[object, pd.DataFrame]:
    """`chartaudit review FOLDER --out OUT` through the CLI, which must succeed: its result and
    determinations.csv."""
    result = runner.invoke(app, ["review", str(folder), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return result, pd.read_csv(out / "determinations.csv", encoding="utf-8-sig")


def parse_text(path: Path) -> str:
    """The text a reader sees on a page, whitespace collapsed."""
    html = path.read_text(encoding="utf-8")
    html = re.sub(r"<style.*?</style>", " ", html, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", html)
    return " ".join(html_lib.unescape(text).split())


# --------------------------------------------------------------------------- goals


def scored_goal_export(tmp_path: Path, name: str, target: str) -> Path:
    """The progressing episode (LEFS 30 -> 41 -> 52) whose first goal aims at `target` and is
    still recorded as progressing; its second goal recorded met."""
    frames = scenario_frames(("progressing",))
    goals = frames["goals"]
    goals.loc[0, ["text", "target", "status"]] = [
        "Pt will improve LEFS to a score of 50 or better within 8 weeks",
        target,
        "progressing",
    ]
    goals.loc[1, "status"] = "met"
    return write_export(tmp_path / name, frames)


def test_a_goal_whose_target_score_is_reached_counts_as_met(tmp_path):
    ep = f"{PATIENTS['progressing'][0]}-PT-1"
    out = tmp_path / "um"
    folder = scored_goal_export(tmp_path, "reached", "LEFS 50")
    result, dets = reviewed(folder, out)
    row = dets.iloc[0]
    # "progressing" is not trusted: LEFS 52 already meets the target of 50, so no goal remains.
    assert row["recommendation"] == "deny" and "UM-GOALS-REMAINING" in row["criteria_failed"]
    assert "home exercise program" in row["level_of_care"]
    page = parse_text(out / "episodes" / f"{ep}.html")
    assert (
        "counted as met by score: “Pt will improve LEFS to a score of 50 or better within 8 "
        "weeks” (recorded progressing; the latest LEFS 52 (D014, 2026-02-23) meets its target 50)"
    ) in page
    assert "met by score: LEFS 52 (D014, 2026-02-23) reaches the target (recorded progressing)" in (
        page
    )


def test_a_goal_whose_target_score_is_not_reached_still_remains(tmp_path):
    out = tmp_path / "um"
    folder = scored_goal_export(tmp_path, "open", "60")  # a bare number: the text names LEFS
    result, dets = reviewed(folder, out)
    row = dets.iloc[0]
    assert row["recommendation"] == "approve"
    assert "counted as met by score" not in row["rationale"]


# --------------------------------------------------------------------------- MCID wording


def measured_export(tmp_path: Path, name: str, instrument: str, scores: list[int]) -> Path:
    frames = scenario_frames(("progressing",))
    frames["measures"]["measure"] = instrument
    frames["measures"]["score"] = scores
    return write_export(tmp_path / name, frames)


def test_berg_progress_is_worded_against_the_mdc_not_an_mcid(tmp_path):
    ep = f"{PATIENTS['progressing'][0]}-PT-1"
    out = tmp_path / "um"
    folder = measured_export(tmp_path, "berg", "Berg", [38, 42, 45])
    result, dets = reviewed(folder, out)
    row = dets.iloc[0]
    assert row["recommendation"] == "approve"
    assert "+7 since baseline, at least the MDC (no MCID on file)" in row["rationale"]
    assert "no MCID on file, at least its minimal detectable change" in row["rationale"]
    # Berg has no MCID on file: nothing may say the change reached one.
    assert "at least the MCID" not in row["rationale"]
    letter = parse_text(out / "letters" / f"{ep}-determination.html")
    assert "at least the MCID" not in letter and "at least the MDC (no MCID on file)" in letter
    justification = parse_text(out / "letters" / f"{ep}-justification.html")
    assert "a change of +7: at least the MDC (no MCID on file)" in justification


def test_a_change_past_the_mcid_but_within_the_mdc_is_called_possible_error(tmp_path):
    out = tmp_path / "um"
    # NDI (lower is better): MCID 7.5, MDC 10.2; 30 -> 22 is 8 points better.
    folder = measured_export(tmp_path, "ndi", "NDI", [30, 27, 22])
    result, dets = reviewed(folder, out)
    row = dets.iloc[0]
    assert row["recommendation"] == "partial"
    page = parse_text(out / "episodes" / f"{PATIENTS['progressing'][0]}-PT-1.html")
    assert (
        "-8 since baseline, at least the MCID but within the MDC: may be measurement error" in page
    )
    assert "(MCID 7.5, MDC 10.2; lower is better)" in page
    assert "below the minimal clinically important difference" not in page + row["rationale"]
    # The episode page's measures table says the same.
    assert "-8 (at least the MCID but within the MDC: may be measurement error)" in page


# --------------------------------------------------------------------------- minor


def test_no_change_over_two_days_is_not_called_a_plateau(tmp_path):
    ep = f"{PATIENTS['plateau'][0]}-PT-1"
    frames = scenario_frames(("plateau",))
    # LEFS 50 at the evaluation, then 51, 51, 52 on three days in a row.
    frames["measures"] = pd.DataFrame(
        [
            {"note_id": "D000", "measure": "LEFS", "score": 50, "date": None},
            {"note_id": "D012", "measure": "LEFS", "score": 51, "date": "2026-02-21"},
            {"note_id": "D013", "measure": "LEFS", "score": 51, "date": "2026-02-22"},
            {"note_id": "D014", "measure": "LEFS", "score": 52, "date": "2026-02-23"},
        ]
    )
    folder = write_export(tmp_path / "short", frames)
    out = tmp_path / "um"
    result, dets = reviewed(folder, out)
    row = dets.iloc[0]
    assert "UM-PLATEAU" not in str(row["criteria_failed"])
    page = parse_text(out / "episodes" / f"{ep}.html")
    assert (
        "but these scores span only 2 day(s): too short to show a plateau (at least 14 days "
        "needed)" in page
    )


@pytest.mark.parametrize(
    ("text", "met"),
    [
        ("Continue skilled PT per POC. Making good progress toward goals.", False),
        ("Pt continues to require skilled therapy.", False),
        # UM acceptance: a generic aim added to the stock line is no reason for skilled care.
        (
            "Continue skilled PT 2x/week per POC to improve strength and endurance; request 8 "
            "visits.",
            False,
        ),
        ("Continue skilled PT for stair training due to fall risk.", True),
    ],
)
def test_continue_skilled_therapy_alone_is_not_a_skilled_need(tmp_path, text, met):
    ep = f"{PATIENTS['progressing'][0]}-PT-1"
    frames = scenario_frames(("progressing",))
    notes = frames["notes"]
    notes.loc[notes["note_type"] == "progress", "assessment"] = text
    folder = write_export(tmp_path / "stock", frames)
    out = tmp_path / "um"
    result, dets = reviewed(folder, out)
    row = dets.iloc[0]
    assert ("UM-SKILLED-NEED" in str(row["criteria_failed"])) == (not met)
    # Without a stated skilled need more visits are not approved: the therapist is asked.
    assert (row["recommendation"] == "pend") == (not met)
    if not met:
        letter = parse_text(out / "letters" / f"{ep}-request-info.html")
        assert "UM-SKILLED-NEED" in letter or "skills of a therapist" in letter
    page = parse_text(out / "episodes" / f"{ep}.html")
    stock = f"only stock wording that names skilled care without the need it is for: “{text.split('. ')[0].rstrip('.')}"
    assert (stock in page) == (not met), page[page.find("UM-SKILLED-NEED") :][:600]


def test_redact_masks_a_relatives_name_quoted_from_the_notes(tmp_path):
    frames = scenario_frames(("maintenance", "progressing"))
    notes = frames["notes"]
    progress = notes["note_type"] == "progress"
    notes.loc[progress, "assessment"] = (
        "A maintenance program to prevent further decline cannot be carried out safely by her "
        "daughter Rosalind Pembers-Hale without the skills of a therapist; wife: Marguerite "
        "reports no falls. " + notes.loc[progress, "assessment"]
    )
    folder = write_export(tmp_path / "relatives", frames)
    out = tmp_path / "um"
    result = runner.invoke(app, ["review", str(folder), "--out", str(out), "--redact"])
    assert result.exit_code == 0, result.output
    text = all_output_text(out) + result.output
    for word in ("Rosalind", "Pembers", "Hale", "Marguerite"):
        assert word not in text, word
    # Masked, not dropped: the quoted sentence is still there.
    assert "her daughter [relative] without the skills of a therapist; wife: [relative]" in text


def test_a_goal_written_from_a_score_to_a_score_counts_as_met_when_reached(tmp_path):
    """'increase LEFS from 30/80 to 50/80' aims at 50, not at the 30 it starts from."""
    frames = scenario_frames(("progressing",))
    frames["goals"].loc[0, ["text", "target", "status"]] = [
        "Pt will increase LEFS from 30/80 to 50/80 within 8 weeks",
        "",
        "progressing",
    ]
    frames["goals"].loc[1, "status"] = "met"
    out = tmp_path / "um"
    result = runner.invoke(
        app, ["review", str(write_export(tmp_path / "e", frames)), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    row = pd.read_csv(out / "determinations.csv", encoding="utf-8-sig").iloc[0]
    assert "counted as met by score" in row["rationale"] or row["recommendation"] == "deny"
    page = parse_text(out / "episodes" / f"{PATIENTS['progressing'][0]}-PT-1.html")
    assert "the latest LEFS 52 (D014, 2026-02-23) meets its target 50" in page


def test_a_discharge_after_the_request_is_flagged_for_the_reviewer(tmp_path):
    """The picture stops at the request, but a patient discharged since (goals met) makes the
    request moot: the reviewer is told, with the discharge summary's id and date."""
    frames = scenario_frames(("progressing",))
    notes = frames["notes"]
    last = notes.iloc[-1].to_dict()
    notes.loc[len(notes)] = {
        **last,
        "note_id": "DC1",
        "note_type": "discharge",
        "date_of_service": "2026-03-06",
        "signed_at": "2026-03-06 17:00",
    }
    out = tmp_path / "um"
    result = runner.invoke(
        app, ["review", str(write_export(tmp_path / "e", frames)), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    row = pd.read_csv(out / "determinations.csv", encoding="utf-8-sig").iloc[0]
    flag = "discharged after the request (DC1, 2026-03-06) — confirm the request still stands"
    assert flag in row["rationale"]
    ep = f"{PATIENTS['progressing'][0]}-PT-1"
    assert flag in parse_text(out / "episodes" / f"{ep}.html")


def test_a_narrow_terminal_gets_one_readable_paragraph_per_episode(export_dir, tmp_path):
    """An 80-column terminal folded every cell of the eight-column table mid-word."""
    result = runner.invoke(app, ["review", str(export_dir), "--out", str(tmp_path / "um")])
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    assert "│" not in result.stdout
    ep = f"{PATIENTS['progressing'][0]}-PT-1"
    assert re.search(
        rf"{re.escape(ep)} .*?, PT: Approve, \d+ visit\(s\) \(requested \d+, used \d+\)", text
    )


@pytest.mark.parametrize(
    ("text", "maintenance"),
    [
        (
            "Skilled maintenance: Parkinson disease H&Y 3 with freezing of gait and orthostatic "
            "hypotension; the balance/gait program requires the skills of a PT to perform safely "
            "because of BP monitoring; caregiver (spouse, 84) cannot safely perform it.",
            True,
        ),
        (
            "Progressed task complexity with dual-task gait. HEP reviewed so pt can maintain "
            "current level of function at home.",
            False,
        ),
    ],
    ids=["documented-skilled-maintenance", "home-program-wording"],
)
def test_skilled_maintenance_is_read_as_written_and_a_home_program_is_not_it(
    tmp_path, text, maintenance
):
    """Jimmo: a documented skilled maintenance need must not be cut for lack of progress;
    a patient keeping function with a home program is no such need."""
    ep = f"{PATIENTS['plateau'][0]}-PT-1"
    frames = scenario_frames(("plateau",))
    notes = frames["notes"]
    notes.loc[notes["note_type"] == "progress", "assessment"] = text
    out = tmp_path / "um"
    result = runner.invoke(
        app, ["review", str(write_export(tmp_path / "e", frames)), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    row = pd.read_csv(out / "determinations.csv", encoding="utf-8-sig").iloc[0]
    if maintenance:
        assert row["recommendation"] == "approve" and "maintenance" in row["level_of_care"]
    else:
        # Not approved as maintenance (the note states no skilled need either: it pends).
        assert row["recommendation"] in ("partial", "pend")
        assert "maintenance" not in str(row["level_of_care"])
        assert "maintenance — reviewer to confirm" not in row["rationale"]
    assert ep in (out / "determinations.csv").read_text(encoding="utf-8-sig")


def test_goals_last_updated_after_the_request_are_still_on_record(tmp_path):
    """goals.note_id is where a goal was set or last updated: goals updated at a report two
    days after the request existed before it; the request is not pended for 'no goals'."""
    frames = scenario_frames(("progressing",))
    notes = frames["notes"]
    later = {**notes.iloc[-1].to_dict(), "note_id": "P99", "note_type": "progress"}
    later.update({"date_of_service": "2026-03-04", "signed_at": "2026-03-04 17:00"})
    notes.loc[len(notes)] = later
    frames["goals"]["note_id"] = "P99"
    out = tmp_path / "um"
    result = runner.invoke(
        app, ["review", str(write_export(tmp_path / "e", frames)), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    row = pd.read_csv(out / "determinations.csv", encoding="utf-8-sig").iloc[0]
    assert row["recommendation"] == "approve", row["rationale"]
    assert "no goals on record" not in row["rationale"]


def test_the_information_letter_of_a_plateau_asks_about_it(tmp_path):
    """A therapist asked only for a skilled-need statement would answer it and then get a
    partial denial on a plateau never raised (UM acceptance)."""
    frames = scenario_frames(("plateau",))
    notes = frames["notes"]
    notes.loc[notes["note_type"] == "progress", "assessment"] = "Continue skilled PT per POC."
    out = tmp_path / "um"
    result = runner.invoke(
        app, ["review", str(write_export(tmp_path / "e", frames)), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    ep = f"{PATIENTS['plateau'][0]}-PT-1"
    row = pd.read_csv(out / "determinations.csv", encoding="utf-8-sig").iloc[0]
    assert row["recommendation"] == "pend"  # no skilled need stated: the therapist is asked
    letter = parse_text(out / "letters" / f"{ep}-request-info.html")
    assert "UM-PLATEAU" in letter
    assert "whether a skilled maintenance program is being established" in letter
    # Each item is headed by what is required, then what the record shows.
    assert "Required: No plateau" in letter


def test_a_twice_weekly_schedule_is_delivered_at_twice_a_week(tmp_path):
    """Visits on Mondays and Thursdays for four weeks: 2 a week, not the 2.2 that days / 7
    gave (which pointed the reviewer at over-use that did not happen)."""
    frames = scenario_frames(("progressing",))
    notes = frames["notes"]
    days = pd.bdate_range("2026-01-05", periods=28, freq="C", weekmask="Mon Thu")[: len(notes)]
    notes["date_of_service"] = [f"{d:%Y-%m-%d}" for d in days]
    notes["signed_at"] = [f"{d:%Y-%m-%d} 17:00" for d in days]
    frames["measures"] = frames["measures"].drop(columns=["date"], errors="ignore")
    out = tmp_path / "um"
    result = runner.invoke(
        app, ["review", str(write_export(tmp_path / "e", frames)), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    ep = f"{PATIENTS['progressing'][0]}-PT-1"
    page = parse_text(out / "episodes" / f"{ep}.html")
    assert "2 visits/week over" in page


def test_visits_beyond_the_authorization_are_flagged_whatever_the_recommendation(tmp_path):
    frames = scenario_frames(("progressing",))
    auths = frames["authorizations"]
    approved = auths["approved_visits"].notna()
    auths.loc[approved, "approved_visits"] = 5
    out = tmp_path / "um"
    result = runner.invoke(
        app, ["review", str(write_export(tmp_path / "e", frames)), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    row = pd.read_csv(out / "determinations.csv", encoding="utf-8-sig").iloc[0]
    used = int(row["visits_used"])
    assert "UM-UTILIZATION" in row["criteria_failed"]
    assert f"{used - 5} visit(s) beyond the approved authorization" in row["rationale"]


def test_the_justification_of_a_progressing_patient_lists_no_unjudgeable_plateau(tmp_path):
    """UM acceptance: 'No plateau (not evaluable)' was listed as a weakness to address, with
    'When measures stop changing ...' advice, for a patient who was improving."""
    frames = scenario_frames(("progressing",))
    out = tmp_path / "um"
    result = runner.invoke(
        app, ["review", str(write_export(tmp_path / "e", frames)), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    ep = f"{PATIENTS['progressing'][0]}-PT-1"
    letter = parse_text(out / "letters" / f"{ep}-justification.html")
    part = letter[letter.find("What the record does not yet support") :]
    assert "(not evaluable)" not in part


def test_a_level_scale_without_thresholds_asks_what_the_change_means_not_its_mcid(tmp_path):
    """UM acceptance: an SLP episode scored on FOIS (no MCID or MDC on file) pended with a
    letter asking the SLP to interpret the change against its MCID, which does not exist."""
    frames = scenario_frames(("progressing",))
    frames["measures"]["measure"] = "FOIS"
    frames["measures"]["score"] = [3, 4, 5][: len(frames["measures"])]
    out = tmp_path / "um"
    result = runner.invoke(
        app, ["review", str(write_export(tmp_path / "e", frames)), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    row = pd.read_csv(out / "determinations.csv", encoding="utf-8-sig").iloc[0]
    assert row["recommendation"] == "pend"
    ep = f"{PATIENTS['progressing'][0]}-PT-1"
    letter = parse_text(out / "letters" / f"{ep}-request-info.html")
    assert "For FOIS, which has no MCID or MDC on file, describe the functional change" in letter
    assert "interpret the change against its MCID" not in letter


def test_the_determination_letter_explains_every_criterion_not_met_in_words(export_dir, tmp_path):
    """UM acceptance: the letter, addressed to the patient too, gave 'criteria not met:
    UM-SKILLED-NEED; UM-FREQUENCY' with no word on what they mean."""
    out = tmp_path / "um"
    result = runner.invoke(app, ["review", str(export_dir), "--out", str(out)])
    assert result.exit_code == 0, result.output
    dets = pd.read_csv(out / "determinations.csv", encoding="utf-8-sig").set_index("episode_id")
    from chartaudit.review.criteria import load_criteria

    titles = {c.id: c.title for c in load_criteria("um-outpatient").items}
    checked = 0
    for ep, row in dets.iterrows():
        path = out / "letters" / f"{ep}-determination.html"
        if not path.exists():  # a pend gets the request for information instead
            assert row["recommendation"] == "pend"
            continue
        letter = parse_text(path)
        checked += 1
        for cid in str(row["criteria_failed"]).split("; "):
            if cid in titles:
                assert titles[cid] in letter, (ep, cid)
    assert checked >= 3


def test_the_audit_and_the_review_read_a_written_out_frequency_alike(tmp_path):
    """'two to three times a week' is 2 to 3 visits a week for both: the review lowers the
    frequency of a plateau from the plan's 2 (not from 3), and the audit flags a fourth visit
    in a week, not the third."""
    frames = scenario_frames(("plateau",))
    notes = frames["notes"]
    notes.loc[0, "frequency"] = "two to three times a week"
    notes["payer"] = "Medicare"
    extra = {**notes.iloc[3].to_dict(), "note_id": "D0X1", "note_type": "daily"}
    # Mon 2026-01-12 and Thu 2026-01-15 are visits: a Tuesday makes 3, a Wednesday 4.
    for nid, day in (("D0X1", "2026-01-13"), ("D0X2", "2026-01-21"), ("D0X3", "2026-01-20")):
        notes.loc[len(notes)] = {
            **extra,
            "note_id": nid,
            "date_of_service": day,
            "signed_at": f"{day} 17:00",
        }
    folder = write_export(tmp_path / "e", frames)
    out = tmp_path / "um"
    result, dets = reviewed(folder, out)
    row = dets.iloc[0]
    assert row["recommendation"] == "partial"
    assert row["level_of_care"].endswith("at 1x/week"), row["level_of_care"]
    audit = tmp_path / "audit"
    result = runner.invoke(
        app, ["run", str(folder), "--out", str(audit), "--format", "csv", "--no-history"]
    )
    assert result.exit_code in (0, 1), result.output
    findings = pd.read_csv(audit / "findings.csv", encoding="utf-8-sig")
    freq = findings[findings["item_id"] == "MCR-POC-FREQ"]
    assert freq["date_of_service"].tolist() == ["2026-01-22"]
    assert freq["message"].iat[0] == (
        "4th visit in the week of 2026-01-19; the plan of care calls for two to three times a week"
    )


def test_the_maintenance_justification_quotes_why_a_therapist_is_needed_not_the_goal(tmp_path):
    """UM acceptance: the justification quoted 'LTG: Pt will maintain ...' as the evidence of
    a skilled maintenance need; the evidence is the sentence saying why a therapist's skill
    is needed to maintain function (Jimmo)."""
    goal = "LTG: Pt will maintain Berg at or above 40/56 for 8 weeks to prevent falls."
    reason = (
        "Parkinson disease H&Y 3 with orthostatic hypotension: the balance program cannot be "
        "safely carried out by the caregiver and needs the skills of a PT for BP monitoring."
    )
    frames = scenario_frames(("plateau",))
    notes = frames["notes"]
    notes.loc[notes["note_type"] == "progress", "assessment"] = (
        f"{goal} Pt tolerated session well. {reason}"
    )
    out = tmp_path / "um"
    result = runner.invoke(
        app, ["review", str(write_export(tmp_path / "e", frames)), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    ep = f"{PATIENTS['plateau'][0]}-PT-1"
    row = pd.read_csv(out / "determinations.csv", encoding="utf-8-sig").iloc[0]
    assert "maintenance" in row["level_of_care"]
    for page in (out / "letters" / f"{ep}-justification.html", out / "episodes" / f"{ep}.html"):
        text = parse_text(page)
        assert f"“{reason}”" in text
        assert f"“{goal}" not in text


def test_a_pend_on_a_criterion_that_cannot_be_evaluated_names_it(tmp_path):
    """UM acceptance: a request pended because no MCID or MDC is on file for its instrument
    read 'not met: none' with no word of the criterion it was pended on."""
    frames = scenario_frames(("progressing",))
    frames["measures"]["measure"] = "FOIS"
    frames["measures"]["score"] = [3, 4, 5]
    out = tmp_path / "um"
    result = runner.invoke(
        app, ["review", str(write_export(tmp_path / "e", frames)), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "not met: none; not evaluable: UM-PROGRESS-MCID" in " ".join(result.stdout.split())
    dets = pd.read_csv(out / "determinations.csv", encoding="utf-8-sig")
    assert "criteria_not_evaluable" not in dets.columns  # SPEC's columns; the rationale says it
    row = dets.iloc[0]
    assert row["recommendation"] == "pend" and pd.isna(row["criteria_failed"])
    assert (
        "Evidence: UM-PROGRESS-MCID (not evaluable): no MCID or MDC on file for the instruments "
        "scored twice: FOIS 3 (D000, 2026-01-05) → 5 (D014, 2026-02-23)" in row["rationale"]
    )
    ep = f"{PATIENTS['progressing'][0]}-PT-1"
    letter = parse_text(out / "letters" / f"{ep}-request-info.html")
    assert (
        "The review is pended because the record does not allow this criterion to be evaluated: "
        "Improvement by the MCID (or, with no MCID on file, the MDC) since baseline or the last "
        "report (UM-PROGRESS-MCID)." in letter
    )
    page = parse_text(out / "episodes" / f"{ep}.html")
    assert "Pended on criteria the record does not allow to evaluate: UM-PROGRESS-MCID" in page
    assert "not evaluable: UM-PROGRESS-MCID" in parse_text(out / "index.html")


@pytest.mark.parametrize(
    ("codes", "caveat"),
    [
        ("G20.A1; R26.89", "no value for Parkinson's disease in the table"),
        ("I69.351; R26.89", "for subacute stroke the table has MCID 6"),
    ],
    ids=["parkinson", "stroke"],
)
def test_a_berg_mdc_from_older_adults_says_so_for_a_neurological_patient(tmp_path, codes, caveat):
    """UM acceptance: the Berg MDC of older adults in rehabilitation (a sample without stroke
    or Parkinson's disease) was applied to a Parkinson's patient as if it were hers."""
    ep = f"{PATIENTS['progressing'][0]}-PT-1"
    frames = scenario_frames(("progressing",))
    frames["notes"]["diagnosis_codes"] = codes
    frames["measures"]["measure"] = "Berg"
    frames["measures"]["score"] = [38, 42, 45]
    out = tmp_path / "um"
    result = runner.invoke(
        app, ["review", str(write_export(tmp_path / "e", frames)), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    said = f"MDC 5 (older adults in rehabilitation; {caveat})"
    row = pd.read_csv(out / "determinations.csv", encoding="utf-8-sig").iloc[0]
    assert f"(no MCID on file, {said}; higher is better)" in row["rationale"]
    page = parse_text(out / "episodes" / f"{ep}.html")
    assert f"(no MCID on file, {said}; higher is better)" in page
    assert f"– / 5 DONOGHUE-2009, older adults in rehabilitation {caveat}" in page
    letter = parse_text(out / "letters" / f"{ep}-justification.html")
    assert f"a change of +7: at least the MDC (no MCID on file); judged against {said}" in letter


@pytest.mark.parametrize(
    ("codes", "instrument", "scores", "said"),
    [
        ("M17.11", "LEFS", [30, 41, 52], "(MCID 9, MDC 9; higher is better)"),
        ("G20.A1", "TUG", [18, 16, 14], "(no MCID on file; lower is better)"),
    ],
    ids=["knee-oa-lefs", "parkinson-tug-no-threshold"],
)
def test_no_population_caveat_without_another_populations_threshold(
    tmp_path, codes, instrument, scores, said
):
    """The caveat is for a threshold applied from another population: not for the patient's
    own, nor for an instrument with no threshold on file."""
    frames = scenario_frames(("progressing",))
    frames["notes"]["diagnosis_codes"] = codes
    frames["measures"]["measure"] = instrument
    frames["measures"]["score"] = scores
    out = tmp_path / "um"
    result = runner.invoke(
        app, ["review", str(write_export(tmp_path / "e", frames)), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    row = pd.read_csv(out / "determinations.csv", encoding="utf-8-sig").iloc[0]
    assert said in row["rationale"]
    pages = [*(out / "episodes").glob("*.html"), *(out / "letters").glob("*.html")]
    assert len(pages) == 3
    for page in pages:
        text = parse_text(page)
        assert "in the table" not in text and "the table has" not in text


def test_the_shipped_sample_asks_for_visits_its_plans_of_care_cover(tmp_path):
    """UM acceptance: 9 of the 15 requests of sample_charts/ ran past the plan of care's end
    and were flagged 'recertification needed'. A clinic asks within its certified plan, at its
    frequency; a request in a plan's last two weeks may run past it."""
    sample = Path(__file__).resolve().parent.parent / "sample_charts"
    out = tmp_path / "um"
    result = runner.invoke(app, ["review", str(sample), "--out", str(out)])
    assert result.exit_code == 0, result.output
    dets = pd.read_csv(out / "determinations.csv", encoding="utf-8-sig")
    recert = dets["rationale"].str.contains("recertification needed")
    assert len(dets) == 15 and 0 < recert.sum() <= 3
    failed = dets["criteria_failed"].fillna("")
    # Within the plan, no request asks for more visits than the plan's frequency supports.
    assert not failed[~recert].str.contains("UM-FREQUENCY").any()
    assert set(dets["recommendation"]) == {"approve", "partial", "deny", "pend"}


@pytest.mark.parametrize(
    "goal",
    [
        "Pt will rotate cervical spine R to 65 deg or more within 3 weeks to check blind spot "
        "while driving.",
        "Pt will reach R shoulder AROM flexion of 150 DEG or more by 04/30/2026 to work overhead.",
    ],
)
def test_a_goal_in_deg_is_measurable_and_does_not_pend_the_request(tmp_path, goal):
    """Acceptance: goals in "deg" were 'not measurable', which pended good episodes and asked
    the therapist to rewrite them. The review reads goals with the audit's goal parts."""
    ep = f"{PATIENTS['progressing'][0]}-PT-1"
    frames = scenario_frames(("progressing",))
    frames["goals"].loc[0, "text"] = goal
    out = tmp_path / "um"
    result, dets = reviewed(write_export(tmp_path / "deg", frames), out)
    row = dets.iloc[0]
    assert "UM-GOALS-MEASURABLE" not in str(row["criteria_failed"])
    assert row["recommendation"] == "approve"
    page = parse_text(out / "episodes" / f"{ep}.html")
    assert "2 of 2 current goals measurable" in page, page[page.find("UM-GOALS") :][:400]
