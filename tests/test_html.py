"""The HTML report as a trainer reads it: overview, therapist pages, excerpts, safety."""

from __future__ import annotations

import os
import re
import time
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from markupsafe import Markup

from chartaudit.audit import run_audit
from chartaudit.checklists import load_checklists
from chartaudit.load import from_frames
from chartaudit.privacy import Redactor
from chartaudit.report import html
from chartaudit.report.data import ReportData, build
from chartaudit.report.files import draw_sample

CHECKLIST = """
checklist: coaching
title: Coaching checklist
version: "3.2"
example_defaults:
  notes: {patient_id: EX1, therapist: Dana Example, credential: DPT, discipline: PT,
          note_type: daily, date_of_service: "2026-09-01"}
items:
  - id: T-SIGNED
    title: Note is signed
    severity: critical
    check: required_field
    params: {field: signed_at, label: signature}
    why: An unsigned note is not part of the legal record and cannot be billed.
    fix: Sign each note before you leave for the day.
    reference: Medicare Program Integrity Manual ch. 3
    examples:
      bad: [{notes: [{note_id: B1, signed_at: ""}]}]
      good:
        - notes:
            - note_id: G1
              signed_at: "2026-09-01 17:05"
              total_timed_minutes: 38
              subjective: Reports climbing stairs with less knee pain.
              objective: Gait training 15 min with cues for heel strike.
              assessment: Step length improved; needs cues on stairs.
              plan: Progress stair training next visit.
          services:
            - {note_id: G1, cpt_code: "97116", units: 1, minutes: 15}
  - id: T-TIMELY
    title: Note signed within 3 days
    severity: medium
    check: signature_timely
    why: Late signatures weaken the record's reliability.
    fix: Sign within three days of the visit.
    reference: Facility policy
    examples:
      bad: [{notes: [{note_id: B1, signed_at: "2026-09-09"}]}]
      good: [{notes: [{note_id: G1, signed_at: "2026-09-02"}]}]
  - id: T-SCOPE
    title: Assistant notes make no clinical judgment
    severity: high
    check: assistant_scope
    why: Only the supervising therapist may change goals or the plan of care.
    fix: Describe what you observed and let the supervising therapist update the plan.
    reference: APTA guidance on PTA scope
    examples:
      bad: [{notes: [{note_id: B1, credential: PTA, note_text: "Goals updated."}]}]
      good: [{notes: [{note_id: G1, credential: PTA, note_text: "Told the PT about progress."}]}]
  - id: T-CERT
    title: Plan certified within 30 days
    severity: high
    check: certification_timely
    applies_to: {note_type: [evaluation]}
    why: Medicare pays only for certified plans of care.
    fix: Send the plan to the physician the day of the evaluation.
    reference: Medicare Benefit Policy Manual ch. 15
    examples:
      bad: [{notes: [{note_id: B1, note_type: evaluation}]}]
      good: [{notes: [{note_id: G1, note_type: evaluation}]}]
"""

HOSTILE_NAME = '"><img src=x onerror=alert(1)>'
HOSTILE_TEXT = '<script>alert("chart")</script> Goals updated <b onmouseover="x()">today</b>'


def note(note_id, therapist, patient, name, day, **extra):
    row = {
        "note_id": note_id,
        "patient_id": patient,
        "patient_name": name,
        "therapist": therapist,
        "credential": "DPT",
        "discipline": "PT",
        "note_type": "daily",
        "date_of_service": f"2026-09-{day:02d}",
        "signed_at": f"2026-09-{day:02d} 17:00",
        "payer": "Blue Cross",
        "subjective": f"{name} reports less pain today.",
        "objective": "Therapeutic exercise 20 min with cues for form.",
    }
    return row | extra


def export_frames() -> pd.DataFrame:
    rows = []
    for i in range(6):  # a strong therapist: everything signed on time
        rows.append(note(f"D{i}", "Dana Reyes", f"MRN-77{i:02d}", "Harriet Quill", i + 1))
    for i in range(4):  # an assistant whose notes change the plan and go unsigned
        rows.append(
            note(
                f"Z{i}",
                "Zoë Ćwik",
                "MRN-8801",
                "Mary Jones",
                i + 2,
                credential="PTA",
                assessment="Pt tolerated well. Goals updated per progress, will continue.",
                signed_at="" if i < 2 else f"2026-09-{i + 9:02d}",
            )
        )
    rows.append(note("X1", "../../x", "MRN-9901", "Bob Stone", 3, signed_at=""))
    rows.append(
        note(
            "H1",
            HOSTILE_NAME,
            "MRN-9902",
            "Ann Lee",
            4,
            credential="PTA",
            payer='<img src=x onerror="alert(2)">',
            note_text=HOSTILE_TEXT,
        )
    )
    rows.append(note("E1", "Dana Reyes", "MRN-7700", "Harriet Quill", 1, note_type="evaluation"))
    return pd.DataFrame(rows)


def report_data(tmp_path: Path, redact: bool = False) -> ReportData:
    path = tmp_path / "coaching.yaml"
    path.write_text(CHECKLIST, encoding="utf-8")
    export = from_frames({"notes": export_frames()})
    result = run_audit(export, load_checklists([str(path)]))
    redactor = Redactor("test-key", export.notes) if redact else None
    data = build(export, result, {"redact": redact}, redactor, created_at="2026-10-01T09:00:00")
    data.sample = draw_sample(data, 2, seed=7)
    data.trend = pd.DataFrame(
        {
            "month": ["2026-07", "2026-08", "2026-09", "2026-08", "2026-09"],
            "therapist_id": ["", "", "", "Dana Reyes", "Dana Reyes"],
            "passed": [80, 85, 90, 9, 10],
            "failed": [20, 15, 10, 1, 0],
        }
    )
    return data


class Page(HTMLParser):
    """Tags, attributes and text of a page, and the text inside <mark> elements."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.marks: list[str] = []
        self.scripts: list[str] = []
        self._in: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in ("br", "meta", "line", "rect", "circle", "polyline"):
            self._in.append(tag)

    def handle_endtag(self, tag):
        if tag in self._in:
            while self._in and self._in.pop() != tag:
                pass

    def handle_data(self, data):
        if self._in and self._in[-1] == "script":
            self.scripts.append(data)
        elif not (self._in and self._in[-1] == "style"):
            self.text.append(data)
        if "mark" in self._in:
            self.marks.append(data)

    @property
    def plain(self) -> str:
        return re.sub(r"\s+", " ", " ".join(self.text))

    def links(self) -> list[str]:
        return [a["href"] for t, a in self.tags if t == "a" and a.get("href")]


@pytest.fixture
def report(tmp_path):
    data = report_data(tmp_path)
    out = tmp_path / "report"
    out.mkdir()
    written = html.write_html(data, out)
    return data, out, written


def test_every_therapist_has_a_page_linked_from_the_overview(report):
    data, out, written = report
    slugs = data.stats.therapists["slug"].tolist()
    assert sorted(p.name for p in written) == sorted(["index.html"] + [f"{s}.html" for s in slugs])
    index = Page((out / "index.html").read_text(encoding="utf-8"))
    links = index.links()
    for slug in slugs:
        assert f"therapists/{slug}.html" in links
        assert (out / "therapists" / f"{slug}.html").is_file()
    # the overview shows the overall rate with its interval, the scope and the item table
    rate = data.stats.overall["rate"]
    assert f"{rate * 100:.1f}%" in index.plain
    assert "95% interval" in index.plain
    assert "Coaching checklist (coaching, version 3.2, 4 items)" in index.plain
    assert "Note signed within 3 days" in index.plain and "T-TIMELY" in index.plain
    assert "Dates counted as of 2026-09-06" in index.plain
    # trend from history and the heat map with a number in every applicable cell
    assert "Trend by month" in index.plain and "2026-08" in index.plain
    heat = [a for t, a in index.tags if t == "td" and "c" in a.get("class", "").split()]
    assert heat and all("na" in a["class"] or re.match(r"h\d", a["class"][2:]) for a in heat)


def test_not_evaluable_items_are_listed_with_the_reason(report):
    _, out, _ = report
    index = Page((out / "index.html").read_text(encoding="utf-8"))
    section = index.plain.split("Data not evaluable", 1)[1]
    assert "Plan certified within 30 days" in section
    assert "poc_certified_at column of the notes table" in section


def test_top_gaps_explain_why_and_fix_show_an_example_and_the_therapists_own_excerpt(report):
    data, out, _ = report
    slug = data.stats.therapists.set_index("therapist").loc["Zoë Ćwik", "slug"]
    text = (out / "therapists" / f"{slug}.html").read_text(encoding="utf-8")
    page = Page(text)
    gaps = page.plain.split("Top gaps", 2)[2].split("All checklist items on your notes")[0]
    # ranked by severity: the critical item first, then the high one
    assert gaps.index("Note is signed") < gaps.index("Assistant notes make no clinical judgment")
    assert "Only the supervising therapist may change goals" in gaps  # why
    assert "let the supervising therapist update the plan" in gaps  # fix
    # the good example as a readable card (SOAP text and key fields, no YAML)
    assert "Subjective: Reports climbing stairs with less knee pain." in gaps
    assert "Total timed minutes 38" in gaps and "97116" in gaps
    assert "note_id:" not in text and "EX1" not in text
    # her own note with the offending phrase highlighted, in context
    assert "Goals updated" in page.marks
    assert "Pt tolerated well. Goals updated per progress" in gaps
    assert "Missed on 2 of 4 notes" in gaps  # unsigned notes, counted for a person
    # the per-note table lists failing notes with the missed items by title
    notes = page.plain.split("Your notes", 1)[1]
    assert "Z0" in notes and "Mary Jones" in notes and "Note is signed (critical)" in notes


def test_score_against_team_median_and_strengths(report):
    data, out, _ = report
    slug = data.stats.therapists.set_index("therapist").loc["Dana Reyes", "slug"]
    page = Page((out / "therapists" / f"{slug}.html").read_text(encoding="utf-8"))
    median = data.stats.therapists["rate"].median()
    assert f"team median of {median * 100:.1f}%" in page.plain  # as precise as the rates
    strengths = page.plain.split("What you do well", 1)[1].split("Top gaps")[0]
    assert "Note is signed – met in 7 of 7 notes (100.0%); team 76.9%" in strengths
    assert "No gaps" in page.plain
    assert "Your rate by month" in page.plain  # the therapist's own trend line
    assert "Notes drawn for manual review" in page.plain


def test_hostile_chart_text_and_names_are_inert(report):
    data, out, written = report
    assert any("onerror" in n for n in data.notes["therapist"])
    for path in written:
        text = path.read_text(encoding="utf-8")
        page = Page(text)
        scripts = [a for t, a in page.tags if t == "script"]
        assert len(scripts) == 1, path  # only the page's own sort/print script
        assert "alert" not in "".join(page.scripts)
        for tag, attrs in page.tags:
            assert tag not in ("img", "iframe", "object"), (path, tag)
            assert not [a for a in attrs if a.startswith("on")], (path, tag, attrs)
        # offline: nothing is fetched from another host
        assert not re.search(r"""(?:src|href|action)\s*=\s*["']?\s*(?:[a-z]+:)?//""", text)
    slug = data.stats.therapists.set_index("therapist").loc[HOSTILE_NAME, "slug"]
    page = Page((out / "therapists" / f"{slug}.html").read_text(encoding="utf-8"))
    assert HOSTILE_NAME in page.plain  # shown as text, exactly as exported
    assert HOSTILE_TEXT in page.plain


def test_a_therapist_named_like_a_path_gets_a_page_inside_the_folder(report):
    data, out, written = report
    slug = data.stats.therapists.set_index("therapist").loc["../../x", "slug"]
    page = out / "therapists" / f"{slug}.html"
    assert page in written and page.resolve().is_relative_to(out.resolve())
    assert "../../x" in Page(page.read_text(encoding="utf-8")).plain
    assert not (out.parent.parent / "x.html").exists()


def test_unsafe_page_names_are_refused(tmp_path):
    data = report_data(tmp_path)
    data.stats.therapists.loc[0, "slug"] = "../escape"
    with pytest.raises(Exception, match="refusing to write"):
        html.write_html(data, tmp_path / "out")
    assert not (tmp_path / "escape.html").exists()


def test_accented_names_survive_in_utf8(report):
    data, out, _ = report
    raw = (out / "index.html").read_bytes()
    assert b'<meta charset="utf-8">' in raw
    assert "Zoë Ćwik".encode() in raw


def test_redacted_report_shows_no_patient_id_or_name(tmp_path):
    data = report_data(tmp_path, redact=True)
    out = tmp_path / "report"
    written = html.write_html(data, out)
    frames = export_frames()
    secrets = set(frames["patient_id"]) | set(frames["patient_name"])
    secrets |= {w for n in frames["patient_name"] for w in n.split()}
    for path in written:
        text = path.read_text(encoding="utf-8")
        for secret in secrets:
            assert secret not in text, (path.name, secret)
    slug = data.stats.therapists.set_index("therapist").loc["Zoë Ćwik", "slug"]
    page = Page((out / "therapists" / f"{slug}.html").read_text(encoding="utf-8"))
    assert "Goals updated" in page.marks  # excerpts still shown, names masked
    assert "[patient] reports less pain" in page.plain
    assert "Redacted" in Page((out / "index.html").read_text(encoding="utf-8")).plain


def test_excerpt_finds_evidence_despite_case_and_spacing_and_windows_long_text():
    text = "word " * 100 + "Goals   UPDATED today" + " more" * 100
    part = html.excerpt(text, "goals updated")
    assert part["match"] == "Goals   UPDATED"
    assert part["before"].startswith("…") and part["after"].endswith("…")
    assert len(part["before"]) <= html.EXCERPT_WINDOW + 1
    assert html.excerpt(text, "not there") is None
    assert html.excerpt(text, "") is None


def test_formatting_never_rounds_a_miss_up_to_100_percent():
    assert html.pct(0.9996) == "99%"
    assert html.pct(0.9996, 1) == "99.9%"
    assert html.pct(1.0) == "100%"
    assert html.pct(None) == "–" and html.pct(float("nan")) == "–"
    assert html.interval(0.78, 0.853) == "78.0%–85.3%"  # as precise as the rates
    assert html.interval(0.8801, 0.8839) == "88.0%–88.4%"
    assert html.interval(0.95, 0.99996) == "95.0%–99.9%"  # never rounded up to 100%
    assert html.sentence("no signature (signed_at is blank)") == (
        "No signature (signed_at is blank)."
    )


def test_large_tables_are_capped_and_say_where_the_rest_is(tmp_path, monkeypatch):
    monkeypatch.setattr(html, "NOTE_ROWS", 3)
    data = report_data(tmp_path)
    out = tmp_path / "report"
    html.write_html(data, out)
    slug = data.stats.therapists.set_index("therapist").loc["Dana Reyes", "slug"]
    page = Page((out / "therapists" / f"{slug}.html").read_text(encoding="utf-8"))
    assert "The first 3 are listed; 4 more notes are in notes.csv" in page.plain


@pytest.mark.parametrize("redact", [False, True])
def test_pages_prepared_in_batches_are_the_pages_prepared_at_once(tmp_path, monkeypatch, redact):
    data = report_data(tmp_path, redact=redact)
    at_once = html.write_html(data, tmp_path / "at-once")
    monkeypatch.setattr(html, "PAGES_PER_BATCH", 1)  # one page per batch
    batched = html.write_html(data, tmp_path / "batched")
    assert [p.name for p in batched] == [p.name for p in at_once]
    assert len(at_once) == len(data.stats.therapists) + 1 > 3
    for a, b in zip(at_once, batched, strict=True):
        assert a.read_text(encoding="utf-8") == b.read_text(encoding="utf-8"), a.name


def test_excerpt_quick_rejection_never_hides_evidence_the_regex_would_find():
    # evidence that is not quoted from the text (the common case) finds nothing
    assert html.excerpt("Gait training 15 min.", "identical to note N1 of 2026-03-01") is None
    # words present but apart: still no match
    assert html.excerpt("Goals were not updated", "goals updated") is None
    # beyond ASCII, re's case-insensitive match is wider than str.lower(): the Kelvin sign
    # matches 'k' and dotless ı matches 'i'
    assert html.excerpt("Reports \u212anee pain", "knee  pain")["match"] == "\u212anee pain"
    assert html.excerpt("Pt ıs walking", "IS WALKING")["match"] == "ıs walking"


def test_table_rows_rendered_column_by_column_are_what_the_macro_prints_row_by_row():
    macros = html.environment().get_template("macros.html").module
    texts = ['<script>alert("x")</script>', "a & b 'c' > d", "nul\x00inside", "", "Zoë Ćwik"]
    fields = ("date", "note_type", "note_id", "patient", "applicable", "missed", "failed")
    notes = {f: texts[i:] + texts[:i] for i, f in enumerate(fields)}
    rows = [dict(zip(notes, values, strict=True)) for values in zip(*notes.values(), strict=True)]
    assert html._render_rows("note_row", notes) == [str(macros.note_row(r)) for r in rows]
    # item rows: markup from the severity macro, and bars with and without rate, interval, tick
    items = {
        "title": texts,
        "severity": [macros.severity(s) for s in ("critical", "high", "low", "medium", "high")],
        "checked": ["1,204", "3", "0", "7", "12"],
        "passed": ["1,100", "3", "0", "6", "12"],
        "failed": ["104", "0", "0", "1", "0"],
        "not_evaluable": ["0", "2", "5", "0", "1"],
        "rate": ["91%", "100%", "–", "86%", "100%"],
        "team_rate": ["88%", "–", "90%", "93%", "97%"],
        "width": [120] * 5,
        "fill": [109.7, 120.0, None, 102.9, 120.0],
        "ci_low": [107.8, None, None, 60.5, 88.4],
        "ci_high": [111.3, None, None, 118.9, 120.0],
        "mark": [105.6, None, 108.0, 111.6, 116.4],
    }
    rows = [dict(zip(items, values, strict=True)) for values in zip(*items.values(), strict=True)]
    assert html._render_rows("item_row", items) == [str(macros.item_row(r)) for r in rows]
    assert html._render_rows("note_row", {f: [] for f in fields}) == []
    # excerpts with and without a patient, a highlight or recorded evidence; gap sections
    # with and without description, team rate, more notes and example
    maybe = [None, *texts[:2]]
    excerpts = {
        "date": texts * 2,
        "note_type": texts[1:] * 2 + texts[:2],
        "note_id": texts[::-1] * 2,
        "patient": maybe * 3 + [None],
        "by": [None, None, *texts[3:5], None, None, None, texts[0], None, None],
        "message": texts[2:] * 3 + texts[:1],
        "evidence": [maybe[i // 3 % 3] for i in range(10)],
        **{
            p: [None if i % 3 == 1 else texts[i % 5] for i in range(10)]
            for p in ("before", "match", "after")
        },
        # the start of the note, for an excerpt without a highlight (or none: no text)
        "start": [texts[i % 5] if i % 3 == 1 and i % 2 else None for i in range(10)],
    }
    gaps = {
        "index": [1, 2, 3],
        "title": texts[:3],
        "severity": [macros.severity(s) for s in ("critical", "high", "low")],
        "failed": ["4", "1,200", "1"],
        "checked_notes": ["5 notes", "1,300 notes", "1 note"],
        "rate": ["20%", "8%", "0%"],
        "team": [None, "91%", "<b>"],
        "description": [None, texts[0], texts[1]],
        "why": texts[1:4],
        "fix": texts[2:5],
        "excerpts": [Markup(x) for x in html._render_rows("excerpt", excerpts)[:3]],
        "more": ["2 more notes", None, None],
        "example": [None, macros.severity("x"), None],
        "reference": texts[:3],
        "id": ["A", "B", "<C>"],
    }
    strengths = {k: texts for k in ("title", "passed", "checked_notes", "rate")}
    strengths["team"] = [None, *texts[1:]]
    therapists = {k: texts for k in ("slug", "name", "credential", "discipline", "notes")}
    therapists |= {
        k: texts[::-1] for k in ("rate", "rate_key", "ci_key", "interval", "clean", "clean_key")
    }
    therapists |= {k: items[k] for k in ("failed", "width", "fill", "ci_low", "ci_high", "mark")}
    therapists["critical"] = texts
    heat = {"text": texts, "cls": ["na", "h1", "h5", "<h>", "h0"], "title": texts[::-1]}
    heat_rows = {"slug": texts, "name": texts[::-1], "cells": [Markup(x) for x in texts]}
    for macro, columns in (
        ("therapist_row", therapists),
        ("heat_cell", heat),
        ("heat_row", heat_rows),
        ("excerpt", excerpts),
        ("gap_section", gaps),
        ("strength", strengths),
    ):
        rows = [dict(zip(columns, v, strict=True)) for v in zip(*columns.values(), strict=True)]
        expected = [str(getattr(macros, macro)(r)) for r in rows]
        assert html._render_rows(macro, columns) == expected, macro


def test_mini_bars_are_mini_bar_for_each_row():
    nan = float("nan")
    rate = [0.0, 1.0, 0.5, 0.9125, nan, 0.33333, 1.0000001, -0.0, 0.0125]
    low = [0.0, 0.9, nan, 0.87, nan, 0.2, 0.99, 0.0, 0.00625]
    high = [0.1, 1.0, 0.6, 0.95, nan, nan, 1.0, 0.05, 0.0375]
    mark = [nan, 0.5, 0.95, 0.9, 0.8, 0.1, 1.0, nan, 0.0125]
    bars = html.svg.mini_bars(*(np.array(v) for v in (rate, low, high, mark)))
    for i, row in enumerate(zip(rate, low, high, mark, strict=True)):
        assert {k: v[i] for k, v in bars.items()} == html.svg.mini_bar(*row), row


def test_hostile_note_ids_and_patient_names_in_the_notes_table_are_inert(tmp_path):
    frames = export_frames()
    hostile_id, hostile_patient = '<b onclick="x()">H1</b>', "<script>alert(3)</script> & Co"
    frames.loc[frames["note_id"] == "H1", ["note_id", "patient_name"]] = [
        hostile_id,
        hostile_patient,
    ]
    path = tmp_path / "coaching.yaml"
    path.write_text(CHECKLIST, encoding="utf-8")
    export = from_frames({"notes": frames})
    data = build(export, run_audit(export, load_checklists([str(path)])), {}, None)
    html.write_html(data, tmp_path / "report")
    slug = data.stats.therapists.set_index("therapist").loc[HOSTILE_NAME, "slug"]
    text = (tmp_path / "report" / "therapists" / f"{slug}.html").read_text(encoding="utf-8")
    page = Page(text)
    assert [t for t, _ in page.tags].count("script") == 1
    assert not [a for _, a in page.tags if "onclick" in a]
    assert hostile_id not in text and hostile_patient not in text  # only escaped
    notes = page.plain.split("Your notes", 1)[1]
    assert hostile_id in notes and hostile_patient in notes


def test_pages_written_behind_the_rendering_are_all_written_whole(tmp_path, monkeypatch):
    data = report_data(tmp_path)
    at_once = html.write_html(data, tmp_path / "default")
    monkeypatch.setattr(html._PageFiles, "PENDING", 0)  # wait for every page before the next
    waited = html.write_html(data, tmp_path / "waited")
    for a, b in zip(at_once, waited, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name
    assert all(p.stat().st_size > 1000 for p in at_once)


def test_a_page_that_cannot_be_written_stops_the_report_with_that_error(
    tmp_path, full_disk_for_pages
):
    data = report_data(tmp_path)
    with pytest.raises(OSError, match="No space left"):
        html.write_html(data, tmp_path / "report")


@pytest.mark.parametrize("redact", [False, True])
def test_pages_rendered_with_a_helper_process_are_the_pages_rendered_alone(
    tmp_path, monkeypatch, redact
):
    data = report_data(tmp_path, redact=redact)
    monkeypatch.setenv("CHARTAUDIT_THREADS", "1")  # no helper: every page here
    alone = html.write_html(data, tmp_path / "alone")
    monkeypatch.delenv("CHARTAUDIT_THREADS")
    monkeypatch.setattr(html.HtmlPages, "MIN_BATCH", 1)  # a batch per page, shared out
    pages = html.HtmlPages(data, tmp_path / "helped")
    helped = pages.start_helper()
    if html.parallel.helper_wanted():
        assert helped
    shared = pages.write()
    assert [p.name for p in shared] == [p.name for p in alone]
    for a, b in zip(alone, shared, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name


def test_a_page_the_helper_cannot_write_stops_the_report_with_that_error(tmp_path, monkeypatch):
    data = report_data(tmp_path)
    monkeypatch.setattr(html.HtmlPages, "MIN_BATCH", 1)
    parent, real = os.getpid(), Path.write_bytes

    def full_disk_in_helper(self, payload):
        if os.getpid() != parent:
            raise OSError(28, "No space left on device", str(self))
        time.sleep(0.05)  # leave pages for the helper
        return real(self, payload)

    monkeypatch.setattr(Path, "write_bytes", full_disk_in_helper)
    pages = html.HtmlPages(data, tmp_path / "report")
    if not pages.start_helper():
        pytest.skip("no helper process on this system")
    with pytest.raises(OSError, match="No space left") as caught:
        pages.write()
    assert caught.value.filename.endswith(".html")


def test_a_printed_page_lists_the_notes_to_work_on_and_the_whole_heat_map(report):
    data, out, _ = report
    slug = data.stats.therapists.set_index("therapist").loc["Dana Reyes", "slug"]
    html_text = (out / "therapists" / f"{slug}.html").read_text(encoding="utf-8")
    # Note rows: (class, the last cell: the items missed).
    rows = re.findall(r'<tr( class="met")?><td class="nowrap">.*?<td>([^<]*)</td></tr>', html_text)
    assert {missed == "" for _, missed in rows} == {True, False}  # both kinds of note listed
    assert all((cls == "") == (missed != "") for cls, missed in rows)  # met: no item missed
    css = (Path(html.__file__).parent / "templates" / "report.css").read_text(encoding="utf-8")
    printed = css.split("@media print", 1)[1]
    assert "tr.met { display: none; }" in printed and ".heat { font-size: 6.5pt; }" in printed
    # The heat map's columns: most severe first, the team's worst item first within each.
    index = (out / "index.html").read_text(encoding="utf-8")
    shown = re.findall(r'<th class="item" title="[^"]*">([^<]+)</th>', index)
    items = data.stats.items.set_index("item_id").loc[shown]
    rank = {s: i for i, s in enumerate(["critical", "high", "medium", "low"])}
    keys = list(zip(items["severity"].map(rank), items["rate"], strict=True))
    assert keys == sorted(keys)


def test_strengths_are_where_the_therapist_beats_the_team_least_common_first(tmp_path):
    from typer.testing import CliRunner

    from chartaudit.cli import app
    from conftest import sample_export

    export = sample_export(tmp_path / "export", notes=1500, seed=11)
    out = tmp_path / "r"
    result = CliRunner().invoke(
        app, ["run", str(export), "--out", str(out), "--no-history", "--format", "html"]
    )
    assert result.exit_code in (0, 1), result.output
    listed = 0
    for page in (out / "therapists").glob("*.html"):
        part = page.read_text(encoding="utf-8").split('id="strengths"', 1)[1].split("</ul>")[0]
        found = re.findall(r"\((\d+\.\d)%\); team (\d+\.\d)%", part)
        rates = [(float(own), float(team)) for own, team in found]
        assert all(own >= team for own, team in rates), (page.name, rates)
        assert [team for _, team in rates] == sorted(team for _, team in rates), page.name
        listed += len(rates)
    assert listed


@pytest.mark.parametrize(
    "message, evidence, shown",
    [
        ("Plan of care is missing: long-term goals.", "long-term goals", False),
        (
            "Evaluation does not record: prognosis with a time frame.",
            "missing: prognosis with a time frame",
            False,
        ),
        ("22 timed minutes support 1 unit; 2 billed.", "97110 22 min 2u", True),
        (
            "No subjective (patient report) / objective/interventions content found.",
            "missing: subjective (patient report), objective/interventions",
            False,
        ),
    ],
)
def test_recorded_evidence_is_shown_only_where_it_adds_to_the_message(message, evidence, shown):
    assert html._says(message, evidence) is not shown


def test_the_trend_axis_fits_rates_that_sit_close_to_100_percent(tmp_path):
    """Monthly rates of 96-99% on a 50-100% axis look like a flat line (acceptance test)."""
    data = report_data(tmp_path)
    data.trend = pd.DataFrame(
        {
            "month": ["2026-07", "2026-08", "2026-09"],
            "therapist_id": ["", "", ""],
            "passed": [96, 99, 97],
            "failed": [4, 1, 3],
        }
    )
    out = tmp_path / "report"
    html.write_html(data, out)
    index = (out / "index.html").read_text(encoding="utf-8")
    chart = index[index.index('aria-label="Team rate by month"') :].split("</svg>")[0]
    labels = re.findall(r'text-anchor="end">(\d+%)<', chart)
    assert labels == ["100%", "99%", "98%", "97%", "96%", "95%"]
    ys = [float(y) for y in re.findall(r'<circle class="dot" cx="[\d.]+" cy="([\d.]+)"', chart)]
    # 96% and 99% are most of the plot's height apart (it is 176 px high), not a tenth of it.
    assert ys[0] - ys[1] > 100


@pytest.mark.parametrize("redact", [False, True])
def test_a_finding_with_nothing_to_quote_shows_the_start_of_the_note_unhighlighted(
    tmp_path, redact
):
    """'Note is signed' quotes nothing from the note: the page shows what the note says (so a
    trainer can judge the finding), never a highlight on the tool's own words (acceptance
    test M-4). Under --redact the patient's name in that text is masked like any excerpt."""
    data = report_data(tmp_path, redact=redact)
    out = tmp_path / "report"
    html.write_html(data, out)
    narratives = " ".join(data.result.notes["narrative"].dropna().astype(str))
    for path in (out / "therapists").glob("*.html"):
        page = Page(path.read_text(encoding="utf-8"))
        # Only the therapist's own words are highlighted (and the word in the page's key).
        for marked in (m for m in page.marks if m != "highlighted"):
            assert " ".join(marked.split()) in " ".join(narratives.split()), (path.name, marked)
    slug = data.stats.therapists.set_index("therapist").loc["Zoë Ćwik", "slug"]
    page = Page((out / "therapists" / f"{slug}.html").read_text(encoding="utf-8"))
    gap = page.plain.split("Note is signed", 2)[1].split("What good looks like")[0]
    assert "The start of the note, as read:" in gap
    assert "reports less pain today. Therapeutic exercise 20 min with cues for form." in gap
    assert ("Mary Jones" in gap) is not redact


def test_an_example_of_many_notes_reads_as_their_sequence_without_empty_columns():
    """MCR-PR-10's example is eleven notes with no text: a table of headings and an empty Text
    column told a new grad nothing (acceptance test m-6)."""
    item = {i.id: i for c in load_checklists(["medicare-part-b"]) for i in c.items}["MCR-PR-10"]
    card = html.example_card(item, "OT")
    page = Page(str(html._macros().example_card(card)))
    assert re.search(
        r"The notes in order: Evaluation \(2026-09-01\), \d+ daily notes \(2026-09-03 to "
        r"[\d-]+\), progress report \([\d-]+\)",
        page.plain,
    ), page.plain
    assert "On every note: Payer Medicare Part B" in page.plain
    headers = [t for t, _ in page.tags if t == "th"]
    assert "Text" not in page.plain.split("Note", 1)[1] and len(headers) <= 2


@pytest.mark.parametrize(
    "codes, billed",
    [({"92507"}, "92507"), ({"92526"}, "92526"), (set(), "92526"), ({"97110"}, "92526")],
)
def test_the_example_bills_the_code_the_therapist_missed_where_one_does(codes, billed):
    """An SLP whose undescribed services are all 92507 reads a 92507 example, not a swallowing
    note (acceptance test m-7); without such an example, the discipline's first."""
    items = {i.id: i for c in load_checklists(["documentation-quality"]) for i in c.items}
    card = html.example_card(items["DOC-INTERVENTION"], "SLP", codes)
    services = next(t for t in card["tables"] if t["title"] == "Billed services")
    assert [row[services["columns"].index("CPT")] for row in services["rows"]] == [billed]
    assert card["notes"][0]["heading"].startswith("Daily note · SLP")
