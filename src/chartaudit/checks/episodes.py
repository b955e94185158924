"""Check kinds over episodes of care: plan of care, certification, progress reports, authorship,
episode start, chronology and authorizations.

Episode-wide facts are computed over all notes (a progress report counts even when an item
applies only to daily notes) from one cached sort by episode, date and same-day note order,
then the notes an item applies to are selected.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..episodes import NOTE_TYPE_RANK, clinical_fellow, normalise_credential, ordinal
from ..model import PAYER_TYPES, PLAN_NOTE_TYPES, ROLES, SEVERITY_ORDER
from .context import AuditContext
from .registry import CheckOutcome, Param, check_kind, outcome
from .text import first_match_in, instrumental_study, matches_in, not_evaluable_for_text

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


def note_codes(ctx: AuditContext, column: str) -> tuple[np.ndarray, np.ndarray]:
    """Every note's code for its `column` value (-1 when blank) and the distinct values.

    Factorised once per run, so checks compare, group and join integers instead of Arrow
    strings (an `isin` or a merge on a million strings costs a tenth of a second or more).
    """

    def build() -> tuple[np.ndarray, np.ndarray]:
        codes, uniques = pd.factorize(ctx.notes[column], use_na_sentinel=True)
        return codes.astype(np.int64, copy=False), np.asarray(uniques, dtype=object)

    return ctx.cached(f"notes.codes:{column}", build)


def with_blank(distinct: Any, dtype: Any) -> pd.Series:
    """A column's distinct values (from factorize) and then a blank (NA) of the same dtype.

    String work runs once per distinct value; indexing its result with the factorize codes
    spreads it back, and code -1 (a blank value) picks the blank's result, the last one.
    """
    return pd.Series([*np.asarray(distinct, dtype=object), None], dtype=dtype)


def note_is(ctx: AuditContext, column: str, values: Any) -> np.ndarray:
    """Boolean per note: its `column` value is one of `values` (never for a blank)."""
    codes, uniques = note_codes(ctx, column)
    hit = pd.Series(uniques, dtype=object).isin(list(values)).to_numpy(dtype=bool)
    return np.append(hit, False)[codes]


def note_filled(ctx: AuditContext, column: str) -> np.ndarray:
    """Boolean per note: `non_blank` of its `column`, judged once per distinct value (cached)."""

    def build() -> np.ndarray:
        codes, distinct = note_codes(ctx, column)
        return non_blank(with_blank(distinct, ctx.notes[column].dtype)).to_numpy()[codes]

    return ctx.cached(f"notes.filled:{column}", build)


def midnight(values: pd.Series | np.ndarray) -> np.ndarray:
    """Date-times as datetime64[ns] at midnight (what `.dt.normalize()` gives), NaT kept."""
    days = np.asarray(values, dtype="datetime64[ns]").astype("datetime64[D]")
    return days.astype("datetime64[ns]")


def service_dates(ctx: AuditContext) -> np.ndarray:
    """Every note's date of service at midnight (datetime64[ns], cached)."""
    return ctx.cached("notes.service_dates", lambda: midnight(ctx.notes["date_of_service"]))


def merge_pairs(left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(left row, right row) of every pair of equal non-negative keys, by left row and then right
    row: the rows and the order of an inner merge."""
    lrows = np.flatnonzero(left >= 0)
    rrows = np.flatnonzero(right >= 0)
    rrows = rrows[np.argsort(right[rrows], kind="stable")]
    keys = right[rrows]
    lo = np.searchsorted(keys, left[lrows], "left")
    count = np.searchsorted(keys, left[lrows], "right") - lo
    before = np.cumsum(count) - count
    return np.repeat(lrows, count), rrows[np.arange(count.sum()) + np.repeat(lo - before, count)]


def not_evaluable_all(idx: pd.Index, reason: str) -> CheckOutcome:
    return outcome(
        idx,
        np.zeros(len(idx), bool),
        not_evaluable=np.ones(len(idx), bool),
        not_evaluable_reason=reason,
    )


def unreadable(ctx: AuditContext, column: str) -> np.ndarray:
    """Per note: whether its value of `column` could not be read (Export.unreadable)."""
    found = ctx.unreadable_notes(f"notes.{column}")
    return found[0] if found is not None else np.zeros(len(ctx.notes), dtype=bool)


def dated(ctx: AuditContext, column: str, unreadable_dated: bool = False) -> np.ndarray:
    """Per note: `column` holds a date; with `unreadable_dated`, also a value that could not
    be read as one (a signature was written, its date is not known)."""
    ok = ctx.notes[column].notna().to_numpy()
    return ok | unreadable(ctx, column) if unreadable_dated else ok


def cosigned(ctx: AuditContext, unreadable_dated: bool = False) -> np.ndarray:
    """Per note: a co-signature is on file, co-signer named and dated (whichever of the two is
    exported); see `dated` for `unreadable_dated`."""
    has_name, has_date = ctx.has("notes.cosigner"), ctx.has("notes.cosigned_at")
    ok = np.full(len(ctx.notes), has_name or has_date)
    if has_name:
        ok &= note_filled(ctx, "cosigner")
    if has_date:
        ok &= dated(ctx, "cosigned_at", unreadable_dated)
    return ok


def clinician_written(
    ctx: AuditContext, student_cosigned_ok: bool, unreadable_dated: bool = False
) -> np.ndarray:
    """Per note: written by a therapist (or physician/NPP); optionally a student's note a
    therapist co-signed.

    The co-signer's own credential is not in exports, so a co-signed student note is taken as
    the supervising therapist's (they sign for its content).
    """
    ok = note_is(ctx, "role", ["therapist"])
    if student_cosigned_ok:
        ok = ok | (note_is(ctx, "role", ["student"]) & cosigned(ctx, unreadable_dated))
    return ok


def credential_facts(ctx: AuditContext) -> tuple[np.ndarray, pd.DataFrame]:
    """Every note's credential code (see note_codes) and, per distinct credential and then a
    blank (see with_blank), the normalised credential, role and credential discipline."""

    def build() -> tuple[np.ndarray, pd.DataFrame]:
        codes, distinct = note_codes(ctx, "credential")
        upper, role, discipline = normalise_credential(
            with_blank(distinct, ctx.notes["credential"].dtype)
        )
        facts = pd.DataFrame({"credential": upper, "role": role, "discipline": discipline})
        facts["clinical_fellow"] = clinical_fellow(upper).to_numpy(dtype=bool)
        return codes, facts

    return ctx.cached("episodes:credentials", build)


def note_clinical_fellow(ctx: AuditContext) -> np.ndarray:
    """Per note: written by a clinical fellow (CF-SLP), a therapist by role (see
    episodes.clinical_fellow)."""
    codes, facts = credential_facts(ctx)
    return facts["clinical_fellow"].to_numpy(dtype=bool)[codes]


@dataclass
class EpisodeOrder:
    """Notes sorted by episode, date, same-day type order and load order.

    Every array but `row_of` runs over the sorted rows. Episodes are contiguous runs of rows
    (notes without an episode form one run), so per-episode fills, sums and firsts are
    cumulative operations instead of groupbys.
    """

    order: np.ndarray  # note position of each row
    row_of: np.ndarray  # row of each note position
    date: np.ndarray  # date of service at midnight, datetime64[ns]
    ep_start: np.ndarray  # first row of its episode
    day_new: np.ndarray  # first row of a distinct episode day
    day: np.ndarray  # global index of the row's episode day
    ep_first: np.ndarray  # the first row of the row's episode

    def rows(self, ctx: AuditContext, idx: pd.Index) -> np.ndarray:
        """The rows of the notes labelled `idx`."""
        return self.row_of[ctx.positions(idx)]

    def ffill(self, valid: np.ndarray) -> np.ndarray:
        """Per row: the latest row at or before it in its episode where `valid` holds, -1 if
        none (a groupby-by-episode forward fill)."""
        last = np.maximum.accumulate(np.where(valid, np.arange(len(valid)), -1))
        return np.where(last >= self.ep_first, last, -1)

    def cumsum(self, values: np.ndarray) -> np.ndarray:
        """Per row: the running sum of `values` within its episode."""
        total = np.cumsum(values)
        return total - (total - values)[self.ep_first]

    def first(self, valid: np.ndarray) -> np.ndarray:
        """Per row: the first row of its episode where `valid` holds, -1 if none."""
        n = len(valid)
        after = np.minimum.accumulate(np.where(valid, np.arange(n), n)[::-1])[::-1]
        found = after[self.ep_first]
        inside = found < n
        inside[inside] = self.ep_first[found[inside]] == self.ep_first[inside]
        return np.where(inside, found, -1)


def sorted_notes(ctx: AuditContext) -> EpisodeOrder:
    """The notes in episode order (cached): see EpisodeOrder."""

    def build() -> EpisodeOrder:
        n = len(ctx.notes)
        type_codes, types = note_codes(ctx, "note_type")
        rank = np.array([NOTE_TYPE_RANK.get(t, 9) for t in types] + [9])[type_codes]
        date = service_dates(ctx)
        ep_codes = note_codes(ctx, "episode_id")[0]
        order = np.lexsort((np.arange(n), rank, date, ep_codes))
        row_of = np.empty(n, dtype=np.int64)
        row_of[order] = np.arange(n)
        ep = ep_codes[order]
        d = date[order]
        ep_start = np.ones(n, bool)
        ep_start[1:] = ep[1:] != ep[:-1]
        day_new = ep_start.copy()
        day_new[1:] |= d[1:] != d[:-1]
        ep_first = np.maximum.accumulate(np.where(ep_start, np.arange(n), 0))
        return EpisodeOrder(
            order=order,
            row_of=row_of,
            date=d,
            ep_start=ep_start,
            day_new=day_new,
            day=np.cumsum(day_new) - 1,
            ep_first=ep_first,
        )

    return ctx.cached("episodes:sorted", build)


# --------------------------------------------------------------------------- progress reports

# Why a note of a report type is not a progress report, by the code report_flaws gives.
NOT_A_REPORT = (
    "",
    "written by an assistant",
    "written by a student without a therapist's co-signature",
    "not written by a therapist",
    "not signed",
)


CLINICIAN_LABEL = {
    "PT": "physical therapist",
    "OT": "occupational therapist",
    "SLP": "speech-language pathologist",
}


def discipline_clinicians(ctx: AuditContext, s: EpisodeOrder) -> np.ndarray:
    """Per sorted row: the row of the latest note at or before it in its episode written by a
    therapist of the note's discipline (else the episode's first such note); -1 when none."""
    cred_codes, facts = credential_facts(ctx)
    disc_codes, disciplines = note_codes(ctx, "discipline")
    cred_disc = pd.Index(disciplines, dtype=object).get_indexer(
        facts["discipline"].to_numpy(dtype=object, na_value="")
    )
    therapist = (facts["role"] == "therapist").fillna(False).to_numpy(dtype=bool)
    own = therapist[cred_codes] & (cred_disc[cred_codes] == disc_codes) & (disc_codes >= 0)
    valid = own[s.order]
    latest = s.ffill(valid)
    return np.where(latest >= 0, latest, s.first(valid))


def report_flaws(
    ctx: AuditContext, student_cosigned_ok: bool, unreadable_dated: bool = False
) -> np.ndarray:
    """Per note: the index in NOT_A_REPORT of why it cannot serve as a progress report, 0 when
    it can (a clinician wrote and signed it). With `unreadable_dated`, a signature or
    co-signature date that could not be read counts as a signature.

    An assistant's report is a supplement, not the report (MBPM ch.15 220.3.D), and an unsigned
    one is not submitted ("not submitted or signed", Noridian). Without a signed_at column the
    export cannot show a missing signature, so reports are taken as signed.
    """
    clinician = clinician_written(ctx, student_cosigned_ok, unreadable_dated)
    signed = (
        dated(ctx, "signed_at", unreadable_dated)
        if ctx.has("notes.signed_at")
        else np.ones(len(ctx.notes), bool)
    )
    if student_cosigned_ok:
        # A student's report co-signed by the supervising therapist carries the therapist's
        # signature, whether or not the student's own signed_at was exported.
        signed = signed | (note_is(ctx, "role", ["student"]) & cosigned(ctx, unreadable_dated))
    return np.select(
        [
            ~clinician & note_is(ctx, "role", ["assistant"]),
            ~clinician & note_is(ctx, "role", ["student"]),
            ~clinician,
            ~signed,
        ],
        [1, 2, 3, 4],
        0,
    )


@check_kind(
    "progress_report_interval",
    topic="reports",
    supervisor_duty="the report is {who} to write",
    params={
        "max_treatment_days": Param(
            int, 10, help="treatment days a reporting period may last", minimum=1
        ),
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
    typed_note = note_is(ctx, "note_type", params["report_types"])
    cosigned_ok = bool(params["student_cosigned_ok"])
    # A report whose signature date could not be read counts as signed here; the notes that
    # would be late were it unsigned are not evaluable (below).
    flaw = np.where(typed_note, report_flaws(ctx, cosigned_ok, unreadable_dated=True), 0)
    report_note = typed_note & (flaw == 0)

    # Day-level arrays (one row per distinct episode day, in order).
    day = s.day
    n_days = int(day[-1]) + 1 if len(day) else 0
    day_date = s.date[s.day_new]
    periods = _report_periods(s, report_note, n_days, max_days)
    day_in_period, prev_report = periods.day_in_period, periods.prev_report
    has_prev, period_start, due_day = periods.has_prev, periods.period_start, periods.due_day

    pos = ctx.positions(idx)
    day_idx = day[s.row_of[pos]]
    fail = periods.late[day_idx]
    unsure = np.zeros(len(idx), dtype=bool)
    if any(ctx.unreadable_notes(f"notes.{c}") is not None for c in ("signed_at", "cosigned_at")):
        as_blank = typed_note & (np.where(typed_note, report_flaws(ctx, cosigned_ok), 0) == 0)
        unsure = _report_periods(s, as_blank, n_days, max_days).late[day_idx] & ~fail
    evidence = texts(
        idx, fail, lambda f: "treatment day " + day_in_period[day_idx[f]].astype(str).astype(object)
    )

    def explain(f: np.ndarray) -> np.ndarray:
        p, d = pos[f], day_idx[f]

        def on(days: np.ndarray) -> np.ndarray:
            return fmt_date(pd.Series(day_date[days])).to_numpy()

        reason = np.asarray(NOT_A_REPORT, dtype=object)
        past = day_in_period[d] - max_days
        lead = np.select(
            [report_note[p], typed_note[p]],
            [
                "progress report written late",
                "progress report overdue (this one does not count: " + reason[flaw[p]] + ")",
            ],
            "progress report overdue",
        )
        origin = np.where(
            has_prev[d],
            "after the report of " + on(np.maximum(prev_report[d], 0)),
            "episode start",
        )
        text = (
            lead
            + ": reporting period began "
            + on(period_start[d])
            + " ("
            + origin
            + f"), report due by treatment day {max_days} ("
            + on(due_day[d])
            + "); "
            + np.where(typed_note[p], "this report", "this visit")
            + " is treatment day "
            + day_in_period[d].astype(str).astype(object)
            + ", "
            + np.where(
                past == 1, "1 treatment day", past.astype(str).astype(object) + " treatment days"
            )
            + " past due"
        )
        # A report earlier in the period that does not count, so the therapist sees why the
        # count ran on past it.
        flawed = np.flatnonzero((typed_note & (flaw > 0))[s.order])
        flawed_day = day[flawed]
        last_of_day = np.r_[flawed_day[1:] != flawed_day[:-1], True][: len(flawed)]
        latest = np.full(n_days, -1)
        latest[flawed_day[last_of_day]] = flawed[last_of_day]
        latest = np.maximum.accumulate(latest)[d]
        earlier = (latest >= 0) & (s.order[latest] != p) & (day[latest] >= period_start[d])
        text = np.where(
            earlier,
            text
            + "; the report of "
            + on(day[latest])
            + " does not count ("
            + reason[flaw[s.order[latest]]]
            + ")",
            text,
        )
        return text

    return outcome(
        idx,
        fail,
        texts(idx, fail, explain),
        evidence,
        not_evaluable=unsure,
        not_evaluable_reason="a report of the period has a signature date that could not be read, "
        "so whether it counts is not known",
    )


@dataclass
class _Periods:
    """Per episode day (see progress_report_interval): its reporting period and whether the
    report was due before it."""

    day_in_period: np.ndarray
    prev_report: np.ndarray
    has_prev: np.ndarray
    period_start: np.ndarray
    due_day: np.ndarray
    late: np.ndarray


def _report_periods(
    s: EpisodeOrder, report_note: np.ndarray, n_days: int, max_days: int
) -> _Periods:
    """The reporting periods the notes of `report_note` close."""
    day_report = np.bincount(s.day, weights=report_note[s.order], minlength=n_days) > 0
    g = np.arange(n_days)
    ep_first_day = np.maximum.accumulate(np.where(s.ep_start[s.day_new], g, 0))
    last_report = np.maximum.accumulate(np.where(day_report, g, -1))
    # The period closes on the report's day; the next one starts the next treatment day.
    prev_report = np.concatenate([[-1], last_report[:-1]])
    has_prev = prev_report >= ep_first_day
    period_start = np.where(has_prev, prev_report + 1, ep_first_day)
    day_in_period = g - period_start + 1
    return _Periods(
        day_in_period=day_in_period,
        prev_report=prev_report,
        has_prev=has_prev,
        period_start=period_start,
        due_day=np.minimum(period_start + max_days - 1, n_days - 1),
        late=day_in_period > max_days,
    )


# --------------------------------------------------------------------------- authorship


# Payers whose notes another item judges: documentation-quality's author items leave Medicare's
# visits to medicare-part-b's (one finding per defect), and judge a note with no payer.
EXCEPT_PAYER_TYPES = Param(
    list,
    [],
    help="payer types this item leaves to another (e.g. [medicare_b, medicare_advantage])",
    choices=tuple(PAYER_TYPES),
)


def excepted_payers(ctx: AuditContext, idx: pd.Index, payer_types: list[str]) -> np.ndarray:
    """Per note of `idx`: its payer type is one of `payer_types` (never for a blank one)."""
    if not payer_types or "payer_type" not in ctx.notes.columns:
        return np.zeros(len(idx), dtype=bool)
    return note_is(ctx, "payer_type", payer_types)[ctx.positions(idx)]


@check_kind(
    "author_role",
    topic="reports",
    supervisor_duty="it is {who} to write",
    params={
        "roles": Param(
            list,
            ["therapist"],
            help="author roles allowed to write these notes",
            choices=tuple(ROLES),
        ),
        "student_cosigned_ok": Param(
            bool, True, help="a student's note co-signed by a therapist passes"
        ),
        "except_payer_types": EXCEPT_PAYER_TYPES,
    },
    reads=("notes.cosigned_at",),
)
def author_role(ctx: AuditContext, idx: pd.Index, params: dict[str, Any]) -> CheckOutcome:
    """The note is written by an allowed role (by default a therapist, not an assistant)."""
    notes = note_columns(ctx, idx, ["role", "note_type", "credential"])
    role = notes["role"].astype("string").fillna("unknown")
    ok = role.isin(params["roles"])
    if params["student_cosigned_ok"] and "therapist" in params["roles"]:
        ok |= (role == "student") & cosigned(ctx)[ctx.positions(idx)]
    applicable = ~excepted_payers(ctx, idx, params["except_payer_types"])
    unknown = (role == "unknown") & ~ok
    fail = ~ok & ~unknown & applicable
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
    return outcome(
        idx,
        fail,
        msg,
        cred,
        applicable=applicable,
        not_evaluable=unknown,
        not_evaluable_reason=reason,
    )


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
        "except_payer_types": EXCEPT_PAYER_TYPES,
    },
)
def assistant_scope(ctx: AuditContext, idx: pd.Index, params: dict[str, Any]) -> CheckOutcome:
    """An assistant's note makes no clinical judgment (goal/plan changes, prognosis, discharge)."""
    applicable = note_is(ctx, "role", ["assistant"])[ctx.positions(idx)]
    applicable &= ~excepted_payers(ctx, idx, params["except_payer_types"])
    hit = pd.Series(pd.NA, index=idx, dtype=object)
    if applicable.any():
        # A boolean scan first; the phrase itself is extracted only from the notes that match.
        found = idx[applicable]
        found = found[matches_in(ctx, found, params["phrases"])]
        hit.loc[found] = first_match_in(ctx, found, params["phrases"]).to_numpy()
    fail = applicable & hit.notna().to_numpy()
    msg = pd.Series("", index=idx, dtype=object)
    if fail.any():
        cred = ctx.notes.loc[idx[fail], "credential"].astype("string").fillna("assistant")
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
    topic="plan of care",
    # A visit that carries the finding may be an assistant's: the plan is the therapist's.
    supervisor_duty="the certification is {who} to obtain",
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
        "late_severity": Param(
            str,
            "medium",
            help="severity of a certification signed late (a plan never certified has the item's)",
            choices=tuple(SEVERITY_ORDER),
        ),
    },
    needs=("notes.poc_certified_at",),
    reads=("notes.poc_certified_at", "notes.poc_sent_at", "notes.order_signed_at"),
)
def certification_timely(ctx: AuditContext, idx: pd.Index, params: dict[str, Any]) -> CheckOutcome:
    """The initial plan is certified within 30 days of the evaluation (or the CY2025 exception).

    Judged on the note that establishes the plan (the evaluation). When that note is outside
    the audit (a monthly run whose evaluation was the month before), on the episode's first
    visit of the audit past the due date while the plan was still not certified: the visits of
    a month under an overdue plan are that month's finding.
    """
    if not ctx.has("notes.poc_certified_at"):
        return not_evaluable_all(idx, "the export has no plan-of-care certification date column")
    s = sorted_notes(ctx)
    is_plan = note_is(ctx, "note_type", PLAN_NOTE_TYPES)[s.order]
    # The note that establishes the plan: an evaluation, or the first plan note of an episode
    # that has no evaluation before it.
    plan_rank = s.cumsum(is_plan.astype(np.int64))
    establishes = note_is(ctx, "note_type", ["evaluation"])[s.order] | (is_plan & (plan_rank == 1))
    rows = s.rows(ctx, idx)
    applicable = pd.Series(establishes[rows], index=idx)

    max_days = int(params["max_days"])
    columns = ["date_of_service", "poc_certified_at", "poc_sent_at", "order_signed_at"]
    notes = note_columns(ctx, idx, columns + ["note_id"])
    dos = notes["date_of_service"].dt.normalize()

    def exception_of(f: pd.DataFrame, day: pd.Series) -> pd.Series:
        """CY2025: a signed order on file and the plan sent within the days allowed."""
        if not params["exception_from"]:
            return pd.Series(False, index=f.index)
        sent_lag = days_between(f["poc_sent_at"], day)
        return (
            (day >= pd.Timestamp(params["exception_from"]))
            & (sent_lag <= int(params["sent_within_days"])).fillna(False)
            & f["order_signed_at"].notna()
        )

    def order_missing(f: pd.DataFrame, day: pd.Series) -> pd.Series:
        """The plan was sent in time, only the signed order is missing (the fix to say)."""
        sent_ok = (days_between(f["poc_sent_at"], day) <= int(params["sent_within_days"])).fillna(
            False
        )
        return sent_ok & f["order_signed_at"].isna()

    lag = days_between(notes["poc_certified_at"], dos)
    certified = notes["poc_certified_at"].notna()
    on_time = certified & (lag <= max_days)
    exception = exception_of(notes, dos)
    overdue_unsigned = ~certified & ((ctx.as_of.normalize() - dos).dt.days > max_days)
    late_signed = certified & (lag > max_days)
    fail = applicable & ~on_time & ~exception & (late_signed | overdue_unsigned)
    # Not certified yet, with days left to do it: not a pass (nothing shows it certified).
    pending = ~certified & ~exception & ~overdue_unsigned
    due_all = dos + pd.Timedelta(days=max_days)

    msg = pd.Series("", index=idx, dtype=object)
    severity = pd.Series("", index=idx, dtype=object)
    if fail.any():
        ev = fmt_date(dos[fail])
        due = fmt_date(due_all[fail])
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
        text = text.where(
            ~order_missing(notes[fail], dos[fail]),
            text + "; the plan was sent in time but no signed order/referral is on file",
        )
        msg.loc[fail] = text.to_numpy()
        severity.loc[fail & certified] = params["late_severity"]
    evidence = fmt_date(notes["poc_certified_at"]).where(certified, "not certified")

    # The visits of an episode whose establishing note is outside the audit.
    judged = np.zeros(len(ctx.notes), dtype=bool)
    judged[ctx.positions(idx)] = True
    source = s.ffill(establishes)[rows]
    at = s.order[np.maximum(source, 0)]
    carried = (source >= 0) & ~establishes[rows] & ~judged[at]
    carried_fail = np.zeros(len(idx), dtype=bool)
    carried_unread = np.zeros(len(idx), dtype=bool)
    if carried.any():
        c = np.flatnonzero(carried)
        plan = note_columns(ctx, ctx.notes.index[at[c]], columns + ["note_id"])
        plan.index = idx[c]
        plan_day = plan["date_of_service"].dt.normalize()
        plan_due = plan_day + pd.Timedelta(days=max_days)
        visit = dos.iloc[c]
        cert = plan["poc_certified_at"].dt.normalize()
        unread = unreadable(ctx, "poc_certified_at")[at[c]]
        at_risk = (
            (visit > plan_due)
            & (cert.isna() | (cert > visit))
            & ~exception_of(plan, plan_day)
            & ~unread
        ).to_numpy(dtype=bool)
        # The first such visit of each episode in the audit carries the finding.
        risky = np.zeros(len(s.order), dtype=bool)
        risky[rows[c[at_risk]]] = True
        first = s.first(risky)
        carried_fail[c] = at_risk & (first[rows[c]] == rows[c])
        carried_unread[c] = unread & (visit > plan_due).to_numpy(dtype=bool)
        m = carried_fail[c]
        if m.any():
            p, v = plan[m], visit[m]
            never = p["poc_certified_at"].isna()
            head = (
                "plan of care of the evaluation of "
                + fmt_date(plan_day[m])
                + " ("
                + p["note_id"].astype(str)
                + ") "
            )
            not_yet = (
                "not certified by this visit ("
                + fmt_date(v)
                + "), "
                + (v - plan_day[m]).dt.days.astype(str)
                + " days after the evaluation"
            )
            late = "certified only on " + fmt_date(p["poc_certified_at"]) + ", after this visit"
            text = head + not_yet.where(never, late) + "; certification was due by "
            text = text + fmt_date(plan_due[m]) + ", and the visits since are at risk"
            text = text.where(
                ~order_missing(p, plan_day[m]),
                text + "; the plan was sent in time but no signed order/referral is on file",
            )
            hit = idx[c[m]]
            msg.loc[hit] = text.to_numpy()
            evidence.loc[hit] = fmt_date(p["poc_certified_at"]).where(~never, "not certified")
            severity.loc[hit[~never.to_numpy()]] = params["late_severity"]
    waiting = applicable & pending
    applicable |= carried_fail | carried_unread
    fail = fail | carried_fail

    reason = pd.Series("", index=idx, dtype=object)
    if waiting.any():
        w = notes[waiting]
        reason.loc[waiting] = (
            "plan of care of the evaluation of "
            + fmt_date(dos[waiting])
            + " ("
            + w["note_id"].astype(str)
            + ") not certified yet; it is due by "
            + fmt_date(due_all[waiting])
            + ", after the audit date: audit it again then"
        ).to_numpy()
    if carried_unread.any():
        reason.loc[carried_unread] = "the evaluation's poc_certified_at could not be read as a date"
    out = outcome(
        idx,
        fail,
        msg,
        evidence,
        applicable=applicable,
        not_evaluable=waiting | carried_unread,
        not_evaluable_reason=reason,
    )
    out.severity = severity
    return out


CERTIFIER_ALIASES = [
    (r"\b(?:F|A|AG|AC|AGAC|AGPC|PMH|P|W|G|FNP-|ANP-)?NP(?:-[A-Z]+)?\b", "NP"),
    (r"\bAPRN(?:-|,|\s)+NP\b", "NP"),
    (r"\bPA-C\b", "PA"),
    (r"\bAPRN(?:-|,|\s)+CNS\b", "CNS"),
]


@check_kind(
    "certifier_qualified",
    topic="plan of care",
    params={
        "credentials": Param(
            list,
            ["MD", "DO", "DPM", "NP", "PA", "CNS"],
            help="credentials that may certify a therapy plan of care",
        ),
    },
    needs=("notes.certifier_credential",),
    reads=("notes.poc_certified_at",),
)
def certifier_qualified(ctx: AuditContext, idx: pd.Index, params: dict[str, Any]) -> CheckOutcome:
    """The plan is certified by a physician or NPP (MD, DO, DPM, NP, PA, CNS)."""
    if not ctx.has("notes.certifier_credential"):
        return not_evaluable_all(idx, "the export has no certifier credential column")
    notes = note_columns(ctx, idx, ["poc_certified_at", "certifier", "certifier_credential"])
    raw = notes["certifier_credential"]
    # Credentials repeat a handful of values: normalise and judge each distinct one once.
    code, distinct = pd.factorize(raw, use_na_sentinel=True)
    distinct = with_blank(distinct, raw.dtype)
    cred = distinct.astype("string").str.upper().str.replace(".", "", regex=False).str.strip()
    norm = cred
    for pattern, repl in CERTIFIER_ALIASES:
        norm = norm.str.replace(pattern, repl, regex=True)
    allowed = "|".join(str(c).upper() for c in params["credentials"])
    ok = norm.str.contains(rf"\b(?:{allowed})\b", regex=True).fillna(False).to_numpy(bool)[code]
    blank = ~non_blank(distinct).to_numpy()[code]
    has_cert = (
        notes["poc_certified_at"].notna().to_numpy() | non_blank(notes["certifier"]).to_numpy()
    ) | ~blank
    fail = has_cert & ~blank & ~ok
    cred = cred.fillna("")
    msg = "plan certified by a " + cred + "; Medicare accepts certification by "
    msg = msg + ", ".join(params["credentials"])
    return outcome(
        idx,
        fail,
        pd.Series(msg.to_numpy(dtype=object)[code], index=idx, dtype=object),
        pd.Series(cred.to_numpy(dtype=object)[code], index=idx, dtype=object),
        applicable=has_cert,
        not_evaluable=blank,
        not_evaluable_reason="certifier's credential not recorded",
    )


@check_kind(
    "poc_interval",
    topic="plan of care",
    params={
        "max_days": Param(int, 90, help="longest certified interval in calendar days", minimum=1)
    },
    needs=("notes.poc_end",),
    reads=("notes.poc_start", "notes.poc_end"),
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
    msg = texts(
        idx,
        fail,
        lambda m: (
            "plan of care "
            + fmt_date(start[m])
            + " to "
            + fmt_date(end[m])
            + " covers "
            + length[m].astype("Int64").astype(str)
            + " days; at most "
            + str(max_days)
            + " days may be certified"
        ),
    )
    reason = pd.Series("no plan-of-care end date on this note", index=idx).where(
        no_end, "plan of care ends before it starts (see DOC-CHRONOLOGY)"
    )
    return outcome(
        idx,
        fail,
        msg,
        texts(idx, fail, lambda m: fmt_date(end[m])),
        not_evaluable=no_end | backwards,
        not_evaluable_reason=reason,
    )


@check_kind(
    "recertification",
    topic="plan of care",
    supervisor_duty="the recertification is {who} to write",
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
    poc_end = midnight(ctx.notes["poc_end"])[s.order]
    plan_type = note_is(ctx, "note_type", params["plan_types"])[s.order]
    rows = s.rows(ctx, idx)
    dos = pd.Series(service_dates(ctx)[ctx.positions(idx)], index=idx)

    def plan_ends(ends: np.ndarray) -> pd.Series:
        """Per note: the end of the latest plan note on or before its date (same-day plan
        notes sort first) that has one."""
        source = s.ffill(plan_type & ~np.isnat(ends))[rows]
        return pd.Series(np.append(ends, np.datetime64("NaT", "ns"))[source], index=idx)

    # A plan whose end could not be read is taken as still running; the notes after it that
    # would be past its predecessor's end are not evaluable (below).
    unread = unreadable(ctx, "poc_end")[s.order]
    running = np.datetime64(pd.Timestamp.max, "ns")
    current_end = plan_ends(np.where(unread, running, poc_end) if unread.any() else poc_end)
    gap = (dos - current_end).dt.days
    fail = (gap > 0).fillna(False)
    no_end = current_end.isna()
    reason = pd.Series("no plan-of-care end date on record for this episode", index=idx)
    if unread.any():
        unsure = ((dos - plan_ends(poc_end)).dt.days > 0).fillna(False) & ~fail
        no_end |= unsure
        reason[unsure] = (
            "a plan of care's end date (poc_end) could not be read, so whether the plan had "
            "ended is not known"
        )
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
        texts(idx, fail, lambda m: fmt_date(current_end[m])),
        not_evaluable=no_end,
        not_evaluable_reason=reason,
    )


# --------------------------------------------------------------------------- plan elements

FREQUENCY_TEXT = (
    r"(?i)\b\d+\s*(?:-|to)?\s*\d*\s*(?:x|times|visits?|sessions?)\s*(?:/|per|a|each|every)?\s*"
    r"(?:wk|week)|\b(?:once|twice|one|two|three|four|five)\s+(?:times\s+)?(?:a\s+|per\s+|each\s+"
    r"|every\s+|/\s*)?(?:wk|week)|\b(?:BIW|TIW)\b|\bfrequency\s*[:\-]\s*\w"
)
# A count as therapists write it: "6", "six", "6-8", "two to three".
_COUNT = (
    r"(?:\d+|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fourteen|fifteen|"
    r"sixteen|eighteen|twenty|twenty-four|thirty)"
)
_SPAN = _COUNT + r"\s*(?:(?:-|to)\s*" + _COUNT + r"\s*)?"
_PERIOD = r"(?:wks?|weeks?|visits?|sessions?|treatments?|months?|mos?)\b"
DURATION_TEXT = (
    # "for 6 weeks", "x 8 visits", "for six weeks", "for the next 12 weeks", "for an initial 4
    # weeks", "duration: 8 weeks", "duration 8 visits", "8 weeks duration"
    r"(?i)\b(?:for|x|times|over)\s*(?:the\s+next\s+|the\s+|an?\s+(?:initial\s+|additional\s+"
    r"|further\s+)?)?" + _SPAN + _PERIOD + r"|\bduration\s*[:\-]\s*\w"
    r"|\bduration\s+(?:of\s+)?"
    + _SPAN
    + _PERIOD
    + r"|\b\d+\s*(?:wks?|weeks?)\s+(?:duration|plan)\b"
)
LTG_TEXT = (
    r"(?i)\blong[- ]?term goals?\b|\bLTGs?\b|\bLTG\s*#?\d"
    # A plan's "Goals:" section (not "Patient's goal:") states the goals of the whole plan.
    r"|(?im)(?:^|[.;]\s+)(?:(?:plan of care|poc|treatment|therapy|functional|rehab)\s+)?"
    r"goals?\s*(?:\([^)\n]{0,30}\))?\s*:\s*\S"
)
DIAGNOSIS_TEXT = (
    r"(?i)\b(?:diagnos[ie]s|dx|ICD-?10|diagnostic impressions?)\s*(?:codes?)?\s*[:\-]\s*\w"
)


def long_term_goal_since(ctx: AuditContext) -> np.ndarray:
    """Per episode code (see note_codes; the last entry for notes without an episode), the
    earliest date a long-term goal is on file in the goals table, NaT when none.

    A goal row's note is where it was set *or last updated* (SPEC), so a goal linked to a
    later progress report may well have been set at the evaluation: every long-term goal of
    the episode counts from its start, as an unlinked one always did."""

    def build() -> np.ndarray:
        distinct = note_codes(ctx, "episode_id")[1]
        since = np.full(len(distinct) + 1, np.datetime64("NaT", "ns"))
        goals = ctx.table("goals")
        if goals is None or goals.empty:
            return since
        g = goals[(goals["term"] == "long").fillna(False) & goals["episode_id"].notna()]
        code = pd.Index(distinct, dtype=object).get_indexer(g["episode_id"].astype(object))
        since[code[code >= 0]] = pd.Timestamp.min.to_datetime64()
        return since

    return ctx.cached("episodes:ltg_since", build)


@check_kind("poc_elements", topic="plan of care", params={})
def poc_elements(ctx: AuditContext, idx: pd.Index, params: dict[str, Any]) -> CheckOutcome:
    """The plan of care has diagnoses, long-term goals, frequency and duration."""
    notes = note_columns(ctx, idx, ["diagnosis_codes", "frequency", "duration"])
    pos = ctx.positions(idx)
    ltg_since = long_term_goal_since(ctx)[note_codes(ctx, "episode_id")[0][pos]]
    # A field on file is enough; the narrative is searched only where the field is blank.
    elements = [
        ("diagnoses", non_blank(notes["diagnosis_codes"]).to_numpy(), DIAGNOSIS_TEXT),
        ("long-term goals", ltg_since <= service_dates(ctx)[pos], LTG_TEXT),
        ("frequency", non_blank(notes["frequency"]).to_numpy(), FREQUENCY_TEXT),
        ("duration", non_blank(notes["duration"]).to_numpy(), DURATION_TEXT),
    ]
    missing = pd.Series("", index=idx, dtype=object)
    for name, present, pattern in elements:
        blank = ~present
        if blank.any():
            blank[blank] = ~matches_in(ctx, idx[blank], pattern)
        missing = missing.where(~blank, missing + np.where(missing == "", "", ", ") + name)
    # An element not in its field is looked for in the text: a note without any (no narrative
    # column in its file, or none written) cannot show it is missing.
    no_text, reason = not_evaluable_for_text(ctx, idx)
    unsure = (missing != "").to_numpy() & no_text
    fail = (missing != "") & ~unsure
    msg = "plan of care is missing: " + missing
    # An instrumental swallow study report is not a plan of care (see instrumental_study).
    return outcome(
        idx,
        fail,
        msg,
        missing,
        applicable=~instrumental_study(ctx)[pos],
        not_evaluable=unsure,
        not_evaluable_reason=reason,
    )


# --------------------------------------------------------------------------- frequency

# Numbers written as words in frequencies and durations ("twice a week", "six weeks").
COUNT_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
}
WORD_NUMBERS = {"once": 1, "twice": 2, **COUNT_WORDS}

# A weekly rate as therapists write it: "2x/week", "2-3x/wk", "2–3 times per week", "3 visits a
# week", "twice weekly", "two to three times a week", "BIW"/"TIW". The audit (frequency_consistent)
# and the review (the plan's frequency) both read it here, so they read the same rate.
_RANGE = r"\s*(?:-|–|to)\s*"
_RATE_WORDS = "once|twice|one|two|three|four|five|six|seven"
_PER_WEEK = r"\s*(?:/|per|an?|each|every)?\s*(?:wk|week)"
WEEKLY_FREQUENCY = (
    r"(?:frequency\s*[:\-]\s*)?(?:"
    rf"(?P<low>\d+)\s*(?:{_RANGE}(?P<high>\d+)\s*)?(?:x|times|visits?|sessions?){_PER_WEEK}"
    rf"|\b(?P<word>{_RATE_WORDS})(?:{_RANGE}(?P<word_high>{_RATE_WORDS}))?\s+(?:times\s+)?"
    r"(?:a\s+|per\s+|each\s+|every\s+|/\s*)?(?:wk\b|week)"
    r"|\b(?P<abbr>biw|tiw)\b)"
)
_WEEKLY = re.compile(f"(?P<text>{WEEKLY_FREQUENCY})", re.IGNORECASE)
_ABBREVIATIONS = {"biw": 2.0, "tiw": 3.0}


def weekly_frequency(text: pd.Series) -> pd.DataFrame:
    """Visits per week written in each text: columns low and high (a range's ends, the same
    number when one is written; NaN when no weekly rate is written) and text (as written).

    Each distinct text is parsed once: a frequency column repeats a handful of values.
    """
    codes, uniques = pd.factorize(text.astype("string"), use_na_sentinel=True)
    found = pd.Series(uniques, dtype="string").str.extract(_WEEKLY)

    def rate(digits: str, word: str) -> pd.Series:
        words = found[word].str.lower().map(WORD_NUMBERS).astype("float64")
        return pd.to_numeric(found[digits], errors="coerce").astype("float64").fillna(words)

    abbr = found["abbr"].str.lower().map(_ABBREVIATIONS).astype("float64")
    low = rate("low", "word").fillna(abbr)
    high = rate("high", "word_high").fillna(low)
    return pd.DataFrame(
        {
            "low": np.append(low.to_numpy(dtype="float64"), np.nan)[codes],
            "high": np.append(high.to_numpy(dtype="float64"), np.nan)[codes],
            "text": np.append(found["text"].astype(object).to_numpy(), None)[codes],
        },
        index=text.index,
    )


def visits_per_week(frequency: pd.Series) -> pd.Series:
    """Planned visits per week from text such as '2x/week', '2-3x/wk', 'twice weekly', 'TIW'
    (see weekly_frequency). A range counts as its upper bound; no weekly rate gives NaN."""
    return weekly_frequency(frequency)["high"]


@check_kind(
    "frequency_consistent",
    topic="plan of care",
    params={"tolerance": Param(int, 0, help="extra visits per week allowed above the plan")},
    needs=("notes.frequency",),
)
def frequency_consistent(ctx: AuditContext, idx: pd.Index, params: dict[str, Any]) -> CheckOutcome:
    """Visits in a calendar week do not exceed the plan of care's frequency."""
    if not ctx.has("notes.frequency"):
        return not_evaluable_all(idx, "the export has no frequency column")
    s = sorted_notes(ctx)
    codes, distinct = note_codes(ctx, "frequency")
    per_text = visits_per_week(pd.Series(distinct, dtype="string")).to_numpy()
    rate = np.append(per_text, np.nan)[codes][s.order]
    # The plan's frequency in force: the latest note of the episode that states one.
    source = s.ffill(~np.isnan(rate))
    current = np.append(rate, np.nan)[source]
    day_number = s.date.astype("datetime64[D]").astype(np.int64)
    undated = np.isnat(s.date)
    week = day_number - (day_number + 3) % 7  # Monday on or before the date (1970-01-01: Thu)
    # Visit number within the calendar week = distinct dates so far in (episode, week). A day
    # with only an evaluation does not count: the plan's frequency starts after it is set.
    not_eval = ~note_is(ctx, "note_type", ["evaluation"])[s.order]
    treats = np.bincount(s.day, weights=not_eval)
    visit_day = (s.day_new & (treats[s.day] > 0)).astype(np.int64)
    week_start = s.ep_start.copy()
    week_start[1:] |= week[1:] != week[:-1]
    week_first = np.maximum.accumulate(np.where(week_start, np.arange(len(week)), 0))
    running = np.cumsum(visit_day)
    visit_no = np.where(undated, np.nan, running - (running - visit_day)[week_first])
    rows = s.rows(ctx, idx)
    fail = (visit_no > current + int(params["tolerance"]))[rows]
    frequency = ctx.notes["frequency"]

    def stated(m: np.ndarray) -> pd.Series:
        """The frequency text in force for the notes `m` selects."""
        return frequency.iloc[s.order[source[rows[m]]]].set_axis(idx[m])

    msg = pd.Series("", index=idx, dtype=object)
    if fail.any():
        f = idx[fail]
        week_of = (week[rows[fail]]).astype("datetime64[D]").astype("datetime64[ns]")
        msg.loc[f] = (
            ordinal(pd.Series(visit_no[rows[fail]], index=f))
            + " visit in the week of "
            + fmt_date(pd.Series(week_of, index=f))
            + "; the plan of care calls for "
            + stated(fail).astype(str)
        ).to_numpy()
    return outcome(
        idx,
        fail,
        msg,
        texts(idx, fail, stated),
        not_evaluable=np.isnan(current[rows]),
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
    routine = first_match_in(ctx, idx, REEVAL_ROUTINE)
    indicated = matches_in(ctx, idx, REEVAL_INDICATIONS)
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
    supervisor_duty="the evaluation is {who} to write",
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
    rows = s.rows(ctx, idx)
    first = s.ep_start[rows]
    fail = first & ~note_is(ctx, "note_type", params["first_note_types"])[ctx.positions(idx)]
    notes = ctx.notes.loc[idx[fail], ["note_type", "date_of_service"]]
    msg = pd.Series("", index=idx, dtype=object)
    if fail.any():
        # The episode's first evaluation, if there is one later on (dates sort within it).
        evaluation = s.first(note_is(ctx, "note_type", ["evaluation"])[s.order])[rows[fail]]
        nat = np.datetime64("NaT", "ns")
        later = pd.Series(np.append(s.date, nat)[evaluation], index=notes.index)
        msg.loc[fail] = (
            "episode starts "
            + fmt_date(notes["date_of_service"])
            + " with "
            + notes["note_type"].map(NOTE_TYPE_LABEL).fillna("a note")
            + pd.Series(
                np.where(
                    later.isna(),
                    "; no evaluation found",
                    "; the evaluation is dated " + fmt_date(later),
                ),
                index=later.index,
            )
        ).to_numpy()
        msg.loc[fail] = msg.loc[fail] + _after_discharge(ctx, idx[fail])
    # "daily note", not "daily": a bare note type would be highlighted wherever the word
    # happens to stand in the note's text ("3x15 daily").
    evidence = texts(
        idx,
        fail,
        lambda m: (
            notes["note_type"]
            .map(NOTE_TYPE_LABEL)
            .fillna("a note")
            .str.replace(r"^an? ", "", regex=True)
        ),
    )
    return outcome(idx, fail, msg, evidence, applicable=first)


def _after_discharge(ctx: AuditContext, idx: pd.Index) -> pd.Series:
    """For notes starting an episode without an evaluation: where the patient was discharged
    from the same discipline on or before the note's date, what that means ('' elsewhere)."""
    notes = ctx.notes
    cols = ["patient_id", "discipline", "date_of_service", "note_id"]
    dc = notes.loc[(notes["note_type"] == "discharge").fillna(False).to_numpy(bool), cols]
    out = pd.Series("", index=idx, dtype=object)
    if dc.empty or not len(idx):
        return out
    these = notes.loc[idx, cols[:3]].assign(_label=idx)
    key = ["patient_id", "discipline"]
    dc = dc.dropna(subset=[*key, "date_of_service"]).astype({k: object for k in key})
    these = these.dropna(subset=[*key, "date_of_service"]).astype({k: object for k in key})
    if these.empty or dc.empty:
        return out
    dc = dc.rename(columns={"date_of_service": "dc_date", "note_id": "dc_note"})
    hit = pd.merge_asof(
        these.sort_values("date_of_service"),
        dc.sort_values("dc_date"),
        left_on="date_of_service",
        right_on="dc_date",
        by=key,
        direction="backward",
    ).dropna(subset=["dc_note"])
    if hit.empty:
        return out
    days = (hit["date_of_service"] - hit["dc_date"]).dt.days.astype(int).astype(str)
    text = (
        "; the patient was discharged from "
        + hit["discipline"].astype(str)
        + " on "
        + fmt_date(hit["dc_date"]).to_numpy()
        + " ("
        + hit["dc_note"].astype(str)
        + ", "
        + days
        + " days earlier): care after a discharge needs a new evaluation, or the note belongs "
        "to the earlier episode"
    )
    out.loc[hit["_label"].to_numpy()] = text.to_numpy()
    return out


# --------------------------------------------------------------------------- chronology


@check_kind(
    "chronology",
    params={},
    reads=(
        "notes.signed_at",
        "notes.cosigned_at",
        "notes.poc_start",
        "notes.poc_end",
        "notes.poc_certified_at",
    ),
)
def chronology(ctx: AuditContext, idx: pd.Index, params: dict[str, Any]) -> CheckOutcome:
    """Dates are in a possible order: signed on/after the service, no notes after discharge, ..."""
    notes = note_columns(
        ctx, idx, ["signed_at", "cosigned_at", "poc_start", "poc_end", "poc_certified_at"]
    )
    pos = ctx.positions(idx)
    dos = pd.Series(service_dates(ctx)[pos], index=idx)
    s = sorted_notes(ctx)
    # The episode's first discharge (dates sort within the episode).
    discharged = s.first(note_is(ctx, "note_type", ["discharge"])[s.order])[s.row_of[pos]]
    discharge = pd.Series(np.append(s.date, np.datetime64("NaT", "ns"))[discharged], index=idx)
    signed, cosigned_at = notes["signed_at"], notes["cosigned_at"]
    poc_start, poc_end, certified = notes["poc_start"], notes["poc_end"], notes["poc_certified_at"]
    # Only the evaluation: exports often repeat the initial certification date on later plans.
    plan = note_is(ctx, "note_type", ["evaluation"])[pos]
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
    # Statuses repeat a few values: each distinct one is matched once.
    code, distinct = pd.factorize(auths["status"].astype("string").fillna(""))
    status = pd.Series(distinct, dtype="string")
    yes = status.str.contains(APPROVED, regex=True).to_numpy(dtype=bool)
    no = status.str.contains(NOT_APPROVED, regex=True).to_numpy(dtype=bool)
    blank = (status == "").to_numpy(dtype=bool)
    approved = (yes[code] | (blank[code] & auths["approved_visits"].notna().to_numpy())) & ~no[code]
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
            "approved": approved,
            "start": auths["start"].dt.normalize(),
            "end": auths["end"].dt.normalize(),
            "approved_visits": auths["approved_visits"].astype("float64"),
            "request_date": auths["request_date"].dt.normalize(),
        }
    )


def _auth_matches(
    ctx: AuditContext, day_pos: np.ndarray, auths: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray]:
    """(visit day, authorization) pairs as (days, authorization codes): by episode when the
    authorization names one, else by patient and discipline (any discipline when the
    authorization gives none). Days are the notes at `day_pos`; values are compared as the
    notes' codes, an authorization's value that no note has matching nothing."""

    def codes(column: str, values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        note, distinct = note_codes(ctx, column)
        return note[day_pos], pd.Index(distinct, dtype=object).get_indexer(values)

    by_ep = auths["episode_id"].notna().to_numpy()
    day_ep, auth_ep = codes("episode_id", auths["episode_id"])
    day_patient, auth_patient = codes("patient_id", auths["patient_id"])
    day_disc, auth_disc = codes("discipline", auths["discipline_auth"])
    d1, a1 = merge_pairs(day_ep, np.where(by_ep, auth_ep, -1))
    d2, a2 = merge_pairs(day_patient, np.where(by_ep, -1, auth_patient))
    any_disc = auths["discipline_auth"].isna().to_numpy()
    same = any_disc[a2] | ((auth_disc[a2] >= 0) & (auth_disc[a2] == day_disc[d2]))
    return np.concatenate([d1, d2[same]]), np.concatenate([a1, a2[same]])


def _window(start: pd.Series, end: pd.Series) -> pd.Series:
    return fmt_date(start).replace("", "open") + " to " + fmt_date(end).replace("", "open")


@check_kind(
    "authorization_visits",
    params={
        "required_for_payer_types": Param(
            list, [], help="payer types whose visits need an approved authorization"
        ),
        "exempt_payer_types": Param(
            list,
            ["medicare_b"],
            help="payer types without prior authorization (original Medicare Part B): their "
            "visits are never judged, whatever the authorizations table holds",
        ),
        "exempt_note_types": Param(
            list,
            ["evaluation"],
            help="note types that need no authorization of their own (most payers let the "
            "evaluation happen before the first request); counted when inside one",
        ),
    },
    needs=("authorizations",),
    reads=(
        "authorizations.start",
        "authorizations.end",
        "authorizations.approved_visits",
        "authorizations.request_date",
    ),
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
    n_days = int(s.day_new.sum())
    day_date = s.date[s.day_new]
    pair_day, pair_code = _auth_matches(ctx, s.order[s.day_new], a)
    has_auth = np.zeros(n_days, bool)
    has_auth[pair_day] = True
    approved = a["approved"].to_numpy()[pair_code]
    ok_day, ok_code = pair_day[approved], pair_code[approved]
    start, end = a["start"].to_numpy(), a["end"].to_numpy()
    date = day_date[ok_day]
    inside = (np.isnat(start[ok_code]) | (date >= start[ok_code])) & (
        np.isnat(end[ok_code]) | (date <= end[ok_code])
    )
    in_day, code = ok_day[inside], ok_code[inside]
    # Earliest-starting covering authorization per day (NaT start = open, sorts first).
    order = np.lexsort((start[code].view("int64"), in_day))
    in_day, code = in_day[order], code[order]
    first = np.r_[True, in_day[1:] != in_day[:-1]] if len(in_day) else np.zeros(0, bool)
    in_day, code = in_day[first], code[first]
    # Visit number within each authorization, in date order.
    order = np.lexsort((in_day, code))
    in_day, code = in_day[order], code[order]
    pos = np.arange(len(code))
    group_start = np.maximum.accumulate(
        np.where(np.r_[True, code[1:] != code[:-1]] if len(code) else np.zeros(0, bool), pos, 0)
    )
    in_window = np.zeros(n_days, bool)
    in_window[in_day] = True
    visit_no = np.zeros(n_days, dtype="int64")
    visit_no[in_day] = pos - group_start + 1
    allowed = np.full(n_days, np.inf)
    approved_visits = a["approved_visits"].to_numpy()[code]
    allowed[in_day] = np.where(np.isnan(approved_visits), np.inf, approved_visits)
    auth_code = np.full(n_days, -1)
    auth_code[in_day] = code

    # Days that some approved authorization of the episode covers in kind (any dates), and
    # the earliest date a request was made for the day's episode.
    has_approved = np.zeros(n_days, bool)
    has_approved[ok_day] = True
    requested = a["request_date"].to_numpy()[pair_code]
    first_request = np.full(n_days, np.datetime64("NaT"), dtype="datetime64[ns]")
    known = ~np.isnat(requested)
    if known.any():
        frame = pd.DataFrame({"day": pair_day[known], "req": requested[known]})
        earliest = frame.groupby("day")["req"].min()
        first_request[earliest.index.to_numpy()] = earliest.to_numpy()

    note_pos = ctx.positions(idx)
    day_of = s.day[s.row_of[note_pos]]
    required = note_is(ctx, "payer_type", params["required_for_payer_types"])[note_pos]
    exempt = note_is(ctx, "payer_type", params["exempt_payer_types"])[note_pos] & ~required
    applicable = (has_auth[day_of] | required) & ~exempt
    over = applicable & in_window[day_of] & (visit_no[day_of] > allowed[day_of])
    outside = applicable & ~in_window[day_of]
    # An evaluation needs no authorization of its own; nor does a visit of an episode that has
    # only a request pending, made after that visit (the care before it needed none).
    outside &= ~note_is(ctx, "note_type", params["exempt_note_types"])[note_pos]
    visit_date = day_date[day_of]
    before_request = ~np.isnat(first_request[day_of]) & (visit_date < first_request[day_of])
    outside &= ~(~has_approved[day_of] & before_request)

    def when(m: np.ndarray) -> pd.Series:
        return fmt_date(pd.Series(service_dates(ctx)[note_pos[m]]))

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
        near = np.isin(ok_day, fail_days)
        codes = ok_code[near]
        w = pd.DataFrame(
            {"day": ok_day[near], "code": codes, "start": start[codes], "end": end[codes]}
        )
        w = w.drop_duplicates(["day", "code"]).sort_values(["day", "start"])
        windows = (_window(w["start"], w["end"])).groupby(w["day"].to_numpy()).agg("; ".join)
        listed = pd.Series(fail_days).map(windows)
        on = when(m)
        return ("visit on " + on + " is outside the authorized dates (" + listed + ")").fillna(
            "visit on " + on + " is not covered by an approved authorization"
        )

    msg = texts(idx, over, over_text)
    msg = msg.where(~outside, texts(idx, outside, outside_text))
    evidence = texts(idx, over | outside, when)
    return outcome(idx, over | outside, msg, evidence, applicable=applicable)
