"""Typer app: parse, call the library, render. Errors and progress to stderr, tables to stdout."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from . import __version__
from .errors import EXIT_ERROR, ChartauditError, InputError
from .terminal import escape


def guarded(fn):
    """Turn errors into one message and an exit code (console script and CliRunner alike)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except ChartauditError as exc:
            err.print(f"[red]error:[/] {escape(exc.message)}")
            if exc.fix:
                err.print(f"  [bold]fix:[/] {escape(exc.fix)}")
            if STATE["debug"]:
                raise
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            err.print("interrupted; no report was written")
            raise typer.Exit(130) from None
        except OSError as exc:
            if STATE["debug"]:
                raise
            if exc.errno is None:
                _internal_error(exc)
            # The system refused a file (disk full, no permission, ...): the user's to fix.
            where = f": {exc.filename}" if exc.filename else ""
            err.print(f"[red]error:[/] {escape(exc.strerror or str(exc))}{escape(where)}")
            err.print(
                "  [bold]fix:[/] make room on the disk or choose a folder you can write to "
                "(--out, --history), then run again; a failed run leaves earlier reports and "
                "the run history as they were"
            )
            raise typer.Exit(EXIT_ERROR) from None
        except Exception as exc:  # the last line of defence against tracebacks
            if STATE["debug"]:
                raise
            _internal_error(exc)

    return wrapper


def _internal_error(exc: BaseException) -> None:
    err.print(
        f"[red]internal error:[/] {exc.__class__.__name__}. This is a bug in chartaudit, "
        "not in your data. Re-run with --debug to see the traceback, and report it."
    )
    raise typer.Exit(EXIT_ERROR) from None


app = typer.Typer(
    name="chartaudit",
    help="Audit therapy chart exports against payer and documentation checklists.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
checklists_app = typer.Typer(help="List, show and validate checklists.", no_args_is_help=True)
app.add_typer(checklists_app, name="checklists")

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)
STATE = {"debug": False}


def _version(value: bool) -> None:
    if value:
        out.print(f"chartaudit {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    STATE["debug"] = debug


def _progress() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )


def _n(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _pct(value: float | None) -> str:
    return "n/a" if value is None or value != value else f"{value:.1%}"


@app.command()
@guarded
def run(
    export_dir: Annotated[Path, typer.Argument(help="The EMR export folder.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Report folder.")] = Path(
        "chartaudit-report"
    ),
    checklist: Annotated[
        list[str] | None,
        typer.Option(
            "--checklist", help="Built-in name or YAML path; repeat for several (default: all)."
        ),
    ] = None,
    mapping: Annotated[
        Path | None,
        typer.Option(help="Mapping file (default: chartaudit-mapping.yaml in the folder)."),
    ] = None,
    period: Annotated[str | None, typer.Option(help="Audit one month, YYYY-MM.")] = None,
    date_from: Annotated[str | None, typer.Option("--from", help="First date, YYYY-MM-DD.")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="Last date, YYYY-MM-DD.")] = None,
    therapist: Annotated[
        list[str] | None, typer.Option(help="Only this therapist (name or id); repeat for several.")
    ] = None,
    redact: Annotated[bool, typer.Option(help="Pseudonymise patients in every output.")] = False,
    redact_key: Annotated[
        str | None,
        typer.Option(
            help="Key for stable pseudonyms (default: a per-installation key).",
            envvar="CHARTAUDIT_REDACT_KEY",
        ),
    ] = None,
    sample: Annotated[
        int | None,
        typer.Option(min=1, help="Draw N charts per therapist for manual review (sample.csv)."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed for --sample.")] = 0,
    fail_under: Annotated[
        float | None,
        typer.Option(min=0, max=100, help="Exit 1 when overall compliance is below PCT."),
    ] = None,
    fail_on: Annotated[
        str | None,
        typer.Option(
            help="Exit 1 on any finding of this severity or worse (critical, high, medium, low)."
        ),
    ] = None,
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format", help="Comma-separated: html,xlsx,csv,json (default all); pdf adds PDFs."
        ),
    ] = None,
    history: Annotated[
        Path | None,
        typer.Option(help="Run-history database (default: user data dir, or $CHARTAUDIT_HISTORY)."),
    ] = None,
    no_history: Annotated[
        bool, typer.Option("--no-history", help="Do not record this run.")
    ] = False,
) -> None:
    """Audit an export folder and write reports, workbook and CSV/JSON files."""
    from .job import RunOptions, parse_formats, run_job
    from .model import SEVERITY_ORDER

    if fail_on is not None and fail_on not in SEVERITY_ORDER:
        raise ChartauditError(
            f"--fail-on {fail_on!r} is not a severity",
            fix=f"use one of {', '.join(SEVERITY_ORDER)}",
        )
    if history is not None and no_history:
        raise ChartauditError(
            "--history and --no-history contradict each other", fix="give one of them"
        )
    opts = RunOptions(
        export_dir=export_dir,
        out=out_dir,
        checklists=list(checklist or []),
        mapping=mapping,
        period=period,
        date_from=date_from,
        date_to=date_to,
        therapists=list(therapist or []),
        redact=redact,
        redact_key=redact_key,
        sample=sample,
        seed=seed,
        fail_under=fail_under,
        fail_on=fail_on,
        formats=parse_formats(fmt),
        history=history,
        no_history=no_history,
    )
    with _progress() as bar:
        tasks: dict[str, int] = {}

        def step(message: str) -> None:
            for t in tasks.values():
                bar.update(t, visible=False)
            tasks[message] = bar.add_task(message, total=None)

        def tick(stage: str, _what: str) -> None:
            if tasks:
                bar.advance(list(tasks.values())[-1])

        outcome = run_job(opts, step=step, progress=tick)
    _print_run_summary(outcome)
    raise typer.Exit(outcome.exit_code)


def _print_run_summary(outcome) -> None:
    data = outcome.data
    o = data.stats.overall
    files = data.export.files
    read = sum(f.rows_read for f in files if f.table)
    rejected = sum(f.rows_rejected for f in files if f.table)
    out.print(
        f"[bold]chartaudit[/] audited {_n(o['notes'], 'note')} by "
        f"{_n(o['therapists'], 'therapist')} "
        f"({o['period_start']} to {o['period_end']})"
    )
    out.print(
        f"Overall compliance [bold]{_pct(o['rate'])}[/] (95% CI {_pct(o['ci_low'])}–"
        f"{_pct(o['ci_high'])}), {o['findings']:,} findings, {o['critical_findings']:,} critical"
    )
    out.print(
        f"Notes without any finding: {_pct(o['notes_without_findings_rate'])} "
        f"({o['notes_without_findings']:,} of {o['notes']:,})"
    )
    out.print(
        f"Rows read {read:,} = loaded {read - rejected:,} + rejected {rejected:,}"
        + (" (see rejected.csv)" if rejected else "")
    )
    items = data.stats.items
    worst = items[items["failed"] > 0].sort_values(["rate", "failed"], ascending=[True, False])
    if len(worst):
        table = Table(title="Worst items", title_justify="left")
        for col in ("Item", "Title", "Severity", "Failed", "Rate"):
            table.add_column(col, justify="right" if col in ("Failed", "Rate") else "left")
        for r in worst.head(8).itertuples():
            table.add_row(r.item_id, escape(r.title), r.severity, f"{r.failed:,}", _pct(r.rate))
        out.print(table)
    ths = data.stats.therapists
    target = (data.options.get("fail_under") or 90) / 100
    below = ths[ths["rate"] < target]
    if len(below):
        table = Table(title=f"Therapists below {target:.0%}", title_justify="left")
        for col in ("Therapist", "Notes", "Rate", "95% CI", "Critical"):
            table.add_column(col, justify="left" if col == "Therapist" else "right")
        for r in below.head(15).itertuples():
            table.add_row(
                escape(str(r.therapist)),
                f"{r.notes:,}",
                _pct(r.rate),
                f"{_pct(r.ci_low)}–{_pct(r.ci_high)}",
                f"{r.critical:,}",
            )
        out.print(table)
    if data.result.not_evaluable:
        out.print(
            f"{len(data.result.not_evaluable)} item(s) could not be evaluated for lack of "
            "data (see summary.json or `chartaudit inspect`)."
        )
    for notice in outcome.notices:
        err.print(f"[yellow]note:[/] {escape(notice)}")
    folder = outcome.written[0].parent if outcome.written else None
    if folder is not None:
        out.print(f"Reports written to [bold]{escape(str(folder))}[/]:")
        shown = [p for p in outcome.written if p.parent == folder]
        for p in shown:
            out.print(f"  {escape(p.name)}")
        extra = len(outcome.written) - len(shown)
        if extra:
            out.print(f"  … and {extra} pages in sub-folders")
    for breach in outcome.breaches:
        err.print(f"[red]threshold breached:[/] {escape(breach)}")


@app.command()
@guarded
def inspect(
    export_dir: Annotated[Path, typer.Argument(help="The EMR export folder.")],
    mapping: Annotated[Path | None, typer.Option(help="Mapping file.")] = None,
) -> None:
    """Show what would be loaded: files, tables, column mapping, rejections, blind spots."""
    from .audit import describe_need
    from .checklists import load_checklists
    from .checks import REGISTRY
    from .load import load_export

    try:
        export = load_export(export_dir, mapping)
    except InputError as exc:
        # Show what was read and how its columns map before the error: the way to the fix.
        if getattr(exc, "files", None):
            _print_files(export_dir, exc.files, loaded=False)
        raise
    _print_files(export_dir, export.files, loaded=True, notices=export.notices)
    rej = export.rejected
    if len(rej):
        out.print(f"[bold]Rejected rows[/] ({len(rej):,}); first reasons:")
        for r in rej.head(10).itertuples():
            out.print(f"  {escape(str(r.file))} row {r.row}: {escape(str(r.reason))}")
    blind = []
    for cl in load_checklists(None):
        for item in cl.items:
            missing = [n for n in REGISTRY[item.check].needs if not export.has(n)]
            if missing:
                blind.append((item.id, item.title, describe_need(missing[0])))
    if blind:
        table = Table(title="Items that cannot be evaluated (not_evaluable)", title_justify="left")
        for col in ("Item", "Title", "Needs"):
            table.add_column(col)
        for row in blind:
            table.add_row(*(escape(x) for x in row))
        out.print(table)
    else:
        out.print("Every built-in item has the data it needs.")


def _print_files(export_dir: Path, files: list, loaded: bool, notices: list[str] = ()) -> None:
    """inspect's table of the files read and each one's column mapping (without the loaded
    and rejected counts when the export could not be loaded)."""
    table = Table(title=f"Files in {escape(str(export_dir))}", title_justify="left")
    counts = ("Read", "Loaded", "Rejected") if loaded else ("Read",)
    for col in ("File", "Table", "Encoding", *counts):
        table.add_column(col, justify="right" if col in counts else "left")
    for f in files:
        name = f.path + (f" [{f.sheet}]" if f.sheet else "")
        numbers = (f.rows_read, f.rows_loaded, f.rows_rejected) if loaded else (f.rows_read,)
        table.add_row(
            escape(name),
            f.table or "[yellow]not recognised[/]",
            f.encoding or "",
            *(f"{n:,}" for n in numbers),
        )
    out.print(table)
    for notice in notices:
        err.print(f"[yellow]note:[/] {escape(notice)}")
    for f in files:
        name = escape(f.path + (f" [{f.sheet}]" if f.sheet else ""))
        if f.table is None:
            out.print(f"[yellow]{name}[/]: {escape(f.note)}")
            continue
        mapped = ", ".join(f"{escape(s)} → {c}" for s, c in f.columns.items() if s != c)
        same = [c for s, c in f.columns.items() if s == c]
        out.print(f"[bold]{name}[/] → {f.table}")
        if mapped:
            out.print(f"  mapped: {mapped}")
        if same:
            out.print(f"  canonical: {', '.join(same)}")
        if f.ignored_columns:
            out.print(f"  ignored: {escape(', '.join(map(str, f.ignored_columns)))}")


@checklists_app.command("list")
@guarded
def checklists_list(
    kinds: Annotated[
        bool,
        typer.Option(
            "--kinds", help="List the check kinds a checklist item can use, with their parameters."
        ),
    ] = False,
) -> None:
    """List the built-in checklists and every item (or, with --kinds, the check kinds)."""
    if kinds:
        from .checks import REGISTRY

        table = Table(title="Check kinds", title_justify="left")
        table.add_column("Check", no_wrap=True)
        for col in ("What it checks", "Parameters (default)", "Needs"):
            table.add_column(col)

        def default(value: object) -> str:
            text = repr(value)
            return text if len(text) <= 30 else text[:27] + "…"

        for name, kind in sorted(REGISTRY.items()):
            params = "\n".join(f"{k} ({default(p.default)})" for k, p in kind.params.items())
            table.add_row(name, escape(kind.summary), escape(params), ", ".join(kind.needs))
        out.print(table)
        return
    from .checklists import load_checklists

    for cl in load_checklists(None):
        table = Table(title=f"{cl.name} {cl.version} — {escape(cl.title)}", title_justify="left")
        for col in ("Item", "Severity", "Title", "Check"):
            table.add_column(col)
        for item in cl.items:
            table.add_row(item.id, item.severity, escape(item.title), item.check)
        out.print(table)


@checklists_app.command("show")
@guarded
def checklists_show(
    name: Annotated[str, typer.Argument(help="Built-in name or YAML path.")],
) -> None:
    """Show one checklist: filters, items, severities and parameters."""
    from .checklists import load_checklist

    cl = load_checklist(name)
    out.print(f"[bold]{escape(cl.name)}[/] {escape(cl.version)} — {escape(cl.title)}")
    if cl.description:
        out.print(escape(cl.description))
    if cl.applies_to:
        out.print(
            "Applies to: " + "; ".join(f"{k}: {', '.join(v)}" for k, v in cl.applies_to.items())
        )
    for item in cl.items:
        out.print(f"\n[bold]{item.id}[/] ({item.severity}) {escape(item.title)}")
        if item.applies_to:
            out.print(
                "  applies to: "
                + "; ".join(f"{k}: {', '.join(v)}" for k, v in item.applies_to.items())
            )
        out.print(f"  check: {item.check} {escape(str(item.params)) if item.params else ''}")


@checklists_app.command("validate")
@guarded
def checklists_validate(path: Annotated[Path, typer.Argument(help="Checklist YAML file.")]) -> None:
    """Strictly validate a checklist file and run its items' examples (exit 2 with the
    culprit named when invalid)."""
    from .audit import example_problems
    from .checklists import load_checklist
    from .errors import ChecklistError

    cl = load_checklist(str(path))
    problems = example_problems(cl)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ChecklistError(
            problems[0] + more,
            fix="correct the example, or the item's check or params, so that each bad example "
            "fails the item and each good one passes it",
        )
    out.print(
        f"{escape(str(path))}: valid — checklist {escape(cl.name)} {escape(cl.version)} "
        f"with {len(cl.items)} items; its own items' examples fail and pass as they should"
    )


def _edits(a: str, b: str) -> int:
    """Levenshtein distance (ids are short and few)."""
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, start=1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[-1]


def similar_ids(wanted: str, ids: list[str], limit: int = 8) -> list[str]:
    """The ids nearest a mistyped one: by edit distance over the whole id (MCR-9MIN ->
    MCR-8MIN) and over its words (8MIN -> MCR-8MIN), nearest first; ids sharing only the
    checklist prefix come last."""
    wanted = wanted.upper().strip()
    words = [w for w in wanted.split("-") if w]

    def score(candidate: str) -> tuple[int, int, int, str]:
        parts = candidate.split("-")
        whole = _edits(wanted, candidate)
        # Each typed word against the id's nearest word; a prefix alone (MCR) is weak.
        near = sum(min(_edits(w, p) for p in parts) <= len(w) // 4 for w in words)
        return (whole if whole <= max(2, len(wanted) // 3) else 99, -near, whole, candidate)

    ranked = sorted(ids, key=score)
    return [i for i in ranked if score(i)[0] < 99 or score(i)[1] < 0][:limit]


@app.command()
@guarded
def explain(item_id: Annotated[str, typer.Argument(help="Item id, e.g. MCR-PR-10.")]) -> None:
    """Explain an item: what it checks, why it matters, how to fix, reference, examples."""
    import yaml

    from .checklists import load_checklists

    items = {i.id.upper(): i for cl in load_checklists(None) for i in cl.items}
    item = items.get(item_id.upper())
    if item is None:
        from .review.criteria import load_criteria

        criteria = {c.id.upper(): c for c in load_criteria().items}
        if item_id.upper() in criteria:
            _explain_criterion(criteria[item_id.upper()])
            return
        items.update(criteria)
        close = similar_ids(item_id, list(items))
        raise ChartauditError(
            f"no item {item_id!r} in the built-in checklists",
            fix="see `chartaudit checklists list`"
            + (f"; similar: {', '.join(close)}" if close else ""),
        )
    out.print(f"[bold]{item.id}[/] — {escape(item.title)}")
    out.print(f"Checklist: {item.checklist}   Severity: {item.severity}   Check: {item.check}")
    filters = item.filters
    if filters:
        out.print("Applies to: " + "; ".join(f"{k}: {', '.join(v)}" for k, v in filters.items()))
    if item.params:
        out.print("Parameters: " + ", ".join(f"{k}={v}" for k, v in item.params.items()))
    from .checks import REGISTRY

    if REGISTRY[item.check].supervisor_duty:
        out.print(
            "Counted against: the supervising therapist on an assistant's or student's note "
            "(the note's author otherwise)"
        )
    out.print(f"\n[bold]Why it matters[/]\n{escape(item.why)}")
    out.print(f"\n[bold]How to fix[/]\n{escape(item.fix)}")
    out.print(f"\n[bold]Reference[/]\n{escape(item.reference)}")
    for kind, label in (("bad", "Bad example (fails)"), ("good", "Good example (passes)")):
        for case in item.examples.get(kind, [])[:1]:
            out.print(f"\n[bold]{label}[/]")
            out.print(escape(yaml.safe_dump(case, sort_keys=False, allow_unicode=True).rstrip()))


def _explain_criterion(c) -> None:
    """`explain` for a UM criterion (um-outpatient)."""
    import yaml

    out.print(f"[bold]{c.id}[/] — {escape(c.title)}")
    out.print(f"Criteria: um-outpatient   Severity: {c.severity}   Check: {c.check}")
    out.print(f"\n[bold]Why it matters[/]\n{escape(c.why)}")
    out.print(f"\n[bold]How to fix[/]\n{escape(c.fix)}")
    if c.what_to_request:
        out.print(
            f"\n[bold]What to request from the treating therapist[/]\n{escape(c.what_to_request)}"
        )
    out.print(f"\n[bold]Reference[/]\n{escape(c.reference)}")
    for kind, label in (("bad", "Bad example (not met)"), ("good", "Good example (met)")):
        for case in c.examples.get(kind, [])[:1]:
            out.print(f"\n[bold]{label}[/]")
            out.print(escape(yaml.safe_dump(case, sort_keys=False, allow_unicode=True).rstrip()))


@app.command()
@guarded
def review(
    export_dir: Annotated[Path, typer.Argument(help="The EMR export folder.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Review folder.")] = Path(
        "chartaudit-review"
    ),
    criteria: Annotated[
        str | None,
        typer.Option(help="Criteria: built-in name or YAML path (default um-outpatient)."),
    ] = None,
    episode: Annotated[list[str] | None, typer.Option(help="Review this episode; repeat.")] = None,
    mapping: Annotated[Path | None, typer.Option(help="Mapping file.")] = None,
    thresholds: Annotated[
        Path | None, typer.Option(help="CSV overriding instrument MCID/MDC thresholds.")
    ] = None,
    policy: Annotated[Path | None, typer.Option(help="Determination policy YAML.")] = None,
    reviewer: Annotated[
        str | None,
        typer.Option(help="Reviewer name and credentials for the letters' signature block."),
    ] = None,
    redact: Annotated[bool, typer.Option(help="Pseudonymise patients in every output.")] = False,
    redact_key: Annotated[
        str | None, typer.Option(envvar="CHARTAUDIT_REDACT_KEY", help="Key for stable pseudonyms.")
    ] = None,
) -> None:
    """Utilization-management review of episodes with an open authorization request."""
    from .review.cli import run_review_command

    run_review_command(
        out=out,
        err=err,
        export_dir=export_dir,
        out_dir=out_dir,
        criteria=criteria,
        episodes=list(episode or []),
        mapping=mapping,
        thresholds=thresholds,
        policy=policy,
        reviewer=reviewer,
        redact=redact,
        redact_key=redact_key,
    )


@app.command()
@guarded
def trend(
    history: Annotated[
        Path | None,
        typer.Option(help="Run-history database (default: user data dir, or $CHARTAUDIT_HISTORY)."),
    ] = None,
) -> None:
    """Month-over-month compliance from earlier runs."""
    from .history import print_trend

    print_trend(out, history)


@app.command("sample-data")
@guarded
def sample_data(
    out_dir: Annotated[Path, typer.Argument(help="Folder to write the synthetic export into.")],
    notes: Annotated[int, typer.Option(min=10, help="About how many notes.")] = 1500,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same files).")] = 7,
) -> None:
    """Write a synthetic therapy EMR export in the canonical layout."""
    from .sample import generate

    result = generate(out_dir, notes=notes, seed=seed)
    counts = ", ".join(f"{n:,} {t}" for t, n in result.counts.items())
    out.print(f"Wrote {escape(str(out_dir))}: {counts}")


def main() -> None:
    """Console entry point."""
    app()
