"""Check kinds by family; importing this package registers every kind in REGISTRY."""

from __future__ import annotations

from . import billing, episodes, fields, measures, text  # noqa: F401 - registers the kinds
from .context import AuditContext
from .registry import REGISTRY, CheckKind, CheckOutcome, Param, check_kind, outcome

__all__ = [
    "REGISTRY",
    "AuditContext",
    "CheckKind",
    "CheckOutcome",
    "Param",
    "check_kind",
    "outcome",
]
