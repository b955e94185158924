"""Remake the workbook fixtures of tests/test_load_workbook_formats.py (needs LibreOffice).

notes.csv and services.csv (a small `chartaudit sample-data --notes 40 --seed 3` export) are
written to export.xlsx with openpyxl (dates as date cells, numbers as numbers), which
LibreOffice then saves as Excel 97-2003 (.xls) and OpenDocument (.ods), as an older EMR or a
LibreOffice user would hand them over:

    python tests/data/workbooks/make_workbooks.py
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import openpyxl
import pandas as pd

HERE = Path(__file__).parent
NUMBERS = {"units", "minutes", "total_timed_minutes", "total_treatment_minutes"}
DATES = {"date_of_service"}


def write_xlsx(target: Path) -> None:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for table in ("notes", "services"):
        frame = pd.read_csv(HERE / f"{table}.csv", dtype=str, keep_default_na=False)
        ws = wb.create_sheet(table)
        ws.append(list(frame.columns))
        for row in frame.itertuples(index=False):
            cells = []
            for name, value in zip(frame.columns, row, strict=True):
                if value and name in NUMBERS:
                    cells.append(int(value))
                elif value and name in DATES:
                    cells.append(pd.Timestamp(value).to_pydatetime())
                else:
                    cells.append(value or None)
            ws.append(cells)
        for cell in ws["A"][1:]:
            cell.data_type = "s"
    wb.save(target)


def main() -> None:
    xlsx = HERE / "export.xlsx"
    write_xlsx(xlsx)
    with tempfile.TemporaryDirectory() as profile:
        for fmt in ("xls", "ods"):
            subprocess.run(
                [
                    "soffice",
                    f"-env:UserInstallation=file://{profile}",
                    "--headless",
                    "--convert-to",
                    fmt,
                    "--outdir",
                    str(HERE),
                    str(xlsx),
                ],
                check=True,
            )


if __name__ == "__main__":
    main()
