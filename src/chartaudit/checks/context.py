"""AuditContext: what a check kind may read, with derived frames computed once and cached."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..export import Export
from ..model import SOURCE_FILE, SOURCE_ROW


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
    # Items of each check kind still to finish (set by the audit), and the cache entries only
    # some kinds read: an entry is dropped when the last item of its kinds has finished.
    _pending: Counter | None = field(default=None, repr=False)
    _owners: dict[str, tuple[str, ...]] = field(default_factory=dict, repr=False)

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

    def unreadable_notes(self, read: str) -> tuple[np.ndarray, str] | None:
        """For a CheckKind.reads entry ("notes.signed_at", its field filled in): per note (row
        positions of `notes`), whether a value it reads could not be read (Export.unreadable),
        and the reason to give; None when every such value was read (the usual case)."""
        table, _, column = read.partition(".")
        if not column:
            return self._rejected_row_notes(table)
        found = self.export.unreadable
        if found.empty:
            return None
        rows = found[(found["table"] == table) & (found["column"] == column)]
        if rows.empty or table not in self.export.tables:
            return None

        def build() -> tuple[np.ndarray, str]:
            hit = _notes_of_rows(self.export, table, rows)
            expected = rows["expected"].iat[0]
            if table == "authorizations":
                whose = f"an authorization's {column}"
            elif table == "notes":
                whose = f"the note's {column}"
            else:
                whose = f"the {column} of one of the note's {table} rows"
            return hit, f"{whose} could not be read as {expected}"

        return self.cached(f"unreadable:{read}", build)

    def _rejected_row_notes(self, table: str) -> tuple[np.ndarray, str] | None:
        """unreadable_notes of a whole table ("services"): the notes that lost one of their
        rows of it at load (judged on the rows left, they would look complete)."""
        rejected = self.export.rejected
        if "note_id" not in rejected.columns:
            return None
        ids = rejected.loc[(rejected["table"] == table).to_numpy(), "note_id"].dropna()
        if ids.empty:
            return None

        def build() -> tuple[np.ndarray, str]:
            wanted = ids.astype(str).str.strip().unique()
            hit = self.notes["note_id"].astype(str).isin(wanted).to_numpy(dtype=bool)
            return hit, f"one of the note's {table} rows was rejected at load (see rejected.csv)"

        return self.cached(f"rejected:{table}", build)

    def cached(
        self, key: str, build: Callable[[], Any], only_for: Iterable[str] | None = None
    ) -> Any:
        """Compute `build()` once per run under `key` (derived frames shared by checks).

        Items run on several threads: a second caller of the same key waits for the first
        one's result instead of building it again. `only_for`: the check kinds that read the
        entry; it is dropped once the audit's last item of those kinds has finished.
        """
        if only_for is not None:
            with self._guard:
                self._owners.setdefault(key, tuple(only_for))
        if key in self._cache:
            return self._cache[key]
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._cache:
                self._cache[key] = build()
            return self._cache[key]

    def expect(self, kinds: Iterable[str]) -> None:
        """The audit will run an item of each of these check kinds (a kind once per item)."""
        with self._guard:
            self._pending = (self._pending or Counter()) + Counter(kinds)

    def finished(self, kind: str) -> None:
        """An item of `kind` has finished: drop the entries no item still to run will read
        (nothing is dropped outside an audit that said what it expects)."""
        with self._guard:
            if self._pending is None:
                return
            self._pending[kind] -= 1
            done = [
                key
                for key, owners in self._owners.items()
                if all(self._pending[k] <= 0 for k in owners)
            ]
            for key in done:
                self._cache.pop(key, None)
                self._locks.pop(key, None)
                del self._owners[key]

    def release(self) -> None:
        """Drop the derived frames (clone shingles alone are ~1 GB at a million notes) once
        every item has run; the reports need none of them."""
        with self._guard:
            self._cache.clear()
            self._locks.clear()


def _notes_of_rows(export: Export, table: str, found: pd.DataFrame) -> np.ndarray:
    """Per note: whether it is the note of one of the `found` rows of `table` (Export.unreadable
    rows, by file and row number); a goal without a note, and an authorization, count for
    their episode's notes (an authorization without one for its patient's)."""
    notes, frame = export.notes, export.tables[table]
    # The rows still loaded: one rejected afterwards (a duplicate note id) is no note's.
    near = np.flatnonzero(frame[SOURCE_ROW].isin(found["row"].astype(np.int64)).to_numpy())
    wanted = pd.MultiIndex.from_arrays([found["file"].astype(str), found["row"].astype(np.int64)])
    sub = frame.iloc[near]
    keys = [sub[SOURCE_FILE].astype(str), sub[SOURCE_ROW].astype(np.int64)]
    at = near[pd.MultiIndex.from_arrays(keys).isin(wanted)]
    rows = frame.iloc[at]
    hit = np.zeros(len(notes), dtype=bool)
    if table == "notes":
        hit[at] = True
    elif table != "authorizations" and "note_idx" in rows.columns:
        idx = pd.to_numeric(rows["note_idx"], errors="coerce")
        hit[idx.dropna().to_numpy(dtype=np.int64)] = True
        rows = rows[idx.isna().to_numpy()]
    if table in ("goals", "authorizations") and len(rows):
        episodes = rows["episode_id"].dropna().astype(object)
        hit |= notes["episode_id"].isin(episodes).to_numpy(dtype=bool)
        if table == "authorizations":
            patients = rows.loc[rows["episode_id"].isna(), "patient_id"].dropna().astype(object)
            hit |= notes["patient_id"].isin(patients).to_numpy(dtype=bool)
    return hit
