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
from .checks.supervision import answerable, supervisor_clause
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
class Attribution:
    """The (note, item) pairs a run counts and the therapist each counts against.

    A note's items count against its author, except the supervised items (kinds with a
    supervisor_duty) of an assistant's or student's note, which count against the supervising
    therapist (checks.supervision). `rows` are the notes with a pair counted: the audited notes
    and, under --therapist, the notes of others whose supervised items count against an
    audited therapist. Therapists are codes into `therapist_ids` (in order of first
    appearance: authors of audited notes, then supervisors); code len(therapist_ids) is
    nobody, for the rows whose author (or supervisor) has nothing counted.
    """

    rows: np.ndarray  # note positions, ascending
    audited: np.ndarray  # bool per row: one of the run's audited notes (AuditResult.scope)
    status: np.ndarray  # rows x items Status codes (the matrix itself when rows are every note)
    therapist_ids: np.ndarray  # object: the therapists with something counted
    first_note: np.ndarray  # per therapist: a note of theirs (their first audited one if any)
    author: np.ndarray  # per row: its author's code
    answer: np.ndarray  # per row: the code of whom its supervised items count against
    moved: np.ndarray  # bool per row: its supervised items count against another therapist
    supervised: np.ndarray  # bool per item

    @property
    def nobody(self) -> int:
        return len(self.therapist_ids)

    def tally(self, author: np.ndarray, answer: np.ndarray, n: int) -> np.ndarray:
        """Counts per (group, item, status) (n x items x len(Status)) where each row's pairs
        fall in group `author` of the row, its supervised items' in group `answer`: one
        bincount per item over group * len(Status) + status."""
        width = len(Status)
        bases = (author.astype(np.int64) * width, answer.astype(np.int64) * width)
        out = np.empty((n, self.status.shape[1], width), dtype=np.int64)
        for j in range(self.status.shape[1]):
            base = bases[bool(self.supervised[j])]
            out[:, j, :] = np.bincount(base + self.status[:, j], minlength=width * n).reshape(
                n, width
            )
        return out


def attribute(
    notes: pd.DataFrame,
    status: np.ndarray,
    scope: np.ndarray,
    supervised_scope: np.ndarray,
    answer: np.ndarray,
    supervised: np.ndarray,
) -> Attribution:
    """The Attribution of a run's status matrix (see AuditResult for the arguments)."""
    mask = scope | supervised_scope
    whole = bool(mask.all())
    rows = np.arange(len(mask)) if whole else np.flatnonzero(mask)
    counted = status if whole else status[rows]
    audited = scope[rows]
    # One pass over the therapist ids; codes in order of first appearance among `rows`.
    ids_all, uniques = pd.factorize(notes["therapist_id"])
    author = ids_all[rows]
    answer_rows = answer[rows]
    answer_ids = ids_all[answer_rows]
    has_supervised = (
        (counted[:, supervised] != Status.NOT_APPLICABLE).any(axis=1)
        if supervised.any()
        else np.zeros(len(rows), dtype=bool)
    )
    seq = np.concatenate([author[audited], answer_ids[has_supervised]])
    source = np.concatenate([rows[audited], answer_rows[has_supervised]])
    _, first = np.unique(seq, return_index=True)
    first.sort()
    kept = seq[first]
    k = len(kept)
    remap = np.full(len(uniques), k, dtype=np.int64)
    remap[kept] = np.arange(k)
    return Attribution(
        rows=rows,
        audited=audited,
        status=counted,
        therapist_ids=np.asarray(uniques.astype(str), dtype=object)[kept],
        first_note=source[first],
        author=np.where(audited, remap[author], k),
        answer=remap[answer_ids],
        moved=answer_ids != author,
        supervised=supervised,
    )


@dataclass
class AuditResult:
    """Everything the reports need: statuses, findings, and what could not be evaluated.

    `status` is an int8 matrix (rows = every note of the export, columns = item ids) of Status
    codes; pairs outside the audit are not_applicable. `findings` holds one row per failing
    (note, item): note_idx (row of `notes`), item_id, message, evidence. `scope` marks the
    audited notes (the period's, of the therapists audited); an item with a supervisor_duty
    (`supervised`) counts against the therapist who wrote the note `answerable` gives, and is
    judged on the notes in `supervised_scope` (the period's notes whose supervising therapist,
    or author, is audited). `attribution` says whom each counted pair counts against.
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
    supervised: np.ndarray | None = None  # bool per item
    answerable: np.ndarray | None = None  # per note: the note whose author answers (see above)
    supervised_scope: np.ndarray | None = None  # bool per note
    attribution: Attribution | None = None

    def __post_init__(self) -> None:
        n = len(self.notes)
        if self.supervised is None:
            self.supervised = np.zeros(len(self.items), dtype=bool)
        if self.answerable is None:
            self.answerable = np.arange(n)
        if self.supervised_scope is None:
            self.supervised_scope = np.asarray(self.scope, dtype=bool)
        if self.attribution is None:
            self.attribution = attribute(
                self.notes,
                self.status.to_numpy(),
                np.asarray(self.scope, dtype=bool),
                self.supervised_scope,
                self.answerable,
                self.supervised,
            )

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
    therapists: np.ndarray | None = None,
) -> AuditResult:
    """Run every item of every checklist over the notes in `scope` (default: all notes) whose
    author is among `therapists` (a mask over the notes; default: every author). The items of
    a kind with a supervisor_duty run instead on the notes in `scope` whose supervising
    therapist (checks.supervision) is among them: a report overdue on an assistant's visit is
    the audited therapist's finding, and not the audited assistant's.

    Items are independent, so they run on `threads` threads (default `audit_threads()`); the
    status matrix and findings are assembled in checklist order, so the result is the same
    for any number of threads. `timings` holds each item's thread CPU seconds.
    """
    notes = export.notes
    n = len(notes)
    period = np.ones(n, dtype=bool) if scope is None else np.asarray(scope, dtype=bool)
    ctx = AuditContext(export=export, as_of=as_of or as_of_date(export), options=options or {})
    items = [item for cl in checklists for item in cl.items]
    supervised = np.array([bool(REGISTRY[i.check].supervisor_duty) for i in items], dtype=bool)
    answer = answerable(ctx) if supervised.any() else np.arange(n)
    if therapists is None:
        scope = supervised_scope = period
    else:
        chosen = np.asarray(therapists, dtype=bool)
        scope, supervised_scope = period & chosen, period & chosen[answer]
    matrix = np.zeros((n, len(items)), dtype=np.int8)
    finding_parts: list[pd.DataFrame] = []
    not_evaluable: dict[str, dict[str, int]] = {}
    timings: dict[str, float] = {}
    filters = _Filters(notes)
    masks = [
        (supervised_scope if supervised[j] else scope) & filters.mask(item)
        for j, item in enumerate(items)
    ]

    ctx.expect(item.check for item in items)
    # Values read as blank, or rows of a note's services (goals, measures) rejected at load.
    unreadable = not export.unreadable.empty or "note_id" in export.rejected.columns

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
            message = _text_at(out.message, fidx, item.title)
            if kind.supervisor_duty:
                message = message + supervisor_clause(ctx, fidx, kind.supervisor_duty)
            found = pd.DataFrame(
                {
                    "note_idx": fidx,
                    "item_id": item.id,
                    "message": message,
                    "evidence": _text_at(out.evidence, fidx, ""),
                }
            )
            if out.severity is not None:
                graded = _text_at(out.severity, fidx, item.severity)
                if (graded != item.severity).any():
                    found["severity"] = np.where(graded == item.severity, None, graded)
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
    if "severity" not in findings.columns:
        findings["severity"] = None
    findings["severity"] = findings["severity"].astype(object)
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
        supervised=supervised,
        answerable=answer,
        supervised_scope=supervised_scope,
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


def finding_severity(findings: pd.DataFrame) -> np.ndarray | None:
    """Per finding: the severity its check graded it with, None for the item's; None when no
    finding has its own."""
    if "severity" not in findings.columns or findings["severity"].isna().all():
        return None
    return findings["severity"].to_numpy(dtype=object)


def findings_table(result: AuditResult) -> pd.DataFrame:
    """findings.csv rows: SPEC's columns, one per failing (note, item), by therapist, note and
    severity. `therapist` is whom the finding counts against: the supervising therapist for a
    supervised item on an assistant's or student's note (the message names the visit's
    author). Also note_idx, therapist_id (theirs), author_id (the note's author's), moved
    (counted against someone other than the author) and author ("Name, credential" of the
    note's author where moved, else None)."""
    f = result.findings
    notes = result.notes
    meta = pd.DataFrame(
        {
            "item_id": [i.id for i in result.items],
            "item_title": [i.title for i in result.items],
            "severity": [i.severity for i in result.items],
        }
    )
    note_idx = f["note_idx"].to_numpy()
    out = notes[NOTE_KEY_COLUMNS].iloc[note_idx].reset_index(drop=True)
    out["note_idx"] = note_idx
    place = {item.id: j for j, item in enumerate(result.items)}
    item_j = f["item_id"].map(place).to_numpy(dtype=np.int64)
    answer = np.where(result.supervised[item_j], result.answerable[note_idx], note_idx)
    ids = notes["therapist_id"]
    out["author_id"] = ids.iloc[note_idx].to_numpy()
    out["therapist_id"] = ids.iloc[answer].to_numpy()
    moved = out["therapist_id"].to_numpy() != out["author_id"].to_numpy()
    out["moved"] = moved
    out["author"] = None
    if moved.any():
        at = note_idx[moved]
        name = notes["therapist"].iloc[at].astype(object).fillna("").to_numpy(dtype=object)
        cred = notes["credential"].iloc[at].astype(object).fillna("").to_numpy(dtype=object)
        out.loc[moved, "author"] = np.where(cred != "", name + ", " + cred, name)
        out.loc[moved, "therapist"] = notes["therapist"].iloc[answer[moved]].to_numpy()
    out = pd.concat([out, f[["item_id", "message", "evidence"]].reset_index(drop=True)], axis=1)
    out = out.merge(meta, on="item_id", how="left")
    # A finding the check graded (see CheckOutcome.severity) has its own severity.
    graded = finding_severity(f)
    if graded is not None:
        out["severity"] = np.where(pd.isna(graded), out["severity"].to_numpy(object), graded)
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
    example must fail its item and a good one pass it. Empty when all behave. A problem names
    the example's notes and what the item said of each."""
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
        # absent column makes most items not evaluable rather than failed). A good example
        # keeps its own columns: a blank signed_at borrowed from another example would make
        # its report unsigned.
        columns: dict[str, dict[str, None]] = {}
        for _, _, tables in cases:
            for table, rows in tables.items():
                columns.setdefault(table, {}).update(dict.fromkeys(c for row in rows for c in row))
        for where, bad, tables in cases:
            frames = {
                t: pd.DataFrame(rows).reindex(columns=list(columns[t]), fill_value="")
                if bad
                else pd.DataFrame(rows)
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
    result = run_audit(export, [single], threads=1)
    codes = result.status[item_id].to_numpy()
    failed, passed = (codes == Status.FAIL).any(), (codes == Status.PASS).any()
    behaves = failed if bad else (passed and not failed)
    if behaves:
        return None
    seen = ", ".join(sorted({Status(c).name.lower() for c in codes})) or "no note"
    # Each note of the example and what the item made of it, the finding's message first.
    said = dict(zip(result.findings["note_idx"], result.findings["message"], strict=True))
    reasons = result.not_evaluable.get(item_id, {})
    ids = export.notes["note_id"].astype(str).tolist()
    notes = []
    for i, code in enumerate(codes):
        status = Status(code)
        if status == Status.FAIL:
            notes.append(f'note {ids[i]} fails: "{said.get(i, "")}"')
        elif status == Status.NOT_EVALUABLE and not bad:
            why = "; ".join(reasons) or "data missing"
            notes.append(f"note {ids[i]} is not evaluable ({why})")
        elif bad or status == Status.PASS:
            notes.append(f"note {ids[i]} {status.name.lower().replace('_', ' ')}")
    detail = "; ".join(notes)
    return f"{where} does not {'fail' if bad else 'pass'} the item ({seen}): {detail}"
