"""The clinical picture of each reviewed episode, from its first visit up to the request.

Everything is computed for all reviewed episodes at once (groupby over their notes): the
timeline, diagnoses, plan frequency against the frequency delivered, visits used against
approved, every outcome-measure administration with its change against the instrument's MCID
and MDC (direction-aware), the goals with their status and measurability, and the audit findings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..audit import AuditResult
from ..checks.episodes import COUNT_WORDS, weekly_frequency
from ..checks.text import GOAL_PARTS, goal_parts, goal_statements
from ..episodes import NOTE_TYPE_RANK
from ..export import Export
from ..instruments import (
    canonical_instrument,
    classify_change,
    find_instruments_in_text,
    instrument_name_pattern,
    patient_conditions,
    population_caveat,
    select_thresholds,
)
from ..model import PLAN_NOTE_TYPES, REPORT_NOTE_TYPES

NOTE_COLUMNS = [
    "note_id",
    "patient_id",
    "patient_name",
    "episode_id",
    "discipline",
    "note_type",
    "date_of_service",
    "therapist",
    "credential",
    "role",
    "payer",
    "payer_type",
    "setting",
    "diagnosis_codes",
    "frequency",
    "duration",
    "poc_start",
    "poc_end",
    "narrative",
]


@dataclass
class Picture:
    """What the record shows for each reviewed episode (frames restricted to those episodes).

    - episodes: one row per episode (index episode_id): patient, discipline, therapist, payer,
      first/last visit, plan note, diagnoses, planned and delivered frequency, visits used and
      approved, and the request (see requests.REQUEST_COLUMNS).
    - notes: the episodes' notes up to each request date, in order (note_idx = row in export).
    - measures: every administration with baseline/previous score and change categories.
    - instruments: one row per (episode, instrument): baseline, latest, change and thresholds.
    - goals: current goals with status and measurability; findings: audit findings.
    - excluded: notes of the episodes left out of the picture as data problems (a note dated
      before the episode's first evaluation: CHK-DATA-01), with the reason.
    """

    episodes: pd.DataFrame
    notes: pd.DataFrame
    measures: pd.DataFrame
    instruments: pd.DataFrame
    goals: pd.DataFrame
    findings: pd.DataFrame
    thresholds: pd.DataFrame | None = None
    excluded: pd.DataFrame | None = None


# --------------------------------------------------------------------------- helpers


def fmt_date(values: pd.Series) -> pd.Series:
    """YYYY-MM-DD text, '' for NaT."""
    return pd.to_datetime(values).dt.strftime("%Y-%m-%d").fillna("").astype(object)


def fmt_number(values: pd.Series) -> pd.Series:
    """Scores as short text: 32, 32.5, 0.85 ('' for NaN)."""
    v = pd.to_numeric(values, errors="coerce").astype("float64")
    text = v.round(2).map(lambda x: "" if pd.isna(x) else f"{x:g}")
    return text.astype(object)


def score_decimals(scores: pd.Series) -> pd.Series:
    """Decimals each score is written with (0 to 2: 0.7 as 1, 0.66 as 2, 43 as 0)."""
    v = pd.to_numeric(scores, errors="coerce").to_numpy(dtype="float64")
    cents = np.round(np.nan_to_num(v) * 100).astype("int64")
    return pd.Series(
        np.where(cents % 100 == 0, 0, np.where(cents % 10 == 0, 1, 2)), index=scores.index
    )


def fmt_score(values: pd.Series, decimals: pd.Series, signed: bool = False) -> pd.Series:
    """Scores (or changes, `signed`) with the decimals of their instrument's scores: gait speed
    0.66 -> 0.70 prints 0.70, not 0.7 ('' for NaN)."""
    v = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64")
    d = pd.to_numeric(decimals, errors="coerce").fillna(2).clip(0, 2).to_numpy(dtype="int64")
    sign = "+" if signed else ""
    text = ["" if np.isnan(x) else f"{x:{sign}.{k}f}" for x, k in zip(v, d, strict=True)]
    return pd.Series(text, index=values.index, dtype=object)


def unused_text(unused: pd.Series, auths: pd.Series, until: pd.Series) -> pd.Series:
    """'4 approved visits of A-1 are still unused until 2026-11-06' ('1 … visit … is')."""
    one = (unused == 1).to_numpy(bool)
    return (
        fmt_number(unused)
        + np.where(one, " approved visit of ", " approved visits of ")
        + auths.astype(str)
        + np.where(one, " is", " are")
        + " still unused until "
        + until.dt.strftime("%Y-%m-%d").fillna("?")
    )


def change_words(
    gain: pd.Series, baseline: pd.Series, mcid: pd.Series, mdc: pd.Series, mcid_pct: pd.Series
) -> pd.Series:
    """What a change (gain: improvement, direction-aware) is against the instrument's MCID
    and MDC, in words true for each case: at least the MCID; at least the MCID but within the
    MDC (may be measurement error); at least the MDC but below the MCID; below both; an
    instrument with no MCID on file judged on its MDC; a decline; no threshold on file."""
    g = pd.to_numeric(gain, errors="coerce").to_numpy(dtype="float64")
    b = pd.to_numeric(baseline, errors="coerce").to_numpy(dtype="float64")
    c = pd.to_numeric(mcid, errors="coerce").to_numpy(dtype="float64")
    d = pd.to_numeric(mdc, errors="coerce").to_numpy(dtype="float64")
    pct = pd.to_numeric(mcid_pct, errors="coerce").to_numpy(dtype="float64")
    has_c, has_d, has_p = ~np.isnan(c), ~np.isnan(d), ~np.isnan(pct)
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = np.where(np.abs(b) > 0, g / np.abs(b) * 100.0, np.nan)
        by_pct = has_p & (rel >= pct) & (g > 0)
        past_c = has_c & (g >= c)
        past_d = has_d & (g >= d)
        bar = np.where(has_d, d, c)
        decline = ~np.isnan(bar) & (g <= -bar)
    words = np.select(
        [
            np.isnan(g) | (~has_c & ~has_d & ~has_p),
            decline,
            (past_c & (past_d | ~has_d)) | by_pct,
            past_c,
            has_c & past_d,
            has_c & has_d,
            has_c | has_p,
            past_d,
        ],
        [
            "no MCID or MDC on file",
            np.where(has_d, "a decline of at least the MDC", "a decline of at least the MCID"),
            np.where(
                by_pct & ~past_c,
                "at least the MCID (as a share of the baseline)",
                "at least the MCID",
            ),
            "at least the MCID but within the MDC: may be measurement error",
            "at least the MDC but below the MCID",
            "below the MCID and within the MDC: may be measurement error",
            "below the MCID (no MDC on file)",
            "at least the MDC (no MCID on file)",
        ],
        "within the MDC (no MCID on file): may be measurement error",
    )
    return pd.Series(words, index=gain.index, dtype=object)


_COUNT = r"\d+(?:\.\d+)?|" + "|".join(COUNT_WORDS)
DURATION_IN_TEXT = (
    rf"(?P<low>{_COUNT})\s*(?:(?:-|–|to)\s*(?P<high>{_COUNT})\s*)?"
    r"(?P<unit>wks?|weeks?|visits?|sessions?|treatments?|months?|mos?|days?)\b"
)
_WEEKS_PER_UNIT = {"w": 1.0, "m": 30.44 / 7.0, "d": 1.0 / 7.0}


def planned_duration(text: pd.Series) -> pd.DataFrame:
    """The plan's duration from text such as '8 weeks', '6-8 wks', '3 months', '12 visits':
    columns weeks and visits (the top of a range; NaN when not written in that unit)."""
    found = text.astype("string").str.extract(DURATION_IN_TEXT, flags=re.IGNORECASE)

    def number(values: pd.Series) -> pd.Series:
        v = values.str.lower()
        return pd.to_numeric(v.map(lambda x: COUNT_WORDS.get(x, x)), errors="coerce")

    top = number(found["high"]).fillna(number(found["low"])).astype("float64")
    unit = found["unit"].str.lower().str[0]
    per_week = unit.map(_WEEKS_PER_UNIT).astype("float64")
    counted = unit.isin(["v", "s", "t"]).fillna(False).to_numpy(bool)
    return pd.DataFrame({"weeks": top * per_week, "visits": top.where(counted)}, index=text.index)


def _last_non_blank(frame: pd.DataFrame, column: str) -> pd.Series:
    """Per episode, the value of `column` in the latest note where it is filled."""
    values = frame[column]
    if values.dtype == object or pd.api.types.is_string_dtype(values):
        values = values.astype("string").str.strip().replace("", pd.NA)
    filled = frame.loc[values.notna(), ["episode_id"]].assign(v=values[values.notna()])
    return filled.groupby("episode_id")["v"].last()


# --------------------------------------------------------------------------- build


def build_picture(
    export: Export,
    requests: pd.DataFrame,
    audit: AuditResult | None = None,
    thresholds: pd.DataFrame | None = None,
) -> Picture:
    """The picture of every episode in `requests` (index episode_id, see select_requests)."""
    notes, excluded = _episode_notes(export, requests)
    episodes = _episodes(notes, requests, excluded)
    later = _discharged_after(export, requests)
    episodes["discharged_note_id"] = later["note_id"].reindex(episodes.index).astype(object)
    episodes["discharged_date"] = later["date"].reindex(episodes.index)
    episodes["conditions"] = patient_conditions(episodes["diagnoses"])
    measures = _measures(export, notes, thresholds, episodes["conditions"])
    instruments = _instrument_summary(measures)
    goals = _goal_targets(_goals(export, notes, episodes), instruments, thresholds)
    findings = _findings(audit, notes)
    return Picture(
        episodes=episodes,
        notes=notes,
        measures=measures,
        instruments=instruments,
        goals=goals,
        findings=findings,
        thresholds=thresholds,
        excluded=excluded,
    )


def _discharged_after(export: Export, requests: pd.DataFrame) -> pd.DataFrame:
    """Per episode, the first discharge summary dated after its request (index episode_id;
    note_id, date): the picture stops at the request, but a reviewer must know the patient
    has since been discharged."""
    notes = export.notes
    dc = notes[
        notes["episode_id"].isin(requests.index).to_numpy(bool)
        & (notes["note_type"] == "discharge").fillna(False).to_numpy(bool)
    ]
    dc = dc.assign(date=dc["date_of_service"].dt.normalize())
    cutoff = dc["episode_id"].map(requests["request_date"]).astype("datetime64[ns]")
    dc = dc[cutoff.notna().to_numpy() & (dc["date"] > cutoff).to_numpy(bool)]
    dc = dc.sort_values(["episode_id", "date"], kind="stable").drop_duplicates("episode_id")
    return dc.set_index("episode_id")[["note_id", "date"]]


def _episode_notes(export: Export, requests: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The reviewed episodes' notes up to each request date, ordered, with visit numbers; and
    the notes left out as dated before the episode's first evaluation (see _before_evaluation)."""
    all_notes = export.notes
    columns = NOTE_COLUMNS + (["signed_at"] if "signed_at" in all_notes.columns else [])
    sub = all_notes.loc[all_notes["episode_id"].isin(requests.index), columns].copy()
    sub["note_idx"] = sub.index.to_numpy()
    sub["date"] = sub["date_of_service"].dt.normalize()
    cutoff = sub["episode_id"].map(requests["request_date"]).astype("datetime64[ns]")
    inside = cutoff.isna() | (sub["date"] <= cutoff)
    # A request dated before the episode's first note does not empty the picture.
    any_inside = inside.groupby(sub["episode_id"]).transform("any")
    sub = sub[inside | ~any_inside]
    sub, excluded = _before_evaluation(sub)
    rank = sub["note_type"].map(NOTE_TYPE_RANK).fillna(9)
    sub = sub.assign(_rank=rank.to_numpy()).sort_values(
        ["episode_id", "date", "_rank", "note_idx"], kind="stable"
    )
    sub = sub.drop(columns="_rank").reset_index(drop=True)
    ep = sub["episode_id"].to_numpy()
    d = sub["date"].to_numpy()
    new_day = np.ones(len(sub), bool)
    new_day[1:] = (ep[1:] != ep[:-1]) | (d[1:] != d[:-1])
    sub["new_visit"] = new_day
    sub["visit_no"] = pd.Series(new_day.astype(int)).groupby(ep).cumsum().to_numpy()
    sub["date_text"] = fmt_date(sub["date"])
    return sub, excluded


EXCLUDED_COLUMNS = ["episode_id", "note_id", "note_idx", "note_type", "date", "signed", "reason"]


def _before_evaluation(notes: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the notes kept, the notes dated before their episode's first evaluation).

    A treatment note cannot precede the evaluation that starts the plan of care (CHK-DATA-01,
    "TX before first EVAL"): such a date is a typo ("1/22" for "10/22"), and taken as the
    first visit it moves the baseline window and the weeks the frequency is counted over.
    The picture starts at the evaluation; the note is listed as a data problem instead.
    """
    evaluation = notes["note_type"].eq("evaluation").fillna(False).to_numpy(bool)
    first_eval = notes.loc[evaluation].groupby("episode_id")["date"].min()
    # (reindex, not map: mapping through an empty datetime Series raises)
    start = first_eval.reindex(notes["episode_id"]).to_numpy(dtype="datetime64[ns]")
    early = notes["date"].to_numpy(dtype="datetime64[ns]") < start
    gone = notes.loc[early]
    eval_text = fmt_date(pd.Series(start[early], index=gone.index))
    signed = (
        fmt_date(gone["signed_at"])
        if "signed_at" in gone.columns
        else pd.Series("", index=gone.index, dtype=object)
    )
    reason = (
        "dated "
        + fmt_date(gone["date"])
        + np.where(signed != "", " (signed " + signed + ")", "")
        + ", before the episode's first evaluation of "
        + eval_text
        + ": a note cannot precede it (CHK-DATA-01), so the date is taken for an error and the "
        "note is left out of the visits, the baseline and the frequency delivered"
    )
    excluded = pd.DataFrame(
        {
            "episode_id": gone["episode_id"].to_numpy(dtype=object),
            "note_id": gone["note_id"].to_numpy(dtype=object),
            "note_idx": gone["note_idx"].to_numpy(),
            "note_type": gone["note_type"].to_numpy(dtype=object),
            "date": gone["date"].to_numpy(),
            "signed": signed.to_numpy(dtype=object),
            "reason": np.asarray(reason, dtype=object),
        },
        columns=EXCLUDED_COLUMNS,
    )
    return notes.loc[~early], excluded.reset_index(drop=True)


def _episodes(notes: pd.DataFrame, requests: pd.DataFrame, excluded: pd.DataFrame) -> pd.DataFrame:
    g = notes.groupby("episode_id", sort=False)
    ep = pd.DataFrame(index=pd.Index(requests.index, name="episode_id"))
    first = g.head(1).set_index("episode_id")
    last = g.tail(1).set_index("episode_id")
    ep["patient_id"] = first["patient_id"].reindex(ep.index).astype(object)
    ep["patient_name"] = _last_non_blank(notes, "patient_name").reindex(ep.index).astype(object)
    ep["discipline"] = first["discipline"].reindex(ep.index).astype(object)
    for col in ("payer", "payer_type", "setting"):
        ep[col] = _last_non_blank(notes, col).reindex(ep.index).astype(object)
    ep["first_date"] = first["date"].reindex(ep.index)
    ep["first_note_id"] = first["note_id"].reindex(ep.index).astype(object)
    ep["first_note_type"] = first["note_type"].reindex(ep.index).astype(object)
    ep["last_date"] = last["date"].reindex(ep.index)
    ep["last_note_id"] = last["note_id"].reindex(ep.index).astype(object)

    plan = notes[notes["note_type"].isin(PLAN_NOTE_TYPES)].groupby("episode_id").tail(1)
    plan = plan.set_index("episode_id")
    ep["plan_note_id"] = plan["note_id"].reindex(ep.index).astype(object)
    ep["plan_date"] = plan["date"].reindex(ep.index)
    ep["plan_note_id"] = ep["plan_note_id"].fillna(ep["first_note_id"])
    ep["plan_date"] = ep["plan_date"].fillna(ep["first_date"])

    # The treating therapist: author of the latest note written by a therapist.
    by_therapist = notes[notes["role"] == "therapist"].groupby("episode_id").tail(1)
    by_therapist = by_therapist.set_index("episode_id")
    ep["therapist"] = (
        by_therapist["therapist"].reindex(ep.index).fillna(last["therapist"].reindex(ep.index))
    ).astype(object)
    ep["credential"] = (
        by_therapist["credential"].reindex(ep.index).fillna(last["credential"].reindex(ep.index))
    ).astype(object)

    codes = notes[["episode_id", "diagnosis_codes"]].dropna()
    codes = codes.assign(code=codes["diagnosis_codes"].astype(str).str.split(r"[;,]"))
    codes = codes.explode("code")
    codes["code"] = codes["code"].str.strip().str.upper()
    codes = codes[codes["code"] != ""].drop_duplicates(["episode_id", "code"])
    ep["diagnoses"] = codes.groupby("episode_id")["code"].agg("; ".join).reindex(ep.index)
    ep["diagnoses"] = ep["diagnoses"].fillna("").astype(object)

    # The current plan of care is the one with the latest poc_start (a recertification's,
    # not the evaluation's): its interval, frequency and duration.
    newest = (
        notes[notes["poc_start"].notna()]
        .sort_values(["episode_id", "poc_start", "date"], kind="stable")
        .groupby("episode_id")
        .tail(1)
        .set_index("episode_id")
        .reindex(ep.index)
    )
    has_newest = newest["poc_start"].notna()
    for col in ("poc_start", "poc_end"):
        last = _last_non_blank(notes, col).reindex(ep.index).astype("datetime64[ns]")
        ep[col] = newest[col].astype("datetime64[ns]").where(has_newest, last)
    ep["current_plan_note_id"] = (
        newest["note_id"].astype(object).where(has_newest, ep["plan_note_id"]).astype(object)
    )
    ep["current_plan_date"] = newest["date"].where(has_newest, ep["plan_date"])
    freq_col = (
        newest["frequency"]
        .astype(object)
        .fillna(_last_non_blank(notes, "frequency").reindex(ep.index).astype(object))
    )
    plan_text = notes[notes["note_type"].isin(PLAN_NOTE_TYPES)].copy()
    plan_freq = weekly_frequency(plan_text["narrative"])
    plan_text["freq_text"] = plan_freq["text"]
    freq_from_text = _last_non_blank(plan_text, "freq_text").reindex(ep.index)
    ep["frequency"] = freq_col.fillna(freq_from_text).astype(object)
    parsed = weekly_frequency(ep["frequency"].astype("string"))
    ep["planned_low"] = parsed["low"]
    ep["planned_high"] = parsed["high"]
    ep["duration"] = (
        newest["duration"]
        .astype(object)
        .fillna(_last_non_blank(notes, "duration").reindex(ep.index).astype(object))
    )

    visits = notes[notes["new_visit"]]
    ep["visits_used"] = visits.groupby("episode_id").size().reindex(ep.index).fillna(0)
    ep["visits_used"] = ep["visits_used"].astype("int64")

    # Calendar weeks (Monday to Sunday) from the first visit's to the last's: a Mon/Thu
    # schedule over four weeks is 2 a week, where days/7 (3.6 weeks) made it 2.2.
    def monday(d: pd.Series) -> pd.Series:
        return d - pd.to_timedelta(d.dt.day_of_week, unit="D")

    spanned = (monday(ep["last_date"]) - monday(ep["first_date"])).dt.days // 7 + 1
    ep["weeks"] = np.maximum(spanned.astype("float64"), 1.0)
    ep["delivered_per_week"] = (ep["visits_used"] / ep["weeks"]).round(1)
    ep["notes"] = g.size().reindex(ep.index).fillna(0).astype("int64")
    for col in requests.columns:
        ep[col] = requests[col]
    ep["excluded_notes"] = (
        excluded.groupby("episode_id").size().reindex(ep.index).fillna(0).astype("int64")
    )
    # '880308 dated 2026-01-22' for the flag that tells the reviewer.
    short = excluded["note_id"].astype(str) + " dated " + fmt_date(excluded["date"])
    ep["excluded_text"] = (
        (short.groupby(excluded["episode_id"].to_numpy()).agg("; ".join).reindex(ep.index))
        .fillna("")
        .astype(object)
    )
    _plan_supported(ep, visits)
    _unused_and_attended(ep, visits)
    return ep


def _plan_supported(ep: pd.DataFrame, visits: pd.DataFrame) -> None:
    """Adds, in place, what the current plan of care supports from the request on.

    plan_start (poc_start, else the plan note's date), plan_end (poc_end, else plan_start +
    the duration in weeks), plan_end_from, plan_lapsed (the plan ended before the request),
    past_plan_end (the request runs past plan_end), window_start/window_end (the request date
    to requested_through, within the plan) and plan_supported_visits: the planned visits per
    week (the top of a range) over that window, rounded up, and no more than a duration in
    visits leaves; NaN when it cannot be counted.
    """
    length = planned_duration(ep["duration"].astype("string"))
    start = ep["poc_start"].fillna(ep["current_plan_date"])
    by_weeks = start + pd.to_timedelta(length["weeks"] * 7 - 1, unit="D")
    ep["plan_start"] = start
    ep["plan_end"] = ep["poc_end"].fillna(by_weeks.dt.normalize())
    ep["plan_end_from"] = np.where(
        ep["poc_end"].notna(), "poc_end", np.where(ep["plan_end"].notna(), "duration", "")
    )
    window_start = ep["request_date"].fillna(ep["last_date"])
    through = ep["requested_through"]
    ep["plan_lapsed"] = (ep["plan_end"] < window_start).fillna(False).astype(bool)
    ep["past_plan_end"] = (through > ep["plan_end"]).fillna(False).astype(bool)
    window_end = through.where(~ep["past_plan_end"] & through.notna(), ep["plan_end"])
    ep["window_start"] = window_start
    ep["window_end"] = window_end
    days = (window_end - window_start).dt.days + 1
    by_time = np.ceil(ep["planned_high"] * days.clip(lower=0) / 7.0 - 1e-9)
    since_start = visits[visits["date"] >= visits["episode_id"].map(start)]
    used = since_start.groupby("episode_id").size().reindex(ep.index).fillna(0)
    by_count = (length["visits"] - used).clip(lower=0)
    supported = pd.concat([by_time, by_count], axis=1).min(axis=1, skipna=True)
    ep["plan_supported_visits"] = supported.where(~ep["plan_lapsed"]).astype("float64")


def _unused_and_attended(ep: pd.DataFrame, visits: pd.DataFrame) -> None:
    """Adds, in place, the approved visits still unused and what the frequency delivered needs.

    unused_visits: visits approved on the authorizations current at the request
    (requests.REQUEST_COLUMNS current_*) less the visits made within their window (NaN when
    none is current); unused_until: the end of that window. Over the request's window
    (window_start to window_end, see _plan_supported), at the frequency delivered:
    attended_need visits (rounded up), of which attended_covered are paid by the unused
    visits (those of the window less the visits after unused_until, rounded up; never more
    than there are), attended_visits the rest, never more than the plan supports.
    plan_covered/plan_needed_visits: the same at the plan's frequency (the top of its range),
    from plan_supported_visits (plan_covered also counts the transition visits a denial
    leaves, see policy._transition_covered).
    """
    start = ep["current_start"].fillna(ep["first_date"])
    end = ep["current_end"]
    day = visits["date"].to_numpy(dtype="datetime64[ns]")
    in_auth = visits[
        (day >= start.reindex(visits["episode_id"]).to_numpy(dtype="datetime64[ns]"))
        & (day <= end.reindex(visits["episode_id"]).to_numpy(dtype="datetime64[ns]"))
    ]
    used = in_auth.groupby("episode_id").size().reindex(ep.index).fillna(0)
    unused = (ep["current_approved"] - used).clip(lower=0)
    ep["unused_visits"] = unused.where(end.notna()).astype("float64")
    ep["unused_until"] = end.where(ep["unused_visits"] > 0)
    days = ((ep["window_end"] - ep["window_start"]).dt.days + 1).clip(lower=0)
    # Days of the window after the unused visits' authorization ends (all of them without one).
    after = (ep["window_end"] - end).dt.days.clip(lower=0, upper=days).fillna(days)
    spare = ep["unused_visits"].fillna(0)

    def covered(rate: pd.Series, need: pd.Series) -> pd.Series:
        # The visits after the authorization ends (rounded up) are the new approval's; the
        # rest of the window's are paid by the unused visits, as far as they go.
        beyond = np.ceil(rate * after / 7.0 - 1e-9)
        return np.minimum((need - beyond).clip(lower=0), spare).fillna(0)

    rate = ep["delivered_per_week"]
    need = np.ceil(rate * days / 7.0 - 1e-9)
    ep["attended_need"] = need.astype("float64")
    ep["attended_covered"] = covered(rate, need).where(need.notna()).astype("float64")
    attended = (need - ep["attended_covered"]).clip(lower=0)
    plan = ep["plan_supported_visits"]
    ep["attended_visits"] = attended.where(~(attended > plan), plan).astype("float64")
    plan_need = np.ceil(ep["planned_high"] * days / 7.0 - 1e-9)
    ep["plan_covered"] = covered(ep["planned_high"], plan_need.fillna(0)).astype("float64")
    ep["plan_covered"] = ep["plan_covered"].where(~(ep["plan_covered"] > plan), plan)
    ep["plan_needed_visits"] = (plan - ep["plan_covered"]).clip(lower=0).astype("float64")


def _measures(
    export: Export, notes: pd.DataFrame, thresholds: pd.DataFrame | None, conditions: pd.Series
) -> pd.DataFrame:
    """Every administration of an outcome measure in the reviewed episodes, with change and
    the population its threshold comes from (with a caveat when that is not the patient's
    condition, `conditions` by episode: see instruments.population_caveat)."""
    by_idx = notes.set_index("note_idx")
    parts = []
    table = export.table("measures")
    if table is not None and len(table):
        t = table[table["note_idx"].isin(by_idx.index)]
        parts.append(
            pd.DataFrame(
                {
                    "note_idx": t["note_idx"].to_numpy(),
                    "measure": t["measure"].astype(object).to_numpy(),
                    "score": t["score"].to_numpy(dtype="float64"),
                    "date": t["date"].dt.normalize().to_numpy(),
                    "source": "measures table",
                    "text": "",
                }
            )
        )
    covered = set()
    if parts:
        covered = set(by_idx.loc[parts[0]["note_idx"], "episode_id"])
    # Episodes with no row in the measures table: scores written in the notes count.
    rest = notes[~notes["episode_id"].isin(covered)]
    if len(rest):
        found = find_instruments_in_text(rest.set_index("note_idx")["narrative"], thresholds)
        if len(found):
            parts.append(
                pd.DataFrame(
                    {
                        "note_idx": found["row"].to_numpy(dtype="int64"),
                        "measure": found["instrument"].astype(object).to_numpy(),
                        "score": found["score"].to_numpy(dtype="float64"),
                        "date": by_idx.loc[found["row"], "date"].to_numpy(),
                        "source": "note text",
                        "text": found["text"].astype(object).to_numpy(),
                    }
                )
            )
    columns = [
        "episode_id",
        "note_id",
        "note_idx",
        "note_type",
        "date",
        "measure",
        "instrument",
        "recognised",
        "score",
        "source",
        "text",
        "seq",
        "n",
        "decimals",
        "baseline",
        "baseline_note_id",
        "baseline_date",
        "prev",
        "prev_note_id",
        "prev_date",
        "direction",
        "mcid",
        "mcid_pct",
        "mdc",
        "threshold_source",
        "threshold_population",
        "population_caveat",
        "change",
        "gain",
        "change_prev",
        "gain_prev",
        "vs_baseline",
        "vs_previous",
        "baseline_words",
        "previous_words",
    ]
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    m = pd.concat(parts, ignore_index=True)
    m = m[np.isfinite(m["score"].to_numpy(dtype="float64"))]
    m["date"] = pd.to_datetime(m["date"]).fillna(
        pd.Series(by_idx.loc[m["note_idx"], "date"].to_numpy(), index=m.index)
    )
    info = by_idx.loc[m["note_idx"], ["episode_id", "note_id", "note_type"]]
    for col in info.columns:
        m[col] = info[col].to_numpy(dtype=object)
    canon = canonical_instrument(m["measure"], thresholds)
    m["recognised"] = canon.notna().to_numpy()
    m["instrument"] = canon.fillna(m["measure"].astype("string").str.strip()).astype(object)
    order = pd.Series(np.arange(len(by_idx)), index=by_idx.index)
    m["_pos"] = m["note_idx"].map(order)
    m = m.sort_values(["episode_id", "instrument", "date", "_pos"], kind="stable")
    # One score per instrument and day (a re-entered score replaces the first).
    m = m.drop_duplicates(["episode_id", "instrument", "date"], keep="last").reset_index(drop=True)
    g = m.groupby(["episode_id", "instrument"], sort=False)
    m["seq"] = g.cumcount() + 1
    m["n"] = g["score"].transform("size")
    # Every score of an instrument printed with as many decimals as its most precise one.
    written = score_decimals(m["score"])
    m["decimals"] = written.groupby([m["episode_id"], m["instrument"]]).transform("max")
    for col, src in (
        ("baseline", "score"),
        ("baseline_note_id", "note_id"),
        ("baseline_date", "date"),
    ):
        m[col] = g[src].transform("first")
    for col, src in (("prev", "score"), ("prev_note_id", "note_id"), ("prev_date", "date")):
        m[col] = g[src].shift(1)
    th = select_thresholds(m["instrument"], m["baseline"], thresholds)
    m["direction"] = th["direction"].to_numpy(dtype=object)
    m["mcid"] = th["mcid"].to_numpy(dtype="float64")
    m["mcid_pct"] = th["mcid_pct"].to_numpy(dtype="float64")
    m["mdc"] = th["mdc"].to_numpy(dtype="float64")
    m["threshold_source"] = th["source"].to_numpy(dtype=object)
    m["threshold_population"] = th["population"].to_numpy(dtype=object)
    # (an instrument with no threshold on file, such as TUG, is judged against none)
    judged = th[["mcid", "mcid_pct", "mdc"]].notna().any(axis=1).to_numpy(bool)
    m["population_caveat"] = population_caveat(
        m["instrument"],
        m["threshold_population"].where(judged),
        m["episode_id"].map(conditions),
        thresholds,
    ).to_numpy(dtype=object)
    sign = np.where(m["direction"] == "lower_better", -1.0, 1.0)
    m["change"] = m["score"] - m["baseline"]
    m["gain"] = m["change"] * sign
    m["change_prev"] = m["score"] - m["prev"]
    m["gain_prev"] = m["change_prev"] * sign
    later = m["seq"] > 1
    m["vs_baseline"] = classify_change(m["instrument"], m["baseline"], m["score"], thresholds)
    m.loc[~later, "vs_baseline"] = pd.NA
    m["vs_previous"] = classify_change(m["instrument"], m["prev"], m["score"], thresholds)
    m["baseline_words"] = change_words(m["gain"], m["baseline"], m["mcid"], m["mdc"], m["mcid_pct"])
    m.loc[~later, "baseline_words"] = ""
    m["previous_words"] = change_words(
        m["gain_prev"], m["prev"], m["mcid"], m["mdc"], m["mcid_pct"]
    )
    m.loc[~later, "previous_words"] = ""
    return m[columns]


def _instrument_summary(measures: pd.DataFrame) -> pd.DataFrame:
    """One row per (episode, instrument): its latest administration with baseline and change."""
    if measures.empty:
        return measures.assign(latest_note_id=pd.Series(dtype=object))
    latest = measures.groupby(["episode_id", "instrument"], sort=False).tail(1).copy()
    latest = latest.rename(
        columns={"score": "latest", "note_id": "latest_note_id", "date": "latest_date"}
    )
    return latest.reset_index(drop=True)


def _goals(export: Export, notes: pd.DataFrame, episodes: pd.DataFrame) -> pd.DataFrame:
    """The episodes' current goals (latest version of each), with measure/time-frame flags."""
    columns = [
        "episode_id",
        "goal_id",
        "term",
        "text",
        "status",
        "baseline",
        "target",
        "target_date",
        "note_id",
        "date",
        "source",
    ]
    by_idx = notes.set_index("note_idx")
    table = export.table("goals")
    if table is not None and len(table):
        g = table.copy()
        ep = g["episode_id"].astype(object)
        # Goals that name only the patient belong to that patient's reviewed episode.
        by_patient = episodes.reset_index().drop_duplicates("patient_id", keep="last")
        by_patient = by_patient.set_index("patient_id")["episode_id"]
        ep = ep.where(ep.notna(), g["patient_id"].astype(object).map(by_patient))
        g["episode_id"] = ep
        g = g[g["episode_id"].isin(episodes.index)]
        linked = g["note_idx"].notna()
        in_picture = g["note_idx"].astype("float").isin(by_idx.index.astype(float))
        # A goal's note is where it was set or last updated: one updated after the request
        # was on record before it. Kept where the episode has no goal of the picture's time,
        # so a request is not pended for goals that exist.
        later = linked & ~in_picture
        has_own = g["episode_id"].isin(g.loc[~linked | in_picture, "episode_id"])
        g = g[~linked | in_picture | (later & ~has_own)].copy()
        pos = g["note_idx"].astype("Int64")
        all_notes = export.notes
        g["note_id"] = (
            pos.map(by_idx["note_id"])
            .fillna(pos.map(all_notes["note_id"].astype(object)))
            .astype(object)
        )
        g["date"] = (
            pos.map(by_idx["date"])
            .fillna(pos.map(all_notes["date_of_service"].dt.normalize()))
            .astype("datetime64[ns]")
        )
        g["source"] = "goals table"
        key = (
            g["goal_id"].astype("string").fillna(g["text"].astype("string").str.strip().str.lower())
        )
        g["_key"] = key.to_numpy()
        g = g.sort_values(["episode_id", "date"], na_position="first", kind="stable")
        g = g.drop_duplicates(["episode_id", "_key"], keep="last")
        goals = g[columns].reset_index(drop=True)
    else:
        goals = _goals_from_text(notes, columns)
    goals["text"] = goals["text"].astype(object)
    known_tf = goals["target_date"].notna().to_numpy(bool)
    if "_section_tf" in goals:
        known_tf |= goals.pop("_section_tf").to_numpy(bool)
    parts = goal_parts(goals["text"].astype("string").fillna(""), known_tf)
    target = goals["target"].astype("string").fillna("").str.strip()
    parts["measure"] |= target.str.contains(r"\d|independ", case=False).to_numpy(bool)
    for part in GOAL_PARTS:
        goals[part] = parts[part].to_numpy(bool)
    goals["status"] = goals["status"].astype(object)
    return goals


# A target that is only a score: "60", ">= 46/56", "20% or less", "at least 45 points".
_BARE_TARGET = (
    r"^\s*(?:(?:[<>≥≤]=?|at least|at most|of)\s*)?(?P<value>\d+(?:\.\d+)?)\s*(?:/\s*\d+)?\s*"
    r"(?:%|percent|points?|pts)?\s*(?:or (?:better|more|less|higher|lower|above|below))?\s*$"
)
# The score a goal's text aims at: "improve LEFS to 60", "Berg >= 46", "ODI of at most 20",
# "increase LEFS from 32/80 to 41/80".
_TARGET_IN_TEXT = (
    r"(?:\s*(?:score\s+)?from\s+\d+(?:\.\d+)?(?:\s*/\s*\d+)?)?"
    r"[^.;\d]{0,30}?(?:\bto|≥|>=|≤|<=|\bof at least|\bat least|\bof at most|\bat most|"
    r"\bbelow|\bunder|\babove)\s*(?:a\s+(?:score|total)\s+of\s+)?(?P<value>\d+(?:\.\d+)?)"
)


_MAINTAIN_GOAL = r"\b(?:maintain|remain|keep|sustain|preserve|prevent)"


def _goal_targets(
    goals: pd.DataFrame, instruments: pd.DataFrame, thresholds: pd.DataFrame | None
) -> pd.DataFrame:
    """The goals with the score each aims at and whether the latest score already reaches it.

    target_instrument/target_value come from the target column ("LEFS 60", or a bare "60"
    when the goal's text names the instrument), else from the text ("improve LEFS to 60").
    target_reached: the latest score of that instrument in the episode meets the target
    (direction-aware; by the baseline's side of the target when the direction is unknown),
    except for a goal of maintaining a level; reached_by: 'LEFS 62 (N14, 2026-10-16)'.
    """
    goals = goals.copy()
    target = goals["target"].astype("string").fillna("").str.strip()
    text = goals["text"].astype("string").fillna("")
    named = canonical_instrument(target.where(target != "", pd.NA), thresholds)
    in_target = find_instruments_in_text(target.where(named.notna()), thresholds)
    in_target = in_target.drop_duplicates("row").set_index("row")
    value = in_target["score"].reindex(goals.index)
    instrument = in_target["instrument"].reindex(goals.index).astype(object)
    bare = pd.to_numeric(target.str.extract(_BARE_TARGET, flags=re.IGNORECASE)["value"], "coerce")
    text_instrument = canonical_instrument(text.where(text != "", pd.NA), thresholds)
    use_bare = value.isna() & bare.notna() & text_instrument.notna()
    value = value.where(~use_bare, bare)
    instrument = instrument.where(~use_bare, text_instrument)
    said = text.str.extract(
        "(?P<name>" + instrument_name_pattern(thresholds) + ")" + _TARGET_IN_TEXT,
        flags=re.IGNORECASE,
    )
    from_text = value.isna() & (target == "") & said["value"].notna()
    value = value.where(~from_text, pd.to_numeric(said["value"], errors="coerce"))
    instrument = instrument.where(
        ~from_text, canonical_instrument(said["name"], thresholds).astype(object)
    )
    goals["target_instrument"] = instrument.astype(object)
    goals["target_value"] = value.astype("float64")
    goals["target_reached"] = False
    goals["reached_by"] = ""
    if instruments.empty or goals.empty:
        return goals
    latest = instruments.set_index(["episode_id", "instrument"])
    keys = pd.MultiIndex.from_arrays([goals["episode_id"], goals["target_instrument"]])
    found = latest.reindex(keys)
    score = found["latest"].to_numpy(dtype="float64")
    base = found["baseline"].to_numpy(dtype="float64")
    goal = goals["target_value"].to_numpy(dtype="float64")
    direction = found["direction"].astype(object).to_numpy()
    higher = np.where(
        direction == "higher_better",
        True,
        np.where(direction == "lower_better", False, goal >= base),
    )
    reached = np.where(higher, score >= goal, score <= goal) & ~np.isnan(score) & ~np.isnan(goal)
    # A maintenance goal ("maintain a Berg of at least 40") is met by staying there, not done.
    reached &= ~text.str.contains(_MAINTAIN_GOAL, case=False, regex=True).to_numpy(bool)
    goals["target_reached"] = reached
    note = found["latest_note_id"].astype(object).to_numpy()
    day = fmt_date(pd.Series(found["latest_date"].to_numpy())).to_numpy()
    shown = fmt_score(pd.Series(score), pd.Series(found["decimals"].to_numpy())).to_numpy()
    inst = goals["target_instrument"].astype(object).to_numpy()
    goals["reached_by"] = [
        f"{inst[i]} {shown[i]} ({note[i]}, {day[i]})" if reached[i] else ""
        for i in range(len(goals))
    ]
    return goals


def _goals_from_text(notes: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Goals written under goal headers of the latest plan-of-care or progress note."""
    plan = notes[notes["note_type"].isin(PLAN_NOTE_TYPES + ["progress"])]
    found = goal_statements(plan["narrative"])
    if found.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns}).astype(
            {"target_date": "datetime64[ns]", "date": "datetime64[ns]"}
        )
    src = plan.loc[found["row"]]
    header = found["header"].astype(str).str.lower()
    out = pd.DataFrame(
        {
            "episode_id": src["episode_id"].to_numpy(dtype=object),
            "goal_id": pd.NA,
            "term": np.select(
                [
                    header.str.contains(r"short|stg").to_numpy(bool),
                    header.str.contains(r"long|ltg").to_numpy(bool),
                ],
                ["short", "long"],
                None,
            ),
            "text": found["goal"].astype(object).to_numpy(),
            "status": pd.NA,
            "baseline": pd.NA,
            "target": pd.NA,
            # A time frame in the section header ("LTG (8 weeks):") covers its goals.
            "target_date": pd.NaT,
            "note_id": src["note_id"].to_numpy(dtype=object),
            "date": src["date"].to_numpy(),
            "source": "note text",
            "_section_tf": found["section_time_frame"].to_numpy(bool),
        }
    )
    # Only the latest note that states goals holds the current ones.
    latest = out.groupby("episode_id")["date"].transform("max")
    out = out[out["date"] == latest]
    out = out.drop_duplicates(["episode_id", "text"], keep="last")
    return (
        out[columns + ["_section_tf"]]
        .astype({"target_date": "datetime64[ns]"})
        .reset_index(drop=True)
    )


def _findings(audit: AuditResult | None, notes: pd.DataFrame) -> pd.DataFrame:
    columns = [
        "episode_id",
        "note_id",
        "date",
        "note_type",
        "item_id",
        "title",
        "severity",
        "message",
        "evidence",
    ]
    if audit is None or audit.findings.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    f = audit.findings[audit.findings["note_idx"].isin(notes["note_idx"])]
    by_idx = notes.set_index("note_idx")
    titles = {i.id: i.title for i in audit.items}
    severities = {i.id: i.severity for i in audit.items}
    out = pd.DataFrame(
        {
            "episode_id": by_idx.loc[f["note_idx"], "episode_id"].to_numpy(dtype=object),
            "note_id": by_idx.loc[f["note_idx"], "note_id"].to_numpy(dtype=object),
            "date": by_idx.loc[f["note_idx"], "date"].to_numpy(),
            "note_type": by_idx.loc[f["note_idx"], "note_type"].to_numpy(dtype=object),
            "item_id": f["item_id"].to_numpy(dtype=object),
            "title": f["item_id"].map(titles).to_numpy(dtype=object),
            # A finding its check graded (a certification late, not absent) keeps its own.
            "severity": f["severity"]
            .astype(object)
            .where(f["severity"].notna(), f["item_id"].map(severities))
            .to_numpy(dtype=object)
            if "severity" in f.columns
            else f["item_id"].map(severities).to_numpy(dtype=object),
            "message": f["message"].astype(object).to_numpy(),
            "evidence": f["evidence"].astype(object).to_numpy(),
        }
    )
    rank = {s: i for i, s in enumerate(["critical", "high", "medium", "low"])}
    out["_r"] = out["severity"].map(rank)
    out = out.sort_values(["episode_id", "_r", "date", "item_id"], kind="stable")
    return out.drop(columns="_r").reset_index(drop=True)


__all__ = [
    "Picture",
    "change_words",
    "REPORT_NOTE_TYPES",
    "build_picture",
    "fmt_date",
    "fmt_number",
    "fmt_score",
    "planned_duration",
    "unused_text",
]
