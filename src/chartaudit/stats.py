"""Compliance rates with counts and 95% Wilson intervals: overall, per therapist/item/month."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .audit import Attribution, AuditResult, finding_severity
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


# Device names Windows reserves with any extension ("con.html" cannot be opened or unzipped).
WINDOWS_RESERVED = frozenset(
    ["CON", "PRN", "AUX", "NUL"] + [f"{d}{i}" for d in ("COM", "LPT") for i in range(10)]
)


def not_reserved(stem: str, tag: str) -> str:
    """`stem` with `tag` added to its first part when that part is a Windows device name."""
    base, dot, rest = stem.partition(".")
    return f"{base}{tag}{dot}{rest}" if base.upper() in WINDOWS_RESERVED else stem


def slugify(name: str) -> str:
    """A safe file name from a therapist's name: ASCII letters, digits and dashes only."""
    text = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode()
    text = re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()
    return not_reserved(text[:60].strip("-") or "therapist", "-therapist")


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
    therapists: pd.DataFrame  # therapist_id, therapist, slug, label, discipline(s), notes, rates
    items: pd.DataFrame  # item_id, title, severity, checklist, applicable, passed, failed, ...
    disciplines: pd.DataFrame
    matrix: pd.DataFrame  # therapist_id x item_id rates (NaN where nothing applicable)
    matrix_counts: pd.DataFrame  # long: therapist_id, item_id, passed, failed, ..., rate, ci
    months: pd.DataFrame  # month, therapist_id ('' = all), notes and status counts, rate, ci
    note_counts: pd.DataFrame  # per note (in scope): applicable, passed, failed, ...


def _by_group(codes: np.ndarray, k: int, values: np.ndarray) -> np.ndarray:
    """Sum of `values` per group code 0..k-1, as int64."""
    return np.bincount(codes, weights=values, minlength=k).astype(np.int64)


def _pairs(codes: np.ndarray, values: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct (group, value) pairs of the non-NA values with their counts, sorted by
    group then value: (group codes, values as str, counts)."""
    value_codes, uniques = pd.factorize(values, sort=True)
    known = value_codes >= 0
    width = max(len(uniques), 1)
    pairs, counts = np.unique(codes[known] * width + value_codes[known], return_counts=True)
    group, value = np.divmod(pairs, width)
    return group, np.asarray(uniques, dtype=object)[value], counts


def _most_common(codes: np.ndarray, k: int, values: pd.Series) -> np.ndarray:
    """Per group the most frequent non-NA value, the smallest on a tie (Series.mode()[0]);
    "" when a group has none."""
    group, value, counts = _pairs(codes, values)
    order = np.lexsort((-counts, group))  # stable: values stay sorted within a count
    group, value = group[order], value[order]
    first = np.r_[True, group[1:] != group[:-1]]
    out = np.full(k, "", dtype=object)
    out[group[first]] = value[first]
    return out


def _joined(codes: np.ndarray, k: int, values: pd.Series) -> list[str]:
    """Per group its distinct non-NA values, sorted and joined with ", "."""
    out: list[list[str]] = [[] for _ in range(k)]
    group, value, _ = _pairs(codes, values)
    for g, v in zip(group.tolist(), value.tolist(), strict=True):  # one per distinct pair
        out[g].append(v)
    return [", ".join(v) for v in out]


# The note columns the statistics read (selected before the scope: a --period run would
# otherwise copy every narrative).
_NOTE_COLUMNS = [
    "therapist_id",
    "therapist",
    "discipline",
    "role",
    "credential",
    "date_of_service",
    "patient_id",
    "episode_id",
]


def _graded(
    result: AuditResult, a: Attribution, severities: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The counted findings whose check gave them a severity other than their item's: per
    finding its row of the attribution, its item and its severity (None when there are none;
    they are few, a certification's late ones)."""
    own = finding_severity(result.findings)
    if own is None:
        return None
    f = result.findings
    keep = ~pd.isna(own)
    place = {item.id: j for j, item in enumerate(result.items)}
    item = f["item_id"].map(place).to_numpy(dtype=np.int64)[keep]
    note = f["note_idx"].to_numpy(dtype=np.int64)[keep]
    new = own[keep].astype(str)
    row = np.searchsorted(a.rows, note)
    inside = row < len(a.rows)
    inside[inside] = a.rows[row[inside]] == note[inside]
    row, item, new = row[inside], item[inside], new[inside]
    counted = a.status[row, item] == Status.FAIL
    changed = counted & (new != severities[item])
    if not changed.any():
        return None
    return row[changed], item[changed], new[changed]


def compute(result: AuditResult) -> Stats:
    """The statistics of the pairs the run counts (see AuditResult.attribution): per note,
    item, therapist (whom each pair counts against), discipline and month."""
    a = result.attribution
    # Columns first, then the rows: a --period run would otherwise copy every narrative.
    notes = result.notes.loc[result.scope | result.supervised_scope, _NOTE_COLUMNS]
    status = a.status
    audited = a.audited
    passed = status == Status.PASS
    failed = status == Status.FAIL
    ne = status == Status.NOT_EVALUABLE
    # Per counted note: its own pairs, whoever answers for them.
    row_counts = {
        "passed": passed.sum(axis=1),
        "failed": failed.sum(axis=1),
        "not_evaluable": ne.sum(axis=1),
    }
    per_note = pd.DataFrame(
        {name: values[audited] for name, values in row_counts.items()},
        index=notes.index[audited],
    )
    per_note["applicable"] = per_note["passed"] + per_note["failed"] + per_note["not_evaluable"]
    total = per_note["passed"] + per_note["failed"]
    per_note["score"] = (per_note["passed"] / total.where(total > 0)).round(4)

    items = result.items
    ids = [i.id for i in items]
    severities = np.array([i.severity for i in items])
    crit_cols = severities == "critical"
    own_failed = failed if audited.all() else failed[audited]
    per_note["critical"] = own_failed[:, crit_cols].sum(axis=1) if crit_cols.any() else 0
    for sev in ("critical", "high", "medium", "low"):
        cols = severities == sev
        per_note[f"failed_{sev}"] = own_failed[:, cols].sum(axis=1) if cols.any() else 0
    # Findings a check graded with a severity of their own (a certification late, not absent).
    graded = _graded(result, a, severities)
    if graded is not None:
        g_row, g_item, g_new = graded
        on_note = a.audited[g_row]
        at = (np.cumsum(a.audited) - 1)[g_row[on_note]]
        old_sev, new_sev = severities[g_item[on_note]], g_new[on_note]
        for sev in ("critical", "high", "medium", "low"):
            col = f"failed_{sev}"
            counts = np.array(per_note[col], dtype=np.int64)  # a copy, 0 broadcast when scalar
            np.subtract.at(counts, at[old_sev == sev], 1)
            np.add.at(counts, at[new_sev == sev], 1)
            per_note[col] = counts
        per_note["critical"] = per_note["failed_critical"]
    # The statuses on each note that count against someone else (its supervising therapist):
    # few notes, so only theirs are read.
    moved = np.flatnonzero(a.moved)
    supervised = status[moved][:, a.supervised]
    moved_counts = {
        name: np.zeros(len(status), dtype=np.int64)
        for name in ("passed", "failed", "not_evaluable")
    }
    for name, code in (("passed", Status.PASS), ("failed", Status.FAIL)):
        moved_counts[name][moved] = (supervised == code).sum(axis=1)
    moved_counts["not_evaluable"][moved] = (supervised == Status.NOT_EVALUABLE).sum(axis=1)
    per_note["for_supervisor"] = moved_counts["failed"][audited]
    # ... and so the failures that count against its author.
    per_note["charged"] = per_note["failed"] - per_note["for_supervisor"]

    item_frame = pd.DataFrame(
        {
            "item_id": ids,
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

    # Therapists as the attribution's codes (code k: nobody, dropped); every per-therapist
    # figure is a bincount over them.
    therapist_ids = a.therapist_ids
    k = len(therapist_ids)
    counts = a.tally(a.author, a.answer, k + 1)[:k]  # therapist x item x status
    pass_k = counts[:, :, Status.PASS]
    fail_k = counts[:, :, Status.FAIL]
    ne_k = counts[:, :, Status.NOT_EVALUABLE]
    sums = {
        "passed": pass_k.sum(axis=1),
        "failed": fail_k.sum(axis=1),
        "not_evaluable": ne_k.sum(axis=1),
        "critical": fail_k[:, crit_cols].sum(axis=1),
    }
    for sev in ("critical", "high", "medium", "low"):
        sums[f"failed_{sev}"] = fail_k[:, severities == sev].sum(axis=1)
    if graded is not None:
        whom = np.where(a.supervised[g_item], a.answer[g_row], a.author[g_row])
        known = whom < k
        old_sev, new_sev, whom = severities[g_item][known], g_new[known], whom[known]
        for sev in ("critical", "high", "medium", "low"):
            counts = sums[f"failed_{sev}"]
            np.subtract.at(counts, whom[old_sev == sev], 1)
            np.add.at(counts, whom[new_sev == sev], 1)
        sums["critical"] = sums["failed_critical"]
    author = a.author[audited]
    sums["notes"] = np.bincount(author, minlength=k + 1)[:k]
    # Pairs on other authors' notes (assistants', students') that count against a therapist,
    # and failures on a therapist's own notes that count against their supervisor.
    judged = moved_counts["passed"][moved] + moved_counts["failed"][moved]
    sums["supervised_checked"] = _by_group(a.answer[moved], k + 1, judged)[:k]
    sums["supervised_failed"] = _by_group(a.answer[moved], k + 1, moved_counts["failed"][moved])[:k]
    sums["for_supervisor"] = _by_group(author, k + 1, per_note["for_supervisor"].to_numpy())[:k]
    therapist_index = pd.Index(therapist_ids)
    therapists = pd.DataFrame(sums, index=therapist_index).reset_index(names="therapist_id")
    # A therapist's name, disciplines, role and credential come from their audited notes; a
    # supervising therapist without one, from the note the attribution found them by.
    # (therapist and therapist_id are never blank: the loader rejects or fills them.)
    first = a.first_note
    therapists.insert(1, "therapist", result.notes["therapist"].iloc[first].array)
    no_notes = np.flatnonzero(sums["notes"] == 0)
    own = np.concatenate([author, no_notes])
    positions = np.concatenate([a.rows[audited], first[no_notes]])
    facts = {c: result.notes[c].take(positions) for c in ("discipline", "role", "credential")}
    therapists["discipline"] = pd.array(_joined(own, k, facts["discipline"]), dtype="string")
    therapists["role"] = pd.array(_most_common(own, k, facts["role"]), dtype="string")
    therapists["credential"] = pd.array(_most_common(own, k, facts["credential"]), dtype="string")
    therapists = _rates(therapists)
    # A therapist's name is not unique (two "J. Smith"); the slug is, and is a safe file name.
    # The reports show such names with the id, so the two can be told apart.
    names = therapists["therapist"].astype(str)
    same = therapists["therapist"].duplicated(keep=False).to_numpy()
    their_ids = therapists["therapist_id"].astype(str)
    therapists["slug"] = unique_slugs(names.where(~same, names + " " + their_ids))
    therapists["label"] = names.where(~same, names + " (ID " + their_ids + ")")
    therapists = therapists.sort_values(
        ["rate", "therapist"], na_position="last", ignore_index=True
    )

    disc_codes, disc_names = pd.factorize(notes["discipline"], sort=True)
    known = disc_codes >= 0
    disc = pd.DataFrame(
        {
            col: _by_group(disc_codes[known], len(disc_names), row_counts[col][known])
            for col in ("passed", "failed", "not_evaluable")
        }
    )
    disc["notes"] = np.bincount(disc_codes[known & audited], minlength=len(disc_names))
    disc.insert(0, "discipline", np.asarray(disc_names, dtype=object))
    disc = _rates(disc)

    # therapist x item counts
    with np.errstate(invalid="ignore", divide="ignore"):
        tot = pass_k + fail_k
        rates = np.where(tot > 0, pass_k / np.where(tot > 0, tot, 1), np.nan)
    matrix = pd.DataFrame(rates, index=therapist_index, columns=pd.Index(ids))
    long = pd.DataFrame(
        {
            "therapist_id": np.repeat(therapist_index.to_numpy(), len(ids)),
            "item_id": np.tile(ids, k),
            "passed": pass_k.ravel(),
            "failed": fail_k.ravel(),
            "not_evaluable": ne_k.ravel(),
        }
    )
    long = _rates(long)

    months = _months(a, notes["date_of_service"], row_counts, moved_counts)

    total_pass = int(passed.sum())
    total_fail = int(failed.sum())
    total_ne = int(ne.sum())
    low, high = wilson(total_pass, total_pass + total_fail)
    clean = per_note["failed"] == 0
    # Patients, episodes and the period: of every note with something counted (under
    # --therapist, the visits a therapist supervises too).
    overall = {
        "notes": int(len(per_note)),
        "therapists": int(len(therapists)),
        "patients": int(notes["patient_id"].nunique()),
        "episodes": int(notes["episode_id"].nunique()),
        "applicable": total_pass + total_fail + total_ne,
        "passed": total_pass,
        "failed": total_fail,
        "not_evaluable": total_ne,
        "findings": total_fail,
        "critical_findings": int(failed[:, crit_cols].sum())
        + (
            0
            if graded is None
            else int((g_new == "critical").sum() - (severities[g_item] == "critical").sum())
        ),
        # The stricter figure quality leads also quote: notes with no finding at all.
        "notes_without_findings": int(clean.sum()),
        "notes_without_findings_rate": float(clean.mean()) if len(per_note) else None,
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


def _months(
    a: Attribution,
    dates: pd.Series,
    row_counts: dict[str, np.ndarray],
    moved_counts: dict[str, np.ndarray],
) -> pd.DataFrame:
    """Per month, for the team (therapist_id '') and per therapist: notes audited and the
    status counts of the pairs counted against them. `dates`, `row_counts` (each row's status
    counts) and `moved_counts` (those counted against its supervising therapist): per row of
    `a`."""
    # Months as codes: date_of_service is required, so every note has one.
    month_codes, month_values = pd.factorize(dates.to_numpy().astype("datetime64[M]"), sort=True)
    month_names = np.asarray(month_values).astype(str).astype(object)
    columns = ("passed", "failed", "not_evaluable", "notes")
    # Each row's pairs in two parts: those counted against its author, and (on the few moved
    # rows) those counted against its supervising therapist.
    moved = np.flatnonzero(a.moved)
    own = {c: row_counts[c] - moved_counts[c] for c in columns[:3]}
    own["notes"] = a.audited.astype(np.int64)
    theirs = {c: moved_counts[c][moved] for c in columns[:3]}
    theirs["notes"] = np.zeros(len(moved), dtype=np.int64)

    by_month = pd.DataFrame(
        {
            "month": month_names,
            **{c: _by_group(month_codes, len(month_names), own[c]) for c in columns},
            "therapist_id": "",
        }
    )
    by_month[list(columns)] += pd.DataFrame(
        {c: _by_group(month_codes[moved], len(month_names), theirs[c]) for c in columns}
    )
    # (month, therapist) pairs in groupby([month, therapist_id])'s sorted order; the nobody
    # code (k) ranks last and its pairs are dropped.
    k = a.nobody
    therapist_ids = a.therapist_ids
    by_id = np.argsort(therapist_ids)
    rank = np.empty(k + 1, dtype=np.int64)
    rank[by_id] = np.arange(k)
    rank[k] = k
    keys = np.concatenate(
        [
            month_codes * (k + 1) + rank[a.author],
            month_codes[moved] * (k + 1) + rank[a.answer[moved]],
        ]
    )
    pair_codes, pair_index = np.unique(keys, return_inverse=True)
    pair_index = pair_index.reshape(-1)
    pair_month, pair_rank = np.divmod(pair_codes, k + 1)
    sums = {
        c: _by_group(pair_index, len(pair_codes), np.concatenate([own[c], theirs[c]]))
        for c in columns
    }
    keep = (pair_rank < k) & (sum(sums.values()) > 0)
    by_month_t = pd.DataFrame(
        {
            "month": month_names[pair_month[keep]],
            "therapist_id": therapist_ids[by_id][pair_rank[keep]],
            **{c: sums[c][keep] for c in columns},
        }
    )
    return _rates(pd.concat([by_month, by_month_t], ignore_index=True))


def _date(value) -> str | None:
    return None if pd.isna(value) else pd.Timestamp(value).date().isoformat()
