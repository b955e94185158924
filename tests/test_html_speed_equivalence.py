"""The HTML report's fast paths print exactly what jinja's autoescape would, value by value."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from markupsafe import Markup, escape

from chartaudit.report import html, svg

HOSTILE = ["<script>alert(1)</script>", 'O\'Brien & "Sons"', "a\x00b", "\x001\x00", "", "–é"]


@pytest.mark.parametrize(
    "values",
    [
        [1, 0, -3, 1, 10**20],
        [0.0, -0.0, 1.5, 1.5, math.nan, math.inf, -math.inf, None],
        [1, 2.0, None, 0, -0.0],  # 1 == 1.0 but they print differently
        ["plain", "plain", "no specials"],
        HOSTILE,
        ["It's"] * 40 + ["Item <b>"] * 40,  # few distinct values: each escaped once
        [*HOSTILE, None, 3, 2.5],
        [Markup("<b>ok</b>"), Markup("")],
        [Markup("<i>x</i>"), None, "<raw>", html._Filled("<u>y</u>")],
        [True, False, None],
    ],
)
def test_a_column_is_escaped_as_autoescape_prints_each_value(values):
    expected = [v.text if isinstance(v, html._Filled) else str(escape(v)) for v in values]
    kinds = set(map(type, values))
    assert html._escape_column(values, kinds).tolist() == expected


def page_row(i: int, blanks: set[str]) -> dict:
    """The values of a therapist page (as _Pages._batch makes them), hostile where text."""
    text = HOSTILE[i % len(HOSTILE)]
    row = {
        "name": text,
        "credential": "DPT",
        "discipline": text,
        "notes": "1,204 notes",
        "rate": "81.5%",
        "interval": "78.2%–85.0%",
        "checked": "1,000",
        "passed": "815",
        "failed": "185",
        "critical": "3",
        "has_critical": "",
        "dot": 512.3,
        "ci_x_low": 480.0,
        "ci_x_high": 540.5,
        "above": "",
        "below": None,
        "few_checks": "12 checks",
        "trend": Markup("<svg>trend</svg>"),
        "strengths": html._Filled("<li>good</li>"),
        "peers": "PT therapists",
        "best": "",
        "best_title": text,
        "best_passed": "4",
        "best_checked": "5 notes",
        "best_rate": "80%",
        "gaps": html._Filled("<section>gap</section>"),
        "several_gaps": "",
        "other_gaps": html._Filled("<tr><td>other</td></tr>"),
        "item_rows": html._Filled("<tr><td>item</td></tr>"),
        "note_rows": html._Filled("<tr><td>note</td></tr>") if i % 2 else Markup(),
        "notes_failing": "7 notes",
        "notes_total": "1,204",
        "clean": "950",
        "clean_rate": "78.9%",
        "all_notes": "1,204 notes",
        "notes_shown": "200",
        "more_notes": "1,004 more notes",
        "one_more": None,
        "sample": html._Filled("<tr><td>drawn</td></tr>"),
        "supervised_checks": "49 checks",
        "supervised_missed": "3",
        "supervised_rows": html._Filled(f"<tr><td>{escape(text)}</td></tr>"),
        "supervised_more": "2 more are",
        "for_supervisor": "3 findings on your visits are",
        "for_supervisor_rows": html._Filled("<tr><td>theirs</td></tr>"),
        "for_supervisor_more": "1 more is",
    }
    return {k: None if k in blanks else v for k, v in row.items()}


def test_therapist_pages_filled_for_a_batch_are_the_template_rendered_page_by_page():
    axis = svg.score_scale(None, None, None, 0.8, [100.0, 200.0], 0.5)
    same = {
        "version": "1.0",
        "created_at": "2026-10-01 09:00:00",
        "period": "2026-07-01 to 2026-09-30",
        "as_of": "2026-10-01",
        "redacted": False,
        "checklists": [{"title": "<T>", "name": "t", "version": "1", "item_count": 2}],
        "median": 0.8,
        "whole_team": True,
        "colleagues": 12,
        "axis": axis,
        "score_axis": html._macros().score_axis(axis, 0.8),
        "sampled": True,
        "team_clean": "81.2%",
    }
    template = html.environment().get_template("therapist.html")
    optional = ["credential", "has_critical", "dot", "ci_x_low", "trend", "strengths", "best"]
    optional += ["gaps", "several_gaps", "other_gaps", "item_rows", "notes_failing"]
    optional += ["more_notes", "one_more", "sample", "few_checks", "above", "below"]
    optional += ["supervised_checks", "supervised_rows", "supervised_more"]
    optional += ["for_supervisor", "for_supervisor_rows", "for_supervisor_more"]
    blanks = [set(c) for n in range(3) for c in itertools.combinations(optional, n)]
    rows = [page_row(i, b) for i, b in enumerate(blanks)]
    columns = {k: [r[k] for r in rows] for k in rows[0]}
    flat, start = html._fill(lambda values: template.render(**same, **values), columns)
    pages = ["".join(flat[a:b]) for a, b in zip(start[:-1], start[1:], strict=True)]
    assert pages == [template.render(**same, **r) for r in rows]
    assert "<script>alert" not in "".join(pages)  # the only script is our own


def test_counts_formatted_once_per_distinct_value_are_formatted_as_each():
    values = np.array([3, 1, 3, 0, 1_000_000, -2, 3], dtype=np.int64)
    assert html._texts(values) == [str(v) for v in values.tolist()]
    assert html._texts(values, html.num) == [html.num(v) for v in values.tolist()]
    assert html._texts(np.zeros(0, dtype=np.int64)) == []
