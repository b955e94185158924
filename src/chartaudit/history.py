"""Run history in SQLite: per-month therapist x item counts, and the month-over-month trend."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from platformdirs import user_data_dir
from rich.console import Console
from rich.table import Table
from rich.text import Text

from .audit import AuditResult
from .errors import ChartauditError
from .model import Status
from .report.data import ReportData
from .stats import wilson

SCHEMA_VERSION = 1
ENV_VAR = "CHARTAUDIT_HISTORY"
ALL_THERAPISTS = "All therapists"
TREND_COLUMNS = [
    "month",
    "therapist_id",
    "therapist",
    "notes",
    "passed",
    "failed",
    "not_evaluable",
    "rate",
    "ci_low",
    "ci_high",
    "previous_rate",
    "change_vs_previous",
]
WORSENED_COLUMNS = ["month", "item_id", "title", "severity", "rate", "previous_rate", "change"]

# Only counts are stored: month x therapist x item. No note, patient or chart text ever is.
# The count tables are stored by their key (WITHOUT ROWID): a million rows of a million-note
# run insert in 20% less time into half the file. Histories made before work the same.
# runs.months: JSON list of the months the run replaced; runs.therapist_filter: JSON list of
# the --therapist values (empty = the whole team); runs.checklists: JSON [{name, version}].
_SCHEMA = """
CREATE TABLE schema_version (version INTEGER NOT NULL);
CREATE TABLE runs (
    run_id INTEGER PRIMARY KEY AUTOINCREMENT,
    recorded_at TEXT NOT NULL,
    created_at TEXT,
    chartaudit_version TEXT,
    period_start TEXT,
    period_end TEXT,
    months TEXT NOT NULL,
    therapist_filter TEXT NOT NULL,
    checklists TEXT NOT NULL
);
CREATE TABLE therapists (
    therapist_id TEXT PRIMARY KEY,
    therapist TEXT NOT NULL
);
CREATE TABLE items (
    item_id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    severity TEXT,
    checklist TEXT,
    checklist_version TEXT
);
CREATE TABLE month_notes (
    month TEXT NOT NULL,
    therapist_id TEXT NOT NULL,
    notes INTEGER NOT NULL,
    run_id INTEGER NOT NULL REFERENCES runs(run_id),
    PRIMARY KEY (month, therapist_id)
) WITHOUT ROWID;
CREATE TABLE counts (
    month TEXT NOT NULL,
    therapist_id TEXT NOT NULL,
    item_id TEXT NOT NULL,
    passed INTEGER NOT NULL,
    failed INTEGER NOT NULL,
    not_evaluable INTEGER NOT NULL,
    run_id INTEGER NOT NULL REFERENCES runs(run_id),
    PRIMARY KEY (month, therapist_id, item_id)
) WITHOUT ROWID;
"""
_TABLES = {"schema_version", "runs", "therapists", "items", "month_notes", "counts"}


def resolve_path(path: Path | None) -> Path:
    """The --history path, else $CHARTAUDIT_HISTORY, else history.sqlite in the user data dir."""
    if path is not None:
        return Path(path)
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env)
    return Path(user_data_dir("chartaudit", appauthor=False)) / "history.sqlite"


def _unusable(db: Path, reason: str) -> ChartauditError:
    return ChartauditError(
        f"{db}: {reason}",
        fix="give another file with --history (or set $CHARTAUDIT_HISTORY), run with "
        "--no-history, or move this file away to start a new history",
    )


@contextlib.contextmanager
def _connect(db: Path, write: bool) -> Iterator[sqlite3.Connection]:
    """An open, schema-checked connection; read-only ones never create the file."""
    db = Path(db)
    try:
        if write:
            db.parent.mkdir(parents=True, exist_ok=True)
            con = sqlite3.connect(db, timeout=30, isolation_level=None)
        else:
            if not db.is_file():
                raise ChartauditError(
                    f"{db}: no such history database",
                    fix="check the --history path; `chartaudit run` records into it (unless "
                    "--no-history is given), and `chartaudit trend` without --history reads "
                    "the default history",
                )
            con = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
    except OSError as exc:
        raise _unusable(db, f"cannot be opened ({exc.strerror or exc})") from None
    except sqlite3.Error as exc:
        raise _unusable(db, f"cannot be opened ({exc})") from None
    try:
        try:
            _check_schema(con, db, create=write)
        except sqlite3.DatabaseError as exc:
            raise _unusable(db, f"not a chartaudit history database ({exc})") from None
        yield con
    finally:
        con.close()


def _check_schema(con: sqlite3.Connection, db: Path, create: bool) -> None:
    tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if not tables and create:
        con.execute("BEGIN IMMEDIATE")
        try:
            # A second process may have created it while this one waited for the lock.
            if not con.execute("SELECT 1 FROM sqlite_master WHERE name = 'runs'").fetchone():
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        con.execute(statement)
                con.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION,))
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        return
    missing = _TABLES - tables
    if missing:
        raise _unusable(db, f"not a chartaudit history database (no {sorted(missing)[0]} table)")
    row = con.execute("SELECT MAX(version) FROM schema_version").fetchone()
    version = row[0] if row else None
    if version is None or version > SCHEMA_VERSION:
        raise ChartauditError(
            f"{db}: history written by a newer chartaudit (schema version {version})",
            fix="upgrade chartaudit, or give another file with --history",
        )


def month_counts(data: ReportData) -> tuple[pd.DataFrame, pd.DataFrame]:
    """This run's counts: (month, therapist_id, item_id, passed, failed, not_evaluable) for every
    combination with something applicable, and notes per (month, therapist_id)."""
    return _month_counts(data.result)


def _month_counts(result: AuditResult) -> tuple[pd.DataFrame, pd.DataFrame]:
    a = result.attribution
    dos = result.notes["date_of_service"].to_numpy(dtype="datetime64[ns]")[a.rows]
    # Therapists by their ids as text, sorted; the attribution's nobody code sorts last.
    k = a.nobody
    named, therapists = pd.factorize(pd.Series(a.therapist_ids, dtype=object), sort=True)
    therapist = np.append(named, k)  # attribution code -> sorted code
    dated = pd.DatetimeIndex(dos)
    month, months = pd.factorize(dated.year * 100 + dated.month, sort=True)
    # One group per (month, therapist), in sorted order: a row's pairs fall in its author's
    # group, its supervised items' in its supervisor's (see AuditResult.attribution).
    author = month * (k + 1) + therapist[a.author]
    answer = month * (k + 1) + therapist[a.answer]
    keys, group = np.unique(np.concatenate([author, answer]), return_inverse=True)
    group = group.reshape(-1)
    n_groups = len(keys)
    per_status = a.tally(group[: len(author)], group[len(author) :], n_groups)
    ids = np.array([i.id for i in result.items], dtype=object)
    passed = per_status[:, :, Status.PASS].ravel()
    failed = per_status[:, :, Status.FAIL].ravel()
    not_evaluable = per_status[:, :, Status.NOT_EVALUABLE].ravel()
    key_month, key_therapist = np.divmod(keys, k + 1)
    someone = np.repeat(key_therapist < k, len(ids))
    keep = someone & ((passed + failed + not_evaluable) > 0)
    month_text = _month_text(pd.Series(np.asarray(months))).to_numpy(dtype=object)
    long = pd.DataFrame(
        {
            "month": _text(month_text, np.repeat(key_month, len(ids))[keep]),
            "therapist_id": _text(therapists, np.repeat(key_therapist, len(ids))[keep]),
            "item_id": _text(ids, np.tile(np.arange(len(ids)), n_groups)[keep]),
            "passed": passed[keep],
            "failed": failed[keep],
            "not_evaluable": not_evaluable[keep],
        }
    )
    notes = np.bincount(group[: len(author)][a.audited], minlength=n_groups)
    listed = (key_therapist < k) & (notes > 0)
    notes_per = pd.DataFrame(
        {
            "month": _text(month_text, key_month[listed]),
            "therapist_id": _text(therapists, key_therapist[listed]),
            "notes": notes[listed],
        }
    )
    return long, notes_per


def _text(distinct: Any, codes: np.ndarray) -> pd.Series:
    """distinct[codes] as a text column, taken in Arrow: no Python string per row (a million
    rows of month, therapist and item)."""
    values = pa.array([str(v) for v in distinct], type=pa.large_string())
    return pd.Series(values.take(pa.array(codes, type=pa.int64())), dtype="str")


def _month_text(yyyymm: pd.Series) -> pd.Series:
    values = yyyymm.astype("int64")
    return (values // 100).astype(str) + "-" + (values % 100).astype(str).str.zfill(2)


def record(data: ReportData, db: Path, skip_months: set[str] | frozenset = frozenset()) -> None:
    """Store this run's per-month counts, replacing what an earlier run stored for its months
    (only for its therapists when the run was limited with --therapist). Months in
    `skip_months` (only partly audited, e.g. --from in mid-month) are not stored, so they never
    overwrite a whole month."""
    Recorder(data.result, db, skip_months, data.options.get("therapists")).finish(data)


class Recorder:
    """record() in two steps, so that a run's counts are stored while its statistics are still
    being computed: Recorder(result, ...) starts a thread that counts and inserts the rows
    (SQLite releases the GIL while it writes them); finish(data) gives it what only the
    statistics know (therapist names, the period) and waits for the commit. At a million notes
    the history took 3 s after the 2.3 s of statistics; now most of it runs alongside them.

    The transaction commits only in finish(); abandon() rolls it back."""

    def __init__(
        self,
        result: AuditResult,
        db: Path,
        skip_months: set[str] | frozenset = frozenset(),
        therapists: list[str] | None = None,
    ) -> None:
        self._data: Future = Future()
        # (month, findings and checks stored before, findings and checks now) for each month
        # whose stored counts this run replaced with different ones; set by finish().
        self.changed: list[tuple[str, int, int, int, int]] = []
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chartaudit-history")
        self._done = self._pool.submit(
            self._record, result, Path(db), set(skip_months), list(therapists or [])
        )

    def finish(self, data: ReportData) -> list[tuple[str, int]]:
        """Record the run (data: its ReportData); raises what the recording raised. Returns
        the months that held another team's counts (see _other_teams) and now hold this run's,
        each with the number of therapists it held."""
        self._data.set_result(data)
        try:
            return self._done.result()
        finally:
            self._pool.shutdown()

    def abandon(self) -> None:
        """The run failed before its statistics: record nothing."""
        if not self._data.done():
            self._data.set_exception(_Abandoned())
        with contextlib.suppress(BaseException):
            self._done.result()
        self._pool.shutdown()

    def _record(
        self, result: AuditResult, db: Path, skip: set[str], only: list[str]
    ) -> list[tuple[str, int]]:
        counts, notes = _month_counts(result)
        if skip:
            counts = counts[~counts["month"].isin(skip)]
            notes = notes[~notes["month"].isin(skip)]
        with _connect(db, write=True) as con:
            con.execute("BEGIN IMMEDIATE")
            try:
                replaced = [] if only else _other_teams(con, notes)
                self.changed = _changed_months(
                    con, counts, [i.id for i in result.items], only, {m for m, _ in replaced}
                )
                self._write(con, result, counts, notes, only)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        return replaced

    def _write(
        self,
        con: sqlite3.Connection,
        result: AuditResult,
        counts: pd.DataFrame,
        notes: pd.DataFrame,
        only: list[str],
    ) -> None:
        months = sorted(notes["month"].unique())
        checklists = [{"name": c.name, "version": c.version} for c in result.checklists]
        # The run's row first (its id is on every count); what only the statistics know is
        # filled in once they are done.
        run_id = con.execute(
            "INSERT INTO runs (recorded_at, created_at, chartaudit_version, period_start, "
            "period_end, months, therapist_filter, checklists) VALUES (?,?,?,?,?,?,?,?)",
            (
                dt.datetime.now().isoformat(timespec="seconds"),
                "",
                "",
                None,
                None,
                json.dumps(months),
                json.dumps(only),
                json.dumps(checklists),
            ),
        ).lastrowid
        # A run replaces what it audited: its months, for its therapists (--therapist) and its
        # items (--checklist), so a run of one checklist leaves the other items' counts of the
        # month as recorded, and the month's rate keeps comparing like with like.
        if only:
            # Its therapists: those with notes, and those with only pairs on the visits of
            # assistants they supervise.
            held = pd.concat([notes[["month", "therapist_id"]], counts[["month", "therapist_id"]]])
            held = held.drop_duplicates()
            pairs = list(held.itertuples(index=False, name=None))
        else:
            pairs = [(m, None) for m in months]
        con.executemany(
            "DELETE FROM month_notes WHERE month = ?1 AND (?2 IS NULL OR therapist_id = ?2)",
            pairs,
        )
        item_ids = [item.id for item in result.items]
        con.executemany(
            "DELETE FROM counts WHERE month = ?1 AND (?2 IS NULL OR therapist_id = ?2) "
            "AND item_id = ?3",
            [(m, t, i) for m, t in pairs for i in item_ids],
        )
        con.executemany(
            "INSERT INTO counts VALUES (?,?,?,?,?,?,?)",
            zip(
                # tolist(): iterating an Arrow-backed column yields one scalar at a time
                counts["month"].tolist(),
                counts["therapist_id"].tolist(),
                counts["item_id"].tolist(),
                counts["passed"].astype(int).tolist(),
                counts["failed"].astype(int).tolist(),
                counts["not_evaluable"].astype(int).tolist(),
                [run_id] * len(counts),
                strict=True,
            ),
        )
        con.executemany(
            "INSERT INTO month_notes VALUES (?,?,?,?)",
            zip(
                notes["month"].tolist(),
                notes["therapist_id"].tolist(),
                notes["notes"].astype(int).tolist(),
                [run_id] * len(notes),
                strict=True,
            ),
        )
        versions = {item.id: cl.version for cl in result.checklists for item in cl.items}
        con.executemany(
            "INSERT INTO items VALUES (?,?,?,?,?) ON CONFLICT(item_id) DO UPDATE SET "
            "title = excluded.title, severity = excluded.severity, "
            "checklist = excluded.checklist, checklist_version = excluded.checklist_version",
            [(i.id, i.title, i.severity, i.checklist, versions.get(i.id)) for i in result.items],
        )
        data: ReportData = self._data.result()  # waits for the statistics
        overall = data.stats.overall
        con.execute(
            "UPDATE runs SET created_at = ?, chartaudit_version = ?, period_start = ?, "
            "period_end = ? WHERE run_id = ?",
            (
                data.created_at,
                data.version,
                overall.get("period_start"),
                overall.get("period_end"),
                run_id,
            ),
        )
        names = data.stats.therapists[["therapist_id", "therapist"]].astype(str)
        con.executemany(
            "INSERT INTO therapists VALUES (?, ?) "
            "ON CONFLICT(therapist_id) DO UPDATE SET therapist = excluded.therapist",
            names.itertuples(index=False, name=None),
        )


def _other_teams(con: sqlite3.Connection, notes: pd.DataFrame) -> list[tuple[str, int]]:
    """The months of this run (`notes`: its month x therapist rows) that the history holds
    for another team: none of the month's recorded therapists is among this run's. (A team's
    own rerun of a month shares its therapists; another clinic's export, or the synthetic
    sample data, shares none.) Each with the number of therapists recorded."""
    ours = set(notes["therapist_id"].astype(str).tolist())
    held = pd.read_sql_query("SELECT month, therapist_id FROM month_notes", con)
    held = held[held["month"].isin(set(notes["month"].tolist()))]
    out = []
    for month, ids in held.groupby("month")["therapist_id"]:
        if ours.isdisjoint(ids.astype(str).tolist()):
            out.append((str(month), int(ids.nunique())))
    return out


def _changed_months(
    con: sqlite3.Connection,
    counts: pd.DataFrame,
    item_ids: list[str],
    only: list[str],
    skip: set[str],
) -> list[tuple[str, int, int, int, int]]:
    """The months of this run whose stored counts (for its items and, under --therapist, its
    therapists) it replaces with different ones: (month, findings and checks stored, findings
    and checks now). A month another team held (`skip`) is reported apart (_other_teams)."""
    ours = counts.loc[~counts["month"].isin(skip)]
    if ours.empty:
        return []
    months = sorted(set(ours["month"].tolist()))
    where = (
        "month IN (SELECT value FROM json_each(?1)) "
        "AND item_id IN (SELECT value FROM json_each(?2))"
    )
    args = [json.dumps(months), json.dumps(item_ids)]
    if only:
        where += " AND therapist_id IN (SELECT value FROM json_each(?3))"
        args.append(json.dumps(sorted(set(ours["therapist_id"].astype(str).tolist()))))
    stored = con.execute(
        f"SELECT month, SUM(failed), SUM(passed) + SUM(failed) FROM counts WHERE {where} "  # noqa: S608 - fixed text
        "GROUP BY month",
        args,
    ).fetchall()
    now = ours.groupby("month")[["failed", "passed"]].sum()
    out = []
    for month, failed, checked in stored:
        new_failed = int(now.at[month, "failed"]) if month in now.index else 0
        new_checked = new_failed + (int(now.at[month, "passed"]) if month in now.index else 0)
        if (int(failed), int(checked)) != (new_failed, new_checked):
            out.append((str(month), int(failed), int(checked), new_failed, new_checked))
    return out


def describe_changes(db: Path, changed: list[tuple[str, int, int, int, int]]) -> str | None:
    """The notice for months a run replaced with different counts (Recorder.changed), or None."""
    if not changed:
        return None
    parts = [
        f"{month} ({failed:,} finding{'s' * (failed != 1)} in {checked:,} checks; now "
        f"{new_failed:,} in {new_checked:,})"
        for month, failed, checked, new_failed, new_checked in changed
    ]
    return (
        f"run history {db}: this run replaced what was stored for {', '.join(parts)}; "
        "reports made earlier for "
        + ("that month" if len(changed) == 1 else "those months")
        + " show the old figures"
    )


class _Abandoned(Exception):
    """The run stopped before its statistics: the recording is rolled back."""


def _with_rates(frame: pd.DataFrame, key: str) -> pd.DataFrame:
    """rate and Wilson interval per row; previous_rate = the same key's last earlier month."""
    total = frame["passed"] + frame["failed"]
    frame["rate"] = frame["passed"] / total.where(total > 0)
    frame["ci_low"], frame["ci_high"] = wilson(frame["passed"], total)
    frame = frame.sort_values([key, "month"], ignore_index=True)
    previous = frame.groupby(key, sort=False)["rate"].shift()
    frame["previous_rate"] = previous.groupby(frame[key], sort=False).ffill()
    return frame


def trend_frame(counts: pd.DataFrame, notes: pd.DataFrame, names: pd.Series) -> pd.DataFrame:
    """Per month, overall (therapist_id '') and per therapist: counts, rate, Wilson interval and
    the change against the therapist's previous month (rate points as a fraction)."""
    if counts.empty and notes.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in TREND_COLUMNS})
    sums = ["passed", "failed", "not_evaluable"]
    per = counts.groupby(["month", "therapist_id"], as_index=False)[sums].sum()
    per = per.merge(notes, on=["month", "therapist_id"], how="outer")
    per[sums + ["notes"]] = per[sums + ["notes"]].fillna(0).astype("int64")
    team = per.groupby("month", as_index=False)[sums + ["notes"]].sum()
    team["therapist_id"] = ""
    frame = pd.concat([team, per], ignore_index=True)
    frame = _with_rates(frame, "therapist_id")
    frame["change_vs_previous"] = frame["rate"] - frame["previous_rate"]
    frame["therapist"] = frame["therapist_id"].map(names).fillna(frame["therapist_id"])
    frame.loc[frame["therapist_id"] == "", "therapist"] = ALL_THERAPISTS
    frame["_team"] = frame["therapist_id"] != ""
    frame = frame.sort_values(["month", "_team", "therapist", "therapist_id"], ignore_index=True)
    return frame[TREND_COLUMNS]


def trend_from_data(data: ReportData) -> pd.DataFrame:
    """months()'s frame for this run's data alone (when there is no run history)."""
    counts, notes = month_counts(data)
    names = data.stats.therapists.set_index("therapist_id")["therapist"]
    return trend_frame(counts, notes, names)


def _read(db: Path, sql: str) -> pd.DataFrame:
    with _connect(db, write=False) as con:
        try:
            return pd.read_sql_query(sql, con)
        except sqlite3.DatabaseError as exc:
            raise _unusable(db, f"cannot be read ({exc})") from None


def months(db: Path) -> pd.DataFrame:
    """Every recorded month, overall (therapist_id '') and per therapist, with rate, Wilson
    interval and change_vs_previous; raises ChartauditError when db is missing or unusable."""
    return trend_frame(*_trend_tables(db))


def team_months(db: Path, therapist_ids: Iterable) -> tuple[pd.DataFrame, list[str]]:
    """months() of one team: the months in which one of `therapist_ids` has notes, the change
    against the team's own previous month; and the months left out (another team's: the
    sample data's, another clinic's, which would read as this team's rise or fall)."""
    counts, notes, names = _trend_tables(db)
    ours = set(map(str, therapist_ids))
    shared = set(notes.loc[notes["therapist_id"].astype(str).isin(ours), "month"])
    others = sorted(set(notes["month"]) - shared)
    frame = trend_frame(
        counts[counts["month"].isin(shared)], notes[notes["month"].isin(shared)], names
    )
    return frame, others


def _trend_tables(db: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    counts = _read(
        db,
        "SELECT month, therapist_id, SUM(passed) AS passed, SUM(failed) AS failed, "
        "SUM(not_evaluable) AS not_evaluable FROM counts GROUP BY month, therapist_id",
    )
    notes = _read(db, "SELECT month, therapist_id, notes FROM month_notes")
    names = _read(db, "SELECT therapist_id, therapist FROM therapists")
    return counts, notes, names.set_index("therapist_id")["therapist"]


def worsened_items(db: Path) -> pd.DataFrame:
    """Items whose team-wide rate fell against their previous recorded month, worst drop first
    within each month."""
    frame = _read(
        db,
        "SELECT c.month, c.item_id, COALESCE(i.title, c.item_id) AS title, i.severity, "
        "SUM(c.passed) AS passed, SUM(c.failed) AS failed FROM counts c "
        "LEFT JOIN items i ON i.item_id = c.item_id GROUP BY c.month, c.item_id",
    )
    if frame.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in WORSENED_COLUMNS})
    frame = _with_rates(frame, "item_id")
    frame["change"] = frame["rate"] - frame["previous_rate"]
    worse = frame[(frame["change"] < 0).fillna(False)]
    return worse.sort_values(["month", "change", "item_id"], ignore_index=True)[WORSENED_COLUMNS]


def _pct(value: float) -> str:
    return "–" if pd.isna(value) else f"{value:.1%}"


def _change(value: float) -> Text:
    if pd.isna(value):
        return Text("–", style="dim")
    points = value * 100
    if abs(points) < 0.05:
        return Text("±0.0 pts")
    return Text(f"{points:+.1f} pts", style="green" if points > 0 else "red")


def print_trend(console: Console, path: Path | None) -> None:
    """Month-over-month compliance tables from the run history; a friendly note when there is
    none yet. Raises ChartauditError when an explicitly given --history file is missing or any
    history file is unusable."""
    db = resolve_path(path)
    if path is None and not db.exists():
        console.print(
            f"No runs recorded yet in {db}. Each `chartaudit run` records its month(s) there "
            "(unless --no-history); run one to start the trend."
        )
        return
    # The months of the latest run's team (see team_months).
    latest_team = _read(
        db,
        "SELECT DISTINCT therapist_id FROM month_notes "
        "WHERE run_id = (SELECT MAX(run_id) FROM month_notes)",
    )["therapist_id"]
    frame, others = team_months(db, latest_team)
    if frame.empty:
        console.print(f"The history in {db} has no runs yet; run `chartaudit run` first.")
        return
    if others:
        console.print(
            f"Left out: {', '.join(others)}, recorded for another team than the latest run's "
            "(no therapist in common). Keep each team's trend apart with --history FILE."
        )
    team = frame[frame["therapist_id"] == ""]
    overall = Table(title=f"Compliance by month ({db.name})", title_justify="left")
    for name, justify in [
        ("Month", "left"),
        ("Notes", "right"),
        ("Passed", "right"),
        ("Failed", "right"),
        ("Rate", "right"),
        ("95% CI", "right"),
        ("Change", "right"),
    ]:
        overall.add_column(name, justify=justify)
    for row in team.itertuples(index=False):
        overall.add_row(
            row.month,
            f"{row.notes:,}",
            f"{row.passed:,}",
            f"{row.failed:,}",
            _pct(row.rate),
            f"{_pct(row.ci_low)}–{_pct(row.ci_high)}" if pd.notna(row.rate) else "–",
            _change(row.change_vs_previous),
        )
    console.print(overall)

    shown = sorted(frame["month"].unique())[-6:]
    people = frame[(frame["therapist_id"] != "") & frame["month"].isin(shown)]
    rates = people.pivot(index="therapist_id", columns="month", values="rate")
    rates = rates.reindex(columns=shown)
    names = people.drop_duplicates("therapist_id").set_index("therapist_id")["therapist"]
    latest = shown[-1]
    change = people[people["month"] == latest].set_index("therapist_id")["change_vs_previous"]
    per = Table(title="Per therapist", title_justify="left")
    per.add_column("Therapist")
    for month in shown:
        per.add_column(month, justify="right")
    per.add_column("Change", justify="right")
    for therapist_id in names.sort_values(kind="stable").index:
        per.add_row(
            Text(str(names[therapist_id])),
            *(_pct(v) for v in rates.loc[therapist_id]),
            _change(change.get(therapist_id, np.nan)),
        )
    console.print(per)

    worse = worsened_items(db)
    worse = worse[worse["month"] == latest]
    if worse.empty:
        console.print(f"No item got worse in {latest} than in its previous month.")
        return
    items = Table(title=f"Items that got worse in {latest}", title_justify="left")
    for name, justify in [
        ("Item", "left"),
        ("Title", "left"),
        ("Before", "right"),
        (latest, "right"),
        ("Change", "right"),
    ]:
        items.add_column(name, justify=justify)
    for row in worse.itertuples(index=False):
        items.add_row(
            Text(row.item_id),
            Text(str(row.title)),
            _pct(row.previous_rate),
            _pct(row.rate),
            _change(row.change),
        )
    console.print(items)
