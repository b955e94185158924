"""Checklists x charts -> a status for every (note, item) and the findings; no I/O."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .checklists import APPLIES_TO, Checklist, Item, example_frames
from .checks import REGISTRY, AuditContext
from .export import Export
from .memory import release_freed_memory
from .model import NOTE_KEY_COLUMNS, SEVERITY_ORDER, Status

_NEED_WORDS = {
    "services": "a services (charges) table",
    "goals": "a goals table",
    "measures": "an outcome measures table",
    "authorizations": "an authorizations table",
}


def describe_need(need: str) -> str:
    table, _, column = need.partition(".")
    if column:
        return f"the {column} column of the {table} table"
    return _NEED_WORDS.get(table, f"a {table} table")


@dataclass
class AuditResult:
    """Everything the reports need: statuses, findings, and what could not be evaluated.

    `status` is an int8 matrix (rows = every note of the export, columns = item ids) of Status
    codes; notes outside the audit scope are not_applicable throughout. `findings` holds one
    row per failing (note, item): note_idx (row of `notes`), item_id, message, evidence.
    """

    notes: pd.DataFrame
    items: list[Item]
    checklists: list[Checklist]
    status: pd.DataFrame
    findings: pd.DataFrame
    scope: np.ndarray  # bool per note: inside the audited period / therapists
    not_evaluable: dict[str, dict[str, int]] = field(default_factory=dict)  # item -> reason -> n
    as_of: pd.Timestamp | None = None
    timings: dict[str, float] = field(default_factory=dict)
    context: AuditContext | None = None

    def item(self, item_id: str) -> Item:
        return next(i for i in self.items if i.id == item_id)

    @property
    def audited(self) -> pd.DataFrame:
        """Notes inside the scope that had at least one item applicable."""
        return self.notes.loc[self.scope]


def as_of_date(export: Export, until: pd.Timestamp | None = None) -> pd.Timestamp:
    """The audit's "today": the end of the period when given, else the export's latest date."""
    if until is not None:
        return pd.Timestamp(until)
    dates = export.notes["date_of_service"]
    return pd.Timestamp(dates.max()) if dates.notna().any() else pd.Timestamp.today().normalize()


def audit_threads() -> int:
    """Items run on this many threads (CHARTAUDIT_THREADS, default: the CPU count, at most 4).

    The heavy work of a check (Arrow string kernels, numpy over whole columns) releases the
    GIL, so independent items overlap on a multi-core laptop; results do not depend on it.
    """
    value = os.environ.get("CHARTAUDIT_THREADS", "").strip()
    if value.isdigit() and int(value) > 0:
        return int(value)
    return max(1, min(4, os.cpu_count() or 1))


@dataclass
class _ItemRun:
    findings: pd.DataFrame | None
    not_evaluable: dict[str, int] | None
    seconds: float


def run_audit(
    export: Export,
    checklists: list[Checklist],
    scope: np.ndarray | None = None,
    as_of: pd.Timestamp | None = None,
    progress: Callable[[Item], None] | None = None,
    options: dict | None = None,
    threads: int | None = None,
) -> AuditResult:
    """Run every item of every checklist over the notes in `scope` (default: all notes).

    Items are independent, so they run on `threads` threads (default `audit_threads()`); the
    status matrix and findings are assembled in checklist order, so the result is the same
    for any number of threads. `timings` holds each item's thread CPU seconds.
    """
    notes = export.notes
    n = len(notes)
    scope = np.ones(n, dtype=bool) if scope is None else np.asarray(scope, dtype=bool)
    ctx = AuditContext(export=export, as_of=as_of or as_of_date(export), options=options or {})
    items = [item for cl in checklists for item in cl.items]
    matrix = np.zeros((n, len(items)), dtype=np.int8)
    finding_parts: list[pd.DataFrame] = []
    not_evaluable: dict[str, dict[str, int]] = {}
    timings: dict[str, float] = {}
    filters = _Filters(notes)
    masks = [scope & filters.mask(item) for item in items]

    ctx.expect(item.check for item in items)
    unreadable = not export.unreadable.empty

    def run_item(j: int) -> _ItemRun:
        try:
            return _run_item(j)
        finally:
            ctx.finished(items[j].check)

    def _run_item(j: int) -> _ItemRun:
        started = time.thread_time()
        item, mask = items[j], masks[j]
        idx = notes.index[mask]
        if not len(idx):
            return _ItemRun(None, None, 0.0)
        kind = REGISTRY[item.check]
        missing = [need for need in kind.needs if not export.has(need)]
        if missing:
            reason = f"needs {describe_need(missing[0])}, which the export does not have"
            matrix[mask, j] = Status.NOT_EVALUABLE
            return _ItemRun(None, {reason: int(mask.sum())}, 0.0)
        out = kind.fn(ctx, idx, item.params)
        status = out.status
        positions = status.index.to_numpy()
        codes = status.to_numpy(dtype=np.int8)
        # A check may only speak about the notes it was given.
        inside = mask[positions]
        positions, codes = positions[inside], codes[inside]
        unread = None
        if kind.reads and unreadable:
            codes, unread = _unjudged(ctx, kind.reads, item.params, positions, codes)
        # Each item writes its own column, straight away: a finished item waiting for the
        # ones before it in checklist order holds only its findings.
        matrix[positions, j] = codes
        found = None
        failed = codes == Status.FAIL
        if failed.any():
            fidx = positions[failed]
            found = pd.DataFrame(
                {
                    "note_idx": fidx,
                    "item_id": item.id,
                    "message": _text_at(out.message, fidx, item.title),
                    "evidence": _text_at(out.evidence, fidx, ""),
                }
            )
        reasons = None
        ne = codes == Status.NOT_EVALUABLE
        if ne.any():
            why = _text_at(out.message, positions[ne], "data missing")
            if unread is not None:
                why = np.where(pd.isna(unread[ne]), why, unread[ne])
            counts = pd.Series(why)
            reasons = {str(k): int(v) for k, v in counts.value_counts().head(5).items()}
        seconds = time.thread_time() - started
        if _COST.get(item.check, 1) > 1:
            release_freed_memory()  # the big text checks' temporaries, before the next ones
        return _ItemRun(found, reasons, seconds)

    workers = max(1, threads if threads is not None else audit_threads())
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="audit") as pool:
        # The slowest items (text) first, so the threads finish together.
        order = sorted(range(len(items)), key=lambda j: _COST.get(items[j].check, 1))
        futures = {j: pool.submit(run_item, j) for j in reversed(order)}
        for j, item in enumerate(items):
            run = futures[j].result()
            if run.findings is not None:
                finding_parts.append(run.findings)
            if run.not_evaluable is not None:
                not_evaluable[item.id] = run.not_evaluable
            timings[item.id] = run.seconds
            if progress:
                progress(item)

    ctx.release()
    release_freed_memory()
    status = pd.DataFrame(matrix, index=notes.index, columns=[i.id for i in items])
    if finding_parts:
        findings = pd.concat(finding_parts, ignore_index=True)
    else:
        findings = pd.DataFrame(
            {
                "note_idx": pd.Series(dtype="int64"),
                "item_id": pd.Series(dtype=object),
                "message": pd.Series(dtype=object),
                "evidence": pd.Series(dtype=object),
            }
        )
    return AuditResult(
        notes=notes,
        items=items,
        checklists=checklists,
        status=status,
        findings=findings,
        scope=scope,
        not_evaluable=not_evaluable,
        as_of=ctx.as_of,
        timings=timings,
        context=ctx,
    )


def _unjudged(
    ctx: AuditContext,
    reads: tuple[str, ...],
    params: dict,
    positions: np.ndarray,
    codes: np.ndarray,
) -> tuple[np.ndarray, np.ndarray | None]:
    """`codes` with each note the check judged (passed, failed, or not evaluable for a reason
    of its own) whose value of a `reads` column could not be read made not evaluable for that
    reason: the check took the value as blank, and a blank signature date fails a note the
    export shows signed, only not readably. Also the reason per position of those notes (None
    elsewhere), or None when there are none."""
    reasons = None
    for read in reads:
        found = ctx.unreadable_notes(read.format(**params) if "{" in read else read)
        if found is None:
            continue
        hit, reason = found
        judged = hit[positions] & (codes != Status.NOT_APPLICABLE)
        if reasons is not None:
            judged &= pd.isna(reasons)  # the first unreadable column is the reason given
        if judged.any():
            if reasons is None:
                codes = codes.copy()
                reasons = np.full(len(codes), None, dtype=object)
            codes[judged] = Status.NOT_EVALUABLE
            reasons[judged] = reason
    return codes, reasons


# Relative cost of the slowest check kinds (measured at 100k notes), to start them first.
_COST = {
    "cloned_within_patient": 40,
    "cloned_across_patients": 15,
    "soap_sections": 9,
    "skilled_language": 6,
    "discharge_content": 4,
    "goals_measurable": 3,
}


class _Filters:
    """applies_to masks, each (key, values) computed once and shared by the items."""

    def __init__(self, notes: pd.DataFrame):
        self.notes = notes
        self.cache: dict[tuple, np.ndarray] = {}

    def mask(self, item: Item) -> np.ndarray:
        mask = np.ones(len(self.notes), dtype=bool)
        for key, values in item.filters.items():
            cache_key = (key, tuple(sorted(values)))
            if cache_key not in self.cache:
                column = APPLIES_TO[key][0]
                self.cache[cache_key] = self.notes[column].isin(values).fillna(False).to_numpy(bool)
            mask &= self.cache[cache_key]
        return mask


def _text_at(series: pd.Series | None, positions: np.ndarray, default: str) -> np.ndarray:
    if series is None:
        return np.full(len(positions), default, dtype=object)
    values = np.array(series.reindex(positions).to_numpy(dtype=object), dtype=object)
    blank = pd.isna(values) | (values == "")
    values[blank] = default
    return values


def severity_rank(severity: pd.Series) -> pd.Series:
    return severity.map({s: i for i, s in enumerate(SEVERITY_ORDER)})


def findings_table(result: AuditResult) -> pd.DataFrame:
    """findings.csv rows: SPEC's columns, one per failing (note, item), by note then severity."""
    f = result.findings
    notes = result.notes
    meta = pd.DataFrame(
        {
            "item_id": [i.id for i in result.items],
            "item_title": [i.title for i in result.items],
            "severity": [i.severity for i in result.items],
        }
    )
    out = notes[NOTE_KEY_COLUMNS].iloc[f["note_idx"].to_numpy()].reset_index(drop=True)
    out["note_idx"] = f["note_idx"].to_numpy()
    out = pd.concat([out, f[["item_id", "message", "evidence"]].reset_index(drop=True)], axis=1)
    out = out.merge(meta, on="item_id", how="left")
    out["_sev"] = severity_rank(out["severity"])
    out = out.sort_values(
        ["therapist", "date_of_service", "note_id", "_sev", "item_id"],
        kind="stable",
        ignore_index=True,
    )
    return out.drop(columns="_sev")


def example_problems(checklist: Checklist) -> list[str]:
    """What is wrong with the good and bad examples of the checklist's own items (not those it
    extends), each run as a mini export as the test suite runs the built-in ones: a bad
    example must fail its item and a good one pass it. Empty when all behave."""
    problems = []
    for item in (i for i in checklist.items if i.source == checklist.source):
        single = Checklist(
            name=checklist.name,
            title=checklist.title,
            version=checklist.version,
            items=[item],
            applies_to=checklist.applies_to,
        )
        cases = [
            (f"{checklist.source}: item {item.id}: {kind} example {n}", kind == "bad", tables)
            for kind in ("bad", "good")
            for n, case in enumerate(item.examples[kind], start=1)
            for tables in [example_frames(item, case)]
        ]
        # A column that only the good examples fill is blank in the bad ones, not absent (an
        # absent column makes most items not evaluable rather than failed).
        columns: dict[str, dict[str, None]] = {}
        for _, _, tables in cases:
            for table, rows in tables.items():
                columns.setdefault(table, {}).update(dict.fromkeys(c for row in rows for c in row))
        for where, bad, tables in cases:
            frames = {
                t: pd.DataFrame(rows).reindex(columns=list(columns[t]), fill_value="")
                for t, rows in tables.items()
            }
            problem = _example_problem(single, item.id, frames, where, bad)
            if problem:
                problems.append(problem)
    return problems


def _example_problem(
    single: Checklist, item_id: str, frames: dict[str, pd.DataFrame], where: str, bad: bool
) -> str | None:
    from .errors import InputError
    from .load import from_frames

    try:
        export = from_frames(frames, source=where)
    except InputError as exc:
        return f"{where}: {exc.message}"
    if len(export.rejected):
        return f"{where}: a row is rejected ({export.rejected['reason'].iat[0]})"
    codes = run_audit(export, [single], threads=1).status[item_id].to_numpy()
    failed, passed = (codes == Status.FAIL).any(), (codes == Status.PASS).any()
    behaves = failed if bad else (passed and not failed)
    if behaves:
        return None
    seen = ", ".join(sorted({Status(c).name.lower() for c in codes})) or "no note"
    return f"{where} does not {'fail' if bad else 'pass'} the item ({seen})"
