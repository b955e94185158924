"""Outcome-measure check kinds: a baseline at evaluation, and the same instrument repeated later.

Measures come from the measures table and from instrument names with a score in the note text
(both count: a score written in the narrative is documented). Instruments are canonicalised
through ``chartaudit.instruments`` so "Oswestry" at baseline matches "ODI" at discharge.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..instruments import canonical_instrument, find_instruments_in_text, load_thresholds
from ..model import REPORT_NOTE_TYPES
from .episodes import merge_pairs, note_codes, note_is
from .registry import CheckOutcome, Param, check_kind, outcome
from .text import blank_text, instrumental_study, narrative_arrow, text_exported

EVENT_COLUMNS = ["pos", "instrument", "score", "source", "text"]


def thresholds(ctx) -> pd.DataFrame | None:
    """The instrument table for this run: ctx.options['instruments'] (path or frame) or built in."""
    option = ctx.options.get("instruments")
    if option is None:
        return None
    if isinstance(option, pd.DataFrame):
        return option
    return ctx.cached("measures.thresholds", lambda: load_thresholds(option))


def measure_events(ctx, use_text: bool = True) -> pd.DataFrame:
    """Every outcome-measure administration attributed to a note.

    Columns: pos (row position of the note), instrument (canonical name, or the name as
    written, lower-cased, when the instrument is not in the table), score, source
    ('measures' | 'text'), text (the name and score as written in the note, for text hits).
    """

    def build(with_text: bool) -> pd.DataFrame:
        frames = []
        table = ctx.table("measures")
        th = thresholds(ctx)
        if table is not None and len(table):
            m = table[table["score"].notna() & table["measure"].notna()]
            pos = pd.to_numeric(m["note_idx"], errors="coerce")
            m = m[pos.notna()]
            raw = m["measure"].astype(str).str.strip()
            canon = canonical_instrument(raw, th)
            frames.append(
                pd.DataFrame(
                    {
                        "pos": pos[pos.notna()].astype(np.int64).to_numpy(),
                        "instrument": canon.fillna(raw.str.lower()).to_numpy(),
                        "score": m["score"].astype("float64").to_numpy(),
                        "source": "measures",
                        "text": raw.to_numpy(),
                    }
                )
            )
        if with_text and text_exported(ctx):
            # Text is only read where the table has no measure for a report-type note (where
            # outcome measures are due): reading every daily note's text costs minutes at 1M.
            due = note_is(ctx, "note_type", REPORT_NOTE_TYPES)
            if frames:
                due[_valid(frames[0]["pos"].to_numpy(), len(due))] = False
            rows = np.flatnonzero(due)
            text = narrative_arrow(ctx).take(pa.array(rows))
            written = pc.greater(pc.binary_length(text), 0).to_numpy()
            text = pd.Series(
                pd.arrays.ArrowStringArray(text.filter(written)),
                index=ctx.notes.index[rows[written]],
            )
            found = find_instruments_in_text(text, th)
            if len(found):
                frames.append(
                    pd.DataFrame(
                        {
                            "pos": ctx.notes.index.get_indexer(found["row"]),
                            "instrument": found["instrument"].to_numpy(),
                            "score": found["score"].to_numpy(),
                            "source": "text",
                            "text": found["text"].to_numpy(),
                        }
                    )
                )
        if not frames:
            return pd.DataFrame({c: pd.Series(dtype=object) for c in EVENT_COLUMNS}).astype(
                {"pos": np.int64, "score": "float64"}
            )
        events = pd.concat(frames, ignore_index=True)
        return events.drop_duplicates(["pos", "instrument"]).reset_index(drop=True)

    return ctx.cached(f"measures.events:{use_text}", lambda: build(use_text))


def _valid(pos: np.ndarray, n: int) -> np.ndarray:
    """The positions in `pos` that are rows of a table of `n` rows."""
    return pos[(pos >= 0) & (pos < n)]


def _measured(ctx, events: pd.DataFrame) -> np.ndarray:
    """Boolean per note: some event is attributed to it."""
    has = np.zeros(len(ctx.notes), dtype=bool)
    has[_valid(events["pos"].to_numpy(), len(has))] = True
    return has


def _not_evaluable(ctx, idx: pd.Index, use_text: bool) -> tuple[np.ndarray, str]:
    """Notes for which neither a measures table nor text could show a measure, and why."""
    if ctx.table("measures") is not None:
        return np.zeros(len(idx), dtype=bool), ""
    if not use_text:
        return np.ones(len(idx), dtype=bool), "the export has no measures table"
    if not text_exported(ctx):
        reason = "the export has neither a measures table nor note text"
        return np.ones(len(idx), dtype=bool), reason
    return blank_text(ctx, idx), "the export has no measures table and the note has no text"


@check_kind(
    "outcome_baseline",
    params={
        "count_text_mentions": Param(
            bool, True, help="an instrument named with a score in the note text counts"
        ),
    },
)
def outcome_baseline(ctx, idx: pd.Index, params: dict[str, Any]) -> CheckOutcome:
    """Evaluations record a standardized outcome measure with a score (the baseline)."""
    use_text = bool(params["count_text_mentions"])
    events = measure_events(ctx, use_text)
    has = _measured(ctx, events)[ctx.positions(idx)]
    ne, reason = _not_evaluable(ctx, idx, use_text)
    fail = ~has & ~ne
    where = "the measures table or the note text" if use_text else "the measures table"
    message = pd.Series(None, index=idx, dtype=object)
    evidence = pd.Series(None, index=idx, dtype=object)
    message[fail] = f"No standardized outcome measure with a score found in {where}"
    evidence[fail] = "no outcome measure"
    # An instrumental swallow study report records no baseline (see instrumental_study).
    return outcome(
        idx,
        fail,
        message,
        evidence,
        applicable=~instrumental_study(ctx)[ctx.positions(idx)],
        not_evaluable=ne & ~has,
        not_evaluable_reason=reason,
    )


@check_kind(
    "outcome_repeat",
    params={
        "count_text_mentions": Param(
            bool, True, help="an instrument named with a score in the note text counts"
        ),
        "require_all": Param(
            bool, False, help="every baseline instrument must be repeated (default: at least one)"
        ),
    },
)
def outcome_repeat(ctx, idx: pd.Index, params: dict[str, Any]) -> CheckOutcome:
    """Progress reports, re-evaluations and discharges repeat a baseline outcome measure."""
    use_text = bool(params["count_text_mentions"])
    events = measure_events(ctx, use_text)
    pos = ctx.positions(idx)
    codes, distinct = note_codes(ctx, "episode_id")
    episode = codes + 1  # 0: the notes without an episode, taken as one
    dates = ctx.notes["date_of_service"].to_numpy(dtype="datetime64[ns]")
    ev_pos = events["pos"].to_numpy()
    ev_ep, ev_date = episode[ev_pos], dates[ev_pos]
    # Baseline: the instruments of the episode's earliest note that has any measure.
    order = np.lexsort((ev_pos, ev_date, ev_ep))
    first = order[np.r_[True, ev_ep[order][1:] != ev_ep[order][:-1]]] if len(order) else order
    base_pos = np.full(len(distinct) + 1, -1)
    base_pos[ev_ep[first]] = ev_pos[first]
    base_date = np.full(len(distinct) + 1, np.datetime64("NaT", "ns"))
    base_date[ev_ep[first]] = ev_date[first]
    base = np.flatnonzero(ev_pos == base_pos[ev_ep])  # events of the baseline notes
    bp, bd = base_pos[episode[pos]], base_date[episode[pos]]
    date = dates[pos]
    has_base = (bp >= 0) & ((date > bd) | ((date == bd) & (pos > bp)))
    # Which baseline instruments each target note repeats: (target, baseline event) pairs.
    target, paired = merge_pairs(np.where(has_base, episode[pos], -1), ev_ep[base])
    paired = base[paired]
    instrument = pd.factorize(events["instrument"])[0] + 1
    width = int(instrument.max()) + 1 if len(instrument) else 1
    repeated = np.isin(pos[target] * width + instrument[paired], ev_pos * width + instrument)
    n = np.bincount(target, minlength=len(idx))
    done = np.bincount(target, weights=repeated, minlength=len(idx))
    need_all = bool(params["require_all"])
    ok = done >= n if need_all else done > 0
    applicable = has_base
    ne, reason = _not_evaluable(ctx, idx, use_text)
    ne = ne & applicable
    fail = applicable & ~ok & ~ne
    message = pd.Series(None, index=idx, dtype=object)
    evidence = pd.Series(None, index=idx, dtype=object)
    if fail.any():
        m = ~repeated & fail[target]
        e = paired[m]
        missing = pd.DataFrame(
            {
                "label": idx[target[m]],
                "instrument": events["instrument"].to_numpy()[e],
                "score": events["score"].to_numpy()[e],
                "date": ev_date[e],
            }
        )
        score = missing["score"].map(lambda v: f"{v:g}")
        missing["desc"] = (
            missing["instrument"]
            + " "
            + score
            + " on "
            + pd.to_datetime(missing["date"]).dt.strftime("%Y-%m-%d")
        )
        listed = missing.groupby("label")["desc"].agg("; ".join)
        names = missing.groupby("label")["instrument"].agg(", ".join)
        message[fail] = "Baseline measure not repeated: " + listed.reindex(idx[fail]).to_numpy()
        evidence[fail] = "not repeated: " + names.reindex(idx[fail]).to_numpy()
    return outcome(
        idx,
        fail,
        message,
        evidence,
        applicable=applicable,
        not_evaluable=ne,
        not_evaluable_reason=reason,
    )
