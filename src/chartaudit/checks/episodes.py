"""Check kinds over episodes of care: plan of care, certification, progress reports, authorship,
episode start, chronology and authorizations.

Episode-wide facts are computed over all notes (a progress report counts even when an item
applies only to daily notes) from one cached sort by episode, date and same-day note order,
then the notes an item applies to are selected.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from ..episodes import NOTE_TYPE_RANK, normalise_credential, ordinal
from ..model import PLAN_NOTE_TYPES
from .context import AuditContext
from .regex import first_match, matches, to_arrow
from .registry import CheckOutcome, Param, check_kind, outcome

NOTE_TYPE_LABEL = {
    "evaluation": "an evaluation",
    "re_evaluation": "a re-evaluation",
    "daily": "a daily note",
    "progress": "a progress report",
    "recertification": "a recertification",
    "discharge": "a discharge summary",
}
DISCIPLINE_LABEL = {"PT": "physical therapy", "OT": "occupational therapy", "SLP": "speech therapy"}
ROLE_LABEL = {
    "assistant": "an assistant",
    "student": "a student",
    "unknown": "an unrecognised author",
}


# --------------------------------------------------------------------------- shared helpers


def fmt_date(dates: pd.Series) -> pd.Series:
    """Dates as YYYY-MM-DD text ('' for NaT). Each distinct day is formatted once."""
    days = np.asarray(dates.to_numpy(dtype="datetime64[ns]"), dtype="datetime64[D]")
    codes, uniques = pd.factorize(days, use_na_sentinel=True)
    labels = np.datetime_as_string(np.asarray(uniques, dtype="datetime64[D]"), unit="D")
    text = np.append(labels.astype(object), "")[codes]
    return pd.Series(text, index=dates.index, dtype=object)


def texts(
    idx: pd.Index, mask: pd.Series | np.ndarray, build: Callable[[np.ndarray], Any]
) -> pd.Series:
    """'' for every note except where `mask` holds; there, `build(mask)` gives the text.

    Messages are built only for the notes that need one (string work on the subset).
    """
    m = np.asarray(mask.fillna(False) if isinstance(mask, pd.Series) else mask, dtype=bool)
    out = pd.Series("", index=idx, dtype=object)
    if m.any():
        built = build(m)
        out.iloc[np.flatnonzero(m)] = np.asarray(
            built.to_numpy() if isinstance(built, pd.Series) else built, dtype=object
        )
    return out


def non_blank(values: pd.Series) -> pd.Series:
    """True where a value is present (text: not empty after stripping)."""
    if pd.api.types.is_datetime64_any_dtype(values) or pd.api.types.is_numeric_dtype(values):
        return values.notna()
    text = values.astype("string").str.strip()
    return (text.notna() & (text != "")).fillna(False).astype(bool)


def days_between(later: pd.Series, earlier: pd.Series) -> pd.Series:
    """Calendar days from `earlier` to `later` (times ignored); NaN when either is missing."""
    return (later.dt.normalize() - earlier.dt.normalize()).dt.days


def note_columns(ctx: AuditContext, idx: pd.Index, columns: list[str]) -> pd.DataFrame:
    """The given columns of the notes in `idx` (no copy of the whole notes frame)."""
    notes = ctx.notes
    if len(idx) == len(notes) and idx.equals(notes.index):
        return notes[columns]
    return notes.loc[idx, columns]


def not_evaluable_all(idx: pd.Index, reason: str) -> CheckOutcome:
    return outcome(
        idx,
        np.zeros(len(idx), bool),
        not_evaluable=np.ones(len(idx), bool),
        not_evaluable_reason=reason,
    )


def cosigned(ctx: AuditContext, notes: pd.DataFrame) -> pd.Series:
    """A co-signature is on file: co-signer named and dated (whichever of the two is exported)."""
    has_name, has_date = ctx.has("notes.cosigner"), ctx.has("notes.cosigned_at")
    if not (has_name or has_date):
        return pd.Series(False, index=notes.index)
    ok = pd.Series(True, index=notes.index)
    if has_name:
        ok &= non_blank(notes["cosigner"])
    if has_date:
        ok &= notes["cosigned_at"].notna()
    return ok


def clinician_written(
    ctx: AuditContext, notes: pd.DataFrame, student_cosigned_ok: bool
) -> pd.Series:
    """Written by a therapist (or physician/NPP); optionally a student's note a therapist co-signed.

    The co-signer's own credential is not in exports, so a co-signed student note is taken as
    the supervising therapist's (they sign for its content).
    """
    ok = notes["role"] == "therapist"
    if student_cosigned_ok:
        ok |= (notes["role"] == "student") & cosigned(ctx, notes)
    return ok.fillna(False).astype(bool)


def credential_facts(ctx: AuditContext) -> pd.DataFrame:
    """Normalised credential, role and credential discipline of every note (cached)."""

    def build() -> pd.DataFrame:
        upper, role, discipline = normalise_credential(ctx.notes["credential"])
        return pd.DataFrame({"credential": upper, "role": role, "discipline": discipline})

    return ctx.cached("episodes:credentials", build)


def sorted_notes(ctx: AuditContext) -> pd.DataFrame:
    """Notes sorted by episode, date, same-day type order and load order (cached).

    Index: the notes' own labels. Extra columns: `ep` (episode code), `date` (normalised date
    of service), `ep_start` (first note of its episode), `day_new` (first note of a distinct
    episode day), `day` (global index of that episode day) and `t` (treatment-day number in
    the episode, the first day = 1).
    """

    def build() -> pd.DataFrame:
        notes = ctx.notes
        rank = notes["note_type"].map(NOTE_TYPE_RANK).fillna(9).to_numpy()
        date = notes["date_of_service"].dt.normalize()
        ep_codes = pd.factorize(notes["episode_id"], use_na_sentinel=True)[0]
        order = np.lexsort((np.arange(len(notes)), rank, date.to_numpy(), ep_codes))
        s = pd.DataFrame(
            {
                "ep": ep_codes[order],
                "date": date.to_numpy()[order],
                "note_type": notes["note_type"].to_numpy(dtype=object)[order],
            },
            index=notes.index[order],
        )
        n = len(s)
        ep = s["ep"].to_numpy()
        d = s["date"].to_numpy()
        ep_start = np.ones(n, bool)
        ep_start[1:] = ep[1:] != ep[:-1]
        day_new = ep_start.copy()
        day_new[1:] |= d[1:] != d[:-1]
        day = np.cumsum(day_new) - 1
        day_start_of_ep = np.maximum.accumulate(np.where(ep_start, day, 0))
        s["ep_start"] = ep_start
        s["day_new"] = day_new
        s["day"] = day
        s["t"] = day - day_start_of_ep + 1
        return s

    return ctx.cached("episodes:sorted", build)


# --------------------------------------------------------------------------- progress reports


@check_kind(
    "progress_report_interval",
    params={
        "max_treatment_days": Param(int, 10, help="treatment days a reporting period may last"),
        "report_types": Param(
            list,
            ["progress", "re_evaluation", "recertification", "discharge"],
            help="note types that serve as a progress report and close a reporting period",
        ),
        "student_cosigned_ok": Param(
            bool, True, help="a student's report co-signed by a therapist counts as a report"
        ),
    },
)
def progress_report_interval(
    ctx: AuditContext, idx: pd.Index, params: dict[str, Any]
) -> CheckOutcome:
    """A therapist's progress report by the 10th treatment day of each reporting period."""
    max_days = int(params["max_treatment_days"])
    s = sorted_notes(ctx)
    notes = note_columns(ctx, s.index, ["note_type", "role", "cosigner", "cosigned_at"])
    clinician = clinician_written(ctx, notes, bool(params["student_cosigned_ok"]))
    is_report = (notes["note_type"].isin(params["report_types"]) & clinician).to_numpy()

    # Day-level arrays (one row per distinct episode day, in order).
    day = s["day"].to_numpy()
    n_days = int(day[-1]) + 1 if len(day) else 0
    day_report = np.bincount(day, weights=is_report, minlength=n_days) > 0
    first = s["day_new"].to_numpy()
    day_date = s["date"].to_numpy()[first]
    day_ep_start = s["ep_start"].to_numpy()[first]
    g = np.arange(n_days)
    ep_first_day = np.maximum.accumulate(np.where(day_ep_start, g, 0))
    last_report = np.maximum.accumulate(np.where(day_report, g, -1))
    # The period closes on the report's day; the next one starts the next treatment day.
    prev_report = np.concatenate([[-1], last_report[:-1]])
    has_prev = prev_report >= ep_first_day
    period_start = np.where(has_prev, prev_report + 1, ep_first_day)
    day_in_period = g - period_start + 1
    late_day = day_in_period > max_days
    due_day = np.minimum(period_start + max_days - 1, n_days - 1)

    fail = pd.Series(late_day[day], index=s.index).reindex(idx)
    day_idx = pd.Series(day, index=s.index).reindex(idx).to_numpy()
    evidence = texts(
        idx, fail, lambda f: "treatment day " + day_in_period[day_idx[f]].astype(str).astype(object)
    )
    message = pd.Series("", index=idx, dtype=object)
    if fail.any():
        f = fail.to_numpy()
        f_lbl, f_day = idx[f], day_idx[f]
        last = fmt_date(pd.Series(day_date[np.maximum(prev_report[f_day], 0)])).to_numpy()
        begun = fmt_date(pd.Series(day_date[ep_first_day[f_day]])).to_numpy()
        since_last = "since the last progress report (" + last + ")"
        since = np.where(
            has_prev[f_day], since_last, "since the episode began (" + begun + ") with no report"
        )
        since_rep = np.where(has_prev[f_day], since_last, "since the episode began (" + begun + ")")
        due = fmt_date(pd.Series(day_date[due_day[f_day]])).to_numpy()
        nth = ordinal(pd.Series(day_in_period[f_day], index=f_lbl))
        due_by = " by the " + ordinal(pd.Series([max_days])).iloc[0] + " treatment day ("
        is_rep = pd.Series(is_report, index=s.index).loc[f_lbl].to_numpy()
        typed = notes.loc[f_lbl, "note_type"].isin(params["report_types"]).to_numpy()
        author = notes.loc[f_lbl, "role"].map(ROLE_LABEL).fillna("an assistant")
        text = np.where(
            is_rep,
            "this report was written on the "
            + nth
            + " treatment day "
            + since_rep
            + "; it was due"
            + due_by
            + due
            + ")",
            nth + " treatment day " + since + "; a progress report was due" + due_by + due + ")",
        )
        text = np.where(
            typed & ~is_rep,
            text + " (a report written by " + author + " does not count)",
            text,
        )
        message.loc[f_lbl] = text
    return outcome(idx, fail, message, evidence)


# --------------------------------------------------------------------------- authorship


@check_kind(
    "author_role",
    params={
        "roles": Param(list, ["therapist"], help="author roles allowed to write these notes"),
        "student_cosigned_ok": Param(
            bool, True, help="a student's note co-signed by a therapist passes"
        ),
    },
)
def author_role(ctx: AuditContext, idx: pd.Index, params: dict[str, Any]) -> CheckOutcome:
    """The note is written by an allowed role (by default a therapist, not an assistant)."""
    notes = note_columns(ctx, idx, ["role", "note_type", "credential", "cosigner", "cosigned_at"])
    role = notes["role"].astype("string").fillna("unknown")
    ok = role.isin(params["roles"])
    if params["student_cosigned_ok"] and "therapist" in params["roles"]:
        ok |= (role == "student") & cosigned(ctx, notes)
    unknown = (role == "unknown") & ~ok
    fail = ~ok & ~unknown
    cred = notes["credential"].astype("string").fillna("")

    def message(f: np.ndarray) -> pd.Series:
        kind = notes["note_type"][f].map(NOTE_TYPE_LABEL).fillna("this note")
        who = role[f].map(ROLE_LABEL).fillna(role[f])
        text = kind.str.slice(0, 1).str.upper() + kind.str.slice(1) + " written by " + who
        text = text + " (" + cred[f] + ")"
        text = text.where(role[f] != "student", text + " without a therapist's co-signature")
        return text + "; only " + " or ".join(params["roles"]) + "s may write it"

    msg = texts(idx, fail, message)
    reason = texts(
        idx,
        unknown,
        lambda f: "credential " + cred[f].where(cred[f] != "", "(blank)") + " not recognised",
    )
    return outcome(idx, fail, msg, cred, not_evaluable=unknown, not_evaluable_reason=reason)


@check_kind(
    "assistant_scope",
    params={
        "phrases": Param(
            list,
            [
                r"(?:goals?|plan of care|POC)\s+(?:was\s+|were\s+|has been\s+|have been\s+)?"
                r"(?:updated|revised|modified|changed|upgraded|downgraded|added)",
                r"(?:new|revised|updated)\s+(?:long[- ]term\s+|short[- ]term\s+)?"
                r"(?:goals?|plan of care)",
                r"(?:increased?|decreased?|reduced?|changed?)\s+(?:the\s+)?frequency",
                r"(?:progress|improvement)\s+(?:has been\s+|is\s+|was\s+)?"
                r"(?:limited|slowed|hindered|impeded)\s+(?:due to|by|because)",
                r"(?:not\s+progressing|no\s+progress|lack of progress|poor progress|"
                r"minimal progress)\s+(?:due to|because)",
                r"(?:recommend(?:ed|s)?|will)\s+(?:discharge|d/c)\b",
                r"\bprognosis\b",
                r"\brehab(?:ilitation)? potential\b",
            ],
            help="regexes (case-insensitive): clinical judgments an assistant may not make",
        ),
    },
)
def assistant_scope(ctx: AuditContext, idx: pd.Index, params: dict[str, Any]) -> CheckOutcome:
    """An assistant's note makes no clinical judgment (goal/plan changes, prognosis, discharge)."""
    notes = note_columns(ctx, idx, ["role", "narrative", "credential"])
    applicable = (notes["role"] == "assistant").fillna(False).astype(bool)
    hit = pd.Series(pd.NA, index=idx, dtype=object)
    if applicable.any():
        text = notes.loc[applicable, "narrative"]
        # A boolean scan first; the phrase itself is extracted only from the notes that match.
        text = text[matches(to_arrow(text), params["phrases"])]
        hit.loc[text.index] = first_match(to_arrow(text), params["phrases"]).to_numpy()
    fail = applicable & hit.notna()
    msg = pd.Series("", index=idx, dtype=object)
    if fail.any():
        cred = notes.loc[fail, "credential"].astype("string").fillna("assistant")
        msg.loc[fail] = (
            "assistant's note ("
            + cred
            + ') makes a clinical judgment: "'
            + hit[fail].astype(str)
            + '"; goal, plan and prognosis decisions belong to the supervising therapist'
        ).to_numpy()
    return outcome(idx, fail, msg, hit.fillna(""), applicable=applicable)


# --------------------------------------------------------------------------- certification


@check_kind(
    "certification_timely",
    params={
        "max_days": Param(
            int, 30, help="days after the evaluation within which the plan is certified"
        ),
        "exception_from": Param(
            str,
            "2025-01-01",
            help="first date of service for the CY2025 exception ('' to disable)",
        ),
        "sent_within_days": Param(int, 30, help="CY2025 exception: plan sent within these days"),
    },
    needs=("notes.poc_certified_at",),
)
def certification_timely(ctx: AuditContext, idx: pd.Index, params: dict[str, Any]) -> CheckOutcome:
    """The initial plan is certified within 30 days of the evaluation (or the CY2025 exception)."""
    if not ctx.has("notes.poc_certified_at"):
        return not_evaluable_all(idx, "the export has no plan-of-care certification date column")
    s = sorted_notes(ctx)
    is_plan = s["note_type"].isin(PLAN_NOTE_TYPES)
    # The note that establishes the plan: an evaluation, or the first plan note of an episode
    # that has no evaluation before it.
    plan_rank = is_plan.astype(int).groupby(s["ep"].to_numpy()).cumsum()
    establishes = (s["note_type"] == "evaluation") | (is_plan & (plan_rank == 1))
    applicable = establishes.reindex(idx).fillna(False).astype(bool)

    notes = note_columns(
        ctx, idx, ["date_of_service", "poc_certified_at", "poc_sent_at", "order_signed_at"]
    )
    dos = notes["date_of_service"].dt.normalize()
    max_days = int(params["max_days"])
    lag = days_between(notes["poc_certified_at"], dos)
    certified = notes["poc_certified_at"].notna()
    on_time = certified & (lag <= max_days)
    exception = pd.Series(False, index=idx)
    if params["exception_from"]:
        start = pd.Timestamp(params["exception_from"])
        sent_lag = days_between(notes["poc_sent_at"], dos)
        exception = (
            (dos >= start)
            & (sent_lag <= int(params["sent_within_days"])).fillna(False)
            & notes["order_signed_at"].notna()
        )
    overdue_unsigned = ~certified & ((ctx.as_of.normalize() - dos).dt.days > max_days)
    late_signed = certified & (lag > max_days)
    fail = applicable & ~on_time & ~exception & (late_signed | overdue_unsigned)

    msg = pd.Series("", index=idx, dtype=object)
    if fail.any():
        f = notes[fail]
        ev = fmt_date(dos[fail])
        due = fmt_date(dos[fail] + pd.Timedelta(days=max_days))
        late_txt = (
            "plan of care certified "
            + lag[fail].astype("Int64").astype(str)
            + " days after the evaluation ("
            + ev
            + ")"
        )
        open_days = (ctx.as_of.normalize() - dos[fail]).dt.days.astype(str)
        unsigned_txt = (
            "plan of care not certified " + open_days + " days after the evaluation (" + ev + ")"
        )
        text = late_txt.where(certified[fail], unsigned_txt)
        text = text + "; certification was due within " + str(max_days) + " days (by " + due + ")"
        sent_ok = (
            days_between(f["poc_sent_at"], dos[fail]) <= int(params["sent_within_days"])
        ).fillna(False)
        text = text.where(
            ~(sent_ok & f["order_signed_at"].isna()),
            text + "; the plan was sent in time but no signed order/referral is on file",
        )
        msg.loc[fail] = text.to_numpy()
    evidence = fmt_date(notes["poc_certified_at"]).where(certified, "not certified")
    return outcome(idx, fail, msg, evidence, applicable=applicable)


CERTIFIER_ALIASES = [
    (r"\b(?:F|A|AG|AC|AGAC|AGPC|PMH|P|W|G|FNP-|ANP-)?NP(?:-[A-Z]+)?\b", "NP"),
    (r"\bAPRN(?:-|,|\s)+NP\b", "NP"),
    (r"\bPA-C\b", "PA"),
    (r"\bAPRN(?:-|,|\s)+CNS\b", "CNS"),
]


@check_kind(
    "certifier_qualified",
    params={
        "credentials": Param(
            list,
            ["MD", "DO", "DPM", "NP", "PA", "CNS"],
            help="credentials that may certify a therapy plan of care",
        ),
    },
    needs=("notes.certifier_credential",),
)
def certifier_qualified(ctx: AuditContext, idx: pd.Index, params: dict[str, Any]) -> CheckOutcome:
    """The plan is certified by a physician or NPP (MD, DO, DPM, NP, PA, CNS)."""
    if not ctx.has("notes.certifier_credential"):
        return not_evaluable_all(idx, "the export has no certifier credential column")
    notes = note_columns(ctx, idx, ["poc_certified_at", "certifier", "certifier_credential"])
    has_cert = (
        notes["poc_certified_at"].notna()
        | non_blank(notes["certifier"])
        | non_blank(notes["certifier_credential"])
    )
    cred = (
        notes["certifier_credential"].astype("string").str.upper().str.replace(".", "", regex=False)
    )
    cred = cred.str.strip()
    norm = cred
    for pattern, repl in CERTIFIER_ALIASES:
        norm = norm.str.replace(pattern, repl, regex=True)
    allowed = "|".join(str(c).upper() for c in params["credentials"])
    ok = norm.str.contains(rf"\b(?:{allowed})\b", regex=True).fillna(False).astype(bool)
    blank = ~non_blank(notes["certifier_credential"])
    fail = has_cert & ~blank & ~ok
    msg = (
        "plan certified by a "
        + cred.fillna("")
        + "; Medicare accepts certification by "
        + ", ".join(params["credentials"])
    )
    return outcome(
        idx,
        fail,
        msg,
        cred.fillna(""),
        applicable=has_cert,
        not_evaluable=blank,
        not_evaluable_reason="certifier's credential not recorded",
    )


@check_kind(
    "poc_interval",
    params={"max_days": Param(int, 90, help="longest certified interval in calendar days")},
    needs=("notes.poc_end",),
)
def poc_interval(ctx: AuditContext, idx: pd.Index, params: dict[str, Any]) -> CheckOutcome:
    """The certified plan-of-care interval (start to end) is at most 90 days."""
    if not ctx.has("notes.poc_end"):
        return not_evaluable_all(idx, "the export has no plan-of-care end date column")
    notes = note_columns(ctx, idx, ["poc_start", "date_of_service", "poc_end"])
    start = notes["poc_start"].fillna(notes["date_of_service"]).dt.normalize()
    end = notes["poc_end"].dt.normalize()
    length = (end - start).dt.days
    no_end = end.isna()
    backwards = (length < 0).fillna(False)
    max_days = int(params["max_days"])
    fail = (length > max_days).fillna(False)
    msg = (
        "plan of care "
        + fmt_date(start)
        + " to "
        + fmt_date(end)
        + " covers "
        + length.astype("Int64").astype(str)
        + " days; at most "
        + str(max_days)
        + " days may be certified"
    )
    reason = pd.Series("no plan-of-care end date on this note", index=idx).where(
        no_end, "plan of care ends before it starts (see DOC-CHRONOLOGY)"
    )
    return outcome(
        idx, fail, msg, fmt_date(end), not_evaluable=no_end | backwards, not_evaluable_reason=reason
    )


@check_kind(
    "recertification",
    params={
        "plan_types": Param(
            list,
            list(PLAN_NOTE_TYPES),
            help="note types whose poc_end establishes or renews the certified interval",
        ),
    },
    needs=("notes.poc_end",),
)
def recertification(ctx: AuditContext, idx: pd.Index, params: dict[str, Any]) -> CheckOutcome:
    """No treatment after the certified plan-of-care interval ends without a recertification."""
    if not ctx.has("notes.poc_end"):
        return not_evaluable_all(idx, "the export has no plan-of-care end date column")
    s = sorted_notes(ctx)
    poc_end = ctx.notes["poc_end"].reindex(s.index).dt.normalize()
    poc_end = poc_end.where(s["note_type"].isin(params["plan_types"]))
    # The latest plan note on or before each note's date (same-day plan notes sort first).
    current_end = poc_end.groupby(s["ep"].to_numpy()).ffill().reindex(idx)
    dos = ctx.notes["date_of_service"].reindex(idx).dt.normalize()
    gap = (dos - current_end).dt.days
    fail = (gap > 0).fillna(False)
    msg = pd.Series("", index=idx, dtype=object)
    if fail.any():
        msg.loc[fail] = (
            (
                "treated "
                + fmt_date(dos[fail])
                + ", "
                + gap[fail].astype(int).astype(str)
                + " days after the plan of care ended "
                + fmt_date(current_end[fail])
                + "; no recertification"
            )
            .str.replace(", 1 days after", ", 1 day after", regex=False)
            .to_numpy()
        )
    return outcome(
        idx,
        fail,
        msg,
        fmt_date(current_end),
        not_evaluable=current_end.isna(),
        not_evaluable_reason="no plan-of-care end date on record for this episode",
    )


# --------------------------------------------------------------------------- plan elements

FREQUENCY_TEXT = (
    r"(?i)\b\d+\s*(?:-|to)?\s*\d*\s*(?:x|times|visits?|sessions?)\s*(?:/|per|a|each|every)?\s*"
    r"(?:wk|week)|\b(?:once|twice|one|two|three|four|five)\s+(?:times\s+)?(?:a\s+|per\s+|each\s+"
    r"|every\s+|/\s*)?(?:wk|week)|\b(?:BIW|TIW)\b|\bfrequency\s*[:\-]\s*\w"
)
DURATION_TEXT = (
    r"(?i)\b(?:for|x|times|over)\s*\d+\s*(?:-|to)?\s*\d*\s*(?:wks?|weeks?|visits?|sessions?|"
    r"months?|mos?)\b|\bduration\s*[:\-]\s*\w|\b\d+\s*(?:wks?|weeks?)\s+(?:duration|plan)\b"
)
LTG_TEXT = r"(?i)\blong[- ]?term goals?\b|\bLTGs?\b|\bLTG\s*#?\d"
DIAGNOSIS_TEXT = r"(?i)\b(?:diagnos[ie]s|dx|ICD-?10)\s*(?:codes?)?\s*[:\-]\s*\w"


def long_term_goal_since(ctx: AuditContext) -> pd.Series:
    """Per episode, the earliest date a long-term goal is on file (from the goals table)."""

    def build() -> pd.Series:
        goals = ctx.table("goals")
        if goals is None or goals.empty:
            return pd.Series([], index=pd.Index([], dtype=object), dtype="datetime64[ns]")
        g = goals[(goals["term"] == "long").fillna(False) & goals["episode_id"].notna()]
        note_idx = g["note_idx"] if "note_idx" in g else pd.Series(pd.NA, index=g.index)
        dates = pd.Series(pd.Timestamp.min, index=g.index, dtype="datetime64[ns]")
        linked = note_idx.notna()
        if linked.any():
            pos = note_idx[linked].astype("int64").to_numpy()
            dates.loc[linked] = ctx.notes["date_of_service"].dt.normalize().to_numpy()[pos]
        return dates.groupby(g["episode_id"].to_numpy()).min()

    return ctx.cached("episodes:ltg_since", build)


@check_kind("poc_elements", params={})
def poc_elements(ctx: AuditContext, idx: pd.Index, params: dict[str, Any]) -> CheckOutcome:
    """The plan of care has diagnoses, long-term goals, frequency and duration."""
    notes = note_columns(
        ctx,
        idx,
        ["narrative", "diagnosis_codes", "episode_id", "date_of_service", "frequency", "duration"],
    )
    text = to_arrow(notes["narrative"])
    has_dx = non_blank(notes["diagnosis_codes"]) | matches(text, DIAGNOSIS_TEXT)
    since = long_term_goal_since(ctx)
    ltg_since = pd.Series(since.reindex(notes["episode_id"].to_numpy()).to_numpy(), index=idx)
    has_ltg = (ltg_since <= notes["date_of_service"].dt.normalize()).fillna(False) | matches(
        text, LTG_TEXT
    )
    has_freq = non_blank(notes["frequency"]) | matches(text, FREQUENCY_TEXT)
    has_dur = non_blank(notes["duration"]) | matches(text, DURATION_TEXT)
    missing = pd.Series("", index=idx, dtype=object)
    for present, name in [
        (has_dx, "diagnoses"),
        (has_ltg, "long-term goals"),
        (has_freq, "frequency"),
        (has_dur, "duration"),
    ]:
        absent = ~present.fillna(False).astype(bool)
        missing = missing.where(~absent, missing + np.where(missing == "", "", ", ") + name)
    fail = missing != ""
    msg = "plan of care is missing: " + missing
    return outcome(idx, fail, msg, missing)


# --------------------------------------------------------------------------- frequency

_WORD_NUMBERS = {
    "once": 1,
    "one": 1,
    "twice": 2,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
}


def visits_per_week(frequency: pd.Series) -> pd.Series:
    """Planned visits per week from text such as '2x/week', '2-3x/wk', 'twice weekly', 'TIW'.

    A range counts as its upper bound; text that names no weekly rate gives NaN.
    """
    # Parse each distinct text once: a frequency column repeats a handful of values.
    codes, uniques = pd.factorize(frequency.astype("string").str.lower(), use_na_sentinel=True)
    text = pd.Series(uniques, dtype="string")
    num = text.str.extract(
        r"(\d+)\s*(?:(?:-|to)\s*(\d+)\s*)?(?:x|times|visits?|sessions?)\s*(?:/|per|a|each|every)?\s*"
        r"(?:wk|week)"
    )
    out = pd.to_numeric(num[1].fillna(num[0]), errors="coerce")
    word = text.str.extract(
        r"\b(once|twice|one|two|three|four|five|six|seven)\s+(?:times\s+)?"
        r"(?:a\s+|per\s+|each\s+|every\s+|/\s*)?(?:wk|week)"
    )[0]
    out = out.fillna(word.map(_WORD_NUMBERS).astype("float64"))
    abbrev = text.str.extract(r"\b(biw|tiw)\b")[0].map({"biw": 2.0, "tiw": 3.0})
    rate = out.fillna(abbrev.astype("float64")).to_numpy(dtype="float64")
    return pd.Series(np.append(rate, np.nan)[codes], index=frequency.index, dtype="float64")


@check_kind(
    "frequency_consistent",
    params={"tolerance": Param(int, 0, help="extra visits per week allowed above the plan")},
    needs=("notes.frequency",),
)
def frequency_consistent(ctx: AuditContext, idx: pd.Index, params: dict[str, Any]) -> CheckOutcome:
    """Visits in a calendar week do not exceed the plan of care's frequency."""
    if not ctx.has("notes.frequency"):
        return not_evaluable_all(idx, "the export has no frequency column")
    s = sorted_notes(ctx)
    freq_text = ctx.notes["frequency"].reindex(s.index).astype("string")
    rate = visits_per_week(freq_text)
    ep = s["ep"].to_numpy()
    current = rate.groupby(ep).ffill()
    current_text = freq_text.where(rate.notna()).groupby(ep).ffill()
    week = s["date"] - pd.to_timedelta(s["date"].dt.day_of_week, unit="D")
    # Visit number within the calendar week = distinct dates so far in (episode, week). A day
    # with only an evaluation does not count: the plan's frequency starts after it is set.
    day = s["day"].to_numpy()
    treats = np.bincount(day, weights=(s["note_type"] != "evaluation").to_numpy(), minlength=0)
    visit_day = s["day_new"].to_numpy() & (treats[day] > 0)
    visit_no = (
        pd.Series(visit_day.astype(int), index=s.index).groupby([ep, week.to_numpy()]).cumsum()
    )
    limit = current + int(params["tolerance"])
    fail = (visit_no > limit).fillna(False).reindex(idx)
    msg = pd.Series("", index=idx, dtype=object)
    if fail.any():
        f = fail.index[fail.to_numpy()]
        msg.loc[f] = (
            ordinal(visit_no.loc[f])
            + " visit in the week of "
            + fmt_date(week.loc[f])
            + "; the plan of care calls for "
            + current_text.loc[f].astype(str)
        ).to_numpy()
    return outcome(
        idx,
        fail,
        msg,
        current_text.reindex(idx).fillna(""),
        not_evaluable=current.reindex(idx).isna(),
        not_evaluable_reason="no plan-of-care frequency (visits per week) on record",
    )


# --------------------------------------------------------------------------- re-evaluation

REEVAL_INDICATIONS = (
    r"(?i)\bnew\s+(?:clinical\s+)?(?:findings?|symptoms?|onset|injury|diagnosis|complaints?)"
    r"|\b(?:significant|marked|major|sudden)\s+(?:change|decline|improvement|worsening)"
    r"|\bchange\s+in\s+(?:medical\s+|functional\s+|clinical\s+)?(?:status|condition)"
    r"|\b(?:fell|fall|falls|surgery|hospitali[sz]\w*|exacerbation|flare)\b"
    r"|\b(?:not|failure to|failed to|unable to)\s+(?:respond|progress|improve)"
    r"|\bplateau\w*|\b(?:prior to|before|anticipat\w+)\s+discharge|\bdischarge\s+planning"
    r"|\bnot\s+responding"
)
REEVAL_ROUTINE = (
    r"\b(?:re-?eval(?:uation)?|reassessment)\s+(?:is\s+)?(?:due|required)\b"
    r"|\broutine\s+re-?eval\w*|\b\d{2}[- ]day\s+re-?eval\w*"
    r"|\bprogress\s+(?:report|note)\s+(?:is\s+)?due\b"
)


@check_kind("reeval_justified", params={})
def reeval_justified(ctx: AuditContext, idx: pd.Index, params: dict[str, Any]) -> CheckOutcome:
    """A re-evaluation states its indication (new findings, change in condition, no response)."""
    notes = note_columns(ctx, idx, ["narrative"])
    text = notes["narrative"].astype("string").fillna("")
    routine = text.str.extract(f"({REEVAL_ROUTINE})", flags=re.IGNORECASE, expand=False)
    indicated = text.str.contains(REEVAL_INDICATIONS, regex=True)
    fail = routine.notna() | ~indicated
    msg = pd.Series(
        "re-evaluation states no indication (new clinical findings, significant change in "
        "condition, or failure to respond to treatment)",
        index=idx,
        dtype=object,
    )
    msg = msg.where(
        routine.isna(),
        're-evaluation appears routine ("'
        + routine.fillna("")
        + '"); a re-evaluation needs a clinical indication',
    )
    return outcome(idx, fail, msg, routine.fillna(""))


# --------------------------------------------------------------------------- episode start


@check_kind(
    "episode_starts_with_evaluation",
    params={
        "first_note_types": Param(
            list,
            ["evaluation", "re_evaluation"],
            help="note types an episode may start with (re-evaluation: continuing an earlier plan)",
        ),
    },
)
def episode_starts_with_evaluation(
    ctx: AuditContext, idx: pd.Index, params: dict[str, Any]
) -> CheckOutcome:
    """The first note of each episode is an evaluation (judged on that first note)."""
    s = sorted_notes(ctx)
    first = s["ep_start"].reindex(idx).fillna(False).astype(bool)
    notes = note_columns(ctx, idx, ["note_type", "date_of_service"])
    fail = first & ~notes["note_type"].isin(params["first_note_types"])
    msg = pd.Series("", index=idx, dtype=object)
    if fail.any():
        # The episode's first evaluation, if there is one later on.
        ev = s["date"].where(s["note_type"] == "evaluation")
        first_eval = ev.groupby(s["ep"].to_numpy()).transform("min").reindex(idx)
        f = fail.to_numpy()
        later = first_eval[f]
        msg.loc[f] = (
            "episode starts "
            + fmt_date(notes.loc[f, "date_of_service"])
            + " with "
            + notes.loc[f, "note_type"].map(NOTE_TYPE_LABEL).fillna("a note")
            + pd.Series(
                np.where(
                    later.isna(),
                    "; no evaluation found",
                    "; the evaluation is dated " + fmt_date(later),
                ),
                index=later.index,
            )
        ).to_numpy()
    return outcome(idx, fail, msg, notes["note_type"].astype("string").fillna(""), applicable=first)


# --------------------------------------------------------------------------- chronology


@check_kind("chronology", params={})
def chronology(ctx: AuditContext, idx: pd.Index, params: dict[str, Any]) -> CheckOutcome:
    """Dates are in a possible order: signed on/after the service, no notes after discharge, ..."""
    notes = note_columns(
        ctx,
        idx,
        [
            "date_of_service",
            "signed_at",
            "cosigned_at",
            "poc_start",
            "poc_end",
            "poc_certified_at",
            "note_type",
        ],
    )
    dos = notes["date_of_service"].dt.normalize()
    s = sorted_notes(ctx)
    dc = s["date"].where(s["note_type"] == "discharge")
    discharge = dc.groupby(s["ep"].to_numpy()).transform("min").reindex(idx)
    signed, cosigned_at = notes["signed_at"], notes["cosigned_at"]
    poc_start, poc_end, certified = notes["poc_start"], notes["poc_end"], notes["poc_certified_at"]
    # Only the evaluation: exports often repeat the initial certification date on later plans.
    plan = notes["note_type"] == "evaluation"
    # (mask, text builder): the text is built only for the notes the mask selects.
    problems = [
        (
            signed.dt.normalize() < dos,
            lambda m: (
                "signed " + fmt_date(signed[m]) + ", before the date of service " + fmt_date(dos[m])
            ),
        ),
        (
            dos > discharge,
            lambda m: (
                "dated "
                + fmt_date(dos[m])
                + ", after the episode's discharge on "
                + fmt_date(discharge[m])
            ),
        ),
        (
            poc_end < poc_start,
            lambda m: (
                "plan of care ends "
                + fmt_date(poc_end[m])
                + ", before it starts "
                + fmt_date(poc_start[m])
            ),
        ),
        (
            cosigned_at < signed,
            lambda m: (
                "co-signed "
                + fmt_date(cosigned_at[m])
                + ", before the author signed "
                + fmt_date(signed[m])
            ),
        ),
        (
            plan & (certified.dt.normalize() < dos),
            lambda m: (
                "plan certified "
                + fmt_date(certified[m])
                + ", before the evaluation that established it ("
                + fmt_date(dos[m])
                + ")"
            ),
        ),
    ]
    msg = pd.Series("", index=idx, dtype=object)
    for mask, build in problems:
        m = mask.fillna(False).to_numpy(dtype=bool)
        if m.any():
            prev = msg[m]
            msg[m] = (prev + np.where(prev == "", "", "; ") + build(m)).to_numpy()
    fail = msg != ""
    return outcome(idx, fail, msg, msg)


# --------------------------------------------------------------------------- authorizations

APPROVED = r"(?i)approv|authori[sz]ed|active|granted"
NOT_APPROVED = r"(?i)\b(?:not|un|dis)approv|\bdeni|\bpend|\bexpired|\bcancel|\bwithdr"


def _auth_frame(auths: pd.DataFrame) -> pd.DataFrame:
    """Authorizations with a row code, an approved flag and the columns matching needs."""
    status = auths["status"].astype("string").fillna("")
    approved = status.str.contains(APPROVED, regex=True) | (
        (status == "") & auths["approved_visits"].notna()
    )
    approved &= ~status.str.contains(NOT_APPROVED, regex=True)
    code = np.arange(len(auths))
    return pd.DataFrame(
        {
            "code": code,
            "auth_id": auths["auth_id"]
            .astype(object)
            .where(
                auths["auth_id"].notna(), pd.Series("#" + (code + 1).astype(str), index=auths.index)
            ),
            "episode_id": auths["episode_id"].astype(object),
            "patient_id": auths["patient_id"].astype(object),
            "discipline_auth": auths["discipline"].astype(object),
            "approved": approved.fillna(False).to_numpy(dtype=bool),
            "start": auths["start"].dt.normalize(),
            "end": auths["end"].dt.normalize(),
            "approved_visits": auths["approved_visits"].astype("float64"),
        }
    )


def _auth_matches(days: pd.DataFrame, auths: pd.DataFrame) -> pd.DataFrame:
    """(visit day, authorization) pairs: by episode when the authorization names one, else by
    patient and discipline (any discipline when the authorization gives none)."""
    by_ep = auths[auths["episode_id"].notna()].drop(columns=["patient_id"])
    m1 = days.merge(by_ep, on="episode_id")
    other = auths[auths["episode_id"].isna()].drop(columns=["episode_id"])
    m2 = days.merge(other, on="patient_id")
    m2 = m2[m2["discipline_auth"].isna() | (m2["discipline_auth"] == m2["discipline"])]
    cols = ["day", "date", "code", "approved", "start", "end", "approved_visits"]
    return pd.concat([m1[cols], m2[cols]], ignore_index=True)


def _window(start: pd.Series, end: pd.Series) -> pd.Series:
    return fmt_date(start).replace("", "open") + " to " + fmt_date(end).replace("", "open")


@check_kind(
    "authorization_visits",
    params={
        "required_for_payer_types": Param(
            list, [], help="payer types whose visits need an approved authorization"
        ),
    },
    needs=("authorizations",),
)
def authorization_visits(ctx: AuditContext, idx: pd.Index, params: dict[str, Any]) -> CheckOutcome:
    """Each visit falls inside an approved authorization and within its approved visit count.

    Visits are distinct dates of service of the episode; each is charged to the earliest-starting
    approved authorization whose dates cover it.
    """
    auths = ctx.table("authorizations")
    if auths is None:
        return not_evaluable_all(idx, "the export has no authorizations table")
    a = _auth_frame(auths)
    s = sorted_notes(ctx)
    first = s["day_new"].to_numpy()
    labels = s.index[first]
    n_days = int(first.sum())
    notes = ctx.notes
    days = pd.DataFrame(
        {
            "day": np.arange(n_days),
            "date": s["date"].to_numpy()[first],
            "episode_id": notes.loc[labels, "episode_id"].to_numpy(dtype=object),
            "patient_id": notes.loc[labels, "patient_id"].to_numpy(dtype=object),
            "discipline": notes.loc[labels, "discipline"].to_numpy(dtype=object),
        }
    )
    # Only patients/episodes that have an authorization row can match one.
    days = days[
        days["patient_id"].isin(a["patient_id"].dropna())
        | days["episode_id"].isin(a["episode_id"].dropna())
    ]
    pairs = _auth_matches(days, a)
    has_auth = np.zeros(n_days, bool)
    has_auth[pairs["day"].to_numpy()] = True
    ok = pairs[pairs["approved"]]
    inside = ok[
        (ok["start"].isna() | (ok["date"] >= ok["start"]))
        & (ok["end"].isna() | (ok["date"] <= ok["end"]))
    ]
    # Earliest-starting covering authorization per day (NaT start = open, sorts first).
    start_key = inside["start"].to_numpy(dtype="datetime64[ns]").view("int64")
    inside = inside.iloc[np.lexsort((start_key, inside["day"].to_numpy()))]
    d = inside["day"].to_numpy()
    inside = inside[np.r_[True, d[1:] != d[:-1]] if len(d) else np.zeros(0, bool)]
    # Visit number within each authorization, in date order.
    inside = inside.iloc[np.lexsort((inside["day"].to_numpy(), inside["code"].to_numpy()))]
    code = inside["code"].to_numpy()
    pos = np.arange(len(inside))
    group_start = np.maximum.accumulate(
        np.where(np.r_[True, code[1:] != code[:-1]] if len(code) else np.zeros(0, bool), pos, 0)
    )
    in_day = inside["day"].to_numpy()
    in_window = np.zeros(n_days, bool)
    in_window[in_day] = True
    visit_no = np.zeros(n_days, dtype="int64")
    visit_no[in_day] = pos - group_start + 1
    allowed = np.full(n_days, np.inf)
    allowed[in_day] = inside["approved_visits"].fillna(np.inf).to_numpy()
    auth_code = np.full(n_days, -1)
    auth_code[in_day] = code

    day_of = pd.Series(s["day"].to_numpy(), index=s.index).reindex(idx).to_numpy()
    payer_type = notes.loc[idx, "payer_type"]
    required = payer_type.isin(params["required_for_payer_types"]).fillna(False).to_numpy(bool)
    applicable = has_auth[day_of] | required
    over = applicable & in_window[day_of] & (visit_no[day_of] > allowed[day_of])
    outside = applicable & ~in_window[day_of]
    dos = notes.loc[idx, "date_of_service"]

    def over_text(m: np.ndarray) -> pd.Series:
        rows = a.iloc[auth_code[day_of[m]]]
        return (
            "visit "
            + pd.Series(visit_no[day_of[m]]).astype(str)
            + " of "
            + pd.Series(allowed[day_of[m]]).astype("int64").astype(str)
            + " authorized (authorization "
            + rows["auth_id"].astype(str).reset_index(drop=True)
            + ", "
            + _window(rows["start"], rows["end"]).reset_index(drop=True)
            + ")"
        )

    def outside_text(m: np.ndarray) -> pd.Series:
        fail_days = day_of[m]
        w = ok[ok["day"].isin(fail_days)].drop_duplicates(["day", "code"])
        w = w.sort_values(["day", "start"])
        windows = (_window(w["start"], w["end"])).groupby(w["day"].to_numpy()).agg("; ".join)
        listed = pd.Series(fail_days).map(windows)
        when = fmt_date(dos[m]).reset_index(drop=True)
        return ("visit on " + when + " is outside the authorized dates (" + listed + ")").fillna(
            "visit on " + when + " is not covered by an approved authorization"
        )

    msg = texts(idx, over, over_text)
    msg = msg.where(~outside, texts(idx, outside, outside_text))
    evidence = texts(idx, over | outside, lambda m: fmt_date(dos[m]))
    return outcome(idx, over | outside, msg, evidence, applicable=applicable)
