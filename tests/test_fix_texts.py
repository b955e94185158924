"""The 'How to fix it' advice is written for OT and SLP as well as PT (acceptance test M-5:
an SLP's page taught knee OA, sit-to-stand and the LEFS)."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from chartaudit.cli import app

# Items whose fix gives a worked example: each gives one per discipline.
WORKED = [
    "DOC-SOAP",
    "DOC-INTERVENTION",
    "DOC-SKILLED",
    "DOC-GOALS-MEASURABLE",
    "DOC-OUTCOME-BASELINE",
    "DOC-OUTCOME-REPEAT",
    "DOC-CLONED",
    "DOC-CLONED-ACROSS",
    "DOC-EVAL-CONTENT",
]


def fix_text(item_id: str) -> str:
    result = CliRunner().invoke(app, ["explain", item_id], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    return text.split("How to fix", 1)[1].split("Reference", 1)[0]


@pytest.mark.parametrize("item_id", WORKED)
def test_the_fix_gives_an_example_for_each_discipline(item_id):
    fix = fix_text(item_id)
    for discipline in ("PT", "OT", "SLP"):
        assert re.search(rf'\b{discipline} (\d{{5}} )?"', fix), (item_id, discipline, fix)


def test_an_slp_reads_an_slp_treatment_code_in_the_intervention_fix():
    fix = fix_text("DOC-INTERVENTION")
    assert '92507 "articulation treatment' in fix and "cognitive-communication" in fix
    assert "97530" in fix and "97535" in fix  # the OT codes a trainer's new grads bill
