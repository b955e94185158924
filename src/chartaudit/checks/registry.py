"""The registry of check kinds: a dict and a decorator mapping a YAML `check:` name to code."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..model import BOOL_COLUMNS, DATE_COLUMNS, NUMERIC_COLUMNS, REQUIRED, Status

if TYPE_CHECKING:
    from .context import AuditContext


@dataclass(frozen=True)
class Param:
    """One parameter of a check kind: its type, default, and whether a checklist must set it."""

    type: type | tuple[type, ...]
    default: Any = None
    required: bool = False
    help: str = ""
    choices: tuple[Any, ...] | None = None
    # Bounds of a number (no day count, share or unit limit is negative).
    minimum: float = 0
    maximum: float | None = None

    def type_name(self) -> str:
        types = self.type if isinstance(self.type, tuple) else (self.type,)
        return " or ".join(t.__name__ for t in types)


@dataclass
class CheckOutcome:
    """What a check kind returns for the notes it was given.

    `status` holds Status codes (int8) indexed by note (a subset of the notes it was asked
    about; notes left out are not_applicable). `message` and `evidence` are strings indexed
    by note and only read where the status is FAIL or NOT_EVALUABLE (they may hold just
    those notes); so is `severity`.
    """

    status: pd.Series
    message: pd.Series | None = None
    evidence: pd.Series | None = None
    # A failing note's own severity where the check grades its findings (a plan of care never
    # certified is critical, one certified late medium); "" or missing: the item's severity.
    severity: pd.Series | None = None


CheckFn = Callable[["AuditContext", pd.Index, dict[str, Any]], CheckOutcome]


@dataclass
class CheckKind:
    name: str
    fn: CheckFn
    params: dict[str, Param] = field(default_factory=dict)
    # What the check reads beyond the notes' required columns: "services", "goals",
    # "notes.signed_at", ... A missing table or column makes the item not_evaluable.
    needs: tuple[str, ...] = ()
    # The optional dates, numbers and yes/no values the check judges a note by ("notes.signed_at",
    # "services.minutes"; "notes.{field}" names the column of the item's `field` parameter).
    # A note whose value could not be read (Export.unreadable) is not evaluable for the item
    # instead of judged as if the value were blank; an authorization's value counts for the
    # notes of its episode (or patient). A kind that judges a note by the values of the other
    # notes of its episode does that itself (progress_report_interval, recertification).
    # A table alone ("services") reads all its rows: a note one of whose rows was rejected at
    # load is not evaluable for the item rather than judged on the rows left.
    reads: tuple[str, ...] = ()
    summary: str = ""
    # Kinds about one part of the work ("timed units", "plan of care") share a topic: a report
    # does not praise one of them while another is among the therapist's top gaps.
    topic: str = ""
    # What the supervising therapist owes when the kind fails on an assistant's or student's
    # note ("the report is {who} to write"): such a finding counts against that therapist, not
    # the note's author (see checks.supervision). "" for the note author's own findings.
    supervisor_duty: str = ""


REGISTRY: dict[str, CheckKind] = {}


def check_kind(
    name: str,
    *,
    params: dict[str, Param] | None = None,
    needs: tuple[str, ...] = (),
    reads: tuple[str, ...] = (),
    summary: str = "",
    topic: str = "",
    supervisor_duty: str = "",
) -> Callable[[CheckFn], CheckFn]:
    """Register a vectorised check function under `name`."""
    if supervisor_duty and "{who}" not in supervisor_duty:
        raise ValueError(f"check kind {name!r}: supervisor_duty needs a {{who}}")

    def register(fn: CheckFn) -> CheckFn:
        if name in REGISTRY:
            raise ValueError(f"check kind {name!r} registered twice")
        for read in reads:
            if not _typed_optional(read):
                raise ValueError(
                    f"check kind {name!r} reads {read!r}, which is not an optional date, number "
                    "or yes/no column"
                )
        doc = (fn.__doc__ or "").strip().splitlines()
        REGISTRY[name] = CheckKind(
            name=name,
            fn=fn,
            params=params or {},
            needs=needs,
            reads=reads,
            summary=summary or (doc[0] if doc else ""),
            topic=topic,
            supervisor_duty=supervisor_duty,
        )
        return fn

    return register


def _typed_optional(read: str) -> bool:
    """Whether a `reads` entry names an optional typed column (or the item's field), or a
    table whose rows belong to notes (a note that lost one at load is not judged)."""
    table, _, column = read.partition(".")
    if not column:
        return table in ("services", "goals", "measures")
    if column == "{field}":
        return table == "notes"
    typed = DATE_COLUMNS.get(table, []) + NUMERIC_COLUMNS.get(table, [])
    typed += BOOL_COLUMNS.get(table, [])
    return column in typed and column not in REQUIRED.get(table, [])


def outcome(
    index: pd.Index,
    fail: pd.Series | np.ndarray,
    message: pd.Series | str | None = None,
    evidence: pd.Series | str | None = None,
    *,
    applicable: pd.Series | np.ndarray | None = None,
    not_evaluable: pd.Series | np.ndarray | None = None,
    not_evaluable_reason: pd.Series | str | None = None,
) -> CheckOutcome:
    """Build a CheckOutcome from boolean masks aligned to `index`.

    Precedence: not applicable, then not evaluable, then fail, else pass. String messages are
    broadcast. Messages for not-evaluable notes come from `not_evaluable_reason`.
    """
    n = len(index)

    def mask(m: pd.Series | np.ndarray | None, default: bool) -> np.ndarray:
        if m is None:
            return np.full(n, default)
        if isinstance(m, pd.Series):
            m = m.reindex(index) if not m.index.equals(index) else m
            return m.fillna(False).to_numpy(dtype=bool)
        return np.asarray(m, dtype=bool)

    fail_m = mask(fail, False)
    app_m = mask(applicable, True)
    ne_m = mask(not_evaluable, False)
    status = np.where(fail_m, Status.FAIL, Status.PASS).astype(np.int8)
    status[ne_m] = Status.NOT_EVALUABLE
    status[~app_m] = Status.NOT_APPLICABLE
    status_s = pd.Series(status, index=index, dtype=np.int8)

    def text(s: pd.Series | str | None) -> pd.Series | None:
        if s is None:
            return None
        if isinstance(s, str):
            return pd.Series(s, index=index, dtype=object)
        return s.reindex(index) if not s.index.equals(index) else s

    msg = text(message)
    if not_evaluable_reason is not None and ne_m.any():
        reason = text(not_evaluable_reason)
        msg = reason.where(ne_m, msg if msg is not None else "")
    return CheckOutcome(status=status_s, message=msg, evidence=text(evidence))
