"""The synthetic export generator: layout, determinism, realism and the planted-defect truth."""

from __future__ import annotations

import functools
import re

import numpy as np
import pandas as pd
import pytest

from chartaudit import sample
from chartaudit.checks import REGISTRY, AuditContext
from chartaudit.load import load_export
from chartaudit.model import TABLES, Status
from chartaudit.sample import KX_THRESHOLD, UM_MCID, generate

TIMED = {"97110", "97112", "97140", "97530", "97116", "97035", "97535", "97129", "97130"}
TABLE_NAMES = list(TABLES)


def _read(folder, table: str) -> pd.DataFrame:
    return pd.read_csv(folder / f"{table}.csv", dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    out = tmp_path_factory.mktemp("sample800")
    result = generate(out, notes=800, seed=3)
    return out, result, {t: _read(out, t) for t in TABLE_NAMES}


@pytest.fixture(scope="module")
def default(tmp_path_factory):
    """The committed sample's size and seed."""
    out = tmp_path_factory.mktemp("sample1500")
    result = generate(out, notes=1500, seed=7)
    return out, result, {t: _read(out, t) for t in TABLE_NAMES}


def test_same_seed_gives_byte_identical_files(small, tmp_path):
    out, result, _ = small
    again = generate(tmp_path / "again", notes=800, seed=3)
    for table in TABLE_NAMES:
        assert (out / f"{table}.csv").read_bytes() == (
            tmp_path / "again" / f"{table}.csv"
        ).read_bytes()
    assert again.counts == result.counts
    pd.testing.assert_frame_equal(again.planted, result.planted)
    generate(tmp_path / "other", notes=800, seed=4)
    assert (tmp_path / "other" / "notes.csv").read_bytes() != (out / "notes.csv").read_bytes()


def test_folder_holds_exactly_the_five_tables_with_canonical_headers(small):
    out, _, _ = small
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{t}.csv" for t in TABLE_NAMES)
    for table in TABLE_NAMES:
        header = pd.read_csv(out / f"{table}.csv", nrows=0).columns.tolist()
        assert header == TABLES[table]
    (out / "notes.csv").read_bytes().decode("utf-8")


def test_counts_match_files_and_the_requested_size(small):
    _, result, t = small
    assert result.counts == {name: len(df) for name, df in t.items()}
    assert 0.95 * 800 <= result.counts["notes"] <= 1.1 * 800
    assert result.counts["services"] > 2 * result.counts["notes"]
    assert list(result.planted.columns[:2]) == ["note_id", "defect"]


def test_default_size_has_enough_therapists_patients_and_realistic_names(default):
    _, _, t = default
    notes = t["notes"]
    staff = notes.loc[
        notes["credential"].isin(["PT", "DPT", "PT, DPT", "OTR/L", "MS, OTR/L"])
        | notes["credential"].str.contains("CCC-SLP")
    ]
    assert staff["therapist"].nunique() >= 12
    assert notes["patient_id"].nunique() >= 80
    assert {"José Núñez", "Siobhan O'Neil-Park"} <= set(notes["therapist"])
    assert notes["patient_id"].str.fullmatch(r"MRN\d{6}").all()
    assert notes["therapist_id"].str.fullmatch(r"1\d{9}").all()
    assert {"PTA", "SPT", "OTS", "SLPA"} <= set(notes["credential"])
    assert {"Medicare Part B", "Humana Gold Plus HMO", "Blue Cross Blue Shield PPO"} <= set(
        notes["payer"]
    )
    assert set(notes["discipline"]) == {"PT", "OT", "SLP"}
    assert (notes["setting"] == "outpatient").all()


def test_dates_and_times_are_iso(small):
    _, _, t = small
    notes = t["notes"]
    day = re.compile(r"\d{4}-\d{2}-\d{2}")
    minute = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}")
    assert notes["date_of_service"].str.fullmatch(day.pattern).all()
    for col in ["signed_at", "cosigned_at", "poc_sent_at", "poc_certified_at", "order_signed_at"]:
        filled = notes.loc[notes[col] != "", col]
        assert filled.str.fullmatch(minute.pattern).all(), col
    dos = pd.to_datetime(notes["date_of_service"])
    assert dos.min() >= pd.Timestamp("2026-08-01") and dos.max() <= pd.Timestamp("2026-10-31")
    assert (dos.dt.day_of_week < 5).all()


def test_every_child_row_points_at_a_note(small):
    _, _, t = small
    ids = set(t["notes"]["note_id"])
    assert t["notes"]["note_id"].is_unique
    for table in ["services", "measures", "goals"]:
        assert set(t[table]["note_id"]) <= ids, table
    episodes = set(t["notes"]["episode_id"])
    assert set(t["goals"]["episode_id"]) <= episodes
    assert set(t["authorizations"]["episode_id"]) <= episodes


def test_episodes_start_with_an_evaluation_and_plan_of_care(small):
    _, result, t = small
    notes = t["notes"].sort_values(["episode_id", "date_of_service", "note_id"])
    first = notes.groupby("episode_id").head(1)
    no_eval = set(result.planted.loc[result.planted["defect"] == "no_evaluation", "note_id"])
    assert ((first["note_type"] == "evaluation") | first["note_id"].isin(no_eval)).all()
    evals = notes[notes["note_type"] == "evaluation"]
    span = pd.to_datetime(evals["poc_end"]) - pd.to_datetime(evals["poc_start"])
    assert (span.dt.days <= 90).all()
    assert (evals["poc_start"] == evals["date_of_service"]).all()
    assert evals["frequency"].isin(["2x/week", "3x/week"]).all()
    assert (
        pd.to_datetime(evals["order_signed_at"]) < pd.to_datetime(evals["date_of_service"])
    ).all()
    assert evals["certifier_credential"].isin(["MD", "DO", "NP", "PA"]).all()
    assert {"progress", "discharge", "recertification"} <= set(notes["note_type"])


def _rule_units(services: pd.DataFrame) -> pd.DataFrame:
    s = services.assign(
        units=services["units"].astype(float), minutes=services["minutes"].astype(float)
    )
    timed = s[s["cpt_code"].isin(TIMED)]
    per_note = timed.groupby("note_id").agg(minutes=("minutes", "sum"), units=("units", "sum"))
    per_note["rule"] = (per_note["minutes"] + 7) // 15
    return per_note


def test_timed_units_follow_the_8_minute_rule_except_planted_billing_defects(default):
    _, result, t = default
    per_note = _rule_units(t["services"])
    planted = result.planted
    over = set(planted.loc[planted["defect"] == "8min_over", "note_id"])
    under = set(planted.loc[planted["defect"] == "8min_under", "note_id"])
    off = per_note[per_note["units"] != per_note["rule"]]
    assert set(off.index) == over | under
    assert (off.loc[list(over), "units"] == off.loc[list(over), "rule"] + 1).all()
    assert (off.loc[list(under), "units"] == off.loc[list(under), "rule"] - 1).all()
    notes = t["notes"].set_index("note_id")
    total = notes.loc[per_note.index, "total_timed_minutes"].astype(float)
    assert (total == per_note["minutes"]).all()
    untimed = t["services"][~t["services"]["cpt_code"].isin(TIMED)]
    assert (untimed["units"] == "1").all()


def test_modifiers_kx_and_codes(default):
    _, result, t = default
    notes = t["notes"].set_index("note_id")
    sv = t["services"].join(
        notes[["discipline", "payer_type", "credential", "patient_id", "date_of_service"]],
        on="note_id",
    )
    planted = result.planted
    no_disc = set(planted.loc[planted["defect"] == "missing_discipline_modifier", "note_id"])
    want = sv["discipline"].map({"PT": "GP", "OT": "GO", "SLP": "GN"})
    has = pd.Series(
        [w in m.split(",") for w, m in zip(want, sv["modifiers"], strict=True)], index=sv.index
    )
    assert set(sv.loc[~has, "note_id"]) == no_disc
    pta = sv["credential"].isin(["PTA", "COTA", "COTA/L"])
    no_cq = set(planted.loc[planted["defect"] == "missing_cq_co", "note_id"])
    cq = sv["modifiers"].str.contains(r"\bC[QO]\b")
    assert set(sv.loc[pta & ~cq, "note_id"]) == no_cq
    assert not (cq & ~pta).any()
    assert (sv.loc[pta, "assistant_minutes"] == sv.loc[pta, "minutes"]).all()
    medicare = sv["payer_type"].isin(["medicare_b", "medicare_advantage"])
    bad_code = set(sv.loc[medicare & (sv["cpt_code"] == "97014"), "note_id"])
    assert bad_code == set(planted.loc[planted["defect"] == "97014_medicare", "note_id"])
    assert (sv.loc[~medicare, "cpt_code"] != "G0283").all()
    # KX on Medicare Part B lines once the year's PT+SLP / OT allowed amounts pass the threshold.
    b = sv[sv["payer_type"] == "medicare_b"].copy()
    b["bucket"] = np.where(b["discipline"] == "OT", "OT", "PT+SLP")
    b["cum"] = b.groupby(["patient_id", "bucket"])["allowed_amount"].transform(
        lambda x: x.astype(float).cumsum()
    )
    assert (b["modifiers"].str.contains("KX") == (b["cum"] > KX_THRESHOLD)).all()
    assert b["modifiers"].str.contains("KX").any()
    assert (sv.loc[sv["payer_type"] != "medicare_b", "modifiers"].str.contains("KX") == False).all()  # noqa: E712


def test_planted_defects_are_true_and_complete(default):
    _, result, t = default
    notes = t["notes"].set_index("note_id")
    planted = result.planted
    kinds = set(planted["defect"])
    expected = {
        "unsigned",
        "late_signature",
        "late_certification",
        "missed_progress_report",
        "progress_by_assistant",
        "treatment_past_poc_end",
        "8min_over",
        "8min_under",
        "97014_medicare",
        "missing_discipline_modifier",
        "missing_cq_co",
        "cloned_within",
        "cloned_across",
        "unskilled",
        "missing_outcome_measures",
        "unmeasurable_goals",
        "no_evaluation",
    }
    assert expected <= kinds
    by = {k: set(planted.loc[planted["defect"] == k, "note_id"]) for k in kinds}
    assert by["unsigned"] == set(notes.index[notes["signed_at"] == ""])
    signed = pd.to_datetime(notes["signed_at"].replace("", None))
    lag = (signed.dt.normalize() - pd.to_datetime(notes["date_of_service"])).dt.days
    assert by["late_signature"] == set(notes.index[lag > 3])
    evals = notes[notes["note_type"] == "evaluation"]
    cert = (
        pd.to_datetime(evals["poc_certified_at"].replace("", None)).dt.normalize()
        - pd.to_datetime(evals["date_of_service"])
    ).dt.days
    sent = (
        pd.to_datetime(evals["poc_sent_at"].replace("", None)).dt.normalize()
        - pd.to_datetime(evals["date_of_service"])
    ).dt.days
    assert by["late_certification"] == set(evals.index[(cert > 30) & ~(sent <= 30)])
    pr = notes.loc[list(by["progress_by_assistant"])]
    assert (pr["note_type"] == "progress").all() and pr["credential"].isin(
        ["PTA", "COTA", "COTA/L", "SLPA"]
    ).all()
    stock = notes.loc[list(by["unskilled"])]
    assert stock["assessment"].str.contains("tolerated", case=False).all()
    # Rates: each kind a few percent of the notes it concerns.
    n = len(notes)
    for kind in [
        "unsigned",
        "late_signature",
        "missing_discipline_modifier",
        "cloned_within",
        "unskilled",
    ]:
        assert 0.02 * n <= len(by[kind]) <= 0.12 * n, kind
    timed_notes = t["services"].loc[t["services"]["cpt_code"].isin(TIMED), "note_id"].nunique()
    assert 0.02 <= len(by["8min_over"]) / timed_notes <= 0.1
    assert 0.03 <= len(by["late_certification"]) / len(evals) <= 0.15


def test_cloned_notes_copy_the_previous_note_and_other_text_varies(default):
    _, result, t = default
    notes = t["notes"].sort_values(["episode_id", "date_of_service", "note_id"])
    soap = notes[["subjective", "objective", "assessment", "plan"]].agg("\n".join, axis=1)
    prev = soap.groupby(notes["episode_id"]).shift(1)
    # (copies under 20 words, such as two stock notes in a row, are not compared by the audit)
    long_enough = soap.str.split().str.len() >= 20
    copied = set(notes.loc[(soap == prev) & long_enough, "note_id"])
    planted = result.planted
    assert copied <= set(planted.loc[planted["defect"] == "cloned_within", "note_id"])
    assert len(copied) >= 10
    staged = set(
        planted.loc[
            planted["defect"].isin(["cloned_within", "cloned_across", "unskilled"]), "note_id"
        ]
    )
    daily = notes[(notes["note_type"] == "daily") & ~notes["note_id"].isin(staged)]
    text = soap.loc[daily.index]
    assert text.nunique() / len(text) > 0.99
    # (a daily note lists its interventions, then describes them: S/O/A/P of 250-1000 chars)
    assert text.str.len().between(250, 1000).mean() > 0.95
    # Several sentence banks: many different openings per section.
    assert daily["objective"].str[:25].nunique() > 40
    assert daily["subjective"].str.contains(r"\d+/10").any()
    across = planted.loc[planted["defect"] == "cloned_across", "note_id"]
    same = notes.set_index("note_id").loc[across]
    assert (same.groupby("therapist")["patient_id"].nunique() > 1).all()


def test_goals_and_measures(default):
    _, result, t = default
    goals, measures, notes = t["goals"], t["measures"], t["notes"]
    per_episode = goals.groupby("episode_id").size()
    assert per_episode.between(2, 4).all()
    assert set(goals["term"]) == {"short", "long"}
    assert set(goals["status"]) <= {"met", "progressing", "not_met"}
    assert goals["text"].str.contains(r"within \d+ weeks").mean() > 0.8
    assert goals["text"].str.contains("stairs").any()
    vague = set(result.planted.loc[result.planted["defect"] == "unmeasurable_goals", "note_id"])
    assert set(goals.loc[goals["baseline"] == "", "note_id"]) <= vague | set(
        notes.loc[notes["note_type"] != "evaluation", "note_id"]
    )
    m = measures.merge(notes[["note_id", "note_type"]], on="note_id")
    assert set(m["note_type"]) <= {
        "evaluation",
        "re_evaluation",
        "progress",
        "recertification",
        "discharge",
    }
    assert {"LEFS", "ODI", "QuickDASH", "Berg"} <= set(m["measure"])
    missing = set(
        result.planted.loc[result.planted["defect"] == "missing_outcome_measures", "note_id"]
    )
    evals = set(notes.loc[notes["note_type"] == "evaluation", "note_id"])
    assert evals - set(m["note_id"]) == missing


def _last_two(measures, notes, episode):
    m = measures.merge(notes[["note_id", "episode_id", "date_of_service"]], on="note_id")
    m = m[(m["episode_id"] == episode) & (m["measure"] != "NPRS")].sort_values("date_of_service")
    return m["measure"].iloc[-1], m["score"].astype(float).to_numpy()


def test_open_authorization_requests_cover_the_review_scenarios(default):
    _, result, t = default
    auth, notes, goals, measures = t["authorizations"], t["notes"], t["goals"], t["measures"]
    pending = auth[auth["status"] == "pending"]
    assert 12 <= len(pending) <= 18
    assert pending["episode_id"].is_unique
    assert pd.to_datetime(pending["request_date"]).min() >= pd.Timestamp("2026-10-15")
    # 8 to 12 visits, fewer when the plan of care ends sooner (see the next test)
    assert pending["requested_visits"].astype(int).between(4, 12).all()
    assert (auth.loc[auth["status"] == "approved", "approved_visits"] != "").all()
    um = result.planted[result.planted["defect"].str.startswith("um:")]
    assert set(um["episode_id"]) == set(pending["episode_id"])
    counts = um["defect"].value_counts()
    assert (counts >= 2).all() and len(counts) == 5
    lower_better = {"ODI", "NDI", "QuickDASH"}
    for episode, scenario in zip(um["episode_id"], um["defect"].str[3:], strict=True):
        ep_goals = goals[goals["episode_id"] == episode]
        if scenario == "no_measures":
            ep_notes = notes.loc[notes["episode_id"] == episode, "note_id"]
            assert not measures["note_id"].isin(ep_notes).any()
            assert (ep_goals["baseline"] == "").all()
            continue
        name, scores = _last_two(measures, notes, episode)
        sign = -1 if name in lower_better else 1
        change = sign * (scores[-1] - scores[-2])
        if scenario == "progressing":
            assert change >= UM_MCID[name] and sign * (scores[-1] - scores[0]) >= UM_MCID[name]
        elif scenario == "goals_met":
            assert (ep_goals["status"] == "met").all()
        else:
            assert abs(change) <= 2, (episode, scores)
            text = notes.loc[notes["episode_id"] == episode, ["assessment", "plan"]].agg(
                " ".join, axis=1
            )
            has = text.str.contains("Skilled maintenance program required").any()
            assert has == (scenario == "plateau_maintenance")


@pytest.mark.parametrize("export", ["small", "default"])
def test_open_requests_ask_for_visits_the_plan_of_care_covers(export, request):
    """A clinic asks for visits within its certified plan of care at the plan's frequency; only
    a request in the plan's last two weeks runs past it (the next block is recertified)."""
    _, _, t = request.getfixturevalue(export)
    auth, notes = t["authorizations"], t["notes"]
    pending = auth[auth["status"] == "pending"].copy()
    plans = notes.loc[notes["poc_end"] != "", ["episode_id", "date_of_service", "poc_start"]]
    plans = plans.assign(poc_end=notes["poc_end"], frequency=notes["frequency"])
    for col in ("date_of_service", "poc_start", "poc_end"):
        plans[col] = pd.to_datetime(plans[col])
    for col in ("request_date", "requested_through"):
        pending[col] = pd.to_datetime(pending[col])
    current = pending.merge(plans, on="episode_id")
    current = current[current["date_of_service"] <= current["request_date"]]
    current = current.sort_values("poc_start").groupby("episode_id").tail(1)
    assert len(current) == len(pending)
    past = current["requested_through"] > current["poc_end"]
    left = (current["poc_end"] - current["request_date"]).dt.days
    assert 0 < past.sum() < len(current) / 2  # a minority needs a recertification
    assert (left[past] < 14).all() and (left[~past] >= 14).all()
    within = current[~past]
    per_week = within["frequency"].str.extract(r"(\d)x/week")[0].astype(int)
    days = (within["requested_through"] - within["request_date"]).dt.days + 1
    assert (within["requested_visits"].astype(int) <= np.ceil(per_week * days / 7)).all()


def test_write_truth_goes_elsewhere(tmp_path):
    out = tmp_path / "export"
    truth = tmp_path / "truth" / "planted.csv"
    result = generate(out, notes=200, seed=1, write_truth=truth)
    assert not any("planted" in p.name for p in out.iterdir())
    assert len(pd.read_csv(truth)) == len(result.planted)


def test_the_loader_reads_the_sample(small):
    from chartaudit.load import load_export

    out, result, _ = small
    export = load_export(out)
    assert len(export.notes) == result.counts["notes"]
    assert set(export.notes["role"]) == {"therapist", "assistant", "student"}
    assert export.notes["date_of_service"].notna().all()


def test_diagnoses_fit_the_discipline_the_condition_and_the_side(default):
    _, _, t = default
    notes = t["notes"]
    dx = notes["diagnosis_codes"]
    assert not dx.str.contains(r"\bG35\b").any()  # no multiple sclerosis code for a stroke
    assert not dx.str.contains(r"I69\.3[1-9](?:;|$)").any()  # no category header as a code
    assert not dx.str.contains(r"^S\S+A\b|;S\S+A\b").any()  # rehab is a subsequent encounter
    slp = notes["discipline"] == "SLP"
    assert dx[slp].str.fullmatch(r"(?:(?:R13\.1\d|I69\.3\d\d|R41\.84\d|G31\.84|G20\.A1);?)+").all()
    # Stroke wording goes with stroke codes; hemiparesis side with the code's side.
    evals = notes[notes["note_type"] == "evaluation"]
    cva = evals["subjective"].str.contains("following CVA")
    assert evals.loc[cva, "diagnosis_codes"].str.contains("I69").all()
    right = evals["subjective"].str.contains(r"for right |with right ")
    left = evals["subjective"].str.contains(r"for left |with left ")
    # (the code's last digit is the side: 1 right, 2 left)
    lateral = r"(?:S\d\d\.\d\d|M1[678]\.1|M25\.[56]\d|Z96\.6[45]|M75\.1[02]|M75\.[48]|G56\.0"
    lateral += r"|M22\.2X|M65\.31)"
    codes = evals["diagnosis_codes"]
    assert codes[right].str.contains(lateral + r"1D?\b|I69\.351").any()
    assert not codes[right].str.contains(lateral + r"2D?\b|I69\.354").any()
    assert not codes[left].str.contains(lateral + r"1D?\b|I69\.351").any()
    # One side per patient: a stroke patient's codes agree across disciplines.
    hemi = dx.str.extract(r"(I69\.35\d)")[0]
    assert (hemi.dropna().groupby(notes["patient_id"]).nunique() == 1).all()


def test_numbers_and_instruments_are_possible_for_the_discipline(default):
    _, _, t = default
    notes, goals, services = t["notes"], t["goals"], t["services"]
    text = notes[["subjective", "objective", "assessment", "plan"]].agg(" ".join, axis=1)
    assert not text[notes["discipline"] == "SLP"].str.contains(r"\bpain\b", case=False).any()
    assert not text.str.contains(r"below 0/10|≤ 0/10|cues to max").any()
    pairs = text.str.extract(r"pain (\d+)/10 (?:today|currently), (\d+)/10 at best").dropna()
    assert len(pairs) and (pairs[1].astype(int) <= pairs[0].astype(int)).all()
    # A goal's target states the numbers its text states.
    for text_, target in zip(goals["text"], goals["target"], strict=True):
        numbers = set(re.findall(r"\d+(?:\.\d+)?", target)) - {"0"}
        assert numbers <= set(re.findall(r"\d+(?:\.\d+)?", text_)), (text_, target)
    # Evaluation complexity as billed.
    level = {"97161": "Low", "97162": "Moderate", "97163": "High"}
    level |= {"97165": "Low", "97166": "Moderate", "97167": "High"}
    billed = services[services["cpt_code"].isin(level)].set_index("note_id")["cpt_code"]
    stated = notes.set_index("note_id")["assessment"].str.extract(r"(Low|Moderate|High) comp")[0]
    assert (stated.loc[billed.index] == billed.map(level)).all()
    # Gait training for lower-limb and balance care only; no manual therapy for balance care.
    sv = services.merge(notes[["note_id", "diagnosis_codes"]], on="note_id")
    upper_or_spine = sv["diagnosis_codes"].str.match(r"M5[0-4]|M48|S13|M75|M25\.51|S43")
    assert not (upper_or_spine & (sv["cpt_code"] == "97116")).any()
    balance = sv["diagnosis_codes"].str.match(r"R26|R29\.6|G20")
    assert not (balance & sv["cpt_code"].isin(["97140", "97035"])).any()


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """Pools of three variants: most notes share their pooled text with other notes."""
    out = tmp_path_factory.mktemp("sample_shared")
    patch = pytest.MonkeyPatch()
    patch.setattr(sample, "_pooled_sections", functools.partial(sample._pooled_sections, cap=3))
    try:
        result = generate(out, notes=1500, seed=7)
    finally:
        patch.undo()
    return out, result, {t: _read(out, t) for t in TABLE_NAMES}


def _unstaged(result, notes: pd.DataFrame) -> pd.DataFrame:
    """Notes whose text is their own (copies and stock notes are planted from elsewhere)."""
    staged = result.planted["defect"].isin(["cloned_within", "cloned_across", "unskilled"])
    return notes[~notes["note_id"].isin(result.planted.loc[staged, "note_id"])]


@pytest.mark.parametrize("export", ["default", "shared"])
def test_manual_therapy_states_the_billed_97140_minutes_once(export, request):
    _, result, t = request.getfixturevalue(export)
    notes, services = _unstaged(result, t["notes"]), t["services"]
    manual = services[services["cpt_code"] == "97140"]
    billed = manual["minutes"].astype(int).groupby(manual["note_id"]).sum()
    billed = notes["note_id"].map(billed).fillna(0).astype(int)
    sentence = (
        r"(?:PA mobilizations to the (?:lumbar|upper thoracic) spine|STM to paraspinals|"
        r"levator scapulae|after joint mobilizations|posterior glides grade III|"
        r"retrograde massage|Scar massage and desensitization)"
    )
    stated = notes["objective"].str.findall(sentence + r" x (\d+) min")
    assert (stated.str.len() <= 1).all()
    once = stated.str.len() == 1
    assert once.sum() >= 20
    assert (stated[once].str[0].astype(int) == billed[once]).all()
    assert (billed[notes["objective"].str.contains(sentence)] > 0).all()


@pytest.mark.parametrize("export", ["default", "shared"])
def test_notes_describe_what_they_bill_except_stock_and_copied_notes(export, request):
    """Like a real clinic's: a few percent of the notes bill a service they do not describe,
    the stock-phrase notes and the notes copied forward from another visit."""
    out, result, t = request.getfixturevalue(export)
    loaded = load_export(out)
    ctx = AuditContext(export=loaded, as_of=pd.Timestamp("2026-12-31"))
    status = (
        REGISTRY["intervention_described"]
        .fn(ctx, loaded.notes.index, {"extra_terms": {}, "skip_codes": []})
        .status
    )
    note_id = loaded.notes["note_id"]
    judged = (status != Status.NOT_APPLICABLE).sum()
    failed = set(note_id[status == Status.FAIL])
    assert judged > 0.9 * len(note_id)
    assert 0.03 <= len(failed) / judged <= 0.08
    planted = result.planted
    staged = planted["defect"].isin(["unskilled", "cloned_within", "cloned_across"])
    assert failed <= set(planted.loc[staged, "note_id"])
    # The objective lists the billed interventions first.
    objective = t["notes"].set_index("note_id")["objective"]
    assert objective.str.match(r"(?:Interventions|Tx|Treatment provided|Today's tx): ").mean() > 0.8


@pytest.mark.parametrize("export", ["default", "shared"])
def test_one_device_per_note_stepping_down_at_most_once_per_episode(export, request):
    _, result, t = request.getfixturevalue(export)
    notes = _unstaged(result, t["notes"])
    notes = notes.sort_values(["episode_id", "date_of_service", "note_id"])
    # (the history's prior level of function may name the device used before)
    text = notes["objective"] + " " + notes["assessment"] + " " + notes["plan"]
    devices = text.str.findall(r"\b(RW|rollator|quad cane|SPC|no AD)\b").apply(set)
    assert (devices.str.len() <= 1).all()
    named = devices[devices.str.len() == 1].apply(min)
    used = named.groupby(notes.loc[named.index, "episode_id"]).agg(lambda d: list(dict.fromkeys(d)))
    step = {"RW": "SPC", "rollator": "SPC", "quad cane": "SPC", "SPC": "no AD"}
    assert used.apply(lambda d: len(d) == 1 or (len(d) == 2 and step[d[0]] == d[1])).all()
    assert (used.str.len() == 2).any()
    walker = text.str.contains(r"\b(?:RW|rollator)\b")
    assert walker.any() and not text[walker].str.contains(r"\bmod I\b").any()


@pytest.mark.parametrize("export", ["default", "shared"])
def test_a_note_uses_one_level_of_cueing(export, request):
    _, result, t = request.getfixturevalue(export)
    notes = _unstaged(result, t["notes"])
    # (the plan names the lighter level the cueing fades to)
    text = notes["subjective"] + " " + notes["objective"] + " " + notes["assessment"]
    levels = [
        r"max verbal and tactile cues",
        r"mod (?:verbal|tactile|verbal and visual) cues",
        r"min (?:verbal|tactile|visual) cues",
    ]
    used = sum(text.str.contains(level).astype(int) for level in levels)
    assert (used <= 1).all()
    assert (used == 1).mean() > 0.3
    # (no placeholder of a per-note value is left in shared text)
    assert not text.str.contains(r"[\x00-\x08]").any()


def test_ages_fit_the_condition_and_payers_the_age(default):
    _, _, t = default
    notes, measures = t["notes"], t["measures"]
    evals = notes[notes["note_type"] == "evaluation"]
    age = evals["subjective"].str.extract(r"(\d+) y/o")[0].astype(float)
    assert age.notna().all()
    medicare = evals["payer_type"] == "medicare_b"
    assert medicare.sum() >= 20 and (age[medicare] < 65).mean() < 0.25  # disability, ESRD
    assert (age[evals["payer_type"] == "workers_comp"] < 65).all()
    dx = evals["diagnosis_codes"]
    assert age[dx.str.contains(r"M22|S83")].between(16, 44).all()  # knee ligament, meniscus
    assert (age[dx.str.contains(r"M48")] >= 56).all()  # spinal stenosis
    # A FOIS below 4 means tube feeding, which the notes never mention.
    assert (measures.loc[measures["measure"] == "FOIS", "score"].astype(float) >= 4).all()


def test_long_term_goals_are_met_only_at_the_last_report(default):
    _, _, t = default
    notes = t["notes"]
    reports = notes[notes["note_type"].isin(["progress", "recertification", "re_evaluation"])]
    latest = reports.groupby("episode_id")["date_of_service"].transform("max")
    text = reports["assessment"] + " " + reports["plan"]
    met = text.str.contains(r"LTG \d \([^)]*\) met")
    assert met.any() and not met[reports["date_of_service"] < latest].any()
    assert not notes["assessment"].str.contains(r"\b1 times\b").any()
