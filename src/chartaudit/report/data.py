"""ReportData: the one bundle every output format renders from (already redacted when asked)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .. import __version__
from ..audit import AuditResult, findings_table
from ..export import Export
from ..model import NOTE_KEY_COLUMNS, NOTES_OUTPUT_COLUMNS
from ..privacy import Redactor, redact_frame
from ..stats import Stats, compute


@dataclass
class ReportData:
    """What the reports show. Tables here are output-ready: identifiers already pseudonymised
    under --redact, so a format module cannot leak what it never receives.

    - `findings`: findings.csv columns plus note_idx (row of result.notes) and slug.
    - `notes`: notes.csv columns plus note_idx, slug, patient_label (name or pseudonym).
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
    authors = result.notes["therapist_id"].take(findings["note_idx"].to_numpy())
    findings["slug"] = authors.map(slug_of).to_numpy()
    findings = redact_frame(findings, redactor)

    columns = [*NOTE_KEY_COLUMNS, "payer_type"]
    # Columns first, then the scope: a --period run would otherwise copy every narrative.
    scoped = result.notes.loc[result.scope, [*columns, "therapist_id", "patient_name"]]
    counts = stats.note_counts
    notes = scoped[columns].copy()
    for col in ("applicable", "passed", "failed", "not_evaluable", "score"):
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
