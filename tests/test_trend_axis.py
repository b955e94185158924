"""The trend charts' y axis fits the rates (acceptance test acc7 MINOR 8: rates of 96-99% on a
50-100% axis looked flat), in the workbook's native chart as in the HTML one."""

from __future__ import annotations

from pathlib import Path

import openpyxl
from typer.testing import CliRunner

from chartaudit.cli import app

SAMPLE = Path(__file__).resolve().parent.parent / "sample_charts"


def test_the_workbook_trend_chart_starts_just_below_the_lowest_rate(tmp_path):
    out = tmp_path / "report"
    args = ["run", str(SAMPLE), "--out", str(out), "--history", str(tmp_path / "h.sqlite")]
    result = CliRunner().invoke(app, [*args, "--format", "xlsx"])
    assert result.exit_code in (0, 1), result.output
    sheet = openpyxl.load_workbook(out / "compliance.xlsx")["Trend"]
    rows = list(sheet.iter_rows(values_only=True))
    header = rows[0]
    drawn = [
        value
        for row in rows[1:]
        for column in ("All therapists", "All: 95% CI low", "All: 95% CI high")
        for value in [row[header.index(column)]]
        if isinstance(value, float)
    ]
    axis = sheet._charts[0].y_axis
    assert drawn and axis.scaling.max == 1
    # Every line is on the chart, and the axis starts within a few points of the lowest one.
    assert axis.scaling.min <= min(drawn) < axis.scaling.min + 0.05, (axis.scaling.min, drawn)
    assert axis.majorUnit and (1 - axis.scaling.min) / axis.majorUnit <= 6
