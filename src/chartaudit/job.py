"""The `run` job: load, audit, statistics, outputs and thresholds, callable without the CLI."""

from __future__ import annotations

import calendar
import contextlib
import datetime as dt
import os
import re
import shutil
import threading
import time
import unicodedata
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .audit import run_audit
from .checklists import load_checklists
from .errors import EXIT_SUCCESS, EXIT_THRESHOLD, ChartauditError
from .export import Export
from .load import MAPPING_FILE_NAME, load_export
from .memory import release_freed_memory, small_pages
from .model import SEVERITY_ORDER
from .privacy import Redactor, auth_ids
from .report import files as csvjson
from .report.data import ReportData, build
from .report.staging import staged

ALL_FORMATS = ("html", "xlsx", "csv", "json")
OPTIONAL_FORMATS = ("pdf",)


@dataclass
class RunOptions:
    export_dir: Path
    out: Path = Path("chartaudit-report")
    checklists: list[str] = field(default_factory=list)
    mapping: Path | None = None
    period: str | None = None
    date_from: str | None = None
    date_to: str | None = None
    therapists: list[str] = field(default_factory=list)
    redact: bool = False
    redact_key: str | None = None
    sample: int | None = None
    seed: int = 0
    fail_under: float | None = None
    fail_on: str | None = None
    formats: tuple[str, ...] = ALL_FORMATS
    history: Path | None = None
    no_history: bool = False

    def recorded(self) -> dict:
        """The options as summary.json and the workbook's About sheet record them."""
        return {
            "checklists": self.checklists or "all built-in",
            "mapping": str(self.mapping) if self.mapping else None,
            "period": self.period,
            "from": self.date_from,
            "to": self.date_to,
            "therapists": self.therapists,
            "redact": self.redact,
            "sample": self.sample,
            "seed": self.seed,
            "fail_under": self.fail_under,
            "fail_on": self.fail_on,
            "formats": list(self.formats),
            # The file itself (--history, else CHARTAUDIT_HISTORY, else the user's default).
            "history": None if self.no_history else str(_history_path(self.history)),
        }


def _history_path(path: Path | None) -> Path:
    from .history import resolve_path

    return resolve_path(path)


@dataclass
class JobOutcome:
    data: ReportData
    written: list[Path]
    exit_code: int
    breaches: list[str]
    timings: dict[str, float]
    notices: list[str] = field(default_factory=list)


Step = Callable[[str], None]


def parse_formats(text: str | None) -> tuple[str, ...]:
    if not text:
        return ALL_FORMATS
    wanted = tuple(dict.fromkeys(p.strip().lower() for p in text.split(",") if p.strip()))
    bad = [f for f in wanted if f not in ALL_FORMATS + OPTIONAL_FORMATS]
    if bad:
        raise ChartauditError(
            f"--format: unknown format {bad[0]!r}",
            fix=f"use a comma-separated list of {', '.join(ALL_FORMATS + OPTIONAL_FORMATS)}",
        )
    return wanted


def _date(text: str, option: str) -> pd.Timestamp:
    try:
        return pd.Timestamp(dt.date.fromisoformat(text))
    except ValueError:
        raise ChartauditError(
            f"{option} {text!r} is not a date", fix="write it as YYYY-MM-DD"
        ) from None


def period_bounds(opts: RunOptions) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    if opts.period and (opts.date_from or opts.date_to):
        raise ChartauditError(
            "--period cannot be combined with --from/--to",
            fix="give either --period YYYY-MM or --from/--to",
        )
    if opts.period:
        try:
            year, month = (int(x) for x in opts.period.split("-"))
            last = calendar.monthrange(year, month)[1]
            return pd.Timestamp(year, month, 1), pd.Timestamp(year, month, last)
        except (ValueError, TypeError):
            raise ChartauditError(
                f"--period {opts.period!r} is not a month", fix="write it as YYYY-MM, e.g. 2026-10"
            ) from None
    start = _date(opts.date_from, "--from") if opts.date_from else None
    end = _date(opts.date_to, "--to") if opts.date_to else None
    if start is not None and end is not None and end < start:
        raise ChartauditError("--to is before --from", fix="swap the two dates")
    return start, end


def scope_mask(export: Export, opts: RunOptions) -> np.ndarray:
    """The notes of the audited period (all when none is given)."""
    notes = export.notes
    mask = np.ones(len(notes), dtype=bool)
    start, end = period_bounds(opts)
    if start is not None:
        mask &= (notes["date_of_service"] >= start).to_numpy()
    if end is not None:
        mask &= (notes["date_of_service"] <= end).to_numpy()
    return mask


def therapist_mask(export: Export, opts: RunOptions) -> np.ndarray | None:
    """The notes written by the --therapist values; None when the run audits every one."""
    return _therapist_mask(export.notes, opts.therapists) if opts.therapists else None


def _name_words(name: str) -> frozenset[str]:
    """A name's words without case or accents, in any order: "Martínez, José" and "jose
    martinez" are the same therapist."""
    plain = unicodedata.normalize("NFKD", name)
    plain = "".join(c for c in plain if not unicodedata.combining(c)).casefold()
    return frozenset(re.findall(r"[^\W_]+", plain))


def _therapist_mask(notes: pd.DataFrame, wanted: list[str]) -> np.ndarray:
    """The notes of the --therapist values: each an id or name as exported (any case), else
    the same words in any order and without accents, else the one therapist whose name has
    all its words ("Nguyen" when only one therapist is called Nguyen)."""
    names = notes["therapist"].astype(str)
    ids = notes["therapist_id"].astype(str)
    distinct = sorted(set(names.dropna()))
    words = {n: _name_words(n) for n in distinct}
    chosen: set[str] = set()
    for value in wanted:
        folded = value.casefold()
        exact = {n for n in distinct if n.casefold() == folded}
        exact |= set(names[ids.str.casefold() == folded])
        key = _name_words(value)
        same = {n for n, w in words.items() if w == key}
        partial = {n for n, w in words.items() if key and key <= w}
        found = exact or same or (partial if len(partial) == 1 else set())
        if not found:
            if len(partial) > 1:
                raise ChartauditError(
                    f"--therapist {value!r} matches {len(partial)} therapists: "
                    + "; ".join(sorted(partial)[:10]),
                    fix="give the whole name (or the therapist_id)",
                )
            raise ChartauditError(
                f"--therapist {value!r}: no such therapist in the export",
                fix="use a name or therapist_id as exported, e.g. " + "; ".join(distinct[:10]),
            )
        chosen |= found
    return names.isin(chosen).to_numpy()


def _nothing_to_audit(export: Export) -> ChartauditError:
    dates = export.notes["date_of_service"]
    span = (
        f"the export's notes run from {dates.min():%Y-%m-%d} to {dates.max():%Y-%m-%d}"
        if dates.notna().any()
        else "the export has no loadable notes"
    )
    return ChartauditError(
        "no notes to audit in the requested period/therapists",
        fix=f"{span}; check --period/--from/--to/--therapist (or rejected rows with "
        "`chartaudit inspect`)",
    )


def check_thresholds(data: ReportData, opts: RunOptions) -> list[str]:
    breaches = []
    rate = data.stats.overall["rate"]
    if opts.fail_under is not None and rate is not None and rate * 100 < opts.fail_under:
        breaches.append(f"overall compliance {rate:.1%} is below --fail-under {opts.fail_under}%")
    if opts.fail_on:
        worst = SEVERITY_ORDER[: SEVERITY_ORDER.index(opts.fail_on) + 1]
        n = int(data.findings["severity"].isin(worst).sum())
        if n:
            breaches.append(f"{n} finding(s) of severity {opts.fail_on} or worse (--fail-on)")
    return breaches


def partial_months(opts: RunOptions) -> set[str]:
    """Months that --from/--to cover only in part (a whole --period is never partial)."""
    start, end = period_bounds(opts) if not opts.period else (None, None)
    out = set()
    if start is not None and start.day != 1:
        out.add(f"{start:%Y-%m}")
    if end is not None and end.day != calendar.monthrange(end.year, end.month)[1]:
        out.add(f"{end:%Y-%m}")
    return out


def _draft_copy(db: Path) -> Path:
    """A working copy of the history database next to it (empty when there is none yet)."""
    db.parent.mkdir(parents=True, exist_ok=True)
    draft = db.with_name(f".{db.name}.{os.getpid()}.draft")
    if db.exists():
        shutil.copyfile(db, draft)
    elif draft.exists():
        draft.unlink()
    return draft


def _describe_outputs(formats: tuple[str, ...]) -> str:
    names = {"csv": "CSV files", "json": "summary", "html": "HTML reports", "pdf": "PDFs"}
    names["xlsx"] = "workbook"
    order = ("csv", "json", "xlsx", "html", "pdf")
    parts = [names[f] for f in order if f in formats]
    return ", ".join(parts) if parts else "outputs"


def _write_tables(
    data, stage: Path, formats: tuple[str, ...], timings: dict[str, float]
) -> tuple[list[Path], list[Path]]:
    """CSV files and summary.json, then the workbook: (files, [workbook])."""
    files: list[Path] = []
    if "csv" in formats:
        t = time.perf_counter()
        files += [
            csvjson.write_findings(data, stage),
            csvjson.write_notes(data, stage),
            csvjson.write_rejected(data, stage),
        ]
        sample = csvjson.write_sample(data, stage)
        if sample:
            files.append(sample)
        timings["csv"] = time.perf_counter() - t
    if "json" in formats:
        t = time.perf_counter()
        files.append(csvjson.write_summary(data, stage))
        timings["json"] = time.perf_counter() - t
    workbook: list[Path] = []
    if "xlsx" in formats:
        from .report import xlsx

        t = time.perf_counter()
        workbook.append(xlsx.write_workbook(data, stage))
        timings["xlsx"] = time.perf_counter() - t
    return files, workbook


def _write_pages(
    html_pages,
    stage: Path,
    formats: tuple[str, ...],
    timings: dict[str, float],
    notices: list[str],
    meanwhile: Callable[[], None] | None = None,
) -> list[Path]:
    """index.html and the therapist pages (prepared, see _write_outputs), then their PDFs when
    asked for; `meanwhile` runs in between (HtmlPages.write), and is not timed as html."""
    pages: list[Path] = []
    if html_pages is not None:
        t = time.perf_counter()
        spent = [0.0]

        def timed() -> None:
            start = time.perf_counter()
            try:
                meanwhile()
            finally:
                spent[0] = time.perf_counter() - start

        pages += html_pages.write(timed if meanwhile else None)
        timings["html"] += time.perf_counter() - t - spent[0]
    if "pdf" in formats:
        from .report import pdf

        t = time.perf_counter()
        pdfs, message = pdf.write_pdfs(stage)
        pages += pdfs
        if message:
            notices.append(message)
        timings["pdf"] = time.perf_counter() - t
    return pages


def _write_outputs(
    data, stage: Path, formats: tuple[str, ...], timings: dict[str, float], notices: list[str]
) -> list[Path]:
    """Every output file, the writers overlapping.

    The pages' shared tables are prepared first and a helper process forked to render pages
    (report/parallel.py); this process writes index.html, then the tables (CSV, JSON,
    workbook), then joins the helper in rendering the pages left. Without a helper (one CPU,
    no fork) the tables are written on a second thread, mostly Arrow and zlib work that
    releases the GIL, while this one renders the pages."""
    html_pages = None
    if "html" in formats or "pdf" in formats:
        from .report import html

        t = time.perf_counter()
        html_pages = html.HtmlPages(data, stage)
        html_pages.start_helper()
        timings["html"] = time.perf_counter() - t
    if html_pages is not None and html_pages.helped:
        tables: list = []
        pages = _write_pages(
            html_pages,
            stage,
            formats,
            timings,
            notices,
            meanwhile=lambda: tables.extend(_write_tables(data, stage, formats, timings)),
        )
        files, workbook = tables
        return files + pages + workbook
    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="chartaudit-write") as pool:
            tables = pool.submit(_write_tables, data, stage, formats, timings)
            pages = _write_pages(html_pages, stage, formats, timings, notices)
            files, workbook = tables.result()
    except BaseException:
        if html_pages is not None:
            html_pages.abandon()
        raise
    return files + pages + workbook


def _warm_clone_checks(checklists) -> threading.Thread | None:
    """A thread loading the clone checks' compiled loops while the export loads (see
    shingle_kernels.warm_up), when a checklist has a clone check."""
    if not any(item.check.startswith("cloned_") for cl in checklists for item in cl.items):
        return None

    def warm() -> None:
        from .checks import shingle_kernels

        with contextlib.suppress(Exception):  # the check itself will load or report it
            shingle_kernels.warm_up()

    thread = threading.Thread(target=warm, name="chartaudit-warm-up", daemon=True)
    thread.start()
    return thread


def run_job(opts: RunOptions, step: Step | None = None, progress=None) -> JobOutcome:
    """Run the whole audit and write the outputs atomically into opts.out."""
    with small_pages():
        return _run_job(opts, step, progress)


def _run_job(opts: RunOptions, step: Step | None, progress) -> JobOutcome:
    step = step or (lambda _msg: None)
    timings: dict[str, float] = {}
    notices: list[str] = []
    t0 = time.perf_counter()
    formats = tuple(opts.formats)
    checklists = load_checklists(opts.checklists or None)
    period_bounds(opts)  # validate options before the (possibly long) load
    step("Loading export")
    warming = _warm_clone_checks(checklists)
    try:
        export = load_export(
            opts.export_dir,
            opts.mapping,
            progress=(lambda name: progress("load", name)) if progress else None,
        )
    finally:
        if warming is not None:
            warming.join()
    notices += export.notices
    timings["load"] = time.perf_counter() - t0
    period = scope_mask(export, opts)
    therapists = therapist_mask(export, opts)
    _, end = period_bounds(opts)
    if not period.any():
        raise _nothing_to_audit(export)
    t = time.perf_counter()
    step("Running checklists")
    result = run_audit(
        export,
        checklists,
        scope=period,
        therapists=therapists,
        as_of=end,
        progress=(lambda item: progress("audit", item.id)) if progress else None,
    )
    timings["checks"] = time.perf_counter() - t
    # A supervising therapist with no note of their own in the period still has the visits
    # they supervise to answer for.
    if not (result.scope.any() or result.supervised_scope.any()):
        raise _nothing_to_audit(export)
    history_db = history_draft = recorder = None
    if not opts.no_history:
        from . import history

        history_db = history.resolve_path(opts.history)
        # The run is recorded in a copy that replaces the history only once every output is
        # written: a run that fails leaves the history as it was.
        history_draft = _draft_copy(history_db)
        partial = partial_months(opts)
        if partial:
            notices.append(
                f"month(s) {', '.join(sorted(partial))} only partly audited (--from/--to): "
                "not recorded in the run history, so they do not replace a whole month"
            )
        # Its counts are inserted on a thread while the statistics are computed.
        recorder = history.Recorder(result, history_draft, partial, opts.therapists)

    t = time.perf_counter()
    try:
        redactor = (
            Redactor(opts.redact_key, export.notes, auth_ids(export)) if opts.redact else None
        )
        options = opts.recorded()
        if options["mapping"] is None and (opts.export_dir / MAPPING_FILE_NAME).is_file():
            # The folder's own mapping file applied: a rerun must know which one.
            options["mapping"] = str(opts.export_dir / MAPPING_FILE_NAME)
        options["period_requested"] = opts.period or (
            f"{opts.date_from or ''}..{opts.date_to or ''}"
            if opts.date_from or opts.date_to
            else None
        )
        data = build(
            export,
            result,
            options,
            redactor,
            created_at=dt.datetime.now().isoformat(timespec="seconds"),
        )
        if opts.sample:
            data.sample = csvjson.draw_sample(data, opts.sample, opts.seed)
        release_freed_memory()
        timings["statistics"] = time.perf_counter() - t
        if recorder is not None:
            t = time.perf_counter()  # the part of the history that did not overlap
            replaced = recorder.finish(data)
            if replaced:
                held = ", ".join(f"{m} ({n} therapist{'s' * (n != 1)})" for m, n in replaced)
                notices.append(
                    f"run history {history_db}: {held} held the counts of another team (no "
                    "therapist in common with this export), now replaced by this run's; keep "
                    "each team's trend apart with --history FILE or CHARTAUDIT_HISTORY"
                )
            changed = history.describe_changes(history_db, recorder.changed)
            if changed:  # for summary.json too: the pages handed out before disagree now
                notices.append(changed)
                data.export.notices.append(changed)
            trend, others = history.team_months(
                history_draft, data.stats.therapists["therapist_id"]
            )
            if others:
                notices.append(
                    f"the trend leaves out {', '.join(others)} of the run history "
                    f"{history_db}: recorded for another team (no therapist in common with "
                    "this export); keep each team's trend apart with --history FILE"
                )
            data.trend = trend
            timings["history"] = time.perf_counter() - t
    except BaseException:
        if recorder is not None:
            recorder.abandon()
            history_draft.unlink(missing_ok=True)
        raise

    written: list[Path] = []
    try:
        with staged(opts.out) as stage:
            if opts.sample and "csv" not in formats:
                written.append(csvjson.write_sample(data, stage))
            step("Writing " + _describe_outputs(formats))
            t = time.perf_counter()
            written += _write_outputs(data, stage, formats, timings, notices)
            timings["outputs"] = time.perf_counter() - t  # wall: the writers overlap
    except BaseException:
        if history_draft is not None:
            history_draft.unlink(missing_ok=True)
        raise
    if history_draft is not None:
        os.replace(history_draft, history_db)
    written = [opts.out / p.relative_to(stage) for p in written]
    breaches = check_thresholds(data, opts)
    timings["total"] = time.perf_counter() - t0
    return JobOutcome(
        data=data,
        written=written,
        exit_code=EXIT_THRESHOLD if breaches else EXIT_SUCCESS,
        breaches=breaches,
        timings=timings,
        notices=notices,
    )
