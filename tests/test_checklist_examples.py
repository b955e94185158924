"""Every bad example of every built-in item must fail it; every good example must pass it."""

from __future__ import annotations

import pandas as pd
import pytest

from chartaudit.audit import run_audit
from chartaudit.checklists import Checklist, example_frames, load_checklists
from chartaudit.load import from_frames
from chartaudit.model import Status

ITEMS = [(cl, item) for cl in load_checklists(None) for item in cl.items]
CASES = [
    pytest.param(cl, item, kind, n, id=f"{item.id}-{kind}{n}")
    for cl, item in ITEMS
    for kind in ("bad", "good")
    for n in range(len(item.examples[kind]))
]


def run_example(cl, item, case):
    frames = {t: pd.DataFrame(rows) for t, rows in example_frames(item, case).items()}
    export = from_frames(frames, source=f"{item.id} example")
    assert export.rejected.empty, export.rejected.to_dict("records")
    single = Checklist(
        name=cl.name, title=cl.title, version=cl.version, items=[item], applies_to=cl.applies_to
    )
    result = run_audit(export, [single])
    return result.status[item.id], result


@pytest.mark.parametrize(("cl", "item", "kind", "n"), CASES)
def test_item_example(cl, item, kind, n):
    status, result = run_example(cl, item, item.examples[kind][n])
    if kind == "bad":
        assert (status == Status.FAIL).any(), f"bad example did not fail: {status.tolist()}"
        messages = result.findings["message"]
        assert messages.str.len().gt(0).all()
    else:
        assert not (status == Status.FAIL).any(), result.findings[["message", "evidence"]]
        assert (status == Status.PASS).any(), f"good example never passed: {status.tolist()}"


def test_every_item_is_documented():
    assert ITEMS, "no built-in items"
    for _, item in ITEMS:
        for field in ("title", "why", "fix", "reference"):
            assert len(getattr(item, field)) >= 10, f"{item.id}: {field} too short"
        assert item.examples["bad"] and item.examples["good"], item.id
