"""`chartaudit review`: load, review, write and print the determinations (thin CLI layer)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from rich.console import Console
from rich.table import Table

from ..errors import ChartauditError
from ..load import load_export
from ..privacy import Redactor, auth_ids
from ..terminal import escape
from . import RECOMMENDATION_LABEL, read_thresholds, review_export
from .criteria import load_criteria
from .outputs import write_review
from .policy import load_policy

STYLE = {"approve": "green", "partial": "yellow", "deny": "red", "pend": "cyan"}


def run_review_command(
    *,
    out: Console,
    err: Console,
    export_dir: Path,
    out_dir: Path,
    criteria: str | None,
    episodes: list[str],
    mapping: Path | None,
    thresholds: Path | None,
    policy: Path | None,
    reviewer: str | None,
    redact: bool,
    redact_key: str | None,
) -> None:
    """Run the review; raises ChartauditError (exit 2) on bad input, returns normally (exit 0)."""
    # Validate the configuration files before the (possibly long) load.
    crit = load_criteria(criteria)
    pol = load_policy(policy, crit)
    limits = read_thresholds(thresholds)
    with err.status("Loading export", spinner="dots") if err.is_terminal else _null():
        export = load_export(Path(export_dir), mapping)
    if not len(export.notes):
        raise ChartauditError(
            "no notes to review: every row of the notes table was rejected",
            fix="see the reasons in `chartaudit inspect EXPORT_DIR` and correct the export",
        )
    with err.status("Reviewing episodes", spinner="dots") if err.is_terminal else _null():
        review = review_export(
            export, episodes=episodes or None, criteria=crit, policy=pol, thresholds=limits
        )
    redactor = Redactor(redact_key, export.notes, auth_ids(export)) if redact else None
    written, views = write_review(review, Path(out_dir), redactor, reviewer)
    if views.episodes:
        _print_table(out, views)
    elif len(views.not_reviewed):
        out.print("No request could be reviewed; the requests not reviewed are listed below.")
    else:
        out.print(
            "No episode has an open authorization request (pending, requested, open or submitted, "
            "or requested visits without approved visits); nothing to review. Pass --episode ID "
            "to review an episode anyway."
        )
    _print_account(out, err, export, views)
    out.print(
        f"Review written to [bold]{escape(str(out_dir))}[/]: determinations.csv, "
        "determinations.xlsx, not-reviewed.csv, rejected.csv, index.html, "
        f"{len(views.episodes)} episode page(s) and "
        f"{sum(1 for p in written if p.parent.name == 'letters')} letter(s)."
    )


SHOWN_NOT_REVIEWED = 20


def _print_account(out: Console, err: Console, export, views) -> None:
    """Rows read = loaded + rejected (as `run` prints it), every authorization row accounted
    for, and each request not reviewed with its file, row, column, reason and fix."""
    files = [f for f in export.files if f.table]
    if files:
        read = sum(f.rows_read for f in files)
        rejected = sum(f.rows_rejected for f in files)
        out.print(
            f"Rows read {read:,} = loaded {read - rejected:,} + rejected {rejected:,}"
            + (" (see rejected.csv)" if rejected else "")
        )
    if views.account:
        out.print(escape(views.account))
    listed = views.not_reviewed
    if len(listed):
        out.print(f"[bold]Requests not reviewed[/] ({len(listed):,}; also in not-reviewed.csv):")
        for r in listed.head(SHOWN_NOT_REVIEWED).fillna("").itertuples():
            auth = f" ({r.auth_id})" if r.auth_id else ""
            column = f", column {r.column}" if r.column else ""
            out.print(
                f"  {escape(str(r.file))} row {r.row}{escape(auth)}{escape(column)}: "
                f"{escape(str(r.reason))}"
            )
            out.print(f"    fix: {escape(str(r.fix))}")
        if len(listed) > SHOWN_NOT_REVIEWED:
            out.print(f"  … and {len(listed) - SHOWN_NOT_REVIEWED:,} more in not-reviewed.csv")
        err.print(
            f"[yellow]warning:[/] {len(listed):,} authorization request row(s) were not "
            "reviewed; see the list above"
        )
    for notice in views.notices:
        err.print(f"[yellow]note:[/] {escape(notice)}")


def _print_table(out: Console, views) -> None:
    """One row per episode in a wide terminal, the flags for the reviewer (maintenance,
    recertification, discharged since) in full after it; one paragraph per episode in a narrow
    one, where a table of eight columns folds every cell."""
    if out.width < 120:
        _print_lines(out, views)
    else:
        table = Table(title="Recommended determinations", title_justify="left")
        for col in ("Episode", "Patient", "Disc.", "Req.", "Used", "Recommendation", "Visits"):
            right = col in ("Req.", "Used", "Visits")
            table.add_column(col, justify="right" if right else "left", overflow="fold")
        table.add_column("Criteria not met", overflow="fold", ratio=1)
        flagged = []
        for v in views.episodes:
            rec = v["recommendation"]
            label = RECOMMENDATION_LABEL.get(rec["code"], rec["code"])
            if rec["flags"]:
                label += " *"
                flagged.append((v["episode"], rec["flags"]))
            table.add_row(
                escape(v["episode"]),
                escape(v["patient"]),
                escape(v["discipline"]),
                v["request"]["visits"] or ("not on file" if v["request"]["open"] else ""),
                str(v["visits_used"]),
                f"[{STYLE.get(rec['code'], 'white')}]{escape(label)}[/]",
                rec["visits"],
                escape(_criteria_text(rec, "")),
            )
        out.print(table)
        for episode, flags in flagged:
            out.print(f"* {escape(episode)}: {escape(flags)}")
    counts = Counter(v["recommendation"]["code"] for v in views.episodes)
    summary = ", ".join(
        f"{counts[k]} {k}" for k in ("approve", "partial", "deny", "pend") if counts[k]
    )
    out.print(f"{len(views.episodes)} episode(s): {summary}. The reviewing clinician decides.")


def _criteria_text(rec: dict, none: str) -> str:
    """'UM-PLATEAU, UM-FREQUENCY' (the criteria not met, `none` when none), then the criteria
    a pend rests on that could not be evaluated: 'none; not evaluable: UM-PROGRESS-MCID'."""
    text = rec["criteria_failed"].replace("; ", ", ") or none
    if rec["criteria_not_evaluable"]:
        ne = rec["criteria_not_evaluable"].replace("; ", ", ")
        text = f"{text}; not evaluable: {ne}" if text else f"not evaluable: {ne}"
    return text


def _print_lines(out: Console, views) -> None:
    """The determinations as one paragraph per episode (a table of eight columns folds every
    cell in a narrow terminal)."""
    out.print("[bold]Recommended determinations[/]")
    for v in views.episodes:
        rec = v["recommendation"]
        label = RECOMMENDATION_LABEL.get(rec["code"], rec["code"])
        requested = v["request"]["visits"] or ("not on file" if v["request"]["open"] else "—")
        visits = f", {rec['visits']} visit(s)" if rec["visits"] not in ("", None) else ""
        failed = _criteria_text(rec, "none")
        line = (
            f"[bold]{escape(v['episode'])}[/] {escape(v['patient'])}, {escape(v['discipline'])}: "
            f"[{STYLE.get(rec['code'], 'white')}]{escape(label)}{visits}[/] "
            f"(requested {requested}, used {v['visits_used']}); not met: {escape(failed)}"
        )
        if rec["flags"]:
            line += f"; [bold]flags:[/] {escape(rec['flags'])}"
        out.print(line)


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
