"""The HTML report: a team overview (index.html) and one coaching page per therapist.

Everything is grouped, ranked and formatted here with pandas over whole frames, then split by
therapist; the jinja2 templates only loop and print. Chart text reaches the templates as plain
strings and is escaped by autoescape; the evidence highlight is three strings (before, match,
after), never markup built by hand. The long and repeated parts (tables, gap sections, heat
map) are row macros of macros.html filled for many rows at once (_fill), every value
escaped by markupsafe as autoescape does; parts that are the same on every page (score axis,
example cards) are rendered once. Therapist pages are prepared a batch at a time
(PAGES_PER_BATCH): the HTML of every page of a large run at once would take gigabytes. The
page template itself is filled like a row macro, one row per page of the batch, and each page
written as its pieces.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import math
import operator
import re
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from itertools import groupby, repeat
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup, escape

from ..checklists import Item, example_frames
from ..checks import REGISTRY
from ..episodes import with_credential
from ..errors import ChartauditError
from ..model import SEVERITY_ORDER
from . import parallel, svg
from .data import ReportData, prerequisites, skipped_after_failures

TEMPLATES = Path(__file__).with_name("templates")

TOP_GAPS = 5  # gaps under "Top gaps" on a therapist's page; the others follow them
EXCERPTS_PER_GAP = 3
EXCERPTS_PER_OTHER_GAP = 2  # the items missed beyond the top gaps: rarer, quoted more briefly
EXCERPT_CANDIDATES = 8  # findings tried per gap to find excerpts whose evidence is in the text
EXCERPT_WINDOW = 180  # characters of context either side of the highlighted evidence
EXCERPT_MAX_MATCH = 400  # longer evidence (e.g. a cloned paragraph) is shortened
NOTE_ROWS = 200  # per-note table rows on a therapist page (failing notes first)
HEATMAP_ROWS = 300  # therapists in the index heat map (lowest rates first)
INPUT_NOTICES_SHOWN = 5  # the loader's notices quoted on the overview; the files list them all
PAGES_PER_BATCH = 500  # therapist pages whose HTML is rendered and held at once
STRENGTH_MIN_CHECKED = 5  # notes an item must have been checked on to count as a strength
STRENGTH_MIN_RATE = 0.9  # of the notes an item concerns, judged ones or not (see _batch)
STRENGTHS = 5
# A strength is an item the therapist's peers sometimes miss: other therapists of the same
# discipline and role; for one who has none (a clinic's only assistant), of the same discipline;
# for the only one of a discipline, the whole team.
PEER_WORDS = ("{discipline} {role}", "{discipline} clinicians of any role", "the team")
ROLE_PLURALS = {"therapist": "therapists", "assistant": "assistants", "student": "students"}
EXAMPLE_FULL_NOTES = 3  # an example with more notes is shown as a compact table
RATE_DIGITS = 1  # decimals of every rate printed: a whole percent can hide a gap (97.8% vs 97.9%)
HEAT_BINS = [0.5, 0.65, 0.8, 0.9, 0.95]  # class h5 (< 50%) … h0 (>= 95%)
HEAT_LEGEND = ["95% or more", "90–94%", "80–89%", "65–79%", "50–64%", "under 50%"]

NOTE_TYPES = {
    "evaluation": "Evaluation",
    "re_evaluation": "Re-evaluation",
    "daily": "Daily note",
    "progress": "Progress report",
    "recertification": "Recertification",
    "discharge": "Discharge summary",
}
SECTIONS = {
    "subjective": "Subjective",
    "objective": "Objective",
    "assessment": "Assessment",
    "plan": "Plan",
    "note_text": "Note",
}
# Shown in an example note's heading, or not at all (identifiers mean nothing in an example).
EXAMPLE_HIDDEN = {
    "note_id",
    "patient_id",
    "patient_name",
    "episode_id",
    "therapist",
    "therapist_id",
    "credential",
    "discipline",
    "note_type",
    "date_of_service",
}
FIELD_LABELS = {
    "signed_at": "Signed",
    "cosigner": "Co-signer",
    "cosigned_at": "Co-signed",
    "payer": "Payer",
    "payer_type": "Payer type",
    "setting": "Setting",
    "diagnosis_codes": "Diagnoses (ICD-10)",
    "total_timed_minutes": "Total timed minutes",
    "total_treatment_minutes": "Total treatment minutes",
    "poc_start": "Plan of care from",
    "poc_end": "Plan of care to",
    "frequency": "Frequency",
    "duration": "Duration",
    "poc_sent_at": "Plan sent to physician",
    "poc_certified_at": "Plan certified",
    "certifier": "Certified by",
    "certifier_credential": "Certifier's credential",
    "order_signed_at": "Order signed",
    "is_late_entry": "Late entry",
    "cpt_code": "CPT",
    "modifiers": "Modifiers",
    "units": "Units",
    "minutes": "Minutes",
    "assistant_minutes": "Assistant minutes",
    "charge": "Charge",
    "allowed_amount": "Allowed",
}
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}")


# --------------------------------------------------------------------------- formatting


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def pct(value: Any, digits: int = 0) -> str:
    """82% (or 82.4%); never rounds a rate below 100% up to 100%; '–' when there is none."""
    if _missing(value):
        return "–"
    scaled = float(value) * 100
    text = f"{scaled:.{digits}f}"
    if float(text) >= 100 and scaled < 100:
        text = f"{100 - 10**-digits:.{digits}f}"
    return f"{text}%"


def interval(low: Any, high: Any) -> str:
    """78.2%–85.3%: one decimal, as every rate the reports print."""
    if _missing(low) or _missing(high):
        return "–"
    return f"{pct(low, RATE_DIGITS)}–{pct(high, RATE_DIGITS)}"


def _f(value: Any) -> float | None:
    """A float for the templates, None for NaN/NA (a template can test `is none`)."""
    return None if _missing(value) else float(value)


def _key(value: Any) -> str:
    """A sort key for a numeric table cell ('' sorts last)."""
    return "" if _missing(value) else f"{float(value):.6f}"


def num(value: Any) -> str:
    return "–" if _missing(value) else f"{int(value):,}"


def day(value: Any) -> str:
    if _missing(value) or value is pd.NaT:
        return "–"
    if isinstance(value, str):
        return value
    return pd.Timestamp(value).strftime("%Y-%m-%d")


def sentence(text: Any) -> str:
    """A check's message as a sentence: capital first letter, full stop at the end."""
    text = "" if _missing(text) else str(text).strip()
    if not text:
        return text
    if text[0].islower():
        text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?" else text + "."


def severity_label(severity: str) -> str:
    return str(severity).capitalize()


def note_type_label(value: Any) -> str:
    return "Note" if _missing(value) else NOTE_TYPES.get(str(value), str(value))


def plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


def _more(n: int) -> str | None:
    """ "3 more are" (rows left out of a table), None when none is."""
    return f"{n:,} more {'is' if n == 1 else 'are'}" if n > 0 else None


# --------------------------------------------------------------------------- environment


@functools.cache
def environment() -> Environment:
    """The templates, compiled once per process; autoescaped, and a blank is an error."""
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        auto_reload=False,  # else every page render stats its base and macro templates
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # Our own static files (not chart text): the stylesheet and the small sort/print script.
    css = (TEMPLATES / "report.css").read_text(encoding="utf-8")
    script = (TEMPLATES / "report.js").read_text(encoding="utf-8")
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    env.globals.update(
        css=Markup(css),  # noqa: S704 - the package's own stylesheet
        script=Markup(script),  # noqa: S704 - the package's own script
        # Nothing but this script may run and nothing may load from anywhere: even if chart
        # text slipped through unescaped, a browser would not execute or fetch it.
        csp=(
            "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
            f"script-src 'sha256-{digest}'; base-uri 'none'; form-action 'none'"
        ),
        heat_legend=HEAT_LEGEND,
    )
    env.filters.update(
        pct=pct,
        interval=interval,
        num=num,
        day=day,
        sentence=sentence,
        severity=severity_label,
        note_type=note_type_label,
        plural=plural,
    )
    return env


def _macros() -> Any:
    """macros.html's macros, callable from Python (each returns Markup)."""
    return environment().get_template("macros.html").module


# --------------------------------------------------------------------------- writing


def _inside(root: Path, folder: Path, relative: str) -> Path:
    """`folder/relative`, refused unless it resolves inside the report folder."""
    target = (root / relative).resolve()
    if not target.is_relative_to(root):
        raise ChartauditError(
            f"refusing to write {relative!r}: it would land outside the report folder",
            fix="report this as a bug; therapist page names should be sanitised",
        )
    return folder / relative


class _PageFiles:
    """Writes each page as one UTF-8 file, the writing on a thread of its own.

    Each piece is encoded on its own: most are ASCII, which encodes as a plain copy, whereas the
    page as one string is UCS-2 (it has a '–' or '·' somewhere) and would be encoded character
    by character. Writing a file releases the GIL, and at a million notes (11,500 pages, 840 MB)
    the kernel's part of writing them (copying into the page cache, reclaiming it when memory
    is short) took 0.5 to 3.4 s: on the writer thread it overlaps the rendering of the next
    pages. At most PENDING pages wait to be written; an error writing one is raised here, at the
    next page or at close()."""

    PENDING = 32

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chartaudit-pages")
        self._pending: deque[Future] = deque()

    def write(self, path: Path, pieces: Iterable[str]) -> None:
        data = b"".join(piece.encode() for piece in pieces)
        self._pending.append(self._pool.submit(path.write_bytes, data))
        while len(self._pending) > self.PENDING:
            self._pending.popleft().result()

    def close(self, quietly: bool = False) -> None:
        """Wait for the pages still to be written; raise the first error unless quietly."""
        try:
            while self._pending:
                page = self._pending.popleft()
                if quietly:
                    page.exception()
                else:
                    page.result()
        finally:
            self._pool.shutdown(wait=True, cancel_futures=True)


def write_html(data: ReportData, folder: Path) -> list[Path]:
    """Write index.html and therapists/<slug>.html into `folder`; return the paths written."""
    pages = HtmlPages(data, folder)
    pages.start_helper()
    return pages.write()


class HtmlPages:
    """The HTML report of a run, written in two steps so that other work can start between
    them: HtmlPages(data, folder) prepares what every page needs, start_helper() forks a
    process that renders part of the therapist pages (see parallel.py), and write() renders
    the rest and index.html, waits for the helper and returns the paths written.

    Pages are split into batches; each process takes the next batch when it is free. With a
    helper the batches are smaller (at least HELPER_BATCHES of them), so the two processes end
    close together; without one they are PAGES_PER_BATCH pages, as they were."""

    HELPER_BATCHES = 16
    MIN_BATCH = 50

    def __init__(self, data: ReportData, folder: Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        root = self.folder.resolve()
        self._pages = _Pages(data)
        self.slugs = data.stats.therapists["slug"].astype(str).tolist()
        for slug in self.slugs:
            if not _SAFE_NAME.fullmatch(slug):
                raise ChartauditError(
                    f"refusing to write a therapist page named {slug!r}",
                    fix="report this as a bug; therapist page names should be sanitised",
                )
        self.index = _inside(root, self.folder, "index.html")
        (self.folder / "therapists").mkdir(parents=True, exist_ok=True)
        # The folder is checked once; a name that passes _SAFE_NAME cannot leave it (no
        # separator or dot), so the ~11,000 pages of a large run need no resolve() each.
        self.pages_dir = _inside(root, self.folder, "therapists")
        self._shared: parallel.SharedWork | None = None
        self.helped = False

    def start_helper(self) -> bool:
        """Fork the helper process, when there is work enough and a second CPU for it."""
        size = PAGES_PER_BATCH
        if parallel.helper_wanted():
            size = min(size, max(self.MIN_BATCH, -(-len(self.slugs) // self.HELPER_BATCHES)))
        self._prepare(size)
        self.helped = self._shared.start_helper(self._write_batches)
        return self.helped

    def _prepare(self, size: int) -> None:
        """The pages' shared tables, in batches of `size` pages, and the batches to share."""
        count, self._batch = self._pages.batches(size)
        self._shared = parallel.SharedWork(count)

    def abandon(self) -> None:
        """Stop the helper: the report will not be finished."""
        if self._shared is not None:
            self._shared.abandon()

    def write(self, meanwhile: Callable[[], None] | None = None) -> list[Path]:
        """Write index.html and the pages the helper leaves (all without one); `meanwhile`,
        if given, runs after index.html and before this process takes any page, while the
        helper renders pages."""
        if self._shared is None:  # no start_helper(): every page here
            self._prepare(PAGES_PER_BATCH)
        env = environment()

        def here(batches: Iterator[int]) -> None:
            index = env.get_template("index.html").generate(**self._pages.index())
            self._write_batches(batches, first=(self.index, index), meanwhile=meanwhile)

        self._shared.run_here(here)
        # The paths are made at the end: ~11,000 Path objects (each with a list) piling up
        # while pages are written made the garbage collector walk the whole heap again and again.
        return [self.index, *(self.pages_dir / f"{slug}.html" for slug in self.slugs)]

    def _write_batches(
        self,
        batches: Iterator[int],
        first: tuple | None = None,
        meanwhile: Callable[[], None] | None = None,
    ) -> None:
        files = _PageFiles()
        try:
            if first is not None:
                files.write(*first)
            if meanwhile is not None:
                meanwhile()
            for b in batches:
                for slug, pieces in self._batch(b):
                    files.write(self.pages_dir / f"{slug}.html", pieces)
        except BaseException:
            files.close(quietly=True)  # the first error is the one to report
            raise
        files.close()


# --------------------------------------------------------------------------- excerpts


def _evidence_pattern(evidence: str) -> re.Pattern | None:
    words = evidence.split()
    if not words:
        return None
    # Case and runs of whitespace may differ between the evidence and the narrative.
    return re.compile(r"\s+".join(re.escape(w) for w in words), re.IGNORECASE)


def _may_contain(text: str, evidence: str) -> bool:
    """False when the evidence's pattern surely cannot match the text: most evidence (e.g.
    'identical to note N1 of 2026-03-01') is not quoted from the text, and compiling a regex
    only to learn that costs far more than this test. Only for ASCII: beyond it re's
    case-insensitive matching is not str.lower()'s (re matches 'ı' to 'i')."""
    if not (text.isascii() and evidence.isascii()):
        return True
    lowered = text.lower()
    return all(word in lowered for word in evidence.lower().split())


def _says(message: str, evidence: str) -> bool:
    """Whether the message already states the evidence (its words, in order, any case; a
    leading "missing:" of the evidence aside)."""
    words = re.sub(r"(?i)^\s*missing:\s*", "", evidence).lower()
    # Lists are joined with commas in one and slashes in the other ("subjective, objective"
    # recorded, "No subjective / objective content found" said).
    words, said = (re.sub(r"[,/;]", " ", t).split() for t in (words, str(message).lower()))
    return bool(words) and " ".join(words) in " ".join(said)


def excerpt(text: str, evidence: str, window: int = EXCERPT_WINDOW) -> dict | None:
    """The evidence inside the text with some context: {before, match, after}; None when the
    evidence is blank or not in the text. Plain strings: the template escapes each part."""
    if not isinstance(text, str) or not isinstance(evidence, str) or not evidence.strip():
        return None
    start = text.find(evidence)  # the usual case, and much cheaper than a regex
    if start >= 0:
        end = start + len(evidence)
    else:
        if not _may_contain(text, evidence):
            return None
        pattern = _evidence_pattern(evidence)
        found = pattern.search(text) if pattern else None
        if not found:
            return None
        start, end = found.span()
    before = text[max(0, start - window) : start]
    if start > window:
        cut = re.search(r"\s", before)
        before = "…" + (before[cut.end() :] if cut and cut.start() < 40 else before)
    after = text[end : end + window]
    if end + window < len(text):
        cut = max(after.rfind(" "), after.rfind("\n"))
        after = (after[:cut] if cut > window - 40 else after) + "…"
    match = text[start:end]
    if len(match) > EXCERPT_MAX_MATCH:
        match = match[: EXCERPT_MAX_MATCH - 1] + "…"
    return {"before": before, "match": match, "after": after}


_LEADING_SPACE = re.compile(r"\s*")
_NON_SPACE = re.compile(r"\S")


def note_start(text: Any, length: int = EXCERPT_WINDOW) -> str | None:
    """The first `length` characters of a note's text (cut at a space, '…' when cut): what a
    finding without a quotable passage shows of the note; None for a note without text."""
    if not isinstance(text, str):
        return None
    # Only the head is copied: a note runs to thousands of characters.
    start = _LEADING_SPACE.match(text).end()
    if start == len(text):
        return None
    if _NON_SPACE.search(text, start + length) is None:  # all of it fits
        return text[start:].rstrip()
    head = text[start : start + length]
    cut = head.rfind(" ")
    return head[: cut if cut > length - 40 else length].rstrip() + "…"


# --------------------------------------------------------------------------- examples


def _value(value: Any) -> str:
    if _missing(value):
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def example_discipline(item: Item, case: dict) -> str:
    """The discipline of an example: its first note's (example_defaults filled in)."""
    notes = example_frames(item, case).get("notes") or [{}]
    return _value(notes[0].get("discipline"))


_CODE = re.compile(r"\b(?:\d{4}[0-9A-Z]|[A-Z]\d{4})\b")  # a CPT or HCPCS code


def example_facts(item: Item) -> list[tuple[str, frozenset[str]]]:
    """Each good example's discipline and the codes it bills (what example_choice reads)."""
    return [
        (
            example_discipline(item, case),
            frozenset(str(s.get("cpt_code")) for s in case.get("services") or []),
        )
        for case in item.examples.get("good") or []
    ]


def example_choice(
    item: Item,
    disciplines: str = "",
    codes: Iterable[str] = (),
    facts: list[tuple[str, frozenset[str]]] | None = None,
) -> int | None:
    """Which good example of the item suits a therapist of `disciplines` (e.g. "OT" or
    "OT, PT") whose findings name `codes`: the first of their discipline that bills one of
    the codes, else the first of their discipline, else the first; None without one. An SLP
    whose misses are all 92507 reads a 92507 example, not a swallowing one. `facts`: the
    item's example_facts, when the caller keeps them."""
    facts = example_facts(item) if facts is None else facts
    if not facts:
        return None
    wanted = {d.strip() for d in disciplines.split(",") if d.strip()}
    codes = set(codes)
    theirs = [i for i, (discipline, _) in enumerate(facts) if discipline in wanted]
    for i in theirs:
        if facts[i][1] & codes:
            return i
    return theirs[0] if theirs else 0


def example_card(item: Item, disciplines: str = "", codes: Iterable[str] = ()) -> dict | None:
    """The item's good example that example_choice picks, as something a person reads: each
    note's heading, key fields and SOAP text, and its services, goals and measures as small
    tables."""
    choice = example_choice(item, disciplines, codes)
    if choice is None:
        return None
    case = example_frames(item, item.examples["good"][choice])
    notes = []
    for row in case.get("notes", []):
        author = with_credential(row.get("therapist"), row.get("credential"))
        heading = " · ".join(
            x
            for x in (
                note_type_label(row.get("note_type")),
                _value(row.get("discipline")),
                _value(row.get("date_of_service")),
            )
            if x
        )
        fields = [
            {"label": FIELD_LABELS.get(k, k.replace("_", " ").capitalize()), "value": _value(v)}
            for k, v in row.items()
            if k not in EXAMPLE_HIDDEN and k not in SECTIONS and _value(v)
        ]
        sections = [
            {"label": label, "text": _value(row.get(k))}
            for k, label in SECTIONS.items()
            if _value(row.get(k))
        ]
        notes.append({"heading": heading, "author": author, "fields": fields, "sections": sections})
    compact = len(notes) > EXAMPLE_FULL_NOTES
    card: dict[str, Any] = {}
    if compact:
        for note in notes:
            text = " ".join(f"{s['label']}: {s['text']}" for s in note["sections"])
            note["summary"] = text if len(text) <= 140 else text[:139] + "…"
        card = _compact_parts(notes, case.get("notes", []))
    tables = []
    for table, title in (
        ("services", "Billed services"),
        ("goals", "Goals"),
        ("measures", "Measures"),
        ("authorizations", "Authorizations"),
    ):
        rows = case.get(table) or []
        columns = [c for c in dict.fromkeys(k for r in rows for k in r) if c != "note_id"]
        if rows and columns:
            tables.append(
                {
                    "title": title,
                    "columns": [
                        FIELD_LABELS.get(c, c.replace("_", " ").capitalize()) for c in columns
                    ],
                    "rows": [[_value(r.get(c)) for c in columns] for r in rows],
                }
            )
    return {"notes": notes, "compact": compact, "tables": tables, **card}


def _compact_parts(notes: list[dict], rows: list[dict]) -> dict:
    """What a compact example card shows besides its table: the notes in order as a sentence
    (runs of a note type counted: "9 daily notes (2026-09-03 to 2026-09-26)"), the fields the
    same on every note once, and which of the table's columns have something to show. A table
    of eleven note headings with an empty text column told a reader nothing."""
    runs: list[list[dict]] = []
    for row in rows:
        if runs and runs[-1][0].get("note_type") == row.get("note_type"):
            runs[-1].append(row)
        else:
            runs.append([row])
    parts = []
    for run in runs:
        label = note_type_label(run[0].get("note_type"))
        first, last = _value(run[0].get("date_of_service")), _value(run[-1].get("date_of_service"))
        if len(run) == 1:
            parts.append(f"{label} ({first})" if first else label)
        else:
            many = f"{len(run)} {label.lower()}s"
            parts.append(f"{many} ({first} to {last})" if first and last else many)
    common = [f for f in notes[0]["fields"] if all(f in note["fields"] for note in notes[1:])]
    for note in notes:
        note["fields"] = [f for f in note["fields"] if f not in common]
    authors = {note["author"] for note in notes}
    if len(authors) == 1 and next(iter(authors)):
        common.append({"label": "Author", "value": next(iter(authors))})
    return {
        "sequence": ", ".join([parts[0], *(p[0].lower() + p[1:] for p in parts[1:])]),
        "common": common,
        "show_author": len(authors) > 1,
        "show_fields": any(note["fields"] for note in notes),
        "show_text": any(note["summary"] for note in notes),
    }


# --------------------------------------------------------------------------- pages


def _records(frame: pd.DataFrame, key: str) -> dict[str, list[dict]]:
    """Rows of `frame` as dicts, grouped by the `key` column (kept in frame order)."""
    columns = list(frame.columns)
    position = columns.index(key)
    out: dict[str, list[dict]] = defaultdict(list)
    for values in zip(*(frame[c].to_numpy(dtype=object) for c in columns), strict=True):
        out[values[position]].append(dict(zip(columns, values, strict=True)))
    return out


def _pcts(values: np.ndarray, digits: int = 0) -> list[str]:
    """pct of every value (NaN for none); rates repeat a lot, so each distinct one once."""
    values = values.tolist()
    text = {v: pct(v, digits) for v in set(values)}
    return [text[v] for v in values]


class _Filled:
    """HTML that _fill made of escaped values, kept as the plain string it is (a Markup of it
    would copy every table body once more): _fill takes it as it is, and a template prints it
    as markup (__html__)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __html__(self) -> str:
        return self.text

    def __bool__(self) -> bool:
        return bool(self.text)


def _escape_column(values: list, kinds: set[type]) -> np.ndarray:
    """Each value as autoescape prints it (markupsafe.escape): strings, numbers and None,
    whose escape is their str's, in one call for the whole column; markup as it is."""
    # Numbers print as digits, '.', '-', '+', 'e', 'inf', 'nan' (or 'None'): nothing that
    # escape replaces.
    if kinds <= {int, type(None)} or kinds <= {float, type(None)}:
        # Bars and counts repeat a lot: each distinct value formatted once. 0.0 == -0.0, but
        # they print differently, so zeros (and None) are formatted one by one.
        text = {v: str(v) for v in set(values)}
        return np.array([text[v] if v else str(v) for v in values], dtype=object)
    if kinds <= {int, float, type(None)}:
        return np.array(list(map(str, values)), dtype=object)
    if kinds <= {str, int, float, type(None)}:
        texts = values if kinds == {str} else list(map(str, values))
        joined = "\x00".join(texts)
        if not any(c in joined for c in "&<>'\""):  # what escape replaces: most columns
            return np.array(texts, dtype=object)
        distinct = set(texts)
        if len(distinct) * 16 <= len(texts):  # e.g. item titles: each distinct one escaped once
            escaped = {text: str(escape(text)) for text in distinct}
            return np.array([escaped[text] for text in texts], dtype=object)
        if joined.count("\x00") == len(values) - 1:  # else a value holds the separator
            return np.array(str(escape(joined)).split("\x00"), dtype=object)
    if kinds == {Markup}:
        return np.array(values, dtype=object)  # joined as they are: no copy of each
    if kinds == {_Filled}:
        return np.array([v.text for v in values], dtype=object)
    return np.array(
        [
            v if type(v) is Markup else v.text if type(v) is _Filled else str(escape(v))
            for v in values
        ],
        dtype=object,
    )


def _fill(render: Callable[[dict], str], columns: dict[str, list]) -> tuple[np.ndarray, list[int]]:
    """Every row of `columns` (name -> a value per row) as `render` prints the row {name:
    value}: the pieces of every row in row order, and where each row's pieces start (and the
    last row's end). The same HTML as rendering each row, without jinja's cost per row and cell.

    `render` is called once per pattern of None values, with a marker in place of every other
    value; the markup between the markers is then filled with whole escaped columns. So what
    it renders may only print the row's values as they are and test them with `is none`.
    """
    names = list(columns)
    count = len(columns[names[0]])
    kinds = {name: set(map(type, values)) for name, values in columns.items()}
    pattern = np.zeros(count, dtype=np.int64)  # bit i set: the row's value i is None
    for i, name in enumerate(names):
        if type(None) in kinds[name]:
            blank = np.fromiter(map(operator.is_, columns[name], repeat(None)), bool, count)
            pattern |= blank.astype(np.int64) << i
    escaped: dict[str, np.ndarray] = {}
    pieces = np.zeros(count, dtype=np.int64)  # markup and values making up each row
    filled = []
    for p in np.unique(pattern).tolist():
        rows = np.flatnonzero(pattern == p)
        some = rows if len(rows) < count else slice(None)
        markers = {k: None if p >> i & 1 else f"\x00{i}\x00" for i, k in enumerate(names)}
        parts = re.split("\x00([0-9]+)\x00", str(render(markers)))
        grid = np.empty((len(rows), len(parts)), dtype=object)
        grid[:, 0::2] = parts[0::2]
        for j, i in enumerate(parts[1::2]):
            name = names[int(i)]
            if name not in escaped:
                escaped[name] = _escape_column(columns[name], kinds[name])
            grid[:, 2 * j + 1] = escaped[name][some]
        pieces[rows] = len(parts)
        filled.append((rows, grid))
    # Every row's pieces in row order in one array, so a run of rows is a single join. (An
    # array, not a list: the garbage collector does not walk through its millions of items.)
    start = np.r_[0, np.cumsum(pieces)]
    if len(filled) == 1:
        flat = filled[0][1].ravel()
    else:
        flat = np.empty(start[-1], dtype=object)
        for rows, grid in filled:
            flat[start[rows][:, None] + np.arange(grid.shape[1])] = grid
    return flat, start.tolist()


def _render_rows(macro: str, columns: dict[str, list], cuts: np.ndarray | None = None) -> list[str]:
    """Every row of `columns` as macros.html's `macro` prints the row (see _fill), the rows
    between consecutive `cuts` joined (by default each row alone)."""
    flat, start = _fill(getattr(_macros(), macro), columns)
    flat = flat.tolist()  # a join takes a list's slice as it is, an array's item by item
    bounds = [start[c] for c in (range(len(start)) if cuts is None else cuts.tolist())]
    return ["".join(flat[a:b]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def _render_tables(
    macro: str, columns: dict[str, list], groups: np.ndarray, keys: Any
) -> dict[Any, tuple[_Filled, int]]:
    """The rows of each run of equal `groups` values as one table body (macro per row, see
    _render_rows): {keys[group]: (its HTML, its number of rows)}."""
    if not len(groups):
        return {}
    cuts = np.r_[0, np.flatnonzero(groups[1:] != groups[:-1]) + 1, len(groups)]
    bodies = _render_rows(macro, columns, cuts)
    return {
        keys[groups[a]]: (_Filled(body), b - a)
        for a, b, body in zip(cuts[:-1].tolist(), cuts[1:].tolist(), bodies, strict=True)
    }


def _split(batches: np.ndarray, count: int) -> list[np.ndarray]:
    """Positions of the rows in each of `count` batches (a batch number per row, -1 for
    none), in row order."""
    order = np.argsort(batches, kind="stable")
    bounds = np.searchsorted(batches[order], np.arange(count + 1)).tolist()
    return [order[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def _first_per_group(keys: list[np.ndarray], group: np.ndarray, n: int) -> np.ndarray:
    """Positions of the first `n` rows of each `group` value, rows ordered by `keys` (most
    significant last, as np.lexsort takes them). Integer sorting: fast on millions of rows."""
    order = np.lexsort([*keys, group])
    if not len(order):
        return order
    sorted_group = group[order]
    starts = np.r_[0, np.flatnonzero(sorted_group[1:] != sorted_group[:-1]) + 1]
    sizes = np.diff(np.r_[starts, len(order)])
    rank = np.arange(len(order)) - np.repeat(starts, sizes)
    return order[rank < n]


def _each(values: pd.Series, function: Any, missing: Any = None) -> np.ndarray:
    """function(value) for each value (`missing` for NA), called once per distinct value:
    labels, ranks and messages repeat a lot."""
    codes, uniques = pd.factorize(values)
    results = [function(u) for u in uniques.tolist()]
    return np.array([*results, missing], dtype=object)[codes]  # code -1 (NA) takes the last


def _texts(values: np.ndarray, format: Callable[[int], str] = str) -> list[str]:
    """format(n) of each integer (str: as astype(str) writes it); counts repeat a lot, so
    each distinct one is formatted once."""
    unique, inverse = np.unique(values, return_inverse=True)
    texts = np.array([format(v) for v in unique.tolist()], dtype=object)
    return texts[inverse.ravel()].tolist()


def _sorted(mask: np.ndarray, *keys: np.ndarray) -> np.ndarray:
    """Positions of the rows in `mask`, ordered by `keys` (most significant first; NaN last)
    and else kept in order, as a stable sort_values orders them."""
    rows = np.flatnonzero(mask)
    return rows[np.lexsort([key[rows] for key in reversed(keys)])]


def _ranks(groups: np.ndarray) -> np.ndarray:
    """Each row's place (0, 1, ...) in its run of equal `groups` values."""
    if not len(groups):
        return np.zeros(0, dtype=np.int64)
    starts = np.r_[0, np.flatnonzero(groups[1:] != groups[:-1]) + 1]
    return np.arange(len(groups)) - np.repeat(starts, np.diff(np.r_[starts, len(groups)]))


def _dates(values: pd.Series) -> np.ndarray:
    """YYYY-MM-DD strings ('–' when missing), vectorised; each distinct date formatted once."""
    unique, inverse = np.unique(values.to_numpy("datetime64[ns]"), return_inverse=True)
    text = np.datetime_as_string(unique, unit="D").astype(object)
    text[np.isnat(unique)] = "–"
    return text[inverse.ravel()]


class _Pages:
    """Every page's context: the overview's, then each therapist page's, a batch at a time."""

    def __init__(self, data: ReportData) -> None:
        self.data = data
        stats = data.stats
        self.items = {i.id: i for i in data.result.items}
        self.rank = {s: i for i, s in enumerate(SEVERITY_ORDER)}
        # A run limited with --therapist has no team to compare with: its "team" would be the
        # therapists it was limited to (a team of one), so the pages leave the comparison out.
        self.whole_team = not data.options.get("therapists")
        self.team_items = stats.items.set_index("item_id")
        rates = stats.therapists["rate"].astype(float)
        self.team_rates = rates.dropna().to_numpy()
        self.median = float(np.median(self.team_rates)) if len(self.team_rates) else None
        self.scale_floor = svg.scale_floor(self.team_rates)
        self.team_ticks = (
            svg.team_ticks(self.team_rates, self.scale_floor) if self.whole_team else []
        )
        self.examples: dict[tuple[str, int | None], Markup | None] = {}
        self._example_facts: dict[str, list[tuple[str, frozenset[str]]]] = {}
        self.common = self._common()

    # ---- shared by every page

    def _common(self) -> dict:
        data, stats = self.data, self.data.stats
        overall = stats.overall
        result = data.result
        period = (
            f"{overall['period_start']} to {overall['period_end']}"
            if overall["period_start"]
            else "no notes in the audit period"
        )
        return {
            "version": data.version,
            "created_at": (data.created_at or "").replace("T", " "),
            "period": period,
            "as_of": day(result.as_of) if result.as_of is not None else "–",
            "redacted": data.redacted,
            "checklists": [
                {"title": c.title, "name": c.name, "version": c.version, "item_count": len(c.items)}
                for c in result.checklists
            ],
        }

    def _example(self, item_id: str, disciplines: str, codes: Iterable[str] = ()) -> Markup | None:
        """The item's example card for a therapist of `disciplines` whose findings name
        `codes` (see example_choice), each card rendered once: the same on every page it
        appears on."""
        item = self.items[item_id]
        if item_id not in self._example_facts:
            self._example_facts[item_id] = example_facts(item)
        key = (item_id, example_choice(item, disciplines, codes, self._example_facts[item_id]))
        if key not in self.examples:
            card = example_card(item, disciplines, codes)
            self.examples[key] = None if card is None else _macros().example_card(card)
        return self.examples[key]

    # ---- index.html

    def index(self) -> dict:
        data, stats = self.data, self.data.stats
        overall = dict(stats.overall)
        therapists = self._therapist_rows()
        items = stats.items.assign(_sev=stats.items["severity"].map(self.rank))
        items = items.sort_values(["rate", "_sev"], na_position="last", kind="stable")
        item_rows = [
            {
                "id": i.item_id,
                "title": i.title,
                "checklist": i.checklist,
                "severity": i.severity,
                "applicable": int(i.applicable),
                "passed": int(i.passed),
                "failed": int(i.failed),
                "not_evaluable": int(i.not_evaluable),
                "sev_rank": self.rank.get(i.severity, 9),
                "rate": _f(i.rate),
                "ci_low": _f(i.ci_low),
                "ci_high": _f(i.ci_high),
                "rate_key": _key(i.rate),
                "bar": svg.mini_bar(i.rate, i.ci_low, i.ci_high),
            }
            for i in items.itertuples(index=False)
            if i.applicable > 0
        ]
        unused = [
            {"id": i.item_id, "title": i.title}
            for i in stats.items.itertuples(index=False)
            if i.applicable == 0
        ]
        files = [
            {
                "path": f.path,
                "sheet": f.sheet or "",
                "table": f.table or "not used",
                "read": f.rows_read,
                "loaded": f.rows_loaded,
                "rejected": f.rows_rejected,
            }
            for f in data.export.files
        ]
        return {
            **self.common,
            "overall": overall,
            "overall_checked": overall["passed"] + overall["failed"],
            "median": self.median,
            "whole_team": self.whole_team,
            "export_name": Path(data.export.root).name if data.export.root else "",
            "files": files,
            "rejected": int(len(data.export.rejected)),
            "disciplines": stats.disciplines.to_dict("records"),
            "therapists": therapists,
            "items": item_rows,
            "unused_items": unused,
            "heatmap": self._heatmap(),
            "trend": self._trend(self._trend_months.get("")),
            "not_evaluable": self._not_evaluable(),
            "input_problems": self._input_problems(),
            "sampled": data.sample is not None,
        }

    def _input_problems(self) -> dict | None:
        """The overview's "Input problems" box, for whoever reads only the HTML: the loader's
        notices (a column not read, values read as blank), the first few of them, and the
        rows not loaded, with the files that list them all; None when there are none."""
        notices, rejected = self.data.notices, len(self.data.export.rejected)
        if not notices and not rejected:
            return None
        formats = self.data.options.get("formats") or ()
        sheets = " and Input problems" if rejected else ""
        where = [
            (href, label)
            for href, label, shown in (
                (
                    "compliance.xlsx",
                    f"the workbook's Summary{sheets} sheet{'s' * bool(rejected)}",
                    "xlsx",
                ),
                ("summary.json", "summary.json (notices)", "json"),
                ("rejected.csv", "rejected.csv", "csv" if rejected else ""),
            )
            if shown in formats
        ]
        return {
            "notices": notices[:INPUT_NOTICES_SHOWN],
            "more": max(0, len(notices) - INPUT_NOTICES_SHOWN),
            "rejected": rejected,
            "where": where,
        }

    def _therapist_rows(self) -> Markup:
        """The overview's table of therapists (macro therapist_row), lowest rate first."""
        t = self.data.stats.therapists
        rate, low, high = (
            t[c].to_numpy(float, na_value=np.nan) for c in ("rate", "ci_low", "ci_high")
        )
        no_median = self.median is None or not self.whole_team
        median = np.full(len(t), np.nan if no_median else self.median)
        rates = rate.tolist()
        _, _, _, totals, failing = self._note_selection
        slugs = t["slug"].tolist()
        clean = [(totals[s] - failing[s]) / totals[s] if totals.get(s) else None for s in slugs]
        return Markup(  # noqa: S704 - escaped by _render_rows
            _render_rows(
                "therapist_row",
                {
                    "slug": slugs,
                    "name": t["label"].tolist(),
                    "credential": [_value(v) for v in t["credential"].tolist()],
                    "discipline": [_value(v) for v in t["discipline"].tolist()],
                    **{c: [num(v) for v in t[c].tolist()] for c in ("notes", "failed", "critical")},
                    "rate": [pct(r, RATE_DIGITS) for r in rates],
                    "rate_key": [_key(r) for r in rates],
                    "clean": [pct(c, RATE_DIGITS) for c in clean],
                    "clean_key": [_key(c) for c in clean],
                    "ci_key": [_key(v) for v in low.tolist()],
                    "interval": [
                        interval(a, b) for a, b in zip(low.tolist(), high.tolist(), strict=True)
                    ],
                    **svg.mini_bars(rate, low, high, median),
                },
                np.array([0, len(t)]),
            )[0]
        )

    def _heatmap(self) -> dict:
        """Therapist x item cells (lowest-rate therapists first): percent met, colour class."""
        stats = self.data.stats
        counts = stats.matrix_counts.assign(
            checked=stats.matrix_counts["passed"] + stats.matrix_counts["failed"]
        )
        used = stats.items.loc[stats.items["passed"] + stats.items["failed"] > 0]
        # Most severe first and, within a severity, the team's worst items first.
        used = used.assign(_sev=used["severity"].map(self.rank)).sort_values(
            ["_sev", "rate"], kind="stable"
        )
        columns = [
            {"id": i.item_id, "title": i.title, "severity": i.severity}
            for i in used.itertuples(index=False)
        ]
        ids = [c["id"] for c in columns]
        shown = stats.therapists.head(HEATMAP_ROWS)

        def grid(value: str) -> np.ndarray:
            wide = counts.pivot(index="therapist_id", columns="item_id", values=value)
            return wide.reindex(index=shown["therapist_id"], columns=ids).fillna(0).to_numpy(int)

        passed, checked = grid("passed"), grid("checked")
        with np.errstate(invalid="ignore", divide="ignore"):
            rates = np.where(checked > 0, passed / np.maximum(checked, 1), np.nan)
        bins = len(HEAT_BINS) - np.digitize(rates, HEAT_BINS)
        texts = _pcts(rates.ravel())
        cells = zip(*(a.ravel().tolist() for a in (passed, checked, bins)), texts, strict=True)
        cells = [
            ("", "na", "no note checked")
            if n == 0
            else (text.rstrip("%"), f"h{b}", f"{p:,} of {n:,} notes met")
            for p, n, b, text in cells
        ]
        # One string of cells per therapist (macro heat_cell), then the rows (macro heat_row).
        row_cells = _render_rows(
            "heat_cell",
            {k: [c[i] for c in cells] for i, k in enumerate(("text", "cls", "title"))},
            np.arange(len(shown) + 1) * len(ids),
        )
        rows = _render_rows(
            "heat_row",
            {
                "slug": shown["slug"].tolist(),
                "name": shown["label"].tolist(),
                "cells": [Markup(c) for c in row_cells],  # noqa: S704 - escaped
            },
            np.array([0, len(shown)]),
        )[0]
        return {
            "columns": columns,
            "rows": Markup(rows),  # noqa: S704 - escaped by _render_rows
            "hidden": max(0, len(stats.therapists) - len(shown)),
        }

    @functools.cached_property
    def _trend_months(self) -> dict[str, tuple[list[str], list[float], list[int] | None]]:
        """The run history's monthly rates by therapist_id ('' = the whole team): (month
        labels in order, rates, checks per month or None), aggregated once for everyone; a
        groupby per therapist page cost 4 s at 100k notes."""
        trend = self.data.trend
        if trend is None or len(trend) == 0 or "month" not in trend:
            return {}
        ids = (
            trend["therapist_id"].fillna("").astype(str).to_numpy()
            if "therapist_id" in trend
            else np.full(len(trend), "", dtype=object)
        )
        frame = pd.DataFrame({"_id": ids, "month": trend["month"].to_numpy()})
        if {"passed", "failed"} <= set(trend.columns):
            frame["passed"] = trend["passed"].to_numpy()
            frame["failed"] = trend["failed"].to_numpy()
            per = frame.groupby(["_id", "month"], sort=True)[["passed", "failed"]].sum()
            checked = per["passed"] + per["failed"]
            rates = (per["passed"] / checked.where(checked > 0)).tolist()
            counts: list | None = checked.astype(int).tolist()
        else:
            frame["rate"] = trend["rate"].to_numpy()
            per = frame.groupby(["_id", "month"], sort=True)["rate"].mean()
            rates, counts = per.tolist(), None
        keys = per.index.get_level_values(0).to_numpy()
        labels = [str(m) for m in per.index.get_level_values(1)]
        cuts = np.r_[0, np.flatnonzero(keys[1:] != keys[:-1]) + 1, len(keys)].tolist()
        return {
            str(keys[a]): (labels[a:b], rates[a:b], counts[a:b] if counts is not None else None)
            for a, b in zip(cuts[:-1], cuts[1:], strict=True)
        }

    @staticmethod
    def _trend(
        months: tuple[list[str], list[float], list[int] | None] | None, min_months: int = 1
    ) -> dict | None:
        """A line chart and a table of the monthly rate; None with fewer than `min_months`."""
        if not months:
            return None
        labels, rates, counts = months
        if len(labels) < min_months:
            return None
        counts = counts or []
        table = [
            {"month": m, "rate": r, "checked": counts[i] if counts else None}
            for i, (m, r) in enumerate(zip(labels, rates, strict=True))
        ]
        return {"chart": svg.line_chart(labels, rates, counts), "table": table}

    def _not_evaluable(self) -> list[dict]:
        data = self.data
        items = data.stats.items
        rows = items.loc[items["not_evaluable"] > 0]
        out = []
        for i in rows.itertuples(index=False):
            reasons = data.result.not_evaluable.get(i.item_id, {})
            if not reasons and i.not_evaluable_reason:
                reasons = {i.not_evaluable_reason: int(i.not_evaluable)}
            out.append(
                {
                    "id": i.item_id,
                    "title": i.title,
                    "count": int(i.not_evaluable),
                    "applicable": int(i.applicable),
                    "reasons": [{"text": str(k), "count": int(v)} for k, v in reasons.items()],
                }
            )
        if data.redacted and out:
            # Reasons come from checks; mask any patient name a message might carry.
            texts = pd.Series([r["text"] for o in out for r in o["reasons"]], dtype=object)
            masked = iter(data.excerpt_text(texts).tolist())
            for o in out:
                for r in o["reasons"]:
                    r["text"] = next(masked)
        for o in out:
            for r in o["reasons"]:
                r["text"] = sentence(r["text"])
        return out

    # ---- therapists/<slug>.html

    def _item_counts(self, rows: np.ndarray, authors: np.ndarray) -> pd.DataFrame:
        """Rows `rows` of matrix_counts with their therapists (_t: `authors`, rows of
        stats.therapists), checked (rate and interval come from stats), skipped (notes left
        out after a prerequisite failed, see data.prerequisites) and unjudged (those and the
        notes not evaluable), the item's title, severity and its rank, and team rate."""
        mc = self.data.stats.matrix_counts.iloc[rows]
        mc["_t"] = authors
        mc["checked"] = mc["passed"] + mc["failed"]
        mc["skipped"] = self._skipped[rows]
        mc["peers_failed"] = self._peers_failed[rows]
        mc["unjudged"] = mc["not_evaluable"].to_numpy() + mc["skipped"].to_numpy()
        items = self._item_codes[rows]
        for name, values in self._item_columns.items():
            mc[name] = values[items]
        return mc

    @functools.cached_property
    def _skipped(self) -> np.ndarray:
        """Per row of matrix_counts: notes the item skipped because a prerequisite failed."""
        data = self.data
        return skipped_after_failures(data.result, data.stats.matrix_counts, self._prerequisites)

    @functools.cached_property
    def _peer_groups(self) -> tuple[list[np.ndarray], np.ndarray, list[str]]:
        """Per row of stats.therapists: the groups a therapist belongs to (discipline and role,
        discipline, team: a key each), which of them are their peers (the first with another
        therapist in it, else the team: PEER_WORDS), and the peers in words for the page."""
        therapists = self.data.stats.therapists
        discipline = therapists["discipline"].astype(str).to_numpy(object)
        role = therapists["role"].astype(str).to_numpy(object)
        groups = [discipline + "|" + role, discipline, np.full(len(therapists), "", object)]

        def shared(keys: np.ndarray) -> np.ndarray:
            return pd.Series(keys).map(pd.Series(keys).value_counts()).to_numpy() > 1

        # An unknown role is no peer group of its own.
        by_role = shared(groups[0]) & np.isin(role, list(ROLE_PLURALS))
        level = np.where(by_role, 0, np.where(shared(groups[1]), 1, 2))
        words = [
            PEER_WORDS[lv].format(discipline=d, role=ROLE_PLURALS.get(r, ""))
            for lv, d, r in zip(level.tolist(), discipline, role, strict=True)
        ]
        return groups, level, words

    @functools.cached_property
    def _peers_failed(self) -> np.ndarray:
        """Per row of matrix_counts (therapist x item): how often the item failed on the notes
        of the therapist's peers (_peer_groups, the therapist included). Where none of them
        ever failed it (97014 for a speech-language pathologist, an assistant's modifier for a
        therapist), meeting it is no strength."""
        mc = self.data.stats.matrix_counts
        therapists = self.data.stats.therapists
        rows = pd.Index(therapists["therapist_id"]).get_indexer(
            mc["therapist_id"].astype(therapists["therapist_id"].dtype)
        )
        groups, level, _ = self._peer_groups
        failed = mc["failed"].to_numpy(np.int64)
        item = mc["item_id"].to_numpy()

        def failed_in(keys: np.ndarray) -> np.ndarray:
            group = np.append(keys, "\x00none")[rows]  # -1 (no therapist row) takes the last
            index = pd.MultiIndex.from_arrays([group, item])
            return pd.Series(failed, index=index).groupby(level=[0, 1]).transform("sum").to_numpy()

        chosen = np.append(level, 0)[rows]
        return np.choose(chosen, [failed_in(g) for g in groups]).astype(np.int64)

    @functools.cached_property
    def _prerequisites(self) -> dict[int, list[int]]:
        """{item: the items it is judged only after}, as places among self.items."""
        return prerequisites(self.data.result)

    @functools.cached_property
    def _item_codes(self) -> np.ndarray:
        """Each row of matrix_counts's item as a row of team_items (-1: not there)."""
        return self.team_items.index.get_indexer(self.data.stats.matrix_counts["item_id"])

    @functools.cached_property
    def _item_columns(self) -> dict[str, np.ndarray]:
        """Per row of team_items: title, severity, its rank and team rate, as arrays taken by
        _item_codes; each ends in NaN, which code -1 takes (as Series.map gives NaN)."""
        items = self.team_items
        kinds = [self.items[i].check if i in self.items else "" for i in items.index]
        columns = {
            "title": items["title"].to_numpy(object),
            # "" for a kind without a topic; NaN (code -1) for an item not in team_items.
            "topic": np.array([getattr(REGISTRY.get(k), "topic", "") for k in kinds], object),
            "severity": items["severity"].to_numpy(object),
            "sev": items["severity"].map(self.rank).to_numpy(float, na_value=np.nan),
            "team_rate": items["rate"].to_numpy(float, na_value=np.nan)
            if self.whole_team
            else np.full(len(items), np.nan),
        }
        return {name: np.append(values, np.nan) for name, values in columns.items()}

    def _item_cells(self, frame: pd.DataFrame, bars: bool = False) -> dict[str, list]:
        """The cells of rows of _item_counts as the tables print them (see macros.html);
        with `bars`, the numbers of each row's ratebar too."""
        severity = {s: _macros().severity(s) for s in frame["severity"].unique()}

        def floats(column: str) -> np.ndarray:
            return frame[column].to_numpy(float, na_value=np.nan)

        def ints(column: str) -> np.ndarray:
            return frame[column].to_numpy(np.int64)

        rate, team_rate = floats("rate"), floats("team_rate")
        team = _pcts(team_rate, RATE_DIGITS)
        cells = {
            "title": frame["title"].tolist(),
            "severity": [severity[s] for s in frame["severity"].tolist()],
            **{c: _texts(ints(c), num) for c in ("checked", "passed", "failed", "not_evaluable")},
            "checked_notes": _texts(ints("checked"), lambda n: plural(n, "note")),
            "rate": _pcts(rate, RATE_DIGITS),
            "team_rate": team,
            "team": [
                None if math.isnan(r) else t for r, t in zip(team_rate.tolist(), team, strict=True)
            ],
        }
        if bars:
            cells |= svg.mini_bars(rate, floats("ci_low"), floats("ci_high"), team_rate)
        return cells

    def _gap_sections(
        self, gaps: pd.DataFrame, excerpts: tuple[np.ndarray, dict[str, list]]
    ) -> dict[str, tuple[_Filled, int]]:
        """Per therapist: the sections of the gaps (macro gap_section), each with its
        excerpts (macro excerpt; `excerpts` as _excerpts gives them) and the item's example
        card."""
        owner, columns = excerpts
        sections = _render_tables("excerpt", columns, owner, range(len(gaps))) if columns else {}
        # The codes the gap's quoted findings name, for the example to bill one of them.
        codes: dict[int, set[str]] = defaultdict(set)
        for g, message in zip(owner.tolist(), columns.get("message", []), strict=True):
            codes[g].update(_CODE.findall(message))
        quoted = np.bincount(owner, minlength=len(gaps)).tolist()
        items = [self.items[item_id] for item_id in gaps["item_id"].tolist()]
        disciplines = self._disciplines[gaps["_t"].to_numpy()].tolist()
        failed = gaps["failed"].to_numpy(np.int64).tolist()
        cells = self._item_cells(gaps)
        return _render_tables(
            "gap_section",
            {
                "index": (gaps["_rank"].to_numpy() + 1).tolist(),
                **{k: cells[k] for k in ("title", "severity", "failed", "checked_notes", "rate")},
                "team": cells["team"],
                "description": [i.description or None for i in items],
                "why": [i.why for i in items],
                "fix": [i.fix for i in items],
                "excerpts": [sections.get(g, (Markup(), 0))[0] for g in range(len(gaps))],
                "more": [
                    plural(n - q, "more note") if n > q else None
                    for n, q in zip(failed, quoted, strict=True)
                ],
                "example": [
                    self._example(i.id, d, codes.get(g, ()))
                    for g, (i, d) in enumerate(zip(items, disciplines, strict=True))
                ],
                "reference": [i.reference for i in items],
                "id": [i.id for i in items],
            },
            *self._groups(gaps),
        )

    def _excerpts(
        self, gaps: pd.DataFrame, f: pd.DataFrame, key: np.ndarray, per_gap: int = EXCERPTS_PER_GAP
    ) -> tuple[np.ndarray, dict[str, list]]:
        """Up to `per_gap` excerpts for each of the `gaps`, found in one pass over
        the findings `f` (rows of data.findings holding at least those gaps', with their
        (therapist, item) `key`s): the position in `gaps` of each excerpt's gap (a gap's
        excerpts together), and the excerpts as macro excerpt's columns. Excerpts whose
        evidence is in the note's text come first, then findings without one."""
        data = self.data
        if f.empty or gaps.empty:
            return np.zeros(0, dtype=np.int64), {}
        # Integer keys, so selecting and sorting stay vectorised.
        items = np.array([self._item_places[i] for i in gaps["item_id"].tolist()], dtype=np.int64)
        gap_keys = gaps["_t"].to_numpy() * len(self.items) + items
        inside = np.flatnonzero(np.isin(key, gap_keys))
        evidence = f["evidence"].to_numpy(dtype=object)[inside]
        has = np.array([isinstance(e, str) and bool(e.strip()) for e in evidence], dtype=bool)
        dates = f["date_of_service"].to_numpy("datetime64[ns]")[inside].view("int64")
        # Per gap: findings with evidence first, then the most recent.
        chosen = _first_per_group(
            [f["note_idx"].to_numpy()[inside], -dates, ~has], key[inside], EXCERPT_CANDIDATES
        )
        picked = inside[chosen]
        cand = f[
            ["note_type", "note_id", "message", "date_of_service", "note_idx", "moved", "author"]
        ].iloc[picked]
        note_idx = cand["note_idx"].to_numpy()
        # Only a finding with evidence can be quoted: mask (under --redact) the text of each
        # of those notes once, in one call for the batch (the masking's cost is mostly per call).
        # A finding without evidence shows the start of its note (see below): the first
        # `per_gap` of each gap are masked in the same call, cut to what can be shown (after
        # masking, then cut again: a cut could split a name the masking would then miss).
        quoted = np.unique(note_idx[has[chosen]])
        bare = np.flatnonzero(~has[chosen])
        bare = np.setdiff1d(note_idx[bare[_ranks(key[picked][bare]) < per_gap]], quoted)
        notes = data.result.notes["narrative"]
        longer = EXCERPT_WINDOW + 40  # room for a name running over the cut
        narrative = [
            *notes.iloc[quoted].to_numpy(dtype=object).tolist(),
            *(t[:longer] if isinstance(t, str) else t for t in notes.iloc[bare].tolist()),
        ]
        masked = data.excerpt_text(pd.Series(narrative, dtype=object)).tolist()
        text_of = dict(zip([*quoted.tolist(), *bare.tolist()], masked, strict=True))
        # Each candidate's gap; the candidates of a gap are consecutive, best first.
        owner = pd.Index(gap_keys).get_indexer(key[picked]).tolist()
        evidence = ["" if _missing(e) else str(e) for e in evidence[chosen].tolist()]
        texts = [text_of.get(n) for n in note_idx.tolist()]
        rows = []  # (gap, candidate, excerpt), a gap's together
        for g, run in groupby(range(len(owner)), key=owner.__getitem__):
            found, spare = [], []  # (candidate, excerpt) with the evidence quoted, and without
            for i in run:
                part = excerpt(texts[i], evidence[i]) if evidence[i] else None
                (found if part else spare).append((i, part))
                if len(found) == per_gap:
                    break
            kept = found + spare[: per_gap - len(found)]
            rows += [(g, i, part or {}) for i, part in kept]
        if not rows:
            return np.zeros(0, dtype=np.int64), {}
        owners, take, parts = (list(x) for x in zip(*rows, strict=True))
        # A finding with nothing to quote ("no subjective content found", a billed code the
        # note does not describe) shows the start of the note, so the therapist sees what was
        # read.
        for k, part in enumerate(parts):
            if not part:
                start = note_start(texts[take[k]])
                parts[k] = {} if start is None else {"start": start}
        messages = _each(cand["message"].iloc[take], sentence, "").tolist()
        patients = self._patient_labels.reindex(note_idx[take]).tolist()
        return np.array(owners, dtype=np.int64), {
            "date": _dates(cand["date_of_service"].iloc[take]).tolist(),
            "note_type": _each(cand["note_type"].iloc[take], note_type_label, "Note").tolist(),
            "note_id": cand["note_id"].iloc[take].to_numpy(dtype=object).tolist(),
            "patient": [None if _missing(p) or p == "" else str(p) for p in patients],
            # A visit of an assistant or student this therapist supervises: whose it is.
            "by": [
                str(a) if m and not _missing(a) else None
                for m, a in zip(
                    cand["moved"].iloc[take].to_numpy(bool).tolist(),
                    cand["author"].iloc[take].tolist(),
                    strict=True,
                )
            ],
            **{
                name: [p.get(name) for p in parts] for name in ("before", "match", "after", "start")
            },
            "message": messages,
            # "Recorded: x" only where x adds to the message ("missing: long-term goals" after
            # "Plan of care is missing: long-term goals" would read as the opposite).
            "evidence": [
                None if not evidence[i] or _says(m, evidence[i]) else evidence[i]
                for i, m in zip(take, messages, strict=True)
            ],
        }

    @functools.cached_property
    def _note_selection(self) -> tuple[np.ndarray, np.ndarray, list, dict, dict]:
        """The notes each page lists (failing first, capped): their rows of data.notes grouped
        by therapist, each row's therapist code and the codes' slugs; and per therapist (by
        slug), all notes and failing notes. Integer work over every note, done once for the
        run (the overview's table reads the totals too)."""
        notes = self.data.notes
        codes, slugs = pd.factorize(notes["slug"])
        # A note fails on the author's page when a finding counts against the author (one their
        # supervising therapist answers for is listed apart, see _supervised).
        failing_mask = notes["charged"].to_numpy() > 0
        totals = dict(zip(slugs, np.bincount(codes, minlength=len(slugs)), strict=True))
        failing = dict(
            zip(slugs, np.bincount(codes[failing_mask], minlength=len(slugs)), strict=True)
        )
        dates = notes["date_of_service"].to_numpy("datetime64[ns]").view("int64")
        keep = _first_per_group(
            [notes["note_idx"].to_numpy(), dates, ~failing_mask], codes, NOTE_ROWS
        )
        return keep, codes[keep], slugs.tolist(), totals, failing

    def _note_rows(
        self, keep: np.ndarray, groups: np.ndarray, slugs: list, findings: pd.DataFrame
    ) -> dict[str, tuple[_Filled, int]]:
        """Per therapist: the notes at rows `keep` of data.notes (grouped by therapist, with
        their therapists' `groups` codes, whose slugs are `slugs`) as HTML (macro note_row)
        with their count; `findings` holds at least those notes' findings.

        The rows are the bulk of a large run's pages, so they are rendered column by column
        for a whole batch of pages at once, and the template prints them as they are.
        """
        columns = ["date_of_service", "note_type", "note_id", "patient_label", "applicable"]
        shown = self.data.notes[[*columns, "charged", "note_idx"]].iloc[keep]
        f = findings[["note_idx", "severity", "item_title"]]
        f = f.loc[f["note_idx"].isin(shown["note_idx"]) & ~findings["moved"].to_numpy(bool)]
        # By note, then severity (unknown last); lexsort is stable, as sort_values is.
        last = len(self.rank)
        rank = _each(f["severity"], lambda s: self.rank.get(s, last), last)
        f = f.iloc[np.lexsort([rank.astype(np.int64), f["note_idx"].to_numpy()])]
        titles = f["item_title"].astype(str).to_numpy(dtype=object)
        titles = np.where(f["severity"].to_numpy() == "critical", titles + " (critical)", titles)
        # `f` is sorted by note: each note's titles are a run of `titles`.
        idx = f["note_idx"].to_numpy()
        starts = np.flatnonzero(np.r_[True, idx[1:] != idx[:-1]]) if len(idx) else idx
        bounds, titles = np.r_[starts, len(idx)].tolist(), titles.tolist()
        missed = [
            *("; ".join(titles[a:b]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)),
            None,  # a note without findings (its row is left out of print)
        ]
        # Each listed note's run of titles (the runs are in note order), else the "" (-1).
        noted, listed = idx[starts], shown["note_idx"].to_numpy()
        run = np.searchsorted(noted, listed)
        found = run < len(noted)
        found[found] = noted[run[found]] == listed[found]
        run = np.where(found, run, -1)
        return _render_tables(
            "note_row",
            {
                "date": _dates(shown["date_of_service"]).tolist(),
                "note_type": _each(
                    shown["note_type"], lambda t: NOTE_TYPES.get(t, "Note"), "Note"
                ).tolist(),
                "note_id": shown["note_id"].astype(str).tolist(),
                "patient": shown["patient_label"].fillna("").astype(str).tolist(),
                "applicable": _texts(shown["applicable"].to_numpy(np.int64)),
                "missed": _texts(shown["charged"].to_numpy(np.int64)),
                "failed": np.array(missed, dtype=object)[run].tolist(),
            },
            groups,
            slugs,
        )

    @functools.cached_property
    def _disciplines(self) -> np.ndarray:
        """Each therapist's disciplines ("OT", "OT, PT"), by row of stats.therapists."""
        return np.array([_value(d) for d in self.data.stats.therapists["discipline"]], object)

    @functools.cached_property
    def _slugs(self) -> np.ndarray:
        """Each therapist's page name, by row of stats.therapists."""
        return self.data.stats.therapists["slug"].to_numpy(object)

    def _groups(self, frame: pd.DataFrame) -> tuple[np.ndarray, list]:
        """Codes and slugs of rows of _item_counts grouped by therapist, for _render_tables."""
        codes, rows = pd.factorize(frame["_t"].to_numpy())
        return codes, self._slugs[rows].tolist()

    def _table(
        self, macro: str, frame: pd.DataFrame, bars: bool = False
    ) -> dict[str, tuple[_Filled, int]]:
        """Per therapist: rows of _item_counts as table rows (`macro`, cells of _item_cells)."""
        return _render_tables(macro, self._item_cells(frame, bars), *self._groups(frame))

    @functools.cached_property
    def _item_places(self) -> dict[str, int]:
        """Each checklist item's place among self.items."""
        return {item: i for i, item in enumerate(self.items)}

    @functools.cached_property
    def _patient_labels(self) -> pd.Series:
        """Each note's patient label by note_idx (the column as it is: no object copy)."""
        notes = self.data.notes
        return pd.Series(notes["patient_label"].array, index=notes["note_idx"].to_numpy())

    def _samples(self) -> dict[str, tuple[_Filled, int]]:
        """Per therapist: the notes drawn for manual review, as table rows (macro sample_row)."""
        sample = self.data.sample
        if sample is None or sample.empty:
            return {}
        frame = pd.DataFrame(
            {
                "slug": sample["slug"].to_numpy(),
                "date": sample["date_of_service"].map(day).to_numpy(),
                "note_type": sample["note_type"].map(note_type_label).to_numpy(),
                "note_id": sample["note_id"].to_numpy(),
                "patient": self._patient_labels.reindex(sample["note_idx"])
                .fillna("")
                .astype(str)
                .to_numpy(),
            }
        )
        failed = [
            "; ".join(self.items[i].title for i in str(ids).split(", ") if i in self.items) or None
            for ids in sample["failed_items"].fillna("")
        ]
        codes, slugs = pd.factorize(frame["slug"].to_numpy(dtype=object))
        order = np.argsort(codes, kind="stable")  # a therapist's notes together, in order
        columns = {c: frame[c].to_numpy(dtype=object) for c in frame.columns if c != "slug"}
        columns["failed"] = np.array(failed, dtype=object)
        return _render_tables(
            "sample_row",
            {c: values[order].tolist() for c, values in columns.items()},
            codes[order],
            slugs.tolist(),
        )

    def _supervised(self) -> tuple[dict[str, tuple[_Filled, int]], dict[str, tuple[_Filled, int]]]:
        """Per therapist, as table rows (macro supervised_row), latest first and at most
        NOTE_ROWS: the findings on the visits of assistants and students they supervise that
        count against them (by their page), and the findings on their own visits that count
        against their supervising therapist (by the author's page)."""
        f = self.data.findings
        moved = f.loc[f["moved"].to_numpy(bool)]
        tables = []
        for page, who in (("slug", "author"), ("author_slug", "therapist")):
            rows = moved.loc[moved[page].notna().to_numpy(bool)]
            if rows.empty:
                tables.append({})
                continue
            codes, slugs = pd.factorize(rows[page].to_numpy(dtype=object))
            dates = rows["date_of_service"].to_numpy("datetime64[ns]").view("int64")
            keep = _first_per_group([rows["note_idx"].to_numpy(), -dates], codes, NOTE_ROWS)
            shown = rows.iloc[keep]
            titles = shown["item_title"].astype(str).to_numpy(dtype=object)
            critical = shown["severity"].to_numpy() == "critical"
            # A visit outside the audited notes (under --therapist) has no label: its id.
            patients = self._patient_labels.reindex(shown["note_idx"].to_numpy())
            patients = patients.fillna(pd.Series(shown["patient_id"].to_numpy(), patients.index))
            tables.append(
                _render_tables(
                    "supervised_row",
                    {
                        "date": _dates(shown["date_of_service"]).tolist(),
                        "note_type": _each(shown["note_type"], note_type_label, "Note").tolist(),
                        "note_id": shown["note_id"].astype(str).tolist(),
                        "patient": patients.fillna("").astype(str).tolist(),
                        "who": shown[who].astype(str).tolist(),
                        "item": np.where(critical, titles + " (critical)", titles).tolist(),
                    },
                    codes[keep],
                    slugs.tolist(),
                )
            )
        return tables[0], tables[1]

    def batches(self, size: int) -> tuple[int, Callable[[int], Iterator[tuple[str, Any]]]]:
        """The therapist pages as (number of batches, batch): batch(b) gives the slug and HTML
        (as pieces to be joined) of pages b * size to (b + 1) * size - 1 of the overview's
        table, in its order. Batches are independent of each other and may be rendered in any
        order, or in two processes.

        The pages are prepared `size` at a time (_batch), so a large run holds one batch's
        tables and HTML at once rather than every page's. Only picking the notes each page
        lists is done for the whole run at once, here: integer work over every note.
        """
        stats = self.data.stats
        therapists = stats.therapists
        slugs = therapists["slug"].to_numpy(object)
        count = -(-len(slugs) // size)
        row_of = {slug: i for i, slug in enumerate(slugs.tolist())}
        # Each finding's therapist as a row of `therapists` (-1: none), and its (therapist,
        # item) as one integer key (-1: none), as _excerpts matches them to the gaps.
        row = self.data.findings["slug"].map(row_of).fillna(-1).to_numpy(np.int64)
        item = self.data.findings["item_id"].map(self._item_places).fillna(-1).to_numpy(np.int64)
        keys = np.where((row >= 0) & (item >= 0), row * len(self.items) + item, -1)
        # Each table's rows by the batch of their therapist's page (-1: none); a batch's rows
        # keep their order, so they stay grouped by therapist.
        findings = _split(row // size, count)  # -1 // n is -1
        used = self.data.findings[  # the columns _note_rows and _excerpts read
            [
                "note_idx",
                "moved",
                "author",
                "date_of_service",
                "note_type",
                "note_id",
                "severity",
                "item_title",
                "message",
                "evidence",
            ]
        ]
        keep, note_codes, note_slugs, note_totals, failing_totals = self._note_selection
        row = np.array([row_of.get(s, -1) for s in note_slugs], dtype=np.int64)
        notes = _split((row // size)[note_codes], count)
        # Each row of matrix_counts's therapist as a row of `therapists` (-1: none).
        author = pd.Index(therapists["therapist_id"]).get_indexer(
            stats.matrix_counts["therapist_id"]
        )
        counts = _split(np.where(author >= 0, author // size, -1), count)
        # Computed once here, not in each process after a fork.
        self._skipped  # noqa: B018
        self._peers_failed  # noqa: B018
        axis = self._scale(None, None, None)
        same = {  # on every page
            **self.common,
            "median": self.median,
            "whole_team": self.whole_team,
            "colleagues": len(self.team_rates),
            "axis": axis,
            "score_axis": _macros().score_axis(axis, self.median if self.whole_team else None),
            "sampled": self.data.sample is not None,
            "team_clean": pct(self.data.stats.overall["notes_without_findings_rate"], RATE_DIGITS),
        }
        template = environment().get_template("therapist.html")
        shared = {
            "note_slugs": note_slugs,
            "note_totals": note_totals,
            "failing_totals": failing_totals,
            "samples": self._samples(),
            "supervised": self._supervised(),
            "trends": self._trend_months,
            "page": lambda values: template.render(**same, **values),
        }

        def batch(b: int) -> Iterator[tuple[str, Any]]:
            return self._batch(
                therapists.iloc[b * size : (b + 1) * size],
                self._item_counts(counts[b], author[counts[b]]),
                used.iloc[findings[b]],
                keys[findings[b]],
                keep[notes[b]],
                note_codes[notes[b]],
                shared,
            )

        return count, batch

    def _batch(
        self,
        therapists: pd.DataFrame,
        mc: pd.DataFrame,
        findings: pd.DataFrame,
        finding_keys: np.ndarray,
        keep: np.ndarray,
        note_codes: np.ndarray,
        shared: dict,
    ) -> Iterator[tuple[str, np.ndarray]]:
        """The pages of a batch of therapists (`therapists`) from the batch's rows of
        _item_counts (`mc`), of data.findings (with their keys, see therapists) and of the
        listed notes (rows `keep` of
        data.notes, grouped by therapist code). Items are ranked per therapist here, and the
        long and repeated parts rendered for the whole batch at once."""
        # Sorted by therapist (their order among themselves does not matter: each table is
        # cut into therapists' runs), then as each table ranks items; NaN last, stable.
        t, sev, rate, failed, checked, passed, not_evaluable = (
            mc[c].to_numpy()
            for c in ("_t", "sev", "rate", "failed", "checked", "passed", "not_evaluable")
        )
        skipped, unjudged = mc["skipped"].to_numpy(), mc["unjudged"].to_numpy()
        fails = _sorted(failed > 0, t, sev, -failed, rate)
        rank = _ranks(t[fails])
        gaps = mc.iloc[fails[rank < TOP_GAPS]].assign(_rank=rank[rank < TOP_GAPS])
        others = mc.iloc[fails[rank >= TOP_GAPS]].assign(_rank=rank[rank >= TOP_GAPS])
        gap = np.zeros(len(mc), dtype=bool)  # a row of mc per (therapist, item)
        gap[fails[rank < TOP_GAPS]] = True
        # An item judged only after one of the page's top gaps is met, on notes where that gap
        # was missed ("Signed within 3 days" skips the unsigned notes of "Note is signed").
        place = mc["item_id"].map(self._item_places).to_numpy()
        gap_keys = t[gap] * len(self.items) + place[gap]
        after_gap = np.zeros(len(mc), dtype=bool)
        for item, before in self._prerequisites.items():
            rows = np.flatnonzero((place == item) & (skipped > 0))
            for g in before:
                after_gap[rows] |= np.isin(t[rows] * len(self.items) + g, gap_keys)
        # An item of a top gap's topic: "units allocated among the day's codes" is no strength
        # beside a missed 8-minute rule for the day.
        topic = mc["topic"].fillna("").to_numpy(object)
        topic_code = pd.factorize(topic)[0]
        has_topic = topic != ""
        topic_keys = t * (topic_code.max(initial=0) + 1) + topic_code
        after_gap |= has_topic & np.isin(topic_keys, topic_keys[gap & has_topic])
        peers_failed = mc["peers_failed"].to_numpy()
        # Strengths: where this therapist does well, at least as well as the team, and the team
        # least well, so a check nearly everyone passes ("Dates in a possible order") comes
        # after a skill others lack. Met on STRENGTH_MIN_RATE of the notes the item concerns,
        # counting those it could not judge as not met, and not judged only after a top gap:
        # a strength must not rest on notes a gap left out of it.
        team_rate = mc["team_rate"].to_numpy(float)
        good = _sorted(
            (checked >= STRENGTH_MIN_CHECKED)
            & (passed >= STRENGTH_MIN_RATE * (checked + unjudged))
            & ~(rate < team_rate)  # a NaN team rate does not rule it out
            & ~gap
            & ~after_gap
            & (peers_failed > 0),
            t,
            team_rate,
            -rate,
            -checked,
        )
        good = mc.iloc[good[_ranks(t[good]) < STRENGTHS]]
        # For a page without strengths: the item closest to one, to start on a positive note,
        # among those judged on all but 1 - STRENGTH_MIN_RATE of the notes they concern.
        judged_enough = unjudged <= (1 - STRENGTH_MIN_RATE) * (checked + unjudged)
        best = _sorted(
            (checked >= STRENGTH_MIN_CHECKED)
            & (passed > 0)
            & judged_enough
            & ~gap  # never praise an item the page then lists as a top gap
            & ~after_gap
            & (peers_failed > 0),
            t,
            -rate,
            -checked,
        )
        best = mc.iloc[best[_ranks(t[best]) < 1]]
        item = pd.factorize(mc["item_id"], sort=True)[0]
        applied = mc.iloc[_sorted(checked + not_evaluable > 0, t, sev, rate, item)]
        gap_sections = self._gap_sections(gaps, self._excerpts(gaps, findings, finding_keys))
        # Every other item missed is explained the same way (the trainer's teaching items are
        # often medium severity and rare, so not among the top gaps), numbered on from them,
        # with fewer excerpts.
        other_gaps = self._gap_sections(
            others, self._excerpts(others, findings, finding_keys, EXCERPTS_PER_OTHER_GAP)
        )
        strengths = self._table("strength", good)
        items = self._table("item_row", applied, bars=True)
        best_rows = _records(best.assign(slug=self._slugs[best["_t"].to_numpy()]), "slug")
        note_rows = self._note_rows(keep, note_codes, shared["note_slugs"], findings)
        samples, trends = shared["samples"], shared["trends"]
        for_you, for_supervisor = shared["supervised"]
        nothing = (Markup(), 0)
        pages = []
        peer_words = self._peer_groups[2]
        peers = [peer_words[i] for i in therapists.index.tolist()]
        for t, peer_group in zip(therapists.itertuples(index=False), peers, strict=True):
            slug = t.slug
            rate, low, high = _f(t.rate), _f(t.ci_low), _f(t.ci_high)
            checked, critical = int(t.passed + t.failed), int(t.critical)
            scale = self._scale(t.rate, t.ci_low, t.ci_high)
            above = rate is not None and (self.median is None or rate >= self.median)
            best = best_rows.get(slug, [None])[0]  # at most one
            trend = self._trend(trends.get(str(t.therapist_id)), min_months=2)
            gaps_html, gap_count = gap_sections.get(slug, nothing)
            notes_html, shown = note_rows.get(slug, nothing)
            total = int(shared["note_totals"].get(slug, 0))
            failing = int(shared["failing_totals"].get(slug, 0))
            clean = total - failing
            supervised_html, supervised_shown = for_you.get(slug, nothing)
            theirs_html, theirs_shown = for_supervisor.get(slug, nothing)
            supervised_checked, supervised_failed = (
                int(t.supervised_checked),
                int(t.supervised_failed),
            )
            for_their_supervisor = int(t.for_supervisor)
            # Printed as they are; None (or absent) is what the template tests.
            pages.append(
                {
                    "name": t.label,
                    # None when the name as written already ends with it ("Ann Lee, PT").
                    "credential": (
                        _value(t.credential)
                        if with_credential(t.label, t.credential) != t.label
                        else None
                    ),
                    "discipline": _value(t.discipline),
                    "notes": plural(int(t.notes), "note"),
                    "rate": pct(rate, RATE_DIGITS),
                    "interval": interval(low, high),
                    "checked": num(checked),
                    "passed": num(int(t.passed)),
                    "failed": num(int(t.failed)),
                    "critical": num(critical),
                    "has_critical": "" if critical else None,
                    "dot": None if rate is None else scale["dot"],
                    "ci_x_low": scale["ci_low"],
                    "ci_x_high": scale["ci_high"],
                    "above": "" if above else None,
                    "below": "" if rate is not None and not above else None,
                    "few_checks": plural(checked, "check") if 0 < checked < 30 else None,
                    "trend": None
                    if not trend
                    else _macros().line_chart(trend["chart"], "Your rate by month"),
                    "strengths": strengths.get(slug, nothing)[0] or None,
                    "peers": peer_group,
                    "best": None if best is None else "",
                    "best_title": None if best is None else best["title"],
                    "best_passed": None if best is None else num(int(best["passed"])),
                    "best_checked": None if best is None else plural(int(best["checked"]), "note"),
                    "best_rate": None if best is None else pct(_f(best["rate"]), RATE_DIGITS),
                    "gaps": gaps_html or None,
                    "several_gaps": "" if gap_count > 1 else None,
                    "other_gaps": other_gaps.get(slug, nothing)[0] or None,
                    "item_rows": items.get(slug, nothing)[0] or None,
                    "note_rows": notes_html,
                    "notes_failing": plural(failing, "note") if failing else None,
                    "notes_total": num(total),
                    "clean": num(clean),
                    "clean_rate": pct(clean / total if total else None, RATE_DIGITS),
                    "all_notes": plural(total, "note"),
                    "notes_shown": num(shown),
                    "more_notes": plural(total - shown, "more note") if total > shown else None,
                    "one_more": "" if total - shown == 1 else None,
                    "sample": samples.get(slug, nothing)[0] or None,
                    "supervised_checks": plural(supervised_checked, "check")
                    if supervised_checked
                    else None,
                    "supervised_missed": num(supervised_failed),
                    "supervised_rows": supervised_html or None,
                    "supervised_more": _more(supervised_failed - supervised_shown),
                    "for_supervisor": plural(for_their_supervisor, "finding") + " on your visits "
                    f"{'is' if for_their_supervisor == 1 else 'are'}"
                    if for_their_supervisor
                    else None,
                    "for_supervisor_rows": theirs_html or None,
                    "for_supervisor_more": _more(for_their_supervisor - theirs_shown),
                }
            )
        flat, start = _fill(shared["page"], {k: [p[k] for p in pages] for k in pages[0]})
        for i, slug in enumerate(therapists["slug"].tolist()):
            yield slug, flat[start[i] : start[i + 1]]

    def _scale(self, rate: Any, low: Any, high: Any) -> dict:
        median = self.median if self.whole_team else None
        return svg.score_scale(rate, low, high, median, self.team_ticks, self.scale_floor)
