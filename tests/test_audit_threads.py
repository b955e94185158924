"""Checklist items run on a thread pool: the result must not depend on how many threads."""

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from chartaudit.audit import run_audit
from chartaudit.checklists import load_checklists
from chartaudit.cli import app
from chartaudit.load import load_export

runner = CliRunner()


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("export")
    result = runner.invoke(app, ["sample-data", str(out), "--notes", "1200", "--seed", "11"])
    assert result.exit_code == 0, result.output
    return out


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
