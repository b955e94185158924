"""Billing check kinds: 8-minute rules, untimed and group units, codes, modifiers, KX, minutes.

Every kind works on whole columns: service lines are tied to their note by `note_idx`, notes are
grouped into treatment days (patient, date of service and, by default, discipline) with one
`ngroup`, and per-note / per-day sums come from `np.bincount`. Messages are built only for the
notes that fail, as numpy object arrays (elementwise `+` runs in numpy's loop, not pandas').
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import codes
from ..model import Status
from .episodes import note_codes, note_is
from .regex import matches
from .registry import CheckOutcome, Param, check_kind, outcome
from .text import check_patterns, narrative_arrow, not_evaluable_for_text, section_arrow
from .text_gather import TextGather

DISCIPLINE_MODIFIERS = {"PT": "GP", "OT": "GO", "SLP": "GN"}
ASSISTANT_MODIFIERS = {"PT": "CQ", "OT": "CO"}
ASSISTANT_TITLES = {"PT": "PTA", "OT": "OTA"}
KX_BUCKETS = {"PT": "PT+SLP", "SLP": "PT+SLP", "OT": "OT"}

_PER_DISCIPLINE = {
    "per_discipline": Param(
        bool,
        True,
        help="count each discipline's services on a day separately (PT, OT and SLP bill under "
        "their own plans of care); false pools every service of the patient's day",
    )
}

# ----------------------------------------------------------------------------------------------
# Shared derived data (cached per run)


@dataclass
class _Lines:
    """Service lines as arrays; codes and modifier sets factorised once."""

    note: np.ndarray  # int64 row position of the line's note
    code_id: np.ndarray  # int64 index into code_names
    code_names: np.ndarray  # object
    code_btype: np.ndarray  # object: billing_type per code_names entry (None if unknown)
    mod_id: np.ndarray  # int64 index into mod_sets
    mod_sets: list[frozenset[str]]
    units: np.ndarray  # float, NaN -> 0
    minutes: np.ndarray  # float, NaN unknown
    assistant_minutes: np.ndarray
    charge: np.ndarray
    allowed: np.ndarray
    timed: np.ndarray  # bool: a 15-minute timed code
    therapy: np.ndarray  # bool: a code of the therapy code table

    def __len__(self) -> int:
        return len(self.note)

    def code(self, rows: np.ndarray) -> np.ndarray:
        """The code text ("" when blank) of the given lines."""
        return self.code_names[self.code_id[rows]]

    def of_type(self, *types: str) -> np.ndarray:
        """Boolean per line: its code's billing_type is one of `types`."""
        return np.isin(self.code_btype, list(types))[self.code_id]


def _floats(s: pd.Series) -> np.ndarray:
    """A column as float64, NaN where missing: the loader's own array when it is float64
    already (read-only; a copy per column was 19 MB for 2.4M service lines)."""
    if s.dtype == np.float64:
        return s.to_numpy()
    return pd.to_numeric(s, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def _factorize(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Ids and names of a text column, blanks as one more name ""."""
    ids, names = pd.factorize(values, use_na_sentinel=True)
    names = np.append(np.asarray(names, dtype=object), "")
    return np.where(ids < 0, len(names) - 1, ids).astype(np.int64), names


def _lines(ctx) -> _Lines:
    def build() -> _Lines:
        svc = ctx.table("services")
        raw_id, raw_names = _factorize(svc["cpt_code"])
        # The loader already upper-cases and strips codes; merge any variants that remain.
        names = np.array([str(c).strip().upper() for c in raw_names], dtype=object)
        merged, code_names = pd.factorize(names)  # keeps first-seen order
        code_names = np.asarray(code_names, dtype=object)
        code_id = merged.astype(np.int64)[raw_id]
        mod_id, mod_names = _factorize(svc["modifiers"])
        btype = codes.billing_type(pd.Series(code_names)).to_numpy(dtype=object)
        return _Lines(
            note=svc["note_idx"].to_numpy(dtype=np.int64),
            code_id=code_id,
            code_names=code_names,
            code_btype=btype,
            mod_id=mod_id,
            mod_sets=[frozenset(str(m).split(",")) - {""} for m in mod_names],
            units=np.nan_to_num(_floats(svc["units"])),
            minutes=_floats(svc["minutes"]),
            assistant_minutes=_floats(svc["assistant_minutes"]),
            charge=_floats(svc["charge"]),
            allowed=_floats(svc["allowed_amount"]),
            timed=(btype == codes.TIMED)[code_id],
            therapy=pd.notna(btype)[code_id],
        )

    return ctx.cached("billing.lines", build)


def _has_mod(ctx, mod: str) -> np.ndarray:
    """Boolean per service line: the line carries modifier `mod`."""

    def build() -> np.ndarray:
        lines = _lines(ctx)
        return np.array([mod in s for s in lines.mod_sets], dtype=bool)[lines.mod_id]

    return ctx.cached(f"billing.mod.{mod}", build)


def _note_codes(ctx, column: str, categories: tuple[str, ...]) -> np.ndarray:
    """Per note: position of its `column` value in `categories`, -1 for anything else."""
    codes, distinct = note_codes(ctx, column)
    found = pd.Index(list(categories), dtype=object).get_indexer(distinct)
    return np.append(found, -1).astype(np.int64)[codes]


def _note_day(ctx, per_discipline: bool) -> np.ndarray:
    """Treatment-day id of every note: (patient, date of service[, discipline]), numbered in
    order of first appearance (a groupby's ngroup, from integer codes instead of strings)."""

    def build() -> np.ndarray:
        dates = ctx.notes["date_of_service"].to_numpy(dtype="datetime64[ns]").view(np.int64)
        date, distinct = pd.factorize(dates)
        day = note_codes(ctx, "patient_id")[0] * len(distinct) + date  # NA patient: < 0
        if per_discipline:
            disc, disciplines = note_codes(ctx, "discipline")  # -1: blank
            day = pd.factorize(day)[0] * (len(disciplines) + 1) + disc + 1
        return pd.factorize(day)[0].astype(np.int64)

    return ctx.cached(f"billing.note_day.{per_discipline}", build)


@dataclass
class _NoteTimed:
    """Per note (aligned to ctx.notes positions): timed lines and the note's timed minutes.

    The note's documented total timed minutes are what support its units: CMS counts every
    timed service the patient received, billed or not, and a timed code with too few minutes
    for a unit is simply left off the claim. The charge lines' minutes stand in only when the
    note documents no total."""

    n_timed: np.ndarray  # number of timed lines
    units: np.ndarray  # timed units billed
    minutes: np.ndarray  # the documented total (not a 0 beside lines with minutes), else the
    # lines' sum when every line has one; NaN
    line_minutes: np.ndarray  # the timed lines' minutes summed; NaN when a line has none
    known_line_minutes: np.ndarray  # the minutes of the timed lines that have them, summed
    from_total: np.ndarray  # minutes are the documented total, and the lines do not show them
    over_total: np.ndarray  # the lines record more timed minutes than the documented total


def _note_timed(ctx) -> _NoteTimed:
    def build() -> _NoteTimed:
        n = len(ctx.notes)
        lines = _lines(ctx)
        t = lines.timed
        note = lines.note[t]
        mins = lines.minutes[t]
        has_min = ~np.isnan(mins)
        n_timed = np.bincount(note, minlength=n)
        n_min = np.bincount(note, weights=has_min, minlength=n)
        sum_min = np.bincount(note, weights=np.where(has_min, mins, 0.0), minlength=n)
        units = np.bincount(note, weights=lines.units[t], minlength=n)
        total = _floats(ctx.notes["total_timed_minutes"])
        billed = n_timed > 0
        complete = billed & (n_min == n_timed)
        line_minutes = np.where(complete, sum_min, np.nan)
        # A total of 0 beside charge lines with minutes is more likely an EMR's default for
        # a field nobody filled than a statement: the lines' minutes judge the units, and
        # MCR-TIMED-MIN still reports that the note's total does not support them.
        zero = billed & (total == 0) & (sum_min > 0)
        documented = billed & ~np.isnan(total) & ~zero
        minutes = np.where(documented, total, line_minutes)
        from_total = documented & ~(complete & (sum_min == total))
        over_total = (documented | zero) & (n_min > 0) & (sum_min > total)
        return _NoteTimed(n_timed, units, minutes, line_minutes, sum_min, from_total, over_total)

    return ctx.cached("billing.note_timed", build)


@dataclass
class _DayTimed:
    """Per treatment day: total timed minutes (T), billed timed units, and gaps."""

    note_day: np.ndarray  # per note
    minutes: np.ndarray  # per day
    missing: np.ndarray  # per day: a note with timed lines has no minutes
    billed: np.ndarray  # per day
    notes: np.ndarray  # per day: notes with timed lines
    line_minutes: np.ndarray  # per day: the timed lines' minutes; NaN when a line has none
    over_total: np.ndarray  # per day: a note's lines record more minutes than it documents

    @property
    def n_days(self) -> int:
        return len(self.minutes)

    def unbilled(self) -> np.ndarray:
        """Per day: timed minutes documented but on no charge line (0 when unknown)."""
        with np.errstate(invalid="ignore"):
            extra = self.minutes - self.line_minutes
        return np.where(~self.missing & ~self.over_total & (extra > 0), extra, 0.0)


def _day_timed(ctx, per_discipline: bool) -> _DayTimed:
    def build() -> _DayTimed:
        nt = _note_timed(ctx)
        day = _note_day(ctx, per_discipline)
        nd = int(day.max()) + 1 if len(day) else 0
        has = nt.n_timed > 0
        d = day[has]
        mins = nt.minutes[has]
        lmins = nt.line_minutes[has]
        lines_missing = np.bincount(d, weights=np.isnan(lmins), minlength=nd) > 0
        line_minutes = np.bincount(d, weights=np.nan_to_num(lmins), minlength=nd)
        return _DayTimed(
            note_day=day,
            minutes=np.bincount(d, weights=np.nan_to_num(mins), minlength=nd),
            missing=np.bincount(d, weights=np.isnan(mins), minlength=nd) > 0,
            billed=np.bincount(d, weights=nt.units[has], minlength=nd),
            notes=np.bincount(d, minlength=nd),
            line_minutes=np.where(lines_missing, np.nan, line_minutes),
            over_total=np.bincount(d, weights=nt.over_total[has], minlength=nd) > 0,
        )

    return ctx.cached(f"billing.day_timed.{per_discipline}", build)


@dataclass
class _DayCodes:
    """Timed lines summed per (treatment day, code), sorted by day and then code id."""

    day: np.ndarray
    code_id: np.ndarray  # index into _Lines.code_names
    minutes: np.ndarray
    missing: np.ndarray  # a line of the code that day has no minutes
    billed: np.ndarray


def _day_codes(ctx, per_discipline: bool) -> _DayCodes:
    def build() -> _DayCodes:
        lines = _lines(ctx)
        t = lines.timed
        day = _note_day(ctx, per_discipline)[lines.note[t]]
        nc = len(lines.code_names)
        group, keys = _group_ids(day * nc + lines.code_id[t])
        ng = len(keys)
        mins = lines.minutes[t]
        return _DayCodes(
            day=keys // nc,
            code_id=keys % nc,
            minutes=np.bincount(group, weights=np.nan_to_num(mins), minlength=ng),
            missing=np.bincount(group, weights=np.isnan(mins), minlength=ng) > 0,
            billed=np.bincount(group, weights=lines.units[t], minlength=ng),
        )

    return ctx.cached(f"billing.day_codes.{per_discipline}", build)


def cms_units(minutes: np.ndarray | pd.Series) -> np.ndarray:
    """Timed units CMS allows for a day's total timed minutes: 0 below 8, else (T+7)//15."""
    m = np.asarray(minutes, dtype=float)
    return np.where(m < 8, 0, np.floor((m + 7) / 15)).astype(np.int64)


# ----------------------------------------------------------------------------------------------
# Text helpers (object arrays of str)


def _blank(n: int) -> np.ndarray:
    return np.full(n, "", dtype=object)


def _num(values: np.ndarray) -> np.ndarray:
    """Numbers as text: '23' for whole numbers, '22.5' otherwise."""
    x = np.asarray(values, dtype=float)
    whole = np.round(x) == x
    out = np.where(whole, x, 0).astype(np.int64).astype(str).astype(object)
    if (~whole).any():
        out[~whole] = np.char.mod("%.1f", x[~whole]).astype(object)
    return out


def _plural(n: np.ndarray, word: str) -> np.ndarray:
    n = np.asarray(n, dtype=float)
    return _num(n) + np.where(n == 1, f" {word}", f" {word}s").astype(object)


def _join(keys: np.ndarray, text: np.ndarray, size: int, sep: str = "; ") -> np.ndarray:
    """Join `text` per integer key in [0, size) keeping line order; "" for keys without text."""
    out = _blank(size)
    if len(keys) == 0:
        return out
    order = np.argsort(keys, kind="stable")
    k = keys[order]
    parts = np.asarray(text, dtype=object)[order]
    starts = np.r_[0, np.flatnonzero(k[1:] != k[:-1]) + 1]
    not_last = np.ones(len(k), dtype=bool)
    not_last[np.r_[starts[1:] - 1, len(k) - 1]] = False
    parts[not_last] = parts[not_last] + sep
    out[k[starts]] = np.add.reduceat(parts, starts)
    return out


def _group_ids(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(group id per row, sorted distinct keys) of an int64 key, as np.unique gives them.

    A stable argsort (timsort: lines arrive mostly in key order) is several times faster than
    np.unique's quicksort here, and sorting beats hashing."""
    order = np.argsort(key, kind="stable")
    ordered = key[order]
    new = np.ones(len(key), dtype=bool)
    new[1:] = ordered[1:] != ordered[:-1]
    ids = np.empty(len(key), dtype=np.int64)
    ids[order] = np.cumsum(new) - 1
    return ids, ordered[new]


def _first_per(*keys: np.ndarray) -> np.ndarray:
    """Positions of the first row of each distinct combination of the non-negative integer
    `keys`, in row order."""
    combined = np.zeros(len(keys[0]), dtype=np.int64)
    span = 1
    for k in keys:
        width = int(k.max()) + 1 if len(k) else 1
        if span * width >= 2**62:  # would overflow: let pandas hash the columns instead
            frame = pd.DataFrame({f"k{i}": k for i, k in enumerate(keys)})
            return np.flatnonzero(~frame.duplicated().to_numpy())
        combined = combined * width + k
        span *= width
    order = np.argsort(combined, kind="stable")
    ordered = combined[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = ordered[1:] != ordered[:-1]
    return np.sort(order[first])


def _per_note(note: np.ndarray, n: int) -> np.ndarray:
    """Boolean per note position: some line belongs to it."""
    return np.bincount(note, minlength=n) > 0


def _result(
    idx: pd.Index,
    fail: np.ndarray,
    message: np.ndarray,
    evidence: np.ndarray,
    applicable: np.ndarray,
    not_evaluable: np.ndarray | None = None,
    reason: str | np.ndarray | None = None,
) -> CheckOutcome:
    if isinstance(reason, np.ndarray):
        reason = pd.Series(reason, index=idx, dtype=object)
    return outcome(
        idx,
        fail,
        pd.Series(message, index=idx, dtype=object),
        pd.Series(evidence, index=idx, dtype=object),
        applicable=applicable,
        not_evaluable=not_evaluable,
        not_evaluable_reason=reason,
    )


def _no_services(ctx, idx: pd.Index) -> CheckOutcome | None:
    if ctx.table("services") is not None:
        return None
    n = len(idx)
    return outcome(
        idx,
        np.zeros(n, bool),
        not_evaluable=np.ones(n, bool),
        not_evaluable_reason="the export has no services table",
    )


# ----------------------------------------------------------------------------------------------
# 8-minute rule (CMS total time)


@check_kind(
    "eight_minute_total",
    topic="timed units",
    params=dict(_PER_DISCIPLINE),
    needs=("services",),
    reads=("services", "services.minutes", "notes.total_timed_minutes"),
)
def eight_minute_total(ctx, idx: pd.Index, params: dict) -> CheckOutcome:
    """Timed units billed for the day within the CMS total-time 8-minute rule."""
    if (missing := _no_services(ctx, idx)) is not None:
        return missing
    pos = ctx.positions(idx)
    nt = _note_timed(ctx)
    dt = _day_timed(ctx, params["per_discipline"])
    day = dt.note_day[pos]
    applicable = nt.n_timed[pos] > 0
    not_eval = applicable & dt.missing[day]
    allowed = cms_units(dt.minutes[day])
    billed = dt.billed[day]
    fail = applicable & ~not_eval & (billed > allowed)
    reason = _blank(len(idx))
    reason[not_eval] = "timed minutes not documented on another note of the same day"
    reason[not_eval & np.isnan(nt.minutes[pos])] = "no timed minutes documented"
    message, evidence = _blank(len(idx)), _blank(len(idx))
    if fail.any():
        f = np.flatnonzero(fail)
        fday = day[f]
        text = (
            _day_minutes_text(dt, fday)
            + " support "
            + _plural(allowed[f], "unit")
            + "; "
            + _num(billed[f])
            + " billed"
        )
        multi = dt.notes[fday] > 1
        text[multi] = text[multi] + " (day total over " + _num(dt.notes[fday][multi]) + " notes)"
        message[f] = text
        evidence[f] = _day_line_evidence(ctx, dt, fday)
    return _result(idx, fail, message, evidence, applicable, not_eval, reason)


def _day_minutes_text(dt: _DayTimed, days: np.ndarray) -> np.ndarray:
    """'38 timed minutes' per given day, or '45 timed minutes documented (36 on the charge
    lines)' when the notes' documented totals differ from the charge lines' minutes."""
    minutes, on_lines = dt.minutes[days], dt.line_minutes[days]
    text = _num(minutes) + " timed minutes"
    differ = np.flatnonzero(~np.isnan(on_lines) & (on_lines != minutes))
    text[differ] = text[differ] + " documented (" + _num(on_lines[differ]) + " on the charge lines)"
    return text


def _line_text(lines: _Lines, rows: np.ndarray) -> np.ndarray:
    """'97110 23 min 2u' per line (minutes left out when unknown)."""
    text = lines.code(rows)
    mins = lines.minutes[rows]
    has = ~np.isnan(mins)
    text[has] = text[has] + " " + _num(mins[has]) + " min"
    return text + " " + _num(lines.units[rows]) + "u"


def _day_line_evidence(ctx, dt: _DayTimed, days: np.ndarray) -> np.ndarray:
    """Per given day: its timed lines '97110 23 min 2u; ...', prefixed by the notes' total
    timed minutes when those were used because lines lack minutes."""
    lines = _lines(ctx)
    nt = _note_timed(ctx)
    wanted = np.zeros(dt.n_days, dtype=bool)
    wanted[days] = True
    rows = np.flatnonzero(lines.timed)
    lday = dt.note_day[lines.note[rows]]
    keep = wanted[lday]
    by_day = _join(lday[keep], _line_text(lines, rows[keep]), dt.n_days)
    tot = np.flatnonzero(nt.from_total & wanted[dt.note_day])
    if len(tot):
        prefix = _join(dt.note_day[tot], "total timed " + _num(nt.minutes[tot]) + " min", dt.n_days)
        has = prefix != ""
        by_day[has] = prefix[has] + ": " + by_day[has]
    return by_day[days]


def underbilled_units(ctx, per_discipline: bool = True) -> pd.Series:
    """Per note (ctx.notes index): timed units the day's documented minutes support but that
    were not billed under the CMS 8-minute rule; 0 when none or when minutes are missing."""
    if ctx.table("services") is None:
        return pd.Series(0, index=ctx.notes.index, dtype=np.int64)
    nt = _note_timed(ctx)
    dt = _day_timed(ctx, per_discipline)
    day = dt.note_day
    gap = cms_units(dt.minutes)[day] - dt.billed[day]
    ok = (nt.n_timed > 0) & ~dt.missing[day] & (gap > 0)
    return pd.Series(np.where(ok, gap, 0).astype(np.int64), index=ctx.notes.index)


def underbilling_messages(ctx, per_discipline: bool = True) -> pd.Series:
    """For notes with under-billed timed time only: '38 timed minutes support 3 units;
    2 billed — 1 unit of documented time not billed'."""
    gap = underbilled_units(ctx, per_discipline)
    gap = gap[gap > 0]
    if gap.empty:
        return pd.Series(dtype=object)
    dt = _day_timed(ctx, per_discipline)
    day = dt.note_day[ctx.notes.index.get_indexer(gap.index)]
    text = (
        _num(dt.minutes[day])
        + " timed minutes support "
        + _plural(cms_units(dt.minutes[day]), "unit")
        + "; "
        + _num(dt.billed[day])
        + " billed — "
        + _plural(gap.to_numpy(), "unit")
        + " of documented time not billed"
    )
    return pd.Series(text, index=gap.index, dtype=object)


# ----------------------------------------------------------------------------------------------
# 8-minute rule: allocation among codes (CMS) and per-code mid-point (AMA)


def cms_allocation(day_codes: pd.DataFrame) -> pd.DataFrame:
    """Reference CMS allocation (Pub. 100-04 ch.5 §20.2) per (day, code) row.

    Input columns: day, code, minutes. Adds: full (floor(min/15)), rest (remaining minutes),
    allowed (the day's units), extra (the day's units left after full units), lo / hi (the
    fewest and most units a valid allocation may give the code), ref (one valid allocation:
    full units, then the extra units to the codes with the most remaining minutes) and tied
    (the day has codes with equal remaining minutes competing for an extra unit, so more than
    one allocation is valid).
    """
    df = day_codes.reset_index(drop=True).copy()
    for name, values in _allocate(df["day"].to_numpy(), df["minutes"].to_numpy(float)).items():
        df[name] = values
    return df


def _allocate(day: np.ndarray, m: np.ndarray) -> dict[str, np.ndarray]:
    """cms_allocation's added columns for (day, code) rows given as day and minutes arrays."""
    uniq, dpos = np.unique(day, return_inverse=True)
    dpos = dpos.reshape(-1)
    full = np.floor(m / 15)
    rest = m - 15 * full
    allowed = cms_units(np.bincount(dpos, weights=m))
    extra = np.maximum(allowed - np.bincount(dpos, weights=full).astype(np.int64), 0)
    ex = extra[dpos]
    # Rank codes within the day by remaining minutes, largest first (ties keep row order).
    order = np.lexsort((-rest, dpos))
    starts = np.r_[0, np.flatnonzero(np.diff(dpos[order])) + 1]
    rank = np.empty(len(m), dtype=np.int64)
    rank[order] = np.arange(len(order)) - np.repeat(starts, np.diff(np.r_[starts, len(order)]))
    # The remaining minutes of the code ranked `extra`-th are the cut: codes above the cut must
    # take an extra unit, codes at the cut may.
    cut_rows = order[rank[order] == ex[order] - 1]
    cut = np.full(len(uniq), np.inf)
    cut[dpos[cut_rows]] = rest[cut_rows]
    c = cut[dpos]
    has_extra = ex > 0
    at_cut = np.bincount(dpos, weights=has_extra & (rest >= c), minlength=len(uniq))
    return {
        "full": full.astype(np.int64),
        "rest": rest,
        "allowed": allowed[dpos],
        "extra": ex,
        "lo": (full + (has_extra & (rest > c))).astype(np.int64),
        "hi": (full + (has_extra & (rest >= c))).astype(np.int64),
        "ref": (full + (rank < ex)).astype(np.int64),
        "tied": (at_cut > extra)[dpos],
    }


@check_kind(
    "eight_minute_allocation",
    topic="timed units",
    params=dict(_PER_DISCIPLINE),
    needs=("services",),
    reads=("services", "services.minutes", "notes.total_timed_minutes"),
)
def eight_minute_allocation(ctx, idx: pd.Index, params: dict) -> CheckOutcome:
    """Timed units spread among the day's codes as CMS allocates them (ch.5 §20.2).

    Timed minutes the notes document beyond their charge lines are one more timed service,
    left off the claim: it takes part in the allocation and gets the units CMS gives it (often
    none, like 97035's 8 minutes in the CMS example), which no billed code may take instead."""
    if (missing := _no_services(ctx, idx)) is not None:
        return missing
    per_disc = params["per_discipline"]
    pos = ctx.positions(idx)
    nt = _note_timed(ctx)
    dt = _day_timed(ctx, per_disc)
    nd = dt.n_days
    dc = _day_codes(ctx, per_disc)
    unbilled = dt.unbilled()
    ncodes = np.bincount(dc.day, minlength=nd) + (unbilled > 0)
    gaps = np.bincount(dc.day, weights=dc.missing, minlength=nd) > 0

    day = dt.note_day[pos]
    applicable = (nt.n_timed[pos] > 0) & (ncodes[day] > 1)
    not_eval = applicable & (gaps[day] | dt.over_total[day])
    reason = _blank(len(idx))
    reason[not_eval] = "the charge lines record more timed minutes than the note documents"
    reason[not_eval & gaps[day]] = "minutes not documented for each timed code"

    # Only the days of the notes judged here are allocated (each day on its own).
    judged = np.zeros(nd, dtype=bool)
    judged[day[applicable & ~not_eval]] = True
    rows = np.flatnonzero(judged[dc.day])
    extra = np.flatnonzero(judged & (unbilled > 0))
    aday = np.r_[dc.day[rows], extra]
    minutes = np.r_[dc.minutes[rows], unbilled[extra]]
    billed = np.r_[dc.billed[rows], np.zeros(len(extra))]
    on_claim = np.r_[np.ones(len(rows), dtype=bool), np.zeros(len(extra), dtype=bool)]
    alloc = _allocate(aday, minutes)
    units_left = dt.billed[aday] < alloc["allowed"]
    # Not billing a service is under-billing, not a misallocation: only billed codes are short.
    short = on_claim & np.where(units_left, billed < alloc["full"], billed < alloc["lo"])
    bad = (billed > alloc["hi"]) | short
    fail = applicable & ~not_eval & _per_note(aday[bad], nd)[day]

    message, evidence = _blank(len(idx)), _blank(len(idx))
    if fail.any():
        f = np.flatnonzero(fail)
        fd = day[f]
        wanted = np.zeros(nd, dtype=bool)
        wanted[fd] = True
        sub = np.flatnonzero(wanted[aday])
        sub = sub[np.lexsort((-minutes[sub], aday[sub]))]
        sday = aday[sub]
        on = on_claim[sub]
        mins = minutes[sub]
        code = _blank(len(sub))
        code[on] = _lines(ctx).code_names[dc.code_id[rows[sub[on]]]]
        code[~on] = "unbilled " + _num(mins[~on]) + " min"
        got_units = billed[sub]
        expected = _join(sday, code + " " + _num(alloc["ref"][sub]) + "u", nd, ", ")
        got = _join(sday[on], code[on] + " " + _num(got_units[on]) + "u", nd, ", ")
        line = code + " " + _num(mins) + " min " + _num(got_units) + "u"
        line[~on] = code[~on]  # "unbilled 9 min"
        evid = _join(sday, line, nd)
        day_units = np.zeros(nd)
        day_units[sday] = alloc["allowed"][sub]
        tied = np.zeros(nd, dtype=bool)
        tied[sday] = alloc["tied"][sub]
        text = (
            "CMS allocation of "
            + _plural(day_units[fd], "unit")
            + " for "
            + _day_minutes_text(dt, fd)
            + ": "
            + expected[fd]
        )
        t = tied[fd]
        text[t] = text[t] + " (codes with equal remaining minutes may swap a unit)"
        message[f] = text + "; billed " + got[fd]
        evidence[f] = evid[fd]
    return _result(idx, fail, message, evidence, applicable, not_eval, reason)


def per_code_units(minutes: np.ndarray | pd.Series) -> np.ndarray:
    """AMA/CPT mid-point rule for one code: 0 below 8 minutes, else (m+7)//15."""
    return cms_units(minutes)


@check_kind(
    "eight_minute_per_code",
    topic="timed units",
    params=dict(_PER_DISCIPLINE),
    needs=("services",),
    reads=("services", "services.minutes", "notes.total_timed_minutes"),
)
def eight_minute_per_code(ctx, idx: pd.Index, params: dict) -> CheckOutcome:
    """Timed units of each code within the AMA/CPT per-code mid-point rule."""
    if (missing := _no_services(ctx, idx)) is not None:
        return missing
    per_disc = params["per_discipline"]
    pos = ctx.positions(idx)
    nt = _note_timed(ctx)
    dt = _day_timed(ctx, per_disc)
    nd = dt.n_days
    dc = _day_codes(ctx, per_disc)
    fday = dc.day
    ncodes = np.bincount(fday, minlength=nd)
    minutes = dc.minutes.copy()
    gap = dc.missing.copy()
    # One timed code on the day: the notes' total timed minutes are that code's minutes.
    single = (ncodes[fday] == 1) & gap & ~dt.missing[fday]
    minutes[single] = dt.minutes[fday][single]
    gap[single] = False
    allowed = per_code_units(minutes)
    billed = dc.billed
    bad = ~gap & (billed > allowed)

    day = dt.note_day[pos]
    applicable = nt.n_timed[pos] > 0
    not_eval = applicable & (np.bincount(fday, weights=gap, minlength=nd) > 0)[day]
    fail = applicable & ~not_eval & _per_note(fday[bad], nd)[day]

    message, evidence = _blank(len(idx)), _blank(len(idx))
    if fail.any():
        f = np.flatnonzero(fail)
        b = np.flatnonzero(bad)
        code = _lines(ctx).code_names[dc.code_id[b]]
        text = (
            code
            + ": "
            + _num(minutes[b])
            + " min support "
            + _plural(allowed[b], "unit")
            + ", "
            + _num(billed[b])
            + " billed"
        )
        message[f] = _join(fday[b], text, nd)[day[f]]
        evid = code + " " + _num(minutes[b]) + " min " + _num(billed[b]) + "u"
        evidence[f] = _join(fday[b], evid, nd)[day[f]]
    return _result(
        idx,
        fail,
        message,
        evidence,
        applicable,
        not_eval,
        "minutes not documented for each timed code",
    )


# ----------------------------------------------------------------------------------------------
# Untimed, group and duplicate lines


def _units_per_day_code(
    ctx, idx: pd.Index, line_mask: np.ndarray, per_discipline: bool, max_units: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Lines in `line_mask` summed per (day, code). Returns, per note of `idx`: applicable
    (has such a line), over (one of its codes is over `max_units` that day), the text
    '97161 billed 2 units' and the evidence '97161 2u' for the notes that are over."""
    pos = ctx.positions(idx)
    n = len(ctx.notes)
    lines = _lines(ctx)
    rows = np.flatnonzero(line_mask)
    note = lines.note[rows]
    day = _note_day(ctx, per_discipline)[note]
    group, keys = _group_ids(day * len(lines.code_names) + lines.code_id[rows])
    units = np.bincount(group, weights=lines.units[rows], minlength=len(keys))
    over_row = units[group] > max_units
    applicable = _per_note(note, n)[pos]
    over = _per_note(note[over_row], n)[pos]
    text, evidence = _blank(len(idx)), _blank(len(idx))
    if over.any():
        o = np.flatnonzero(over)
        r = np.flatnonzero(over_row)
        r = r[_first_per(note[r], group[r])]
        code = lines.code(rows[r])
        total = units[group[r]]
        text[o] = _join(note[r], code + " billed " + _plural(total, "unit"), n)[pos[o]]
        evidence[o] = _join(note[r], code + " " + _num(total) + "u", n)[pos[o]]
    return applicable, over, text, evidence


@check_kind(
    "untimed_units_max",
    params={
        **_PER_DISCIPLINE,
        "max_units": Param(int, 1, help="most units of one untimed code per patient per day"),
    },
    needs=("services",),
    reads=("services",),
)
def untimed_units_max(ctx, idx: pd.Index, params: dict) -> CheckOutcome:
    """Untimed (service-based) codes billed at most once per patient per day."""
    if (missing := _no_services(ctx, idx)) is not None:
        return missing
    lines = _lines(ctx)
    applicable, fail, text, evidence = _units_per_day_code(
        ctx, idx, lines.of_type(*codes.UNTIMED_TYPES), params["per_discipline"], params["max_units"]
    )
    limit = _plural(np.array([params["max_units"]]), "unit")[0]
    text[fail] = (
        text[fail] + f" on this date; an untimed code is billed at most {limit} a day, "
        "whatever the time spent"
    )
    return _result(idx, fail, text, evidence, applicable)


@check_kind(
    "group_therapy",
    params={
        **_PER_DISCIPLINE,
        "max_units": Param(int, 1, help="units of a group code per patient per session/day"),
    },
    needs=("services",),
    reads=(
        "services",
        "services.minutes",
        "notes.total_timed_minutes",
        "notes.total_treatment_minutes",
    ),
)
def group_therapy(ctx, idx: pd.Index, params: dict) -> CheckOutcome:
    """Group therapy billed once per session and not on the same minutes as individual codes."""
    if (missing := _no_services(ctx, idx)) is not None:
        return missing
    pos = ctx.positions(idx)
    n = len(ctx.notes)
    lines = _lines(ctx)
    is_group = lines.of_type(codes.GROUP)
    applicable, over, text, evidence = _units_per_day_code(
        ctx, idx, is_group, params["per_discipline"], params["max_units"]
    )
    # The same minutes billed twice: group + individual timed minutes > total treatment time.
    nt = _note_timed(ctx)
    gmin = lines.minutes[is_group]
    gnote = lines.note[is_group]
    group_minutes = np.bincount(gnote, weights=np.nan_to_num(gmin), minlength=n)[pos]
    group_gap = (np.bincount(gnote, weights=np.isnan(gmin), minlength=n) > 0)[pos]
    timed = nt.minutes[pos]
    total = _floats(ctx.notes["total_treatment_minutes"])[pos]
    both = applicable & (nt.n_timed[pos] > 0)
    unknown = both & (group_gap | np.isnan(timed) | np.isnan(total))
    overlap = both & ~unknown & (group_minutes + np.nan_to_num(timed) > total)
    text[over] = (
        text[over] + " on this date; group therapy is billed once per session, whatever its length"
    )
    if overlap.any():
        o = np.flatnonzero(overlap)
        extra = (
            "group "
            + _num(group_minutes[o])
            + " min and individual timed "
            + _num(timed[o])
            + " min exceed the total treatment time of "
            + _num(total[o])
            + " min: the same minutes are billed twice"
        )
        text[o] = np.where(text[o] == "", extra, text[o] + "; " + extra)
        times = (
            "group "
            + _num(group_minutes[o])
            + " min; timed "
            + _num(timed[o])
            + " min; total "
            + _num(total[o])
            + " min"
        )
        evidence[o] = np.where(evidence[o] == "", times, evidence[o] + "; " + times)
    return _result(
        idx,
        over | overlap,
        text,
        evidence,
        applicable,
        unknown & ~over,
        "group, individual timed or total treatment minutes not documented",
    )


@check_kind(
    "duplicate_service",
    params=dict(_PER_DISCIPLINE),
    needs=("services",),
    reads=("services",),
)
def duplicate_service(ctx, idx: pd.Index, params: dict) -> CheckOutcome:
    """The same code billed for the patient on one day by two notes, or twice on one note."""
    if (missing := _no_services(ctx, idx)) is not None:
        return missing
    pos = ctx.positions(idx)
    n = len(ctx.notes)
    lines = _lines(ctx)
    note = lines.note
    day = _note_day(ctx, params["per_discipline"])[note]
    dc, keys = _group_ids(day * len(lines.code_names) + lines.code_id)
    # Distinct notes per (day, code).
    pairs = _first_per(dc, note)
    notes_per = np.bincount(dc[pairs], minlength=len(keys))[dc]
    across = notes_per > 1
    # The same code with the same modifiers on two lines of one note.
    same, _ = _group_ids(
        (note * len(lines.code_names) + lines.code_id) * len(lines.mod_sets) + lines.mod_id
    )
    within = np.bincount(same)[same] > 1
    dup = across | within
    applicable = _per_note(note, n)[pos]
    fail = _per_note(note[dup], n)[pos]
    message, evidence = _blank(len(idx)), _blank(len(idx))
    if fail.any():
        f = np.flatnonzero(fail)
        r = np.flatnonzero(dup)
        r = r[_first_per(note[r], lines.code_id[r])]
        code = lines.code(r)
        text = code + np.where(
            across[r],
            " billed on " + _num(notes_per[r]) + " notes for this patient on this date",
            " on more than one line with the same modifiers",
        ).astype(object)
        message[f] = _join(note[r], text, n)[pos[f]]
        evidence[f] = _join(note[r], code, n, ", ")[pos[f]]
    return _result(idx, fail, message, evidence, applicable)


# ----------------------------------------------------------------------------------------------
# Codes and modifiers


@check_kind(
    "forbidden_code",
    params={
        "codes": Param(list, required=True, help="codes this payer does not accept"),
        "replacement": Param(str, "", help="the code to bill instead (named in the message)"),
    },
    needs=("services",),
    reads=("services",),
)
def forbidden_code(ctx, idx: pd.Index, params: dict) -> CheckOutcome:
    """A code the payer does not accept (e.g. 97014 for Medicare, which pays G0283)."""
    if (missing := _no_services(ctx, idx)) is not None:
        return missing
    pos = ctx.positions(idx)
    n = len(ctx.notes)
    lines = _lines(ctx)
    banned = [str(c).strip().upper() for c in params["codes"]]
    bad = np.isin(lines.code_names, banned)[lines.code_id]
    applicable = _per_note(lines.note, n)[pos]
    fail = _per_note(lines.note[bad], n)[pos]
    message, evidence = _blank(len(idx)), _blank(len(idx))
    if fail.any():
        f = np.flatnonzero(fail)
        r = np.flatnonzero(bad)
        r = r[_first_per(lines.note[r], lines.code_id[r])]
        found = _join(lines.note[r], lines.code(r), n, ", ")[pos[f]]
        tail = (
            f" billed; bill {params['replacement']} instead"
            if params["replacement"]
            else " billed; this payer does not accept it"
        )
        message[f] = found + tail
        evidence[f] = found
    return _result(idx, fail, message, evidence, applicable)


@check_kind(
    "discipline_modifier",
    params={
        "modifiers": Param(
            dict, DISCIPLINE_MODIFIERS, help="therapy modifier per discipline of the note"
        )
    },
    needs=("services",),
    reads=("services",),
)
def discipline_modifier(ctx, idx: pd.Index, params: dict) -> CheckOutcome:
    """Every therapy line carries the modifier of the note's discipline (GP, GO or GN)."""
    if (missing := _no_services(ctx, idx)) is not None:
        return missing
    pos = ctx.positions(idx)
    n = len(ctx.notes)
    lines = _lines(ctx)
    disciplines = tuple(params["modifiers"])
    mods = np.array([params["modifiers"][d] for d in disciplines], dtype=object)
    # expected[i]: position in `disciplines` of line i's note discipline (-1: not listed).
    expected = _note_codes(ctx, "discipline", disciplines)[lines.note]
    has = np.stack([_has_mod(ctx, m) for m in mods])  # (disciplines, lines)
    known = expected >= 0
    has_expected = known & has[np.maximum(expected, 0), np.arange(len(lines))]
    has_other = has.sum(axis=0) > has_expected
    bad = lines.therapy & known & (~has_expected | has_other)
    applicable = _per_note(lines.note[lines.therapy], n)[pos]
    fail = _per_note(lines.note[bad], n)[pos]
    not_eval = _per_note(lines.note[lines.therapy & ~known], n)[pos] & ~fail
    message, evidence = _blank(len(idx)), _blank(len(idx))
    if fail.any():
        f = np.flatnonzero(fail)
        r = np.flatnonzero(bad)
        code = lines.code(r)
        e = expected[r]
        want = mods[e]
        disc = np.array(disciplines, dtype=object)[e]
        text = code + " has no " + want + " modifier (" + disc + " plan of care)"
        o = np.flatnonzero(has_other[r])
        if len(o):
            # The first listed modifier the line carries that is not its own.
            wrong_has = has[:, r[o]].copy()
            wrong_has[e[o], np.arange(len(o))] = False
            carried = mods[np.argmax(wrong_has, axis=0)]
            text[o] = code[o] + " carries " + carried + "; " + disc[o] + " services take " + want[o]
        message[f] = _join(lines.note[r], text, n)[pos[f]]
        evidence[f] = _join(lines.note[r], code, n, ", ")[pos[f]]
    return _result(
        idx, fail, message, evidence, applicable, not_eval, "the note's discipline is unknown"
    )


@check_kind(
    "assistant_modifier",
    params={
        "de_minimis_pct": Param(
            (int, float),
            10,
            help="an assistant furnishing more than this % of a service's minutes furnishes it "
            "'in part' (CMS de minimis standard)",
            maximum=100,
        )
    },
    needs=("services",),
    reads=("services", "services.minutes", "services.assistant_minutes"),
)
def assistant_modifier(ctx, idx: pd.Index, params: dict) -> CheckOutcome:
    """Services furnished in whole or in part by a PTA/OTA carry CQ (PT) or CO (OT)."""
    if (missing := _no_services(ctx, idx)) is not None:
        return missing
    pos = ctx.positions(idx)
    n = len(ctx.notes)
    lines = _lines(ctx)
    disc = _note_codes(ctx, "discipline", ("PT", "OT"))[lines.note]
    role = _note_codes(ctx, "role", ("assistant", "unknown"))[lines.note]
    is_pt = disc == 0
    # An assistant may not furnish an evaluation or re-evaluation at all (MCR-CLINICIAN-AUTHOR
    # says so): CQ or CO on one would be no fix, so those codes are not judged here.
    evaluation = lines.of_type(codes.UNTIMED_SERVICE_BASED)
    in_scope = lines.therapy & (disc >= 0) & ~evaluation
    cq, co = _has_mod(ctx, "CQ"), _has_mod(ctx, "CO")
    has_needed = np.where(is_pt, cq, co)
    wrong = in_scope & np.where(is_pt, co, cq)
    mins, amins = lines.minutes, lines.assistant_minutes
    by_role = role == 0
    with np.errstate(invalid="ignore"):
        in_part = ~by_role & (amins > params["de_minimis_pct"] / 100.0 * mins)
    # An assistant share we cannot weigh, or an author whose role we do not know.
    unsure = (
        ~by_role & ~in_part & (((amins > 0) & np.isnan(mins)) | ((role == 1) & np.isnan(amins)))
    )
    bad = (in_scope & (by_role | in_part) & ~has_needed) | wrong
    unknown = in_scope & unsure & ~has_needed & ~wrong
    applicable = _per_note(lines.note[in_scope], n)[pos]
    fail = _per_note(lines.note[bad], n)[pos]
    not_eval = _per_note(lines.note[unknown], n)[pos] & ~fail
    message, evidence = _blank(len(idx)), _blank(len(idx))
    if fail.any():
        f = np.flatnonzero(fail)
        r = np.flatnonzero(bad)
        code = lines.code(r)
        pt = is_pt[r]
        need = np.where(pt, "CQ", "CO").astype(object)
        title = np.where(pt, "a PTA", "an OTA").astype(object)
        text = code + " furnished by " + title + " (note author) but has no " + need
        part = np.flatnonzero(~by_role[r])
        if len(part):
            pct = _num(np.array([params["de_minimis_pct"]]))[0]
            text[part] = (
                code[part]
                + " furnished in part by "
                + title[part]
                + " ("
                + _num(np.nan_to_num(amins[r[part]]))
                + " of "
                + _num(np.nan_to_num(mins[r[part]]))
                + f" min, over {pct}%) but has no "
                + need[part]
            )
        w = np.flatnonzero(wrong[r])
        if len(w):
            text[w] = (
                code[w]
                + " carries "
                + np.where(pt[w], "CO", "CQ").astype(object)
                + ", the other discipline's assistant modifier; "
                + np.where(pt[w], "PT", "OT").astype(object)
                + " services take "
                + need[w]
            )
        message[f] = _join(lines.note[r], text, n)[pos[f]]
        evidence[f] = _join(lines.note[r], code, n, ", ")[pos[f]]
    return _result(
        idx,
        fail,
        message,
        evidence,
        applicable,
        not_eval,
        "cannot tell whether an assistant furnished the service (author's credential unknown, "
        "or assistant minutes without the line's minutes)",
    )


# ----------------------------------------------------------------------------------------------
# KX threshold


def _money(values: np.ndarray, decimals: int) -> np.ndarray:
    # Thousands separators have no numpy equivalent; only failing notes get here.
    return np.array([f"${v:,.{decimals}f}" for v in values], dtype=object)


@check_kind(
    "kx_threshold",
    params={
        "allowed_ratio": Param(
            (int, float),
            1.0,
            help="when allowed_amount is missing, estimate it as charge x this ratio",
        ),
        "payer_types": Param(
            list, ["medicare_b"], help="payer types whose lines count toward the threshold"
        ),
        "thresholds": Param(
            dict, {}, help="year -> threshold in USD, added to or replacing kx_thresholds.csv"
        ),
    },
    needs=("services",),
    reads=("services", "services.charge", "services.allowed_amount"),
)
def kx_threshold(ctx, idx: pd.Index, params: dict) -> CheckOutcome:
    """KX on every line once the year's PT+SLP or OT therapy amounts pass the threshold."""
    if (missing := _no_services(ctx, idx)) is not None:
        return missing
    pos = ctx.positions(idx)
    n = len(ctx.notes)
    lines = _lines(ctx)
    if not (ctx.has("services.allowed_amount") or ctx.has("services.charge")):
        return outcome(
            idx,
            np.zeros(len(idx), bool),
            applicable=_per_note(lines.note, n)[pos],
            not_evaluable=np.ones(len(idx), bool),
            not_evaluable_reason="the export has no allowed_amount or charge column in services",
        )
    notes = ctx.notes
    # Note-level facts: bucket, year, threshold, and a running-total group.
    disc = _note_codes(ctx, "discipline", ("PT", "SLP", "OT"))
    bucket = np.where(disc < 0, -1, np.where(disc == 2, 1, 0))  # PT+SLP = 0, OT = 1
    bucket_names = np.array([KX_BUCKETS["PT"], KX_BUCKETS["OT"]], dtype=object)
    dates = notes["date_of_service"].to_numpy(dtype="datetime64[ns]")
    year = pd.DatetimeIndex(dates).year.to_numpy(dtype=float)
    counted_note = (
        note_is(ctx, "payer_type", params["payer_types"]) & (bucket >= 0) & ~np.isnan(year)
    )
    table = codes.kx_thresholds()
    thresholds = dict(zip(table["year"], table["threshold_usd"], strict=True))
    overrides = {int(k): float(v) for k, v in params["thresholds"].items()}
    thresholds.update(overrides)
    secondary = set(table.loc[table["status"] != "verified", "year"]) - set(overrides)
    thr_note = np.full(n, np.nan)
    for y in np.unique(year[~np.isnan(year)]):  # a handful of calendar years
        thr_note[year == y] = thresholds.get(int(y), np.nan)
    patient = note_codes(ctx, "patient_id")[0]
    # One running total per (patient, year, bucket).
    year_i = np.nan_to_num(year, nan=0).astype(np.int64)
    group_note = (patient * 10_000 + year_i) * 2 + np.maximum(bucket, 0)
    # Notes in (group, date, load order); lines follow their note, in file order.
    note_rank = np.empty(n, dtype=np.int64)
    note_rank[np.lexsort((np.arange(n), dates.view(np.int64), group_note))] = np.arange(n)

    rows = np.flatnonzero(counted_note[lines.note])
    rows = rows[np.argsort(note_rank[lines.note[rows]], kind="stable")]
    note = lines.note[rows]
    allowed, charge = lines.allowed[rows], lines.charge[rows]
    amount = np.where(np.isnan(allowed), charge * float(params["allowed_ratio"]), allowed)
    g = group_note[note]
    # pandas' grouped cumsum (Kahan-compensated) keeps the running amounts exact as before.
    running = pd.Series(np.nan_to_num(amount)).groupby(g).cumsum().to_numpy()
    # The lines are sorted by group, so "so far in the group" is a running maximum.
    at = np.arange(len(g))
    starts = np.ones(len(g), dtype=bool)
    starts[1:] = g[1:] != g[:-1]
    group_first = np.maximum.accumulate(np.where(starts, at, 0))

    def so_far(flag: np.ndarray) -> np.ndarray:
        return np.maximum.accumulate(np.where(flag, at, -1)) >= group_first

    gaps = so_far(np.isnan(amount))
    estimated = so_far(np.isnan(allowed) & ~np.isnan(charge))
    thr = thr_note[note]
    has_kx = _has_mod(ctx, "KX")[rows]
    no_thr = np.isnan(thr)
    over = ~no_thr & (running > thr)
    bad = over & ~has_kx
    unsure = ~no_thr & ~over & gaps & ~has_kx

    applicable = counted_note[pos] & _per_note(note, n)[pos]
    fail = _per_note(note[bad], n)[pos]
    year_missing = applicable & np.isnan(thr_note[pos])
    not_eval = (year_missing | _per_note(note[unsure], n)[pos]) & ~fail
    reason = _blank(len(idx))
    reason[not_eval] = "amounts missing on earlier lines; the year-to-date total is unknown"
    ym = np.flatnonzero(year_missing)
    reason[ym] = "no KX threshold on file for " + _num(year[pos[ym]])

    message, evidence = _blank(len(idx)), _blank(len(idx))
    if fail.any():
        f = np.flatnonzero(fail)
        b = np.flatnonzero(bad)
        reached = np.full(n, -np.inf)
        np.maximum.at(reached, note[b], running[b])
        est = _per_note(note[b[estimated[b]]], n)
        b = b[_first_per(note[b], lines.code_id[rows[b]])]
        codes_txt = _join(note[b], lines.code(rows[b]), n, ", ")
        p = pos[f]
        ratio = _num(np.array([params["allowed_ratio"]]))[0]
        year_txt = _num(year[p])
        text = bucket_names[bucket[p]] + " allowed amounts for " + year_txt
        text[est[p]] = text[est[p]] + f" (estimated as charge x {ratio})"
        text = (
            text
            + " reached "
            + _money(reached[p], 2)
            + ", over the "
            + year_txt
            + " threshold of "
            + _money(thr_note[p], 0)
        )
        sec = np.isin(year[p], list(secondary))
        text[sec] = text[sec] + " (a figure from secondary sources)"
        several = np.char.find(codes_txt[p].astype(str), ",") >= 0
        message[f] = (
            text + "; " + codes_txt[p] + np.where(several, " lack KX", " lacks KX").astype(object)
        )
        evidence[f] = codes_txt[p]
    return _result(idx, fail, message, evidence, applicable, not_eval, reason)


# ----------------------------------------------------------------------------------------------
# Documented minutes


@check_kind(
    "timed_minutes_documented",
    topic="timed units",
    needs=("services",),
    reads=("services", "services.minutes", "notes.total_timed_minutes"),
)
def timed_minutes_documented(ctx, idx: pd.Index, params: dict) -> CheckOutcome:
    """Notes billing timed codes document the total timed minutes, no fewer than the lines'."""
    if (missing := _no_services(ctx, idx)) is not None:
        return missing
    pos = ctx.positions(idx)
    n = len(ctx.notes)
    nt = _note_timed(ctx)
    applicable = nt.n_timed[pos] > 0
    if not (ctx.has("notes.total_timed_minutes") or ctx.has("services.minutes")):
        return outcome(
            idx,
            np.zeros(len(idx), bool),
            applicable=applicable,
            not_evaluable=np.ones(len(idx), bool),
            not_evaluable_reason="the export has no timed-minutes column "
            "(notes.total_timed_minutes or services.minutes)",
        )
    undocumented = applicable & np.isnan(nt.minutes[pos])
    # Billing and the documented total must agree: minutes on the charge lines beyond the
    # note's total are billed time the note does not support.
    over = applicable & nt.over_total[pos]
    message, evidence = _blank(len(idx)), _blank(len(idx))
    lines = _lines(ctx)
    if undocumented.any():
        f = np.flatnonzero(undocumented)
        r = np.flatnonzero(lines.timed)
        r = r[_first_per(lines.note[r], lines.code_id[r])]
        codes_txt = _join(lines.note[r], lines.code(r), n, ", ")[pos[f]]
        evidence[f] = codes_txt
        message[f] = (
            "timed codes billed (" + codes_txt + ") but the total timed minutes are not documented"
        )
    if over.any():
        o = np.flatnonzero(over)
        p = pos[o]
        wanted = np.zeros(n, dtype=bool)
        wanted[p] = True
        r = np.flatnonzero(lines.timed & wanted[lines.note])
        listed = _join(lines.note[r], _line_text(lines, r), n)[p]
        on_lines = nt.known_line_minutes[p]
        total = _floats(ctx.notes["total_timed_minutes"])[p]
        at_least = np.where(np.isnan(nt.line_minutes[p]), "at least ", "").astype(object)
        message[o] = (
            "the charge lines record "
            + at_least
            + _num(on_lines)
            + " timed minutes ("
            + listed
            + ") but the note documents "
            + _num(total)
            + ": "
            + _num(on_lines - total)
            + " billed minutes the note does not support"
        )
        evidence[o] = "total timed " + _num(total) + " min; " + listed
    return _result(idx, undocumented | over, message, evidence, applicable)


@check_kind(
    "total_time_documented",
    topic="timed units",
    needs=("notes.total_treatment_minutes",),
    reads=(
        "services",
        "services.minutes",
        "notes.total_timed_minutes",
        "notes.total_treatment_minutes",
    ),
)
def total_time_documented(ctx, idx: pd.Index, params: dict) -> CheckOutcome:
    """Total treatment time documented and not less than the timed minutes."""
    pos = ctx.positions(idx)
    n = len(ctx.notes)
    if ctx.table("services") is not None:
        applicable = _per_note(_lines(ctx).note, n)[pos]
        timed = _note_timed(ctx).minutes[pos]
    else:
        applicable = np.ones(len(idx), dtype=bool)
        timed = _floats(ctx.notes["total_timed_minutes"])[pos]
    if not ctx.has("notes.total_treatment_minutes"):
        return outcome(
            idx,
            np.zeros(len(idx), bool),
            applicable=applicable,
            not_evaluable=np.ones(len(idx), bool),
            not_evaluable_reason="the export has no total_treatment_minutes column",
        )
    total = _floats(ctx.notes["total_treatment_minutes"])[pos]
    missing = applicable & np.isnan(total)
    short = applicable & ~np.isnan(total) & ~np.isnan(timed) & (total < timed)
    message, evidence = _blank(len(idx)), _blank(len(idx))
    message[missing] = "total treatment time not documented"
    if short.any():
        s = np.flatnonzero(short)
        message[s] = (
            "total treatment time of "
            + _num(total[s])
            + " min is less than the "
            + _num(timed[s])
            + " timed minutes"
        )
        evidence[s] = "total " + _num(total[s]) + " min; timed " + _num(timed[s]) + " min"
    return _result(idx, missing | short, message, evidence, applicable)


# ----------------------------------------------------------------------------------------------
# Every billed service described in the note (CHK-TX-03)

# Bytes of the interventions section searched first: most services are named early on.
HEAD_BYTES = 128


def _intervention_terms(params: dict) -> dict[str, codes.Intervention]:
    """Per code, how a note describes it: interventions.yaml with the item's extra_terms added
    (a code not there is judged on them alone) and its skip_codes left out."""
    terms = codes.interventions()
    for code, extra in params["extra_terms"].items():
        code = str(code).strip().upper()
        patterns = (extra,) if isinstance(extra, str) else tuple(extra)
        check_patterns(list(patterns), f"extra_terms.{code}")
        if code in terms:
            terms[code] = terms[code]._replace(patterns=terms[code].patterns + patterns)
        else:
            terms[code] = codes.Intervention("", "", patterns)
    for code in params["skip_codes"]:
        terms.pop(str(code).strip().upper(), None)
    return terms


_EVALUATION_NOTES = ["evaluation", "re_evaluation", "recertification"]


@check_kind(
    "intervention_described",
    params={
        "extra_terms": Param(
            dict,
            {},
            help="code -> pattern or list of patterns that also describe the service, added to "
            "the built-in words (data/interventions.yaml); a code not there is judged on these",
        ),
        "skip_codes": Param(list, [], help="codes not judged"),
    },
    needs=("services",),
    reads=("services",),
)
def intervention_described(ctx, idx: pd.Index, params: dict) -> CheckOutcome:
    """Every billed service is described in the note in words comparable to its code."""
    if (missing := _no_services(ctx, idx)) is not None:
        return missing
    terms = _intervention_terms(params)
    pos = ctx.positions(idx)
    n = len(ctx.notes)
    lines = _lines(ctx)
    # Codes described by the same words (the evaluation codes, 97129 and 97130) form one
    # group of words, searched once per note.
    words: dict[tuple[str, ...], int] = {}
    group_of_code = np.array(
        [
            words.setdefault(terms[c].patterns, len(words)) if c in terms else -1
            for c in lines.code_names
        ],
        dtype=np.int16 if len(lines.code_names) < 2**15 else np.int64,
    )
    group = group_of_code[lines.code_id]
    judged = group >= 0
    if len(pos) < n:
        wanted = np.zeros(n, dtype=bool)
        wanted[pos] = True
        judged &= wanted[lines.note]
    rows = np.flatnonzero(judged)
    applicable = _per_note(lines.note[rows], n)[pos]
    no_text, reason = not_evaluable_for_text(ctx, idx)
    not_eval = applicable & no_text
    if not_eval.any():
        unreadable = np.zeros(n, dtype=bool)
        unreadable[pos[not_eval]] = True
        rows = rows[~unreadable[lines.note[rows]]]
    # An evaluation or re-evaluation code billed on the evaluation (re-evaluation,
    # recertification) note itself: the document is the service, whatever its words.
    evaluation_code = np.array(
        [c in terms and terms[c].describes.endswith("evaluation") for c in lines.code_names],
        dtype=bool,
    )
    evaluation_note = ctx.notes["note_type"].isin(_EVALUATION_NOTES).to_numpy()
    rows = rows[~(evaluation_code[lines.code_id[rows]] & evaluation_note[lines.note[rows]])]
    evaluation = _evaluation_groups(lines, group_of_code, len(words))
    missing_key = _not_found(ctx, lines, rows, group, list(words), evaluation)
    fail = _per_note(missing_key % n, n)[pos]
    f = np.flatnonzero(fail)
    message, evidence = _blank(len(f)), _blank(len(f))
    if len(f):
        # The lines of the failing notes whose group of words was not found.
        failing = np.zeros(n, dtype=bool)
        failing[pos[f]] = True
        r = np.flatnonzero((group >= 0) & failing[lines.note])
        line_key = group[r].astype(np.int64) * n + lines.note[r]
        at = np.minimum(np.searchsorted(missing_key, line_key), len(missing_key) - 1)
        r = r[missing_key[at] == line_key]
        r = r[_first_per(lines.note[r], lines.code_id[r])]
        code = lines.code(r)
        which, distinct = pd.factorize(code)
        text = np.array([_not_described(c, terms[c]) for c in distinct], dtype=object)
        number = np.zeros(n, dtype=np.int64)  # of the failing notes, 0.. in f
        number[pos[f]] = np.arange(len(f))
        message = _join(number[lines.note[r]], text[which], len(f))
        evidence = _join(number[lines.note[r]], code, len(f), ", ")
    out = outcome(
        idx, fail, applicable=applicable, not_evaluable=not_eval, not_evaluable_reason=reason
    )
    # Messages for the failing and not-evaluable notes only: a million-row column of blanks
    # for the notes that pass would cost more than the messages.
    ne = np.flatnonzero(out.status.to_numpy() == Status.NOT_EVALUABLE)
    out.message = pd.Series(
        np.concatenate([message, np.full(len(ne), reason, dtype=object)]),
        index=idx[np.r_[f, ne]],
        dtype=object,
    )
    out.evidence = pd.Series(evidence, index=idx[f], dtype=object)
    return out


def _not_found(
    ctx,
    lines: _Lines,
    rows: np.ndarray,
    group: np.ndarray,
    patterns: list[tuple[str, ...]],
    evaluation: np.ndarray,
) -> np.ndarray:
    """Sorted keys group * notes + note of the (note, group of words) pairs billed on `rows`
    whose words the note does not contain.

    Each group's notes are searched in one pass of its patterns (one regular expression call
    per group and place). Services are named in the interventions section, most of them early
    on: the first HEAD_BYTES of the objective (of the narrative, without sections) settle most
    notes and only the rest are searched in the whole narrative. An evaluation is described
    in the evaluation's own words (assessment, prognosis), not among the interventions: the
    narrative at once.
    """
    n = len(ctx.notes)
    line_group = group[rows]
    # The notes of each group, ascending: the lines by group (a radix sort of 16-bit ids,
    # stable, so the notes keep their order within a group).
    billed_by_group = lines.note[rows[np.argsort(line_group, kind="stable")]]
    count = np.bincount(line_group, minlength=len(patterns))
    end = np.cumsum(count)
    texts, first = _texts(ctx)
    places = [(first, HEAD_BYTES), ("narrative", None)]
    keys = []
    for g in np.flatnonzero(count):
        billed = billed_by_group[end[g] - count[g] : end[g]]
        if (billed[1:] <= billed[:-1]).any():  # lines out of note order, or a code twice
            billed = np.unique(billed)
        missing = np.ones(len(billed), dtype=bool)
        for column, limit in places[1:] if evaluation[g] else places:
            look = np.flatnonzero(missing)
            if not len(look):
                break
            missing[look] = ~matches(texts.take(column, billed[look], limit), patterns[g])
        keys.append(np.int64(g) * n + billed[missing])  # ascending: by group, then note
    return np.concatenate(keys) if keys else np.zeros(0, np.int64)


def _evaluation_groups(lines: _Lines, group_of_code: np.ndarray, size: int) -> np.ndarray:
    """Per group of words: all its codes are evaluations (service-based codes)."""
    evaluation = np.ones(size, dtype=bool)
    known = group_of_code >= 0
    np.logical_and.at(
        evaluation, group_of_code[known], lines.code_btype[known] == codes.UNTIMED_SERVICE_BASED
    )
    return evaluation


def _texts(ctx) -> tuple[TextGather, str]:
    """Copies of the notes' narratives and objective sections, and the column searched first
    (the objective, or the narrative when the export has no sections)."""
    columns = {"narrative": narrative_arrow(ctx)}
    first = "narrative"
    if ctx.has("notes.objective"):
        columns["objective"] = section_arrow(ctx, "objective")
        first = "objective"
    return TextGather(columns), first


def _not_described(code: str, service: codes.Intervention) -> str:
    named = f"{code} ({service.name})" if service.name else code
    if not service.describes:  # a code only the checklist's extra_terms describe
        return f"{named} billed, but the note has none of the checklist's words for it"
    return f"{named} billed, but the note describes no {service.describes}"
