"""Episode-level criterion kinds for utilization-management review (registered on import).

Each kind works on all reviewed episodes at once from the Picture's frames (groupby over
measures, goals, notes and findings) and returns met / not_met / not_evaluable per episode with
a plain-English message and the notes it rests on.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from ..checks.regex import matches, to_arrow
from ..checks.registry import Param
from ..checks.text import shorten
from ..model import REPORT_NOTE_TYPES
from .criteria import criterion_kind, result
from .picture import Picture, fmt_date, fmt_number, fmt_score, unused_text

# Statements that the skills of a therapist are still needed.
SKILLED_NEED_PHRASES = [
    r"\brequires? (?:the )?(?:continued |ongoing |further )?skill(?:ed|s)?\b",
    r"\bskilled (?:pt|ot|slp|st|physical therapy|occupational therapy|speech therapy|therapy|"
    r"therapist|intervention|interventions|instruction|services?|care|training|assessment|"
    r"monitoring|treatment|teaching|cueing|facilitation)\b",
    r"\b(?:needs?|requiring|required) (?:the )?skills? of (?:a |the )?(?:licensed )?"
    r"(?:therapist|clinician|pt|ot|slp)\b",
    r"\bcontinues? to (?:require|need) (?:skilled|therapist|professional)\b",
    r"\b(?:cannot|can ?not|unable to) be (?:safely |effectively )?(?:performed|done|carried out|"
    r"provided|progressed) (?:independently |safely )?(?:by|without)\b",
]
# A maintenance program: maintaining function or preventing / slowing decline (Jimmo).
MAINTENANCE_PHRASES = [
    r"\b(?:skilled )?maintenance (?:program|therapy|plan|care|services?|visits?)\b",
    r"\bskilled maintenance\b",
    # A maintenance goal names what is kept: "maintain Berg at 40/56", "maintain balance".
    r"\bmaintain(?:ing)? (?:the |his |her |their |current |present )*(?:berg|bbs|balance|gait|"
    r"strength|rom|range of motion|transfers?|ambulation|mobility|swallow\w*|diet|"
    r"communication|safety|skin integrity|posture|endurance)\b",
    r"\b(?:prevent(?:ing|ion of)?|reduc(?:e|ing) (?:the )?risk of) (?:further )?falls?\b",
    r"\bprevent(?:ing|ion of)? (?:further |additional )?(?:functional )?(?:decline|deterioration|"
    r"regression|loss of function|contractures?|skin breakdown)\b",
    r"\bslow(?:ing)? (?:the |further )?(?:rate of )?(?:decline|deterioration|progression)\b",
    r"\bmaintain(?:ing)? (?:his |her |their |current |present )*(?:level of )?(?:function|"
    r"functional (?:level|status|abilities|independence|mobility)|mobility|independence|safety)\b",
    r"\bjimmo\b",
]
# Why a maintenance program needs a therapist: complexity or special medical complications.
MAINTENANCE_SKILL_PHRASES = [
    # The patient's or the program's complexity, not a task's ("progressed task complexity").
    r"\b(?:medical(?:ly)? complex\w*|complex (?:medical|condition|case|comorbidit\w*|needs?|"
    r"program|regimen)|complexity of (?:the |his |her |their )?(?:condition|program|care|"
    r"patient|case|regimen|medical))",
    r"\bcomplications?\b",
    r"\b(?:cannot|can ?not|unable to) (?:safely |independently |effectively )?(?:perform|carry "
    r"out|do|manage|provide) (?:it|this|the (?:program|exercises?))\b",
    r"\b(?:cannot|can ?not|unable to) be (?:safely |effectively )?(?:performed|done|carried out|"
    r"provided|managed) (?:independently |safely )?by (?:the )?(?:patient|pt|caregivers?|"
    r"family|aide|staff|restorative)",
    r"\bskills? of (?:a |the )?(?:licensed )?(?:therapist|clinician|pt|ot|slp)\b",
    r"\brequires? (?:the )?skill(?:ed|s)?\b",
]
# "HEP reviewed so pt can maintain current level of function at home": the patient keeps
# function on their own, which is the opposite of a skilled maintenance need.
HOME_MAINTENANCE = [
    r"\b(?:hep|home exercise(?: program)?|home program)\b.{0,80}?\bmaintain",
    r"\bmaintain\b.{0,60}?\b(?:at home|on (?:his|her|their) own|independently|with (?:the |an? "
    r")?(?:hep|home (?:exercise )?program))\b",
]
# A goal line ("LTG: Pt will maintain Berg >= 40/56 ...", "2. Patient will ..."): it states
# what is to be kept, not why a therapist is needed to keep it.
GOAL_LINE = (
    r"^\s*(?:\(?\d{1,2}[.)]\s*|[-•*·]\s*)?(?:(?:LTGs?|STGs?|(?:long|short)[- ]term goals?|goals?)"
    r"\b[^:\n.]{0,30}:|(?:pt|patient|client)\s+will\b)"
)
# The patient is at the expected level of function (or the record says all goals are met).
EXPECTED_LEVEL_PHRASES = [
    r"(?<!not )(?<!never )(?<!yet )\b(?:returned|returns) to (?:his |her |their |the )?"
    r"(?:prior|baseline|previous) (?:level of )?(?:function|functioning|activity|activities)",
    r"(?<!not )\b(?:at|reached|achieved|attained) (?:his |her |their )?(?:prior|baseline|"
    r"previous|expected|age[- ]appropriate) (?:level of )?"
    r"(?:function|functioning|functional level)",
    r"\bfunctioning at (?:his |her |their |an? )?(?:prior|baseline|expected|age[- ]appropriate) "
    r"level",
    r"\bno longer (?:requires?|needs?) skilled\b",
    r"(?<!not )\ball (?:\w+ )?goals (?:have been |were |are )?(?:met|achieved|attained)\b",
]
# Aims every plan of care has ("to improve strength and endurance", "for strengthening"):
# they name no need that only a therapist can meet, so they are no reason for skilled care.
_GENERIC_OBJECT = (
    r"(?:(?:overall|general|functional|current|her|his|their|the|pt'?s|patient'?s|lower|upper"
    r"|extremity|le|ue|core)\s+)*(?:strength(?:ening)?|endurance|(?:activity )?tolerance"
    r"|conditioning|deconditioning|function(?:al (?:mobility|status|level|independence"
    r"|abilities|activities|capacity))?|mobility|rom|range of motion|balance|independence"
    r"|quality of life|gait|safety|flexibility|posture|stability|fitness|(?:therapeutic )?"
    r"exercises?|ther ?ex|(?:(?:plan of care|poc|pt|ot|stated|remaining|established) )?goals?"
    r"|outcomes?|progress|adls?|daily activities|performance|pain)"
)
# The aim ends the clause: what follows is a stop, the plan's frequency or the request.
_AIM_END = (
    r"(?=\s*(?:[.;:!?)]|$|,?\s*(?:per|as|request\w*|x\s*\d|\d"
    r"|and (?:request|continue|progress|re-?assess))\b))"
)
GENERIC_AIM = (
    r"(?:to (?:improve|increase|address|progress|maximi[sz]e|restore|promote|work on|build|enhance"
    r"|achieve|meet|reach|decrease|reduce|maintain|facilitate|regain)|for (?:continued |further "
    rf"|ongoing )?)\s*{_GENERIC_OBJECT}(?:\s*(?:,|&|/|,? and)\s*{_GENERIC_OBJECT})*{_AIM_END}"
)
# What a specific statement of skilled need gives: the need it is for, the reason, the risk.
SKILLED_REASON = (
    rf"\b(?!{GENERIC_AIM})(?:for|due to|because|given|secondary to|in order to|as evidenced|at "
    r"risk|risk of|unable|cannot|can ?not|to (?:address|improve|progress|restore|reduce|increase"
    r"|decrease|prevent|train|teach|educate|ensure|achieve|return|facilitate|manage|monitor"
    r"|assess|advance|modify|normalize|regain|safely))\b"
)
# Stock lines that name skilled care with no need behind it: "Continue skilled PT per POC.",
# "Pt continues to require skilled therapy.", "Continue skilled PT 2x/week per POC to improve
# strength and endurance."
BOILERPLATE_SKILLED = [rf"^(?!.*{SKILLED_REASON}).*\b(?:continu(?:e|es|ed|ing)|cont)\b"]
# What the built-in audit items that weigh against a skilled need found, in a reviewer's words.
UNSKILLED_WORDS = {
    "DOC-SKILLED": "stock phrases or no skilled content",
    "DOC-CLONED": "narrative copied from an earlier note",
}
SENTENCE_BREAK = r"(?<=[.!?])\s+|\n"
MAX_EXCERPT = 400
POPULATION_COLUMNS = ["threshold_population", "population_caveat"]


def _pattern(phrases: list[str]) -> str:
    return "|".join(f"(?:{p})" for p in phrases)


def _sentence(
    text: pd.Series,
    phrases: list[str],
    unless: list[str] | None = None,
    also: list[str] | None = None,
) -> pd.Series:
    """The sentence holding the first match of the phrases in each text (NA when none),
    skipping sentences that match a regex of `unless`; with `also`, only a sentence that
    matches one of those regexes as well.

    Only texts that match are split into sentences, so this stays cheap on long notes.
    """
    pattern = _pattern(phrases)
    s = text.astype("string").fillna("")
    out = pd.Series(pd.NA, index=text.index, dtype=object)
    hit = s.str.contains(pattern, flags=re.IGNORECASE, regex=True).to_numpy(bool)
    if not hit.any():
        return out
    sentences = s[hit].str.split(SENTENCE_BREAK, regex=True).explode()
    sentences = sentences[sentences.str.contains(pattern, flags=re.IGNORECASE, regex=True)]
    if also:
        both = sentences.str.contains(_pattern(also), flags=re.IGNORECASE, regex=True)
        sentences = sentences[both.fillna(False).to_numpy(bool)]
    if unless:
        skip = sentences.str.contains(_pattern(unless), flags=re.IGNORECASE | re.DOTALL)
        sentences = sentences[~skip.fillna(False).to_numpy(bool)]
    if sentences.empty:
        return out
    first = shorten(sentences.groupby(level=0).first(), MAX_EXCERPT)
    out.loc[first.index] = first.to_numpy(dtype=object)
    return out


def _ref_date(pic: Picture) -> pd.Series:
    """The review's reference date per episode: the request date, else the latest visit."""
    eps = pic.episodes
    return eps["request_date"].fillna(eps["last_date"])


def _ref_label(pic: Picture) -> pd.Series:
    eps = pic.episodes
    return pd.Series(
        np.where(eps["request_date"].notna(), "the request", "the latest visit"), index=eps.index
    )


def _evidence(frame: pd.DataFrame, note: str = "note_id", date: str = "date") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "episode_id": frame["episode_id"].to_numpy(dtype=object),
            "note_id": frame[note].to_numpy(dtype=object),
            "date": pd.to_datetime(frame[date]).to_numpy(),
        }
    )


def _episode_evidence(pic: Picture, note: str, date: str, mask=None) -> pd.DataFrame:
    eps = pic.episodes if mask is None else pic.episodes[mask]
    return pd.DataFrame(
        {
            "episode_id": eps.index.to_numpy(dtype=object),
            "note_id": eps[note].to_numpy(dtype=object),
            "date": eps[date].to_numpy(),
        }
    )


def _at(values: pd.Series, index: pd.Index) -> pd.Series:
    """Text per episode aligned to `index` ('' where missing), as object for concatenation."""
    return values.reindex(index).astype(object).fillna("")


def _join(frame: pd.DataFrame, column: str, sep: str = "; ") -> pd.Series:
    """Per episode, the column's strings joined."""
    if frame.empty:
        return pd.Series(dtype=object)
    return frame.groupby("episode_id", sort=False)[column].agg(sep.join)


def _ref(note_ids: pd.Series, dates: pd.Series) -> pd.Series:
    """'N12, 2026-03-02'"""
    return note_ids.astype(str) + ", " + fmt_date(dates)


def _score_at(m: pd.DataFrame, prefix: str = "") -> pd.Series:
    """'LEFS 32 (N1, 2026-01-05)' for each administration row."""
    return (
        m["instrument"].astype(str)
        + " "
        + fmt_score(m["score"], m["decimals"])
        + " ("
        + _ref(m["note_id"], m["date"])
        + ")"
    )


def _days(values: pd.Series) -> pd.Series:
    """'1 day', '12 days' ('' for NaN)."""
    return values.map(
        lambda d: "" if pd.isna(d) else f"{d:g} day" + ("" if d == 1 else "s")
    ).astype(object)


def _population(m: pd.DataFrame) -> pd.Series:
    """' (older adults in rehabilitation; no value for Parkinson's disease in the table)' where
    the thresholds come from a population other than the patient's condition, else ''."""
    caveat = m["population_caveat"].astype(object).fillna("").astype(str)
    population = m["threshold_population"].astype(object).fillna("").astype(str)
    return (" (" + population + "; " + caveat + ")").where(caveat != "", "")


def _thresholds_text(m: pd.DataFrame) -> pd.Series:
    """'MCID 9, MDC 9; higher is better', with the population after the thresholds when it
    is not the patient's condition ('no MCID on file, MDC 5 (older adults in rehabilitation;
    no value for Parkinson's disease in the table); higher is better')."""
    mcid = np.where(m["mcid"].notna(), "MCID " + fmt_number(m["mcid"]), "no MCID on file")
    pct = np.where(m["mcid_pct"].notna(), " or " + fmt_number(m["mcid_pct"]) + "%", "")
    mdc = np.where(m["mdc"].notna(), ", MDC " + fmt_number(m["mdc"]), "")
    direction = np.select(
        [m["direction"] == "lower_better", m["direction"] == "higher_better"],
        ["; lower is better", "; higher is better"],
        "",
    )
    text = pd.Series(mcid, index=m.index) + pct + mdc + _population(m) + direction
    return pd.Series(text, index=m.index, dtype=object)


# --------------------------------------------------------------------------- measures


@criterion_kind(
    "baseline_measure",
    params={
        "within_days": Param(
            int, 14, help="days after the first visit a baseline score may be taken"
        ),
        "recognised_only": Param(bool, True, help="count only instruments in the thresholds table"),
    },
)
def baseline_measure(pic: Picture, params: dict[str, Any]) -> pd.DataFrame:
    """A standardized outcome measure was scored at the start of the episode."""
    eps = pic.episodes
    m = pic.measures
    first = m["episode_id"].map(eps["first_date"])
    days = (pd.to_datetime(m["date"]) - pd.to_datetime(first)).dt.days
    standard = m["recognised"].astype(bool) if params["recognised_only"] else m["seq"] > 0
    base = m[(m["seq"] == 1) & standard & (days <= params["within_days"])]
    met = pd.Series(eps.index.isin(base["episode_id"]), index=eps.index)
    desc = _join(base.assign(d=_score_at(base)), "d")
    first_ref = _ref(eps["first_note_id"], eps["first_date"])
    msg = pd.Series(
        "no standardized outcome measure was scored at the first visit ("
        + first_ref
        + f") or within {params['within_days']} days of it",
        index=eps.index,
        dtype=object,
    )
    late = m[(m["seq"] == 1) & standard & (days > params["within_days"])]
    late_first = late.sort_values("date").drop_duplicates("episode_id").set_index("episode_id")
    if len(late_first):
        extra = "; the first one is " + _score_at(late_first.reset_index()).set_axis(
            late_first.index
        )
        msg = msg + _at(extra, msg.index)
    other = m[~m["recognised"].astype(bool)]
    if params["recognised_only"] and len(other):
        names = other.drop_duplicates(["episode_id", "instrument"])
        names_text = _join(names, "instrument", ", ")
        extra = "; measures on file that are not recognised standardized instruments: " + names_text
        msg = msg + _at(extra, msg.index)
    msg = msg.where(~met, "baseline: " + desc.reindex(eps.index).fillna(""))
    evidence = pd.concat(
        [_evidence(base), _episode_evidence(pic, "first_note_id", "first_date", ~met)]
    )
    return result(eps.index, met, msg, evidence)


@criterion_kind(
    "remeasured",
    params={
        "max_age_days": Param(
            int, 30, help="the latest score must be at most this many days before the request"
        ),
        "recognised_only": Param(bool, True, help="count only recognised instruments"),
    },
)
def remeasured(pic: Picture, params: dict[str, Any]) -> pd.DataFrame:
    """The baseline instrument was scored again, recently enough to show current status."""
    eps = pic.episodes
    m = pic.measures
    if params["recognised_only"]:
        m = m[m["recognised"].astype(bool)]
    ref = _ref_date(pic)
    label = _ref_label(pic)
    age = (
        (ref.reindex(m["episode_id"]).to_numpy() - pd.to_datetime(m["date"]).to_numpy())
        .astype("timedelta64[D]")
        .astype("float64")
    )
    m = m.assign(age=age)
    later = m[m["seq"] > 1].sort_values(["episode_id", "date"])
    latest = later.groupby("episode_id").tail(1).set_index("episode_id")
    baseline = m[m["seq"] == 1].sort_values(["episode_id", "date"])
    newest_base = baseline.groupby("episode_id").tail(1).set_index("episode_id")
    limit = params["max_age_days"]
    remeasured_ = pd.Series(eps.index.isin(latest.index), index=eps.index)
    current = (latest["age"] <= limit).reindex(eps.index).fillna(False).astype(bool)
    has_base = pd.Series(eps.index.isin(newest_base.index), index=eps.index)
    base_current = (newest_base["age"] <= limit).reindex(eps.index).fillna(False).astype(bool)
    met = remeasured_ & current
    not_due = ~remeasured_ & has_base & base_current
    lt = latest.reset_index()
    pair = (
        lt["instrument"].astype(str)
        + " "
        + fmt_score(lt["baseline"], lt["decimals"])
        + " ("
        + _ref(lt["baseline_note_id"], lt["baseline_date"])
        + ") → "
        + fmt_score(lt["score"], lt["decimals"])
        + " ("
        + _ref(lt["note_id"], lt["date"])
        + ")"
    ).set_axis(lt["episode_id"])
    age_text = _days(latest["age"])
    nb = newest_base.reset_index()
    base_text = _score_at(nb).set_axis(nb["episode_id"])
    base_age = _days(newest_base["age"])
    idx = eps.index
    msg = pd.Series("no standardized outcome measure on record", index=idx, dtype=object)
    stale_base = has_base & ~remeasured_ & ~base_current
    msg[stale_base] = (
        "scored only at baseline: "
        + _at(base_text, idx)
        + ", "
        + _at(base_age, idx)
        + " before "
        + label
        + "; no later score on the same instrument"
    )[stale_base]
    msg[not_due] = (
        "no re-measurement due yet: the baseline "
        + _at(base_text, idx)
        + " is "
        + _at(base_age, idx)
        + " before "
        + label
        + f" (within {limit})"
    )[not_due]
    stale = remeasured_ & ~current
    msg[stale] = (
        "latest re-measurement "
        + _at(pair, idx)
        + " is "
        + _at(age_text, idx)
        + " before "
        + label
        + f" (more than {limit}): current status not measured"
    )[stale]
    msg[met] = ("re-measured: " + _at(pair, idx) + ", " + _at(age_text, idx) + " before " + label)[
        met
    ]
    evidence = pd.concat(
        [
            _evidence(latest.reset_index()),
            _evidence(lt, "baseline_note_id", "baseline_date"),
            _evidence(nb[~nb["episode_id"].isin(lt["episode_id"])]),
            _episode_evidence(pic, "last_note_id", "last_date", ~has_base),
        ]
    )
    return result(idx, met, msg, evidence, not_evaluable=not_due)


def _latest_changes(pic: Picture) -> pd.DataFrame:
    """The latest administration of each (episode, instrument) scored at least twice."""
    m = pic.instruments
    return m[m["n"].astype(float) >= 2].copy() if len(m) else m


@criterion_kind(
    "progress_mcid",
    params={
        "compare": Param(
            list,
            ["baseline", "previous"],
            help="compare the latest score with the baseline and/or the previous report",
            choices=("baseline", "previous"),
        ),
        "mdc_when_no_mcid": Param(
            bool,
            True,
            help="for an instrument with no MCID on file (e.g. Berg in older adults), a change "
            "of at least the MDC counts",
        ),
    },
)
def progress_mcid(pic: Picture, params: dict[str, Any]) -> pd.DataFrame:
    """Improvement of at least the MCID on a standardized instrument (direction-aware)."""
    eps = pic.episodes
    changes = _latest_changes(pic)
    known = changes["recognised"].astype(bool) if len(changes) else pd.Series(dtype=bool)
    lt = changes[known] if len(changes) else changes
    # Instruments the thresholds table does not know (MASA) are cited as documented change,
    # never judged: their direction and thresholds are unknown.
    other = _unjudged_changes(changes[~known]) if len(changes) else pd.Series(dtype=object)
    idx = eps.index
    if lt.empty:
        msg = pd.Series("no standardized instrument scored twice", index=idx, dtype=object)
        msg = msg + _at(other, idx)
        return result(
            idx,
            np.zeros(len(idx), bool),
            msg,
            _episode_evidence(pic, "last_note_id", "last_date"),
            not_evaluable=np.ones(len(idx), bool),
            ask=_ask_without_thresholds(changes, ~known if len(changes) else known, idx),
        )
    use_base = "baseline" in params["compare"]
    use_prev = "previous" in params["compare"]
    vb = lt["vs_baseline"].astype(object)
    vp = lt["vs_previous"].astype(object)
    good = ["meaningful"]
    no_mcid = lt["mcid"].isna() & lt["mcid_pct"].isna() & lt["mdc"].notna()
    if params["mdc_when_no_mcid"]:
        # "small" = at least the MDC but below an MCID; with no MCID on file it is the best
        # evidence of real improvement there is.
        vb = vb.where(~(no_mcid & (vb == "small")), "at least the MDC")
        vp = vp.where(~(no_mcid & (vp == "small")), "at least the MDC")
        good.append("at least the MDC")
    meaningful = (use_base & vb.isin(good)) | (use_prev & vp.isin(good))
    evaluable = (use_base & vb.notna()) | (use_prev & vp.notna())
    lt = lt.assign(meaningful=meaningful.fillna(False).to_numpy(bool), evaluable=evaluable)
    base_part = (
        fmt_score(lt["baseline"], lt["decimals"])
        + " ("
        + _ref(lt["baseline_note_id"], lt["baseline_date"])
        + ") → "
        + fmt_score(lt["latest"], lt["decimals"])
        + " ("
        + _ref(lt["latest_note_id"], lt["latest_date"])
        + "): "
        + fmt_score(lt["change"], lt["decimals"], signed=True)
        + " since baseline, "
        + lt["baseline_words"].astype(str)
    )
    prev_part = np.where(
        lt["seq"].astype(float) > 2,
        "; "
        + fmt_score(lt["change_prev"], lt["decimals"], signed=True)
        + " since the previous score ("
        + _ref(lt["prev_note_id"], lt["prev_date"])
        + "), "
        + lt["previous_words"].astype(str),
        "",
    )
    lt["desc"] = (
        lt["instrument"].astype(str)
        + " "
        + base_part
        + prev_part
        + " ("
        + _thresholds_text(lt)
        + ")"
    )
    per = lt.groupby("episode_id").agg(met=("meaningful", "any"), evaluable=("evaluable", "any"))
    met = per["met"].reindex(idx).fillna(False).astype(bool)
    ne = ~per["evaluable"].reindex(idx).fillna(False).astype(bool)
    msg = _join(lt, "desc").reindex(idx)
    msg = msg.fillna("no standardized instrument scored twice")
    no_threshold = ne & msg.ne("no standardized instrument scored twice")
    msg[no_threshold] = "no MCID or MDC on file for the instruments scored twice: " + msg[
        no_threshold
    ].astype(str)
    msg = msg + _at(other, idx)
    unjudged = changes["mcid"].isna() & changes["mcid_pct"].isna() & changes["mdc"].isna()
    ask = _ask_without_thresholds(changes, unjudged.to_numpy(bool), idx).where(ne, "")
    evidence = pd.concat(
        [
            _evidence(lt, "baseline_note_id", "baseline_date"),
            _evidence(lt[lt["seq"].astype(float) > 2], "prev_note_id", "prev_date"),
            _evidence(lt, "latest_note_id", "latest_date"),
            _evidence(changes[~known], "latest_note_id", "latest_date"),
            _episode_evidence(pic, "last_note_id", "last_date", ~idx.isin(lt["episode_id"])),
        ]
    )
    return result(idx, met, msg, evidence, not_evaluable=ne, ask=ask)


def _unjudged_changes(changes: pd.DataFrame) -> pd.Series:
    """Per episode, '; also documented, not a recognised instrument (no direction, MCID or
    MDC on file): MASA 142 (N1, …) → 171 (N9, …), +29 since baseline'."""
    if changes.empty:
        return pd.Series(dtype=object)
    d = (
        changes["instrument"].astype(str)
        + " "
        + fmt_score(changes["baseline"], changes["decimals"])
        + " ("
        + _ref(changes["baseline_note_id"], changes["baseline_date"])
        + ") → "
        + fmt_score(changes["latest"], changes["decimals"])
        + " ("
        + _ref(changes["latest_note_id"], changes["latest_date"])
        + "), "
        + fmt_score(changes["change"], changes["decimals"], signed=True)
        + " since baseline"
    )
    listed = _join(changes.assign(d=d), "d")
    return (
        "; also documented, not a recognised instrument (no direction, MCID or MDC on file): "
        + listed
    )


def _ask_without_thresholds(changes: pd.DataFrame, chosen, index: pd.Index) -> pd.Series:
    """Per episode, what the letter asks about its instruments with no MCID or MDC on file
    ('For FOIS and MASA, which have no MCID or MDC on file, …'); '' when none."""
    out = pd.Series("", index=index, dtype=object)
    picked = changes[np.asarray(chosen, dtype=bool)] if len(changes) else changes
    if picked.empty:
        return out
    names = picked.groupby("episode_id", sort=False)["instrument"].agg(
        lambda v: " and ".join(dict.fromkeys(map(str, v)))
    )
    many = picked.groupby("episode_id", sort=False)["instrument"].nunique() > 1
    text = (
        "For "
        + names
        + np.where(many, ", which have", ", which has")
        + " no MCID or MDC on file, describe the functional change the new score or level "
        "reflects (what the patient now does that they could not at the evaluation, such as "
        "the diet now tolerated or the distance now walked), or send a score on an instrument "
        "with published thresholds."
    )
    out.loc[text.index.intersection(index)] = text
    return out


@criterion_kind(
    "plateau",
    params={
        "periods": Param(
            int, 2, help="consecutive reporting periods without reliable change", minimum=1
        ),
        "threshold": Param(
            str, "mdc", help="change that counts as reliable: mdc or mcid", choices=("mdc", "mcid")
        ),
        "change": Param(
            str,
            "cumulative",
            help="cumulative: the change over the whole window is below the threshold; "
            "each_period: every period's change is below it",
            choices=("cumulative", "each_period"),
        ),
        "min_days": Param(
            int,
            14,
            help="days the scores of the window must span for no change to count as a plateau",
            minimum=1,
        ),
    },
)
def plateau(pic: Picture, params: dict[str, Any]) -> pd.DataFrame:
    """No plateau: reliable change (at least the MDC) within the last reporting periods."""
    eps = pic.episodes
    idx = eps.index
    periods = params["periods"]
    m = pic.measures
    m = m[m["recognised"].astype(bool)] if len(m) else m
    if len(m):
        first, second = ("mdc", "mcid") if params["threshold"] == "mdc" else ("mcid", "mdc")
        # The chosen threshold, or the other one when the instrument has only that on file.
        m = m.assign(
            bar=m[first].fillna(m[second]),
            bar_name=np.where(m[first].notna(), first.upper(), second.upper()),
        )
        n = m["n"].astype(int)
        m = m[(n >= periods + 1) & m["bar"].notna()]
    if len(m) == 0:
        msg = pd.Series(
            f"fewer than {periods + 1} scores on an instrument with an MDC or MCID on file",
            index=idx,
            dtype=object,
        )
        return result(
            idx,
            np.zeros(len(idx), bool),
            msg,
            _episode_evidence(pic, "last_note_id", "last_date"),
            not_evaluable=np.ones(len(idx), bool),
        )
    window = m[m["seq"].astype(int) >= m["n"].astype(int) - periods]
    start = window[window["seq"].astype(int) == window["n"].astype(int) - periods]
    end = window[window["seq"] == window["n"]]
    keys = ["episode_id", "instrument"]
    ends = ["score", "date", "direction", "bar", "bar_name", "decimals", *POPULATION_COLUMNS]
    pair = start[keys + ["score", "date"]].merge(
        end[keys + ends],
        on=keys,
        suffixes=("_start", ""),
    )
    pair["days"] = (pd.to_datetime(pair["date"]) - pd.to_datetime(pair["date_start"])).dt.days
    sign = np.where(pair["direction"] == "lower_better", -1.0, 1.0)
    pair["gain"] = (pair["score"] - pair["score_start"]) * sign
    pair["reliable"] = pair["gain"] >= pair["bar"]
    steps = window[window["seq"].astype(int) > window["n"].astype(int) - periods]
    steps = steps.assign(step_ok=(steps["gain_prev"] >= steps["bar"]).to_numpy(bool))
    step_ok = steps.groupby(keys)["step_ok"].any().rename("step_ok").reset_index()
    step_text = steps.assign(t=fmt_score(steps["change_prev"], steps["decimals"], signed=True))
    step_text = step_text.groupby(keys)["t"].agg(", ".join)
    pair = pair.merge(step_ok, on=keys).merge(step_text.reset_index(), on=keys)
    each = params["change"] == "each_period"
    if each:
        pair["reliable"] = pair["step_ok"]
    path = window.assign(
        s=fmt_score(window["score"], window["decimals"])
        + " ("
        + _ref(window["note_id"], window["date"])
        + ")"
    )
    path = path.groupby(keys, sort=False)["s"].agg(" → ".join).reset_index()
    pair = pair.merge(path, on=keys)
    pair["desc"] = (
        pair["instrument"].astype(str)
        + " "
        + pair["s"]
        + ": "
        + (
            "changes of " + pair["t"] + f" in the last {periods} reporting periods, "
            if each
            else fmt_score(pair["score"] - pair["score_start"], pair["decimals"], signed=True)
            + f" over the last {periods} reporting periods, "
        )
        + np.where(pair["reliable"], "at least" if not each else "one at least", "below")
        + " the "
        + pair["bar_name"]
        + " "
        + fmt_number(pair["bar"])
        + _population(pair)
    )
    # No change over a few days is no plateau: the scores must span min_days (a change that
    # big that soon is improvement all the same).
    days = params["min_days"]
    pair["short"] = ~pair["reliable"] & (pair["days"] < days)
    pair.loc[pair["short"], "desc"] = (
        pair["desc"]
        + ", but these scores span only "
        + pair["days"].astype(str)
        + f" day(s): too short to show a plateau (at least {days} days needed)"
    )[pair["short"]]
    per = pair.assign(counted=~pair["short"]).groupby("episode_id")
    per = per.agg(improving=("reliable", "any"), counted=("counted", "any"))
    evaluable = per["counted"].reindex(idx).fillna(False).astype(bool)
    met = per["improving"].reindex(idx).fillna(False).astype(bool)
    msg = _join(pair, "desc").reindex(idx)
    msg = msg.fillna(
        f"fewer than {periods + 1} scores on an instrument with an MDC or MCID on file"
    ).astype(object)
    evidence = pd.concat(
        [_evidence(window), _episode_evidence(pic, "last_note_id", "last_date", ~evaluable)]
    )
    return result(idx, met, msg, evidence, not_evaluable=~evaluable)


# --------------------------------------------------------------------------- goals


PART_WORDS = {
    "actor": "who",
    "activity": "functional activity",
    "condition": "condition",
    "measure": "measure",
    "time_frame": "time frame",
}


@criterion_kind(
    "goals_measurable",
    params={
        "min_share": Param(
            float, 1.0, help="share of current goals that must be measurable", maximum=1
        ),
        "require": Param(
            list,
            ["measure", "time_frame"],
            help="goal parts required: actor, activity, condition, measure, time_frame",
            choices=tuple(PART_WORDS),
        ),
    },
)
def goals_measurable(pic: Picture, params: dict[str, Any]) -> pd.DataFrame:
    """The current goals are measurable (by default: a measure and a time frame)."""
    eps = pic.episodes
    idx = eps.index
    g = pic.goals
    g = g[g["status"].astype("string").fillna("") != "discontinued"]
    required = list(params["require"])
    ok = np.ones(len(g), bool)
    missing = pd.Series("", index=g.index, dtype=object)
    for part in required:
        lacks = ~g[part].astype(bool).to_numpy()
        ok &= ~lacks
        missing[lacks] = (missing[lacks] + np.where(missing[lacks] == "", "", ", ") + "no ") + (
            PART_WORDS[part]
        )
    g = g.assign(ok=ok, why=missing)
    per = g.groupby("episode_id").agg(n=("ok", "size"), good=("ok", "sum"))
    n = per["n"].reindex(idx).fillna(0)
    good = per["good"].reindex(idx).fillna(0)
    share = good / n.where(n > 0, 1)
    met = (n > 0) & (share >= params["min_share"] - 1e-9)
    bad = g[~g["ok"]]
    bad = bad.assign(d="“" + shorten(bad["text"], 160) + "” (" + bad["why"] + ")")
    listed = _join(bad, "d").reindex(idx)
    msg = pd.Series(
        good.astype(int).astype(str)
        + " of "
        + n.astype(int).astype(str)
        + " current goals measurable",
        index=idx,
        dtype=object,
    )
    has_bad = listed.notna()
    msg[has_bad] = (msg + "; not measurable: " + listed.fillna(""))[has_bad]
    msg[n == 0] = (
        "no goals on record for this episode (plan of care "
        + _ref(eps["plan_note_id"], eps["plan_date"])
        + ")"
    )[n == 0]
    evidence = pd.concat(
        [
            _evidence(bad[bad["note_id"].notna()]),
            _evidence(g[g["ok"] & g["note_id"].notna()]),
            _episode_evidence(pic, "plan_note_id", "plan_date"),
        ]
    )
    return result(idx, met, msg, evidence)  # the goals are listed in the message


@criterion_kind(
    "goals_remaining",
    params={
        "expected_level_phrases": Param(
            list,
            EXPECTED_LEVEL_PHRASES,
            help="regexes: the latest report says function is at the expected level",
        ),
    },
)
def goals_remaining(pic: Picture, params: dict[str, Any]) -> pd.DataFrame:
    """Goals remain to be met and function is not yet at its expected level."""
    eps = pic.episodes
    idx = eps.index
    g = pic.goals
    g = g[g["status"].astype("string").fillna("") != "discontinued"]
    status = g["status"].astype("string")
    open_ = status.isna() | status.isin(["progressing", "not_met"])
    # A goal still marked open whose target score the latest score already meets is met.
    by_score = open_.fillna(True).to_numpy(bool) & g["target_reached"].to_numpy(bool)
    g = g.assign(open=open_.fillna(True).to_numpy(bool) & ~by_score, by_score=by_score)
    per = g.groupby("episode_id").agg(n=("open", "size"), n_open=("open", "sum"))
    n = per["n"].reindex(idx).fillna(0).astype(int)
    n_open = per["n_open"].reindex(idx).fillna(0).astype(int)
    reports = pic.notes[pic.notes["note_type"].isin(REPORT_NOTE_TYPES)]
    latest = reports.groupby("episode_id").tail(1).set_index("episode_id")
    said = _sentence(latest["narrative"], params["expected_level_phrases"]).reindex(idx)
    at_level = said.notna()
    all_met = (n > 0) & (n_open == 0)
    met = (n_open > 0) & ~at_level
    ne = (n == 0) & ~at_level
    open_goals = g[g["open"]].assign(d="“" + shorten(g.loc[g["open"], "text"], 120) + "”")
    msg = pd.Series("no goals on record for this episode", index=idx, dtype=object)
    msg[met] = (
        n_open.astype(str)
        + " of "
        + n.astype(str)
        + " goals not yet met: "
        + _join(open_goals, "d").reindex(idx).fillna("")
    )[met]
    latest_ref = _at(_ref(latest["note_id"], latest["date"]), idx)
    msg[all_met] = (
        "all "
        + n.astype(str)
        + " current goals are met"
        + np.where(latest_ref != "", " (latest report " + latest_ref + ")", "")
    )[all_met]
    msg[at_level] = (
        "the latest report ("
        + latest_ref
        + ") states that function is at the expected level"
        # A denial gives every reason the record holds, the goals met among them.
        + np.where(all_met, ", and all " + n.astype(str) + " current goals are met", "")
    )[at_level]
    scored = g[g["by_score"]]
    scored = scored.assign(
        d="“"
        + shorten(scored["text"], 120)
        + "” (recorded "
        + scored["status"].astype("string").fillna("without a status").str.replace("_", " ")
        + "; the latest "
        + scored["reached_by"].astype(str)
        + " meets its target "
        + fmt_number(scored["target_value"])
        + ")"
    )
    counted = _join(scored, "d").reindex(idx)
    has_scored = counted.notna()
    msg[has_scored] = (msg + "; counted as met by score: " + counted.fillna(""))[has_scored]
    met_goals = g[~g["open"] & g["note_id"].notna()]
    # The latest report is where a reviewer confirms the goal status or the functional level.
    at_level_ev = latest[latest.index.isin(idx[(at_level | all_met).to_numpy()])].reset_index()
    evidence = pd.concat(
        [
            _evidence(g[g["open"] & g["note_id"].notna()]),
            _evidence(met_goals[met_goals["episode_id"].isin(idx[all_met.to_numpy()])]),
            _evidence(at_level_ev) if len(at_level_ev) else _evidence(met_goals.iloc[:0]),
            _score_evidence(pic, scored),
            _episode_evidence(pic, "plan_note_id", "plan_date", n.to_numpy() == 0),
        ]
    )
    return result(idx, met, msg, evidence, not_evaluable=ne, excerpt=said)


def _score_evidence(pic: Picture, goals: pd.DataFrame) -> pd.DataFrame:
    """The latest administrations that showed goals met by score."""
    if goals.empty or pic.instruments.empty:
        return _evidence(goals.iloc[:0].assign(note_id=pd.Series(dtype=object)))
    keys = goals[["episode_id", "target_instrument"]].rename(
        columns={"target_instrument": "instrument"}
    )
    hit = pic.instruments.merge(keys.drop_duplicates(), on=["episode_id", "instrument"])
    return _evidence(hit, "latest_note_id", "latest_date")


# --------------------------------------------------------------------------- narrative


def _text_hits(
    pic: Picture, phrases: list[str], lookback_days: int | None, unless: list[str] | None = None
) -> pd.DataFrame:
    """Notes (within lookback of the reference date) whose narrative matches; with the sentence."""
    notes = pic.notes
    if lookback_days is not None:
        ref = notes["episode_id"].map(_ref_date(pic))
        notes = notes[(ref - notes["date"]).dt.days <= lookback_days]
    sentence = _sentence(notes["narrative"], phrases, unless)
    return notes.assign(sentence=sentence)[sentence.notna()]


@criterion_kind(
    "skilled_need",
    params={
        "phrases": Param(list, SKILLED_NEED_PHRASES, help="regexes stating skilled need"),
        "lookback_days": Param(int, 30, help="days before the request the statement may date"),
        "boilerplate": Param(
            list,
            BOILERPLATE_SKILLED,
            help="regexes: stock sentences that name skilled care without the need (not counted)",
        ),
        "unskilled_items": Param(
            list,
            ["DOC-SKILLED"],
            help="audit items whose findings on a recent note say it shows no skilled care "
            "(stock phrases, no skilled content)",
        ),
        "unskilled_share": Param(
            float,
            0.5,
            help="when more than this share of the recent notes have such findings, the "
            "criterion is not met whatever a note states",
            maximum=1,
        ),
        "reported_items": Param(
            list,
            ["DOC-CLONED"],
            help="audit items whose findings on recent notes the message reports too (notes "
            "copied from earlier ones), without deciding the status",
        ),
    },
)
def skilled_need(pic: Picture, params: dict[str, Any]) -> pd.DataFrame:
    """A recent note states why the skills of a therapist are still needed, and most recent
    notes do not show stock, unskilled care instead (audit findings)."""
    eps = pic.episodes
    idx = eps.index
    hits = _text_hits(pic, params["phrases"], params["lookback_days"], params["boilerplate"])
    stock = _text_hits(pic, params["phrases"], params["lookback_days"])
    stock = stock[~stock["episode_id"].isin(hits["episode_id"])]
    # The report's stock line is the one a reviewer weighs (a daily's repeats it).
    report = stock["note_type"].isin(REPORT_NOTE_TYPES).to_numpy(bool)
    stock = stock.assign(_report=report).sort_values(["episode_id", "_report"], kind="stable")
    stock = stock.groupby("episode_id").tail(1).set_index("episode_id")
    latest = hits.groupby("episode_id").tail(1).set_index("episode_id")
    stated = pd.Series(idx.isin(latest.index), index=idx)
    recent = pic.notes[
        (pic.notes["episode_id"].map(_ref_date(pic)) - pic.notes["date"]).dt.days
        <= params["lookback_days"]
    ]
    has_text = recent.groupby("episode_id")["narrative"].agg(lambda s: (s.str.len() > 0).any())
    has_text = has_text.reindex(idx).fillna(False).astype(bool)
    days = params["lookback_days"]
    flagged, flagged_text, flagged_ev = _unskilled_notes(
        pic, recent, params["unskilled_items"], params["reported_items"], days
    )
    mostly = flagged > params["unskilled_share"] + 1e-9
    met = stated & ~mostly
    msg = pd.Series(
        f"no note of the last {days} days states why the skills of a therapist are still needed",
        index=idx,
        dtype=object,
    )
    only_stock = pd.Series(idx.isin(stock.index), index=idx)
    msg[only_stock] = (
        msg
        + "; only stock wording that names skilled care without the need it is for: “"
        + stock["sentence"].reindex(idx).fillna("").astype(str)
        + "” ("
        + _ref(stock["note_id"], stock["date"]).reindex(idx).fillna("")
        + ")"
    )[only_stock]
    msg[stated] = ("stated in " + _ref(latest["note_id"], latest["date"])).reindex(idx)[stated]
    # The audit's own findings on the recent notes: repetitive, stock or copied care is
    # evidence against a skilled need (MBPM ch. 15, 220.2; CHK-MN-04), whatever a note says.
    has_flags = flagged_text != ""
    msg[has_flags] = (
        msg
        + np.where(stated & mostly, ", but ", "; ")
        + flagged_text
        + np.where(mostly, ": most recent care is not documented as skilled", "")
    )[has_flags]
    msg[~has_text] = f"no note text in the last {days} days to read"
    recent_reports = recent[recent["note_type"].isin(REPORT_NOTE_TYPES)]
    searched = pd.concat([recent_reports, recent.groupby("episode_id").tail(1)])
    evidence = pd.concat(
        [
            _evidence(latest.reset_index()),
            _evidence(searched[~searched["episode_id"].isin(latest.index)]),
            flagged_ev[flagged_ev["episode_id"].isin(idx[mostly.to_numpy(bool)])],
        ]
    )
    return result(
        idx, met, msg, evidence, not_evaluable=~has_text, excerpt=latest["sentence"].reindex(idx)
    )


def _unskilled_notes(
    pic: Picture, recent: pd.DataFrame, counted: list[str], reported: list[str], days: int
) -> tuple[pd.Series, pd.Series, pd.DataFrame]:
    """Per episode: the share of its recent notes with a finding of the `counted` items; the
    text naming the notes with a finding of those or the `reported` items ('the audit flags
    8 of the 9 notes of the last 30 days: DOC-SKILLED (…) on 8, DOC-CLONED (…) on 4'; ''
    when none); and the notes of the counted items as evidence."""
    idx = pic.episodes.index
    f = pic.findings
    f = f[f["item_id"].isin([*counted, *reported]) & f["note_id"].isin(recent["note_id"])]
    f = f[f["episode_id"].isin(idx)].drop_duplicates(["episode_id", "note_id", "item_id"])
    total = recent.groupby("episode_id")["note_id"].nunique().reindex(idx).fillna(0)
    notes = f.groupby("episode_id")["note_id"].nunique().reindex(idx).fillna(0)
    against = f[f["item_id"].isin(counted)]
    n_against = against.groupby("episode_id")["note_id"].nunique().reindex(idx).fillna(0)
    share = (n_against / total.where(total > 0, 1)).astype("float64")
    if f.empty:
        return share, pd.Series("", index=idx, dtype=object), _evidence(f)
    per_item = f.groupby(["episode_id", "item_id"], sort=False).agg(
        n=("note_id", "size"), title=("title", "first")
    )
    per_item = per_item.reset_index()
    what = per_item["item_id"].map(UNSKILLED_WORDS).fillna(per_item["title"].astype(str))
    per_item["d"] = (
        per_item["item_id"].astype(str) + " (" + what + ") on " + per_item["n"].astype(str)
    )
    listed = _join(per_item, "d", ", ").reindex(idx)
    text = (
        "the audit flags "
        + notes.astype(int).astype(str)
        + " of the "
        + total.astype(int).astype(str)
        + f" notes of the last {days} days: "
        + listed.fillna("").astype(str)
    ).where(listed.notna(), "")
    first = against.sort_values("date").drop_duplicates(["episode_id", "note_id"])
    return share, text.astype(object), _evidence(first)


@criterion_kind(
    "maintenance_need",
    params={
        "maintenance_phrases": Param(
            list, MAINTENANCE_PHRASES, help="regexes naming a maintenance program or goal"
        ),
        "skill_phrases": Param(
            list,
            MAINTENANCE_SKILL_PHRASES,
            help="regexes giving the reason it needs a therapist (complexity, complications)",
        ),
    },
)
def maintenance_need(pic: Picture, params: dict[str, Any]) -> pd.DataFrame:
    """The record documents a skilled maintenance need (Jimmo v. Sebelius)."""
    eps = pic.episodes
    idx = eps.index
    notes = pic.notes
    maint = _sentence(notes["narrative"], params["maintenance_phrases"], HOME_MAINTENANCE)
    skill = (
        notes["narrative"]
        .astype("string")
        .str.contains(_pattern(params["skill_phrases"]), flags=re.IGNORECASE, regex=True)
    )
    notes = notes.assign(maint=maint, skill=skill.fillna(False).to_numpy(bool))
    mentioned = notes[notes["maint"].notna()]
    documented = mentioned[mentioned["skill"]]
    latest_doc = documented.groupby("episode_id").tail(1).set_index("episode_id")
    latest_mention = mentioned.groupby("episode_id").tail(1).set_index("episode_id")
    met = pd.Series(idx.isin(latest_doc.index), index=idx)
    only_mention = pd.Series(idx.isin(latest_mention.index), index=idx) & ~met
    msg = pd.Series(
        "no skilled maintenance need documented (maintaining function or preventing decline "
        "with a reason a therapist's skill is required)",
        index=idx,
        dtype=object,
    )
    msg[only_mention] = (
        "a maintenance program is mentioned ("
        + _ref(latest_mention["note_id"], latest_mention["date"])
        + ") but not why it needs a therapist's skill (complexity or medical complications)"
    ).reindex(idx)[only_mention]
    msg[met] = (
        "skilled maintenance need documented in " + _ref(latest_doc["note_id"], latest_doc["date"])
    ).reindex(idx)[met]
    # The quote is why the program needs a therapist (the Jimmo test), not the maintenance goal
    # the note also states: a sentence giving both, else the note's skill sentence.
    text, unless = latest_doc["narrative"], [GOAL_LINE, *HOME_MAINTENANCE]
    reason = _sentence(text, params["skill_phrases"], unless, also=params["maintenance_phrases"])
    reason = reason.fillna(_sentence(text, params["skill_phrases"], unless))
    excerpt = reason.fillna(latest_doc["maint"]).reindex(idx)
    excerpt = excerpt.fillna(latest_mention["maint"].reindex(idx))
    reports = pic.notes[pic.notes["note_type"].isin(REPORT_NOTE_TYPES)]
    last_report = reports.groupby("episode_id").tail(1)
    evidence = pd.concat(
        [
            _evidence(latest_doc.reset_index()),
            _evidence(latest_mention[~latest_mention.index.isin(latest_doc.index)].reset_index()),
            _evidence(last_report[~last_report["episode_id"].isin(latest_mention.index)]),
        ]
    )
    return result(idx, met, msg, evidence, excerpt=excerpt)


_HOME_PROGRAM = (
    r"(?:(?:the|her|his|their|a|an|updated|current|home)\s+)*(?:hep|home exercises?(?: program)?"
    r"|home program|exercise program|exercises)"
)
# The patient carries out the home program alone: "independent and compliant with HEP", "HEP
# independent", "does HEP daily on her own", "performs HEP independently".
SELF_MANAGED_PHRASES = [
    r"\b(?:independent|indep\.?)\s+(?:and compliant\s+)?(?:with|w/|in|on)\s+"
    + _HOME_PROGRAM
    + r"\b",
    r"\b(?:hep|home exercise(?: program)?|home program)\s+(?:is\s+|now\s+)*independent\b",
    r"\b(?:does|doing|performs?|performing|completes?|completing|carries out|carrying out)\s+"
    + _HOME_PROGRAM
    + r"\b[^.;]{0,40}?\b(?:on (?:her|his|their) own|independently|without (?:assist\w*|help"
    r"|cues?))",
]
_CAREGIVER = (
    r"(?:wife|husband|spouse|partner|caregivers?|carers?|daughter|son|family(?: members?)?"
    r"|mother|father|parents?|aide)"
)
# A caregiver carries it out safely: "wife guards safely and cues correctly during HEP",
# "caregiver independent with HEP supervision".
CAREGIVER_PHRASES = [
    rf"\b{_CAREGIVER}\b[^.;]{{0,60}}?\b(?:guards?|guarding|cues?|cueing|supervises?|supervising"
    r"|assists?|assisting|spots?|spotting)\b[^.;]{0,40}?\b(?:safely|correctly|appropriately"
    r"|independently)\b",
    rf"\b{_CAREGIVER}\b[^.;]{{0,30}}?\b(?:independent|trained|competent|demonstrates?"
    r"|demonstrated)\b[^.;]{0,30}?\b(?:hep|home (?:exercise )?program|exercises?|supervision"
    r"|guarding|spotting)\b",
]
# A sentence that says the opposite, states a goal, or qualifies the independence.
NOT_SELF_MANAGED = [
    r"\b(?:not|cannot|can ?not|unable|never|no longer|isn'?t|inconsistent\w*|non-?compliant"
    r"|poor|refus\w*|needs?|requires?|will|goals?)\b",
    GOAL_LINE,
]


@criterion_kind(
    "self_management",
    params={
        "patient_phrases": Param(
            list, SELF_MANAGED_PHRASES, help="regexes: the patient carries out the program alone"
        ),
        "caregiver_phrases": Param(
            list,
            CAREGIVER_PHRASES,
            help="regexes: a caregiver carries out or supervises the program safely",
        ),
        "unless": Param(
            list,
            NOT_SELF_MANAGED,
            help="regexes: sentences that negate, qualify or only aim at it (not counted)",
        ),
    },
)
def self_management(pic: Picture, params: dict[str, Any]) -> pd.DataFrame:
    """The patient, or a trained caregiver, carries out the home program independently."""
    eps = pic.episodes
    idx = eps.index
    notes = pic.notes
    text = notes["narrative"].astype("string").fillna("")
    arrow = to_arrow(text)
    parts, evidence = [], []
    for who, phrases in (
        ("a caregiver", params["caregiver_phrases"]),
        ("the patient", params["patient_phrases"]),
    ):
        # Python's re on every note is slow with these gaps: RE2 finds the few notes first.
        near = matches(arrow, phrases)
        said = _sentence(text[near], phrases, params["unless"]).reindex(notes.index)
        found = notes.assign(sentence=said)[said.notna()]
        latest = found.groupby("episode_id").tail(1).set_index("episode_id")
        parts.append(
            (
                f"{who}: “"
                + latest["sentence"].astype(str)
                + "” ("
                + _ref(latest["note_id"], latest["date"])
                + ")"
            ).reindex(idx)
        )
        evidence.append(_evidence(latest.reset_index()))
    # A home-program goal marked met ("Pt will be independent with HEP within 3 weeks": met).
    g = pic.goals
    both = params["patient_phrases"] + params["caregiver_phrases"]
    met_goal = g[
        (g["status"].astype("string").fillna("") == "met").to_numpy(bool)
        & g["text"]
        .astype("string")
        .fillna("")
        .str.contains(_pattern(both), flags=re.IGNORECASE, regex=True)
        .to_numpy(bool)
    ]
    goal_text = (
        "goal met: “"
        + shorten(met_goal["text"], 160)
        + "”"
        + np.where(
            met_goal["note_id"].notna(),
            " (set " + _ref(met_goal["note_id"].astype(str), met_goal["date"]) + ")",
            "",
        )
    )
    parts.append(_join(met_goal.assign(d=goal_text), "d").reindex(idx))
    evidence.append(_evidence(met_goal[met_goal["note_id"].notna()]))
    shown = pd.concat(parts, axis=1)
    listed = shown.apply(lambda row: "; ".join(v for v in row if isinstance(v, str)), axis=1)
    met = listed != ""
    msg = pd.Series(
        "the record does not show the patient or a caregiver carrying out the home program "
        "independently",
        index=idx,
        dtype=object,
    )
    msg[met] = ("the home program is carried out without a therapist: " + listed)[met]
    excerpt = parts[0].fillna(parts[1]).str.extract("“(.*)”", expand=False)
    return result(idx, met, msg, pd.concat(evidence), excerpt=excerpt)


# --------------------------------------------------------------------------- record


@criterion_kind(
    "documentation_compliance",
    params={
        "severities": Param(
            list,
            ["critical"],
            help="audit findings of these severities fail the criterion",
            choices=("critical", "high", "medium", "low"),
        ),
        "exclude": Param(
            list, [], help="checklist item ids that do not count (e.g. billing-only items)"
        ),
    },
)
def documentation_compliance(pic: Picture, params: dict[str, Any]) -> pd.DataFrame:
    """No audit finding of the given severities in the episode's notes."""
    eps = pic.episodes
    idx = eps.index
    f = pic.findings
    f = f[f["severity"].isin(params["severities"]) & ~f["item_id"].isin(params["exclude"])]
    f = f.assign(
        d=f["item_id"].astype(str)
        + " on "
        + _ref(f["note_id"], f["date"])
        + ": "
        + shorten(f["message"], 200)
    )
    counts = f.groupby("episode_id").size().reindex(idx).fillna(0).astype(int)
    met = counts == 0
    words = " or ".join(params["severities"])
    msg = pd.Series(
        f"no {words} documentation findings in the episode's "
        + eps["notes"].astype(str)
        + " notes ("
        + _ref(eps["first_note_id"], eps["first_date"])
        + " to "
        + _ref(eps["last_note_id"], eps["last_date"])
        + ")",
        index=idx,
        dtype=object,
    )
    listed = _join(f.groupby("episode_id").head(8), "d").reindex(idx).fillna("")
    more = np.where(counts > 8, "; …", "")
    msg[~met] = (counts.astype(str) + f" {words} finding(s): " + listed + more)[~met]
    evidence = pd.concat(
        [
            _evidence(f),
            _episode_evidence(pic, "first_note_id", "first_date", met),
            _episode_evidence(pic, "last_note_id", "last_date", met),
        ]
    )
    return result(idx, met, msg, evidence)


@criterion_kind(
    "utilization",
    params={
        "count_evaluation": Param(
            bool, True, help="the evaluation visit counts against the authorization"
        ),
    },
)
def utilization(pic: Picture, params: dict[str, Any]) -> pd.DataFrame:
    """Visits used are within the visits approved so far."""
    eps = pic.episodes
    idx = eps.index
    visits = pic.notes[pic.notes["new_visit"]]
    if not params["count_evaluation"]:
        visits = visits[~((visits["visit_no"] == 1) & (visits["note_type"] == "evaluation"))]
    visits = visits.assign(n=visits.groupby("episode_id").cumcount() + 1)
    used = visits.groupby("episode_id").size().reindex(idx).fillna(0).astype(int)
    approved = eps["approved_visits"]
    ne = approved.isna()
    met = ~ne & (used <= approved)
    over = visits[visits["n"] == visits["episode_id"].map(approved).fillna(np.inf) + 1]
    over = over.set_index("episode_id")
    planned = np.where(
        eps["planned_low"].notna(),
        "; frequency delivered "
        + eps["delivered_per_week"].map(lambda v: f"{v:g}").astype(str)
        + " visits/week against "
        + eps["frequency"].astype(str)
        + " planned",
        np.where(
            eps["visits_used"] > 0,
            "; frequency delivered "
            + eps["delivered_per_week"].map(lambda v: f"{v:g}").astype(str)
            + " visits/week (no planned frequency on file)",
            "",
        ),
    )
    base = (
        used.astype(str)
        + " visits used of "
        + fmt_number(approved).where(~ne, "?")
        + " approved"
        + np.where(
            eps["approved_auths"].astype(str) != "",
            " (" + eps["approved_auths"].astype(str) + ")",
            "",
        )
    )
    msg = pd.Series(base + planned, index=idx, dtype=object)
    msg[ne] = (
        "no approved authorization on file for this episode; "
        + used.astype(str)
        + " visits used"
        + planned
    )[ne]
    exceeded = ~ne & ~met
    msg[exceeded] = (
        base
        + ": visit "
        + (approved + 1).map(lambda v: f"{v:g}" if pd.notna(v) else "").astype(str)
        + " on "
        + _ref(over["note_id"], over["date"]).reindex(idx).fillna("")
        + " exceeded the authorization"
        + planned
    )[exceeded]
    evidence = pd.concat(
        [
            _evidence(over.reset_index()),
            _episode_evidence(pic, "last_note_id", "last_date", ~exceeded),
        ]
    )
    # Whatever the recommendation, the reviewer sees visits beyond the authorization.
    beyond = (used - approved).where(exceeded)
    flag = beyond.map(
        lambda v: f"{v:g} visit(s) beyond the approved authorization" if pd.notna(v) else ""
    )
    return result(idx, met, msg, evidence, not_evaluable=ne, flag=flag)


@criterion_kind("plan_frequency", params={})
def plan_frequency(pic: Picture, params: dict[str, Any]) -> pd.DataFrame:
    """The visits requested are within what the current plan of care's frequency supports
    over its remaining duration (and the request does not run past the plan's end)."""
    eps = pic.episodes
    idx = eps.index
    requested = eps["requested_visits"]
    supported = eps["plan_supported_visits"]
    plan = (
        "the plan of care of "
        + _ref(eps["current_plan_note_id"], eps["current_plan_date"])
        + " ("
        + eps["frequency"].astype(object).fillna("no frequency").astype(str)
        + ", "
        + fmt_date(eps["plan_start"]).replace("", "?")
        + " to "
        + fmt_date(eps["plan_end"]).replace("", "?")
        + np.where(
            eps["plan_end_from"] == "duration",
            " from its duration " + _at(eps["duration"], idx),
            "",
        )
        + ")"
    )
    window = fmt_date(eps["window_start"]) + " to " + fmt_date(eps["window_end"])
    asked = (
        fmt_number(requested)
        + " visit(s) requested"
        + np.where(
            eps["requested_through"].notna(),
            " through " + fmt_date(eps["requested_through"]),
            " (no through date: the plan's remaining duration is counted)",
        )
    )
    past = eps["past_plan_end"].to_numpy(bool)
    lapsed = eps["plan_lapsed"].to_numpy(bool)
    no_request = ~eps["open_request"].astype(bool) | requested.isna()
    no_frequency = eps["planned_high"].isna() & supported.isna()
    uncounted = supported.isna() & ~lapsed
    ne = (no_request | no_frequency | uncounted | lapsed).to_numpy(bool)
    met = ~ne & (requested <= supported).to_numpy(bool)
    msg = pd.Series(
        asked
        + "; "
        + plan
        + " supports "
        + fmt_number(supported)
        + " visit(s) from "
        + window
        + np.where(
            requested > supported,
            ": " + fmt_number(requested - supported) + " more than the plan supports",
            "",
        ),
        index=idx,
        dtype=object,
    )
    msg[past] = (
        msg
        + "; the request runs past the plan's end "
        + fmt_date(eps["plan_end"])
        + ": visits after it need a recertified plan of care"
    )[past]
    msg[uncounted.to_numpy(bool)] = (
        asked + "; " + plan + " has no end date or duration, so the visits it supports cannot "
        "be counted"
    )[uncounted.to_numpy(bool)]
    msg[no_frequency.to_numpy(bool)] = (
        "no planned frequency (visits per week) on file in " + plan
    )[no_frequency.to_numpy(bool)]
    msg[lapsed] = (
        plan
        + " ended before "
        + fmt_date(eps["window_start"])
        + ", so no current plan supports the "
        + asked
        + ": a recertified plan of care is needed"
    )[lapsed]
    msg[no_request.to_numpy(bool)] = np.where(
        eps["open_request"].astype(bool),
        "the number of visits requested is not on file",
        "no open request to compare with the plan of care",
    )[no_request.to_numpy(bool)]
    flag = pd.Series(
        np.where(
            (past | lapsed) & eps["open_request"].astype(bool).to_numpy(),
            "recertification needed",
            "",
        ),
        index=idx,
        dtype=object,
    )
    evidence = _episode_evidence(pic, "current_plan_note_id", "current_plan_date")
    return result(idx, met, msg, evidence, not_evaluable=ne, flag=flag)


@criterion_kind(
    "attendance",
    params={
        "min_share": Param(
            float,
            0.75,
            help="frequency delivered below this share of the planned one (the bottom of its "
            "range) is well below it",
            maximum=1,
        ),
        "min_weeks": Param(
            int, 3, help="calendar weeks of visits needed before attendance is judged", minimum=1
        ),
    },
)
def attendance(pic: Picture, params: dict[str, Any]) -> pd.DataFrame:
    """The visits requested are no more than the frequency the patient attends needs (when it
    is well below the planned one), counting the approved visits still unused."""
    eps = pic.episodes
    idx = eps.index
    rate = eps["delivered_per_week"]
    planned = eps["planned_low"]
    requested = eps["requested_visits"]
    share = rate / planned
    low = (share < params["min_share"] - 1e-9).fillna(False).to_numpy(bool)
    weeks = eps["weeks"]
    short = (weeks < params["min_weeks"]).to_numpy(bool)
    left_out = (eps["excluded_notes"] > 0).to_numpy(bool)
    no_window = (eps["plan_lapsed"] | eps["window_end"].isna()).to_numpy(bool)
    no_request = (~eps["open_request"].astype(bool) | requested.isna()).to_numpy(bool)
    no_plan = planned.isna().to_numpy(bool)
    ne = no_request | no_plan | short | left_out | (low & no_window)
    attended = eps["attended_visits"]
    met = ~ne & (~low | (requested <= attended).fillna(False).to_numpy(bool))
    pct = (share * 100).round().map(lambda v: "" if pd.isna(v) else f"{v:g}%").astype(object)
    delivered = (
        "frequency delivered "
        + rate.map(lambda v: f"{v:g}")
        + " visits/week ("
        + eps["visits_used"].astype(str)
        + " visits over "
        + weeks.map(lambda v: f"{v:g}")
        + " calendar week(s), "
        + fmt_date(eps["first_date"])
        + " to "
        + fmt_date(eps["last_date"])
        + ")"
    )
    msg = pd.Series(
        delivered + " against " + _at(eps["frequency"], idx) + " planned (" + pct + ")",
        index=idx,
        dtype=object,
    )
    unused = eps["unused_visits"].fillna(0)
    covered = eps["attended_covered"].fillna(0)
    spare = np.where(
        unused > 0,
        "; "
        + unused_text(unused, _at(eps["current_auths"], idx), eps["unused_until"])
        + np.where(
            covered > 0,
            " and pay for " + fmt_number(covered) + " of them",
            ", too soon for one of them to be used at that frequency",
        ),
        "",
    )
    beyond_plan = eps["attended_need"] - eps["attended_covered"] > eps["plan_supported_visits"]
    capped = beyond_plan.to_numpy(bool)
    need = (
        "; at "
        + rate.map(lambda v: f"{v:g}")
        + " visits/week the "
        + _days((eps["window_end"] - eps["window_start"]).dt.days + 1)
        + " from "
        + fmt_date(eps["window_start"])
        + " to "
        + fmt_date(eps["window_end"])
        + " need "
        + fmt_number(eps["attended_need"])
        + " visit(s)"
        + spare
        + np.where(capped, "; the plan supports " + fmt_number(eps["plan_supported_visits"]), "")
        + ": "
        + fmt_number(attended)
        + " more visit(s) needed, "
        + fmt_number(requested)
        + " requested"
    )
    judged = low & ~ne
    msg[judged] = (msg + need)[judged]
    msg[~low & ~ne] = (msg + ", at least " + f"{params['min_share']:.0%} of it")[~low & ~ne]
    msg[short & ~no_plan] = (
        msg + f": too few weeks to judge attendance (at least {params['min_weeks']} needed)"
    )[short & ~no_plan]
    msg[left_out] = (
        msg
        + ": not judged, because notes of the episode were left out as date errors ("
        + _at(eps["excluded_text"], idx)
        + ") and the visits counted may be too few"
    )[left_out]
    msg[low & no_window & ~left_out] = (
        msg + ": the visits needed cannot be counted without a current plan of care's window"
    )[low & no_window & ~left_out]
    msg[no_plan] = (delivered + " (no planned frequency on file to compare with)")[no_plan]
    msg[no_request] = (delivered + "; no open request with a number of visits to compare")[
        no_request
    ]
    evidence = pd.concat(
        [
            _episode_evidence(pic, "first_note_id", "first_date"),
            _episode_evidence(pic, "current_plan_note_id", "current_plan_date"),
            _episode_evidence(pic, "last_note_id", "last_date"),
        ]
    )
    return result(idx, met, msg, evidence, not_evaluable=ne)
