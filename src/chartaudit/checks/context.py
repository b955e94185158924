"""AuditContext: what a check kind may read, with derived frames computed once and cached."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..export import Export


@dataclass
class AuditContext:
    """The export under audit plus a per-run cache of derived frames.

    `as_of` is the date the audit treats as "today" (the latest date in the export or the end
    of `--to`), so rules like "certification overdue" do not depend on the wall clock.
    """

    export: Export
    as_of: pd.Timestamp
    options: dict[str, Any] = field(default_factory=dict)
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)
    _locks: dict[str, threading.Lock] = field(default_factory=dict, repr=False)
    _guard: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def notes(self) -> pd.DataFrame:
        return self.export.tables["notes"]

    def table(self, name: str) -> pd.DataFrame | None:
        return self.export.table(name)

    def has(self, need: str) -> bool:
        return self.export.has(need)

    def positions(self, idx: pd.Index) -> np.ndarray:
        """Row positions in `notes` of the notes labelled `idx` (for numpy arrays over notes)."""
        return self.notes.index.get_indexer(idx)

    def cached(self, key: str, build: Callable[[], Any]) -> Any:
        """Compute `build()` once per run under `key` (derived frames shared by checks).

        Items run on several threads: a second caller of the same key waits for the first
        one's result instead of building it again.
        """
        if key in self._cache:
            return self._cache[key]
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._cache:
                self._cache[key] = build()
        return self._cache[key]

    def release(self) -> None:
        """Drop the derived frames (clone shingles alone are ~1 GB at a million notes) once
        every item has run; the reports need none of them."""
        with self._guard:
            self._cache.clear()
            self._locks.clear()
