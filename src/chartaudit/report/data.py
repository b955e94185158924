"""ReportData: the one bundle every output format renders from (already redacted when asked)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .. import __version__
from ..audit import AuditResult, findings_table
from ..checklists import APPLIES_TO, Item
from ..export import Export
from ..model import NOTE_KEY_COLUMNS, NOTES_OUTPUT_COLUMNS, Status
from ..privacy import Redactor, redact_frame
from ..stats import Stats, compute


@dataclass
class ReportData:
    """What the reports show. Tables here are output-ready: identifiers already pseudonymised
    under --redact, so a format module cannot leak what it never receives.

    - `findings`: findings.csv columns (`therapist`: whom the finding counts against) plus
      note_idx (row of result.notes), therapist_id and slug (theirs), author_id and
      author_slug (the note's author's), moved and author (see audit.findings_table).
    - `notes`: notes.csv columns (the note's own counts, `therapist` its author) plus note_idx,
      slug, patient_label (name or pseudonym) and charged (failures counted against the
      author: those a supervising therapist answers for left out).
    - `trend`: months from the run history (month, therapist_id, passed, failed, rate, ...)
      or None when there is no history.
    """

    export: Export
    result: AuditResult
    stats: Stats
    findings: pd.DataFrame
    notes: pd.DataFrame
    options: dict[str, Any]
    redactor: Redactor | None = None
    trend: pd.DataFrame | None = None
    sample: pd.DataFrame | None = None
    version: str = __version__
    created_at: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def redacted(self) -> bool:
        return self.redactor is not None

    @property
    def notices(self) -> list[str]:
        """What the loader told the user about the export (values it did not recognise,
        mapping patterns that matched no file), for the reports as for the console; masked
        under --redact, as they quote values from the export."""
        notices = list(self.export.notices)
        if self.redactor is not None and notices:
            notices = self.redactor.text(pd.Series(notices, dtype=object)).tolist()
        return notices

    def excerpt_text(self, values: pd.Series) -> pd.Series:
        """Chart text made safe to show under the redaction rule (names masked)."""
        return self.redactor.text(values) if self.redactor else values


def build(
    export: Export,
    result: AuditResult,
    options: dict[str, Any],
    redactor: Redactor | None = None,
    created_at: str = "",
) -> ReportData:
    stats = compute(result)
    slug_of = dict(zip(stats.therapists["therapist_id"], stats.therapists["slug"], strict=True))
    findings = findings_table(result)
    # A finding is on the page of whom it counts against; one on an assistant's visit that
    # counts against the supervising therapist is also shown, for information, on the page of
    # the note's author (author_slug), when the run has one.
    findings["slug"] = findings["therapist_id"].map(slug_of).to_numpy()
    findings["author_slug"] = findings["author_id"].map(slug_of).to_numpy()
    findings = redact_frame(findings, redactor)

    columns = [*NOTE_KEY_COLUMNS, "payer_type"]
    # Columns first, then the scope: a --period run would otherwise copy every narrative.
    scoped = result.notes.loc[result.scope, [*columns, "therapist_id", "patient_name"]]
    counts = stats.note_counts
    notes = scoped[columns].copy()
    for col in ("applicable", "passed", "failed", "not_evaluable", "score", "charged"):
        notes[col] = counts[col]
    notes["note_idx"] = scoped.index.to_numpy()
    notes["slug"] = scoped["therapist_id"].map(slug_of)
    if redactor is None:
        names = scoped["patient_name"]
        notes["patient_label"] = np.where(
            names.notna(), names.astype(object), scoped["patient_id"].astype(object)
        )
    notes = redact_frame(notes, redactor)
    if redactor is not None:
        notes["patient_label"] = notes["patient_id"]
    notes = notes.reset_index(drop=True)
    assert set(NOTES_OUTPUT_COLUMNS) <= set(notes.columns)
    return ReportData(
        export=export,
        result=result,
        stats=stats,
        findings=findings,
        notes=notes,
        options=options,
        redactor=redactor,
        created_at=created_at,
    )


# An item is judged only after another is met (DOC-SIGN-TIMELY skips unsigned notes, the clone
# checks skip notes too short to compare) when, over the run's notes its applies_to covers, it
# judged at least PREREQUISITE_AFTER_MET of the notes that met the other item and at most
# PREREQUISITE_RATIO times that share of the notes that failed it.
PREREQUISITE_AFTER_MET = 0.8
PREREQUISITE_RATIO = 0.2
PREREQUISITE_MIN_NOTES = 5  # notes met and failed that it takes to tell
PREREQUISITE_SAMPLE = 2000  # notes met (and failed) per item looked at, evenly spread


def _spread(rows: np.ndarray, n: int) -> np.ndarray:
    """At most n of the (sorted) `rows`, evenly spread over them."""
    if len(rows) <= n:
        return rows
    return rows[np.linspace(0, len(rows) - 1, n).astype(np.int64)]


def _covered(notes: pd.DataFrame, items: list[Item], rows: np.ndarray) -> np.ndarray:
    """Whether each item's applies_to covers each of the notes at `rows` (rows x items), as
    run_audit filters the notes each item is run on."""
    columns: dict[str, pd.Series] = {}
    masks: dict[tuple, np.ndarray] = {}
    out = np.ones((len(rows), len(items)), dtype=bool)
    for j, item in enumerate(items):
        for key, values in item.filters.items():
            name = (key, tuple(sorted(values)))
            if name not in masks:
                if key not in columns:
                    columns[key] = notes[APPLIES_TO[key][0]].iloc[rows]
                masks[name] = columns[key].isin(values).fillna(False).to_numpy(bool)
            out[:, j] &= masks[name]
    return out


def prerequisites(result: AuditResult) -> dict[int, list[int]]:
    """{item: the items it is judged only after} (positions in result.items), learned from the
    run's statuses, so that no check kind has to declare it: e.g. DOC-SIGN-TIMELY after
    DOC-SIGNED, as an unsigned note has no signing delay to judge."""
    status = result.status.to_numpy()
    by_item = np.ascontiguousarray(status.T)  # an item's statuses as one contiguous row
    picks = {}
    for g in range(len(by_item)):
        met = np.flatnonzero(by_item[g] == Status.PASS)
        failed = np.flatnonzero(by_item[g] == Status.FAIL)
        if min(len(met), len(failed)) >= PREREQUISITE_MIN_NOTES:
            picks[g] = (_spread(met, PREREQUISITE_SAMPLE), _spread(failed, PREREQUISITE_SAMPLE))
    if not picks:
        return {}
    rows = np.unique(np.concatenate([r for pair in picks.values() for r in pair]))
    covered = _covered(result.notes, result.items, rows)
    sampled = status[rows]
    judged = ((sampled == Status.PASS) | (sampled == Status.FAIL)) & covered
    out: dict[int, list[int]] = {}
    for g, (met, failed) in picks.items():
        shares = []
        for some in (met, failed):
            at = np.searchsorted(rows, some)
            n = covered[at].sum(axis=0)
            shares.append((n, judged[at].sum(axis=0) / np.maximum(n, 1)))
        (n_met, after_met), (n_failed, after_failed) = shares
        gated = (
            (n_met >= PREREQUISITE_MIN_NOTES)
            & (n_failed >= PREREQUISITE_MIN_NOTES)
            & (after_met >= PREREQUISITE_AFTER_MET)
            & (after_failed <= PREREQUISITE_RATIO * after_met)
        )
        gated[g] = False
        for s in np.flatnonzero(gated).tolist():
            out.setdefault(s, []).append(g)
    return out


def skipped_after_failures(
    result: AuditResult, matrix_counts: pd.DataFrame, after: dict[int, list[int]]
) -> np.ndarray:
    """Per row of stats.matrix_counts (therapist x item): the therapist's notes the item left
    unjudged because an item it is judged only after (`after`, as prerequisites gives them)
    failed on them. They are no evidence that the item was met: an unsigned note is never
    late."""
    skipped = np.zeros(len(matrix_counts), dtype=np.int64)
    if not after:
        return skipped
    status = result.status.to_numpy()
    ids = [i.id for i in result.items]
    k = len(ids)
    # matrix_counts holds every (therapist, item), therapist by therapist, items in order.
    first = matrix_counts["item_id"].to_numpy()[:k]
    therapists = pd.Index(matrix_counts["therapist_id"].to_numpy()[::k])
    if len(matrix_counts) != k * len(therapists) or first.tolist() != ids:
        raise ValueError("matrix_counts is not therapist x item in the checklists' order")
    for s, gs in after.items():
        failed = (status[:, gs] == Status.FAIL).any(axis=1)
        # The notes item s would have been judged on, and whom it would have counted against.
        supervised = bool(result.supervised[s])
        judged = result.supervised_scope if supervised else result.scope
        rows = np.flatnonzero(failed & judged & (status[:, s] == Status.NOT_APPLICABLE))
        rows = rows[_covered(result.notes, [result.items[s]], rows)[:, 0]]
        whose = result.answerable[rows] if supervised else rows
        authors = result.notes["therapist_id"].iloc[whose].astype(str)
        tally = authors.value_counts()
        place = therapists.get_indexer(tally.index) * k + s
        skipped[place[place >= 0]] = tally.to_numpy()[place >= 0]
    return skipped
