"""Rates and Wilson intervals: known values, empty groups, per-therapist sums."""

from __future__ import annotations

import numpy as np
import pytest

from chartaudit.stats import slugify, unique_slugs, wilson


def test_wilson_known_values():
    # Worked example: 81 of 263 -> (0.2553, 0.3662) (Wilson 1927 / Newcombe 1998 tables).
    low, high = wilson(81, 263)
    assert low == pytest.approx(0.2553, abs=1e-4)
    assert high == pytest.approx(0.3662, abs=1e-4)
    low, high = wilson(10, 10)
    assert float(high) == pytest.approx(1.0) and float(low) == pytest.approx(0.7225, abs=1e-4)
    low, high = wilson(np.array([0, 5]), np.array([0, 10]))
    assert np.isnan(low[0]) and np.isnan(high[0])
    assert low[1] < 0.5 < high[1]


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("José Núñez", "jose-nunez"),
        ("../../x", "x"),
        ("O'Brien-Smith, PT", "o-brien-smith-pt"),
        ("..", "therapist"),
        ("李小龍", "therapist"),
        ("CON", "con-therapist"),  # Windows device names, reserved with any extension
        ("nul", "nul-therapist"),
        ("Com1", "com1-therapist"),
        ("Connie", "connie"),
    ],
)
def test_slugify_is_a_safe_file_name(name, slug):
    assert slugify(name) == slug
    assert "/" not in slugify(name) and not slugify(name).startswith(".")


def test_unique_slugs_resolve_collisions():
    import pandas as pd

    slugs = unique_slugs(pd.Series(["Ann Lee", "Ann  Lee!", "ann lee"]))
    assert slugs.tolist() == ["ann-lee", "ann-lee-2", "ann-lee-3"]


def _result(rows: list[dict], status: list[list[int]], severities: list[str], **supervision):
    """A minimal audit result (the fields stats.compute reads) over the given notes;
    `supervision`: supervised, answerable (see AuditResult)."""
    from types import SimpleNamespace

    import pandas as pd

    from chartaudit.audit import AuditResult

    notes = pd.DataFrame(rows).astype({"date_of_service": "datetime64[ns]"})
    for col in ("therapist_id", "therapist", "discipline", "credential", "role", "patient_id"):
        notes[col] = notes[col].astype("string")
    notes["episode_id"] = notes["patient_id"]
    items = [
        SimpleNamespace(id=f"I{j}", title=f"Item {j}", severity=sev, checklist="c")
        for j, sev in enumerate(severities)
    ]
    return AuditResult(
        notes=notes,
        items=items,
        checklists=[],
        status=pd.DataFrame(np.array(status, dtype=np.int8), columns=[i.id for i in items]),
        findings=pd.DataFrame(),
        scope=np.ones(len(notes), dtype=bool),
        **supervision,
    )


def test_per_therapist_and_month_figures():
    from chartaudit.model import Status
    from chartaudit.stats import compute

    p, f, n, x = Status.PASS, Status.FAIL, Status.NOT_EVALUABLE, Status.NOT_APPLICABLE

    def row(tid, name, disc, cred, role, day):
        return {
            "therapist_id": tid,
            "therapist": name,
            "discipline": disc,
            "credential": cred,
            "role": role,
            "date_of_service": day,
            "patient_id": "P1",
        }

    rows = [
        row("T2", "Lee Park", "PT", "PTA", "assistant", "2026-10-03"),
        row("T1", "Ann Lee", "PT", "DPT", "therapist", "2026-09-30"),
        row("T2", "Lee Park", None, "PT", "therapist", "2026-10-04"),
        row("T2", "Lee Park", "OT", "PT", "therapist", "2026-11-01"),
        row("T2", "Lee Park", "PT", "PTA", "assistant", "2026-11-02"),
    ]
    status = [[p, f], [f, n], [p, n], [x, p], [f, x]]
    stats = compute(_result(rows, status, ["critical", "low"]))

    t = stats.therapists.set_index("therapist_id")
    assert t.loc["T2", "discipline"] == "OT, PT"  # distinct, sorted, blank left out
    assert t.loc["T2", "credential"] == "PT"  # 2 x PT, 2 x PTA: a tie goes to the first
    assert t.loc["T2", "role"] == "assistant"
    assert t.loc["T1", "therapist"] == "Ann Lee"
    assert t.loc["T2", ["notes", "passed", "failed", "not_evaluable"]].tolist() == [4, 3, 2, 1]
    assert t.loc["T2", ["failed_critical", "failed_low"]].tolist() == [1, 1]
    assert t.loc["T1", ["notes", "passed", "failed", "failed_critical"]].tolist() == [1, 0, 1, 1]
    assert stats.therapists["therapist_id"].tolist() == ["T1", "T2"]  # worst rate first

    assert stats.matrix.loc["T2", "I0"] == pytest.approx(2 / 3)
    assert stats.matrix.loc["T1", "I0"] == 0
    assert np.isnan(stats.matrix.loc["T1", "I1"])  # nothing passed or failed
    counts = stats.matrix_counts.set_index(["therapist_id", "item_id"])
    assert counts.loc[("T2", "I1"), ["passed", "failed", "not_evaluable"]].tolist() == [1, 1, 1]

    months = stats.months[["month", "therapist_id", "notes", "passed", "failed", "not_evaluable"]]
    assert months.values.tolist() == [
        ["2026-09", "", 1, 0, 1, 1],
        ["2026-10", "", 2, 2, 1, 1],
        ["2026-11", "", 2, 1, 1, 0],
        ["2026-09", "T1", 1, 0, 1, 1],
        ["2026-10", "T2", 2, 2, 1, 1],
        ["2026-11", "T2", 2, 1, 1, 0],
    ]
    disc = stats.disciplines.set_index("discipline")
    assert disc.index.tolist() == ["OT", "PT"]
    assert disc.loc["PT", ["notes", "passed", "failed"]].tolist() == [3, 1, 3]


def test_supervised_items_count_against_the_supervising_therapist():
    """I1 is the supervising therapist's (a report): on the assistant's notes it counts against
    T1, by month too; I0 stays with each note's author. Totals are unchanged."""
    from chartaudit.model import Status
    from chartaudit.stats import compute

    p, f, x = Status.PASS, Status.FAIL, Status.NOT_APPLICABLE

    def row(tid, name, cred, role, day):
        return {
            "therapist_id": tid,
            "therapist": name,
            "discipline": "PT",
            "credential": cred,
            "role": role,
            "date_of_service": day,
            "patient_id": "P1",
        }

    rows = [
        row("T1", "Ann Lee", "DPT", "therapist", "2026-09-30"),
        row("T2", "Lee Park", "PTA", "assistant", "2026-10-03"),
        row("T2", "Lee Park", "PTA", "assistant", "2026-10-04"),
    ]
    status = [[p, x], [f, p], [p, f]]
    stats = compute(
        _result(
            rows,
            status,
            ["low", "critical"],
            supervised=np.array([False, True]),
            answerable=np.array([0, 0, 0]),
        )
    )
    t = stats.therapists.set_index("therapist_id")
    assert t.loc["T1", ["notes", "passed", "failed", "critical"]].tolist() == [1, 2, 1, 1]
    assert t.loc["T2", ["notes", "passed", "failed", "critical"]].tolist() == [2, 1, 1, 0]
    assert t.loc["T1", ["supervised_checked", "supervised_failed"]].tolist() == [2, 1]
    assert t.loc["T2", "for_supervisor"] == 1
    assert stats.overall["failed"] == t["failed"].sum() == 2
    # The notes' own counts: the report missed on the second visit is on that note.
    assert stats.note_counts["failed"].tolist() == [0, 1, 1]
    assert stats.note_counts["charged"].tolist() == [0, 1, 0]
    months = stats.months[["month", "therapist_id", "notes", "passed", "failed"]]
    assert months.values.tolist() == [
        ["2026-09", "", 1, 1, 0],
        ["2026-10", "", 2, 2, 2],
        ["2026-09", "T1", 1, 1, 0],
        ["2026-10", "T1", 0, 1, 1],
        ["2026-10", "T2", 2, 1, 1],
    ]
