"""Checklist items run on a thread pool: the result must not depend on how many threads."""

import dataclasses
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from chartaudit.audit import run_audit
from chartaudit.checklists import load_checklists
from chartaudit.cli import app
from chartaudit.load import load_export
from conftest import sample_export

runner = CliRunner()


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory) -> Path:
    return sample_export(tmp_path_factory.mktemp("export"), notes=1200, seed=11)


def test_one_thread_and_four_threads_give_the_same_statuses_and_findings(export_dir):
    export = load_export(export_dir)
    checklists = load_checklists(None)
    one = run_audit(export, checklists, threads=1)
    four = run_audit(export, checklists, threads=4)
    pd.testing.assert_frame_equal(one.status, four.status)
    pd.testing.assert_frame_equal(one.findings, four.findings)
    assert one.not_evaluable == four.not_evaluable
    # The planted clones, stock phrases and billing errors are really found.
    found = set(one.findings["item_id"])
    assert {"DOC-CLONED", "DOC-SKILLED", "MCR-8MIN"} <= found


def test_run_writes_the_same_findings_with_one_thread_as_with_several(
    export_dir, tmp_path, monkeypatch
):
    outs = {}
    for threads in ("1", "3"):
        monkeypatch.setenv("CHARTAUDIT_THREADS", threads)
        out = tmp_path / f"t{threads}"
        result = runner.invoke(
            app, ["run", str(export_dir), "--out", str(out), "--no-history", "--format", "csv"]
        )
        assert result.exit_code == 0, result.output
        outs[threads] = (out / "findings.csv").read_bytes()
    assert outs["1"] == outs["3"]
    assert len(outs["1"].splitlines()) > 10


def test_an_entry_only_some_kinds_read_is_dropped_after_their_last_item(export_dir):
    from chartaudit.checks import AuditContext

    ctx = AuditContext(export=load_export(export_dir), as_of=pd.Timestamp("2026-01-31"))
    ctx.expect(["cloned_within_patient", "cloned_within_patient", "soap_sections"])
    built = []

    def shingles():
        return ctx.cached(
            "big", lambda: built.append(1) or "shingles", only_for=("cloned_within_patient",)
        )

    assert shingles() == "shingles"
    ctx.finished("soap_sections")  # another kind finishing changes nothing
    ctx.finished("cloned_within_patient")
    assert shingles() == "shingles"  # the second clone item still gets the first one's
    assert built == [1]
    ctx.finished("cloned_within_patient")
    assert "big" not in ctx._cache
    # Outside an audit (no expected items) nothing is dropped.
    plain = AuditContext(export=ctx.export, as_of=ctx.as_of)
    plain.cached("big", lambda: "x", only_for=("cloned_within_patient",))
    plain.finished("soap_sections")
    assert "big" in plain._cache


def test_two_clone_items_comparing_the_same_text_agree_with_one(export_dir):
    # Both items read one cached set of shingles; it is dropped only after the second.
    export = load_export(export_dir)
    builtin = load_checklists(None)
    cloned = next(i for cl in builtin for i in cl.items if i.id == "DOC-CLONED")
    strict = dataclasses.replace(
        cloned, id="DOC-CLONED-STRICT", params={**cloned.params, "threshold": 0.9}
    )
    twice = dataclasses.replace(builtin[0], items=[cloned, strict])
    result = run_audit(export, [twice], threads=2)
    alone = run_audit(export, builtin, threads=1)
    loose = result.status["DOC-CLONED"]
    assert (loose == alone.status["DOC-CLONED"]).all()
    assert 0 < (result.status["DOC-CLONED-STRICT"] == 2).sum() <= (loose == 2).sum()
