"""Check kinds by family; importing this package registers every kind in REGISTRY."""

from __future__ import annotations

import importlib

from .context import AuditContext
from .registry import REGISTRY, CheckKind, CheckOutcome, Param, check_kind, outcome

# Families register their kinds on import. A family module that is not there yet (work in
# progress) must not stop the others from loading.
for _family in ("fields", "episodes", "billing", "text", "measures"):
    try:
        importlib.import_module(f"{__name__}.{_family}")
    except ModuleNotFoundError as _exc:
        if _exc.name != f"{__name__}.{_family}":
            raise

__all__ = [
    "REGISTRY",
    "AuditContext",
    "CheckKind",
    "CheckOutcome",
    "Param",
    "check_kind",
    "outcome",
]
