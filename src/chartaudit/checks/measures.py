"""Outcome-measure check kinds: a baseline at evaluation, and the same instrument repeated later.

Measures come from the measures table and from instrument names with a score in the note text
(both count: a score written in the narrative is documented). Instruments are canonicalised
through ``chartaudit.instruments`` so "Oswestry" at baseline matches "ODI" at discharge.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..instruments import canonical_instrument, find_instruments_in_text, load_thresholds
from ..model import REPORT_NOTE_TYPES
from .registry import CheckOutcome, Param, check_kind, outcome
from .text import blank_text, narrative, text_exported

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
            notes = ctx.notes
            due = notes["note_type"].isin(REPORT_NOTE_TYPES).to_numpy(dtype=bool, copy=True)
            if frames:
                due &= ~np.isin(np.arange(len(notes)), frames[0]["pos"].to_numpy())
            text = narrative(ctx)[due]
            found = find_instruments_in_text(text[text != ""], th)
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
    pos = ctx.positions(idx)
    has = np.isin(pos, events["pos"].to_numpy())
    ne, reason = _not_evaluable(ctx, idx, use_text)
    fail = ~has & ~ne
    where = "the measures table or the note text" if use_text else "the measures table"
    message = pd.Series(None, index=idx, dtype=object)
    evidence = pd.Series(None, index=idx, dtype=object)
    message[fail] = f"No standardized outcome measure with a score found in {where}"
    evidence[fail] = "no outcome measure"
    return outcome(
        idx, fail, message, evidence, not_evaluable=ne & ~has, not_evaluable_reason=reason
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
    notes = ctx.notes
    pos = ctx.positions(idx)
    episode = notes["episode_id"].fillna("").astype(str).to_numpy()
    dates = notes["date_of_service"].to_numpy(dtype="datetime64[ns]")
    ev = events.assign(ep=episode[events["pos"]], date=dates[events["pos"]])
    # Baseline: the instruments of the episode's earliest note that has any measure.
    first = ev.sort_values(["date", "pos"]).drop_duplicates("ep")[["ep", "pos", "date"]]
    first = first.rename(columns={"pos": "base_pos", "date": "base_date"})
    base = ev.merge(first, on="ep")
    base = base[base["pos"] == base["base_pos"]]
    targets = pd.DataFrame({"label": idx, "pos": pos, "ep": episode[pos], "date": dates[pos]})
    targets = targets.merge(first, on="ep", how="left")
    has_base = targets["base_pos"].notna() & (
        (targets["date"] > targets["base_date"])
        | ((targets["date"] == targets["base_date"]) & (targets["pos"] > targets["base_pos"]))
    )
    # Which baseline instruments each target note repeats.
    pairs = targets[has_base][["label", "pos", "ep"]].merge(
        base[["ep", "instrument", "score", "date", "text"]], on="ep"
    )
    done = pd.MultiIndex.from_arrays([events["pos"], events["instrument"]])
    pairs["repeated"] = pd.MultiIndex.from_arrays([pairs["pos"], pairs["instrument"]]).isin(done)
    per = (
        pairs.groupby("label")
        .agg(n=("repeated", "size"), done=("repeated", "sum"))
        .reindex(idx, fill_value=0)
    )
    need_all = bool(params["require_all"])
    ok = per["done"] >= per["n"] if need_all else per["done"] > 0
    applicable = has_base.to_numpy()
    ne, reason = _not_evaluable(ctx, idx, use_text)
    ne = ne & applicable
    fail = applicable & ~ok.to_numpy() & ~ne
    message = pd.Series(None, index=idx, dtype=object)
    evidence = pd.Series(None, index=idx, dtype=object)
    if fail.any():
        missing = pairs[~pairs["repeated"] & pairs["label"].isin(idx[fail])].copy()
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
