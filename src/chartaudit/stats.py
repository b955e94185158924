"""Compliance rates with counts and 95% Wilson intervals: overall, per therapist/item/month."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .audit import AuditResult
from .model import Status

Z95 = 1.959963984540054


def wilson(
    passed: np.ndarray | pd.Series | int, total: np.ndarray | pd.Series | int, z: float = Z95
) -> tuple[np.ndarray, np.ndarray]:
    """95% Wilson score interval for passed/total; NaN where total is 0."""
    k = np.asarray(passed, dtype=float)
    n = np.asarray(total, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        denom = 1 + z**2 / n
        centre = (p + z**2 / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
        low = np.where(n > 0, np.clip(centre - half, 0, 1), np.nan)
        high = np.where(n > 0, np.clip(centre + half, 0, 1), np.nan)
    return low, high


def _rates(frame: pd.DataFrame) -> pd.DataFrame:
    """Add rate, ci_low, ci_high to a frame with passed and failed counts."""
    total = frame["passed"] + frame["failed"]
    with np.errstate(invalid="ignore", divide="ignore"):
        frame["rate"] = np.where(total > 0, frame["passed"] / total.where(total > 0, 1), np.nan)
    frame["ci_low"], frame["ci_high"] = wilson(frame["passed"], total)
    return frame


def slugify(name: str) -> str:
    """A safe file name from a therapist's name: ASCII letters, digits and dashes only."""
    text = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode()
    text = re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()
    return text[:60].strip("-") or "therapist"


def unique_slugs(names: pd.Series) -> pd.Series:
    """Slugs for distinct display names; collisions get -2, -3 …"""
    seen: dict[str, int] = {}
    out = {}
    for name in names:
        base = slugify(name)
        count = seen.get(base, 0) + 1
        seen[base] = count
        out[name] = base if count == 1 else f"{base}-{count}"
    return names.map(out)


@dataclass
class Stats:
    """The statistics every report shows, computed once from an AuditResult."""

    overall: dict
    therapists: pd.DataFrame  # therapist_id, therapist, slug, discipline(s), notes, counts, rates
    items: pd.DataFrame  # item_id, title, severity, checklist, applicable, passed, failed, ...
    disciplines: pd.DataFrame
    matrix: pd.DataFrame  # therapist_id x item_id rates (NaN where nothing applicable)
    matrix_counts: pd.DataFrame  # long: therapist_id, item_id, passed, failed, ..., rate, ci
    months: pd.DataFrame  # month, therapist_id ('' = all), passed, failed, rate, ci
    note_counts: pd.DataFrame  # per note (in scope): applicable, passed, failed, ...


def compute(result: AuditResult) -> Stats:
    notes = result.notes.loc[result.scope]
    status = result.status.loc[result.scope].to_numpy()
    passed = status == Status.PASS
    failed = status == Status.FAIL
    ne = status == Status.NOT_EVALUABLE
    per_note = pd.DataFrame(
        {
            "passed": passed.sum(axis=1),
            "failed": failed.sum(axis=1),
            "not_evaluable": ne.sum(axis=1),
        },
        index=notes.index,
    )
    per_note["applicable"] = per_note["passed"] + per_note["failed"] + per_note["not_evaluable"]
    total = per_note["passed"] + per_note["failed"]
    per_note["score"] = (per_note["passed"] / total.where(total > 0)).round(4)

    items = result.items
    severities = np.array([i.severity for i in items])
    crit_cols = severities == "critical"
    per_note["critical"] = failed[:, crit_cols].sum(axis=1) if crit_cols.any() else 0
    for sev in ("critical", "high", "medium", "low"):
        cols = severities == sev
        per_note[f"failed_{sev}"] = failed[:, cols].sum(axis=1) if cols.any() else 0

    item_frame = pd.DataFrame(
        {
            "item_id": [i.id for i in items],
            "title": [i.title for i in items],
            "severity": [i.severity for i in items],
            "checklist": [i.checklist for i in items],
            "passed": passed.sum(axis=0),
            "failed": failed.sum(axis=0),
            "not_evaluable": ne.sum(axis=0),
        }
    )
    item_frame["applicable"] = (
        item_frame["passed"] + item_frame["failed"] + item_frame["not_evaluable"]
    )
    item_frame["not_evaluable_reason"] = item_frame["item_id"].map(
        lambda i: "; ".join(result.not_evaluable.get(i, {}).keys())
    )
    item_frame = _rates(item_frame)

    key = notes["therapist_id"].astype(str).to_numpy()
    grouped = per_note.groupby(key, sort=False)
    sums = grouped[
        [
            "passed",
            "failed",
            "not_evaluable",
            "critical",
            "failed_critical",
            "failed_high",
            "failed_medium",
            "failed_low",
        ]
    ].sum()
    sums["notes"] = grouped.size()
    names = notes.groupby(key, sort=False)["therapist"].first()
    disciplines = notes.groupby(key, sort=False)["discipline"].agg(
        lambda s: ", ".join(sorted(s.dropna().unique()))
    )
    roles = notes.groupby(key, sort=False)["role"].agg(lambda s: s.mode().iat[0] if len(s) else "")
    credentials = notes.groupby(key, sort=False)["credential"].agg(
        lambda s: s.mode().iat[0] if s.notna().any() else ""
    )
    therapists = sums.reset_index(names="therapist_id")
    therapists.insert(1, "therapist", therapists["therapist_id"].map(names))
    therapists["discipline"] = therapists["therapist_id"].map(disciplines)
    therapists["role"] = therapists["therapist_id"].map(roles)
    therapists["credential"] = therapists["therapist_id"].map(credentials)
    therapists = _rates(therapists)
    # A therapist's name is not unique (two "J. Smith"); the slug is, and is a safe file name.
    label = (
        therapists["therapist"]
        .astype(str)
        .where(
            ~therapists["therapist"].duplicated(keep=False),
            therapists["therapist"].astype(str) + " " + therapists["therapist_id"].astype(str),
        )
    )
    therapists["slug"] = unique_slugs(label)
    therapists = therapists.sort_values(
        ["rate", "therapist"], na_position="last", ignore_index=True
    )

    disc = per_note.groupby(notes["discipline"].to_numpy(), sort=True)[
        ["passed", "failed", "not_evaluable"]
    ].sum()
    disc["notes"] = per_note.groupby(notes["discipline"].to_numpy()).size()
    disc = _rates(disc.reset_index(names="discipline"))

    # therapist x item counts
    ids = [i.id for i in items]
    pass_df = pd.DataFrame(passed, columns=ids).groupby(key, sort=False).sum()
    fail_df = pd.DataFrame(failed, columns=ids).groupby(key, sort=False).sum()
    ne_df = pd.DataFrame(ne, columns=ids).groupby(key, sort=False).sum()
    tot = pass_df + fail_df
    matrix = pass_df / tot.where(tot > 0)
    long = pd.DataFrame(
        {
            "therapist_id": np.repeat(pass_df.index.to_numpy(), len(ids)),
            "item_id": np.tile(ids, len(pass_df)),
            "passed": pass_df.to_numpy().ravel(),
            "failed": fail_df.to_numpy().ravel(),
            "not_evaluable": ne_df.to_numpy().ravel(),
        }
    )
    long = _rates(long)

    month = notes["date_of_service"].dt.to_period("M").astype(str).to_numpy()
    by_month = per_note.groupby(month)[["passed", "failed"]].sum().reset_index(names="month")
    by_month["therapist_id"] = ""
    by_month_t = (
        per_note.groupby([month, key])[["passed", "failed"]]
        .sum()
        .reset_index(names=["month", "therapist_id"])
    )
    months = _rates(pd.concat([by_month, by_month_t], ignore_index=True))

    total_pass = int(passed.sum())
    total_fail = int(failed.sum())
    low, high = wilson(total_pass, total_pass + total_fail)
    overall = {
        "notes": int(len(notes)),
        "therapists": int(len(therapists)),
        "patients": int(notes["patient_id"].nunique()),
        "episodes": int(notes["episode_id"].nunique()),
        "applicable": int(total_pass + total_fail + ne.sum()),
        "passed": total_pass,
        "failed": total_fail,
        "not_evaluable": int(ne.sum()),
        "findings": total_fail,
        "critical_findings": int(per_note["critical"].sum()),
        # The stricter figure quality leads also quote: notes with no finding at all.
        "notes_without_findings": int((per_note["failed"] == 0).sum()),
        "notes_without_findings_rate": (
            float((per_note["failed"] == 0).mean()) if len(per_note) else None
        ),
        "rate": (total_pass / (total_pass + total_fail)) if total_pass + total_fail else None,
        "ci_low": None if np.isnan(low) else float(low),
        "ci_high": None if np.isnan(high) else float(high),
        "period_start": _date(notes["date_of_service"].min()),
        "period_end": _date(notes["date_of_service"].max()),
    }
    return Stats(
        overall=overall,
        therapists=therapists,
        items=item_frame,
        disciplines=disc,
        matrix=matrix,
        matrix_counts=long,
        months=months,
        note_counts=per_note,
    )


def _date(value) -> str | None:
    return None if pd.isna(value) else pd.Timestamp(value).date().isoformat()
