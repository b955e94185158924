"""Older and other spreadsheet formats: an export saved as Excel 97-2003 (.xls) or OpenDocument
(.ods) is audited exactly as the same rows in CSV, and a workbook whose name says one format
while its content is the other still reads.

The fixtures in tests/data/workbooks are real files: export.xlsx written by openpyxl from
notes.csv and services.csv beside it, then saved by LibreOffice as .xls and .ods
(make_workbooks.py remakes them)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from chartaudit.cli import app

DATA = Path(__file__).parent / "data" / "workbooks"


def _audit(folder: Path, out: Path) -> tuple[str, pd.DataFrame]:
    result = CliRunner().invoke(app, ["run", str(folder), "--out", str(out), "--format", "csv"])
    assert result.exit_code in (0, 1), result.output
    findings = pd.read_csv(out / "findings.csv", dtype=str, keep_default_na=False)
    return " ".join(result.output.split()), findings.sort_values(list(findings.columns))


@pytest.fixture(scope="module")
def from_csv(tmp_path_factory) -> tuple[str, pd.DataFrame]:
    folder = tmp_path_factory.mktemp("csv")
    for name in ("notes.csv", "services.csv"):
        shutil.copy(DATA / name, folder / name)
    return _audit(folder, tmp_path_factory.mktemp("csv-out"))


@pytest.mark.parametrize(
    "source, saved_as",
    [
        ("export.xls", "Visits.xls"),
        ("export.ods", "Visits.ods"),
        # The name lies about the format: read by content.
        ("export.xls", "Visits.xlsx"),
        ("export.xlsx", "Visits.xls"),
    ],
    ids=["xls", "ods", "xls-named-xlsx", "xlsx-named-xls"],
)
def test_an_export_saved_as_another_spreadsheet_format_gets_the_same_audit(
    tmp_path, from_csv, source, saved_as
):
    folder = tmp_path / "export"
    folder.mkdir()
    shutil.copy(DATA / source, folder / saved_as)
    output, findings = _audit(folder, tmp_path / "out")
    csv_output, csv_findings = from_csv
    # Both sheets found by their names, every row read and audited.
    rows = int(csv_output.split("Rows read ")[1].split()[0])
    assert f"Rows read {rows} = loaded {rows} + rejected 0" in output
    assert len(findings) > 10
    pd.testing.assert_frame_equal(
        findings.reset_index(drop=True), csv_findings.reset_index(drop=True)
    )


def test_inspect_lists_an_xls_sheet_by_sheet(tmp_path):
    shutil.copy(DATA / "export.xls", tmp_path / "Visits.xls")
    result = CliRunner().invoke(app, ["inspect", str(tmp_path)])
    output = " ".join(result.output.split())
    assert result.exit_code == 0, result.output
    assert "Visits.xls [notes]" in output
    assert "Visits.xls [services]" in output


@pytest.mark.parametrize(
    "name, content, reason",
    [
        ("services.xls", b"Doc #,CPT\n1,97110\n", "not a valid Excel workbook"),
        ("services.ods", b"\x00" * 64, "not a valid OpenDocument spreadsheet"),
        (
            "services.xls",
            bytes.fromhex("D0CF11E0A1B11AE1") + bytes(4088),
            "not a valid Excel workbook: it may be password-protected",
        ),
    ],
    ids=["csv-named-xls", "garbage-ods", "damaged-ole"],
)
def test_a_spreadsheet_that_cannot_be_read_is_named_with_the_fix(tmp_path, name, content, reason):
    shutil.copy(DATA / "notes.csv", tmp_path / "notes.csv")
    (tmp_path / name).write_bytes(content)
    result = CliRunner().invoke(app, ["inspect", str(tmp_path)])
    output = " ".join(result.output.split())
    assert result.exit_code == 2
    assert f"{name}: cannot be read ({reason}" in output
    assert "Traceback" not in output
