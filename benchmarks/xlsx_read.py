"""Benchmark reading .xlsx exports: openpyxl (the reader before) against calamine (now).

Usage:
    python benchmarks/xlsx_read.py --notes 100000 --repeat 3

From the sample export of that size (`chartaudit sample-data --seed 1`, cached by
bench_run.py in /tmp/chartaudit-bench, read-only here) it builds, under --workdir, an export
whose services are a real services.xlsx (typed number cells, text codes, written with
XlsxWriter) and the rest the same CSV files. It reports:

- rows/s of reading services.xlsx into the loader's raw table, old reader vs new (medians of
  --repeat, in this process);
- the wall time of a whole `chartaudit run EXPORT --out OUT --no-history` child process with
  services.xlsx, old reader vs new, and with the original services.csv for reference;
- with --check, whether the old and new readers load the export identically (every table,
  rejected.csv, the file reports), goals also given as a workbook with typed date cells in
  two rows of three and text dates in the others.

The old reader is the one the tests hold the new one to (tests/test_load_xlsx.py).

Results (2026-11-27, the shared 2-core machine, busy; `--notes 100000 --repeat 3 --check`):
services.xlsx of 238,236 rows read in 14.34 s by openpyxl (16,616 rows/s) and 1.93 s by
calamine (123,390 rows/s), 7.4x; `chartaudit run` 20.4 s before, 9.6 s now, 7.8 s with
services.csv. The check found both readers load the export identically.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

CHILD = r"""
import sys
sys.path.insert(0, {tests!r})
if {old!r}:
    from chartaudit.load import files
    from test_load_xlsx import openpyxl_read_workbook
    files._read_workbook = openpyxl_read_workbook
from chartaudit.cli import main
sys.argv = ["chartaudit", "run", {export!r}, "--out", {out!r}, "--no-history"]
main()
"""

NUMBERS = {"units", "minutes", "assistant_minutes", "charge", "allowed_amount"}
DATES = {"target_date"}


def write_workbook(csv: Path, path: Path, sheet: str) -> int:
    """csv as a one-sheet workbook of typed cells (numbers as numbers, dates as date cells in
    two rows of three); returns its number of data rows."""
    import pandas as pd
    import xlsxwriter

    frame = pd.read_csv(csv, dtype=str, keep_default_na=False)
    wb = xlsxwriter.Workbook(path, {"constant_memory": True})
    date_fmt = wb.add_format({"num_format": "mm/dd/yyyy"})
    ws = wb.add_worksheet(sheet)
    ws.write_row(0, 0, list(frame.columns))
    for r, row in enumerate(frame.itertuples(index=False), start=1):
        for c, (col, v) in enumerate(zip(frame.columns, row, strict=True)):
            if v == "":
                continue
            if col in NUMBERS:
                ws.write_number(r, c, float(v))
            elif col in DATES and r % 3:
                ws.write_datetime(r, c, dt.datetime.fromisoformat(v), date_fmt)
            else:
                ws.write_string(r, c, v)
    wb.close()
    return len(frame)


def build(source: Path, export: Path, goals_too: bool) -> int:
    """The export with services (and goals) as workbooks; the number of services rows."""
    export.mkdir(parents=True, exist_ok=True)
    rows = 0
    for csv in sorted(source.glob("*.csv")):
        if csv.stem == "services" or (goals_too and csv.stem == "goals"):
            target = export / (csv.stem + ".xlsx")
            if not target.exists():
                write_workbook(csv, target, csv.stem.title())
            if csv.stem == "services":
                rows = sum(1 for _ in csv.open("rb")) - 1
        else:
            shutil.copyfile(csv, export / csv.name)
    return rows


def read_seconds(export: Path, old: bool) -> float:
    from chartaudit.load import files
    from chartaudit.load.mapping import Mapping
    from test_load_xlsx import openpyxl_read_workbook

    new_reader = files._read_workbook
    if old:
        files._read_workbook = openpyxl_read_workbook
    try:
        t = time.perf_counter()
        (raw,) = files.read_file(export, export / "services.xlsx", ("services",), Mapping())
        seconds = time.perf_counter() - t
    finally:
        files._read_workbook = new_reader
    assert len(raw.frame) > 0
    return seconds


def run_seconds(export: Path, out: Path, old: bool) -> float:
    shutil.rmtree(out, ignore_errors=True)
    code = CHILD.format(tests=str(ROOT / "tests"), old=old, export=str(export), out=str(out))
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    return time.perf_counter() - t


def check(export: Path) -> None:
    import pandas as pd

    from chartaudit.load import files, load_export
    from test_load_xlsx import assert_same_export, openpyxl_read_workbook

    new = load_export(export)
    new_reader, files._read_workbook = files._read_workbook, openpyxl_read_workbook
    try:
        old = load_export(export)
    finally:
        files._read_workbook = new_reader
    assert_same_export(old, new)
    print(
        f"check: old and new readers load {export} identically "
        f"({len(new.tables['services']):,} services, {len(new.tables['goals']):,} goals, "
        f"{len(new.rejected):,} rejected rows)"
    )
    assert pd.api.types.is_datetime64_any_dtype(new.tables["goals"]["target_date"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--notes", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--bench", type=Path, default=Path("/tmp/chartaudit-bench"))
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/chartaudit-xlsx-bench"))
    parser.add_argument("--check", action="store_true", help="also compare old and new loads")
    parser.add_argument("--no-run", action="store_true", help="skip the end-to-end runs")
    args = parser.parse_args()

    source = args.bench / f"export-{args.notes}"
    if not source.is_dir():
        sys.exit(f"{source}: not found; run benchmarks/bench_run.py --notes {args.notes} first")
    export = args.workdir / f"export-{args.notes}-xlsx"
    rows = build(source, export, goals_too=False)
    print(f"{export}: services.xlsx of {rows:,} rows ({args.notes:,} notes)")

    reads = {"openpyxl (before)": [], "calamine (now)": []}
    for _ in range(args.repeat):  # alternating, so both see the same load on the machine
        reads["openpyxl (before)"].append(read_seconds(export, old=True))
        reads["calamine (now)"].append(read_seconds(export, old=False))
    runs = {}
    if not args.no_run:
        csv_export = args.workdir / f"export-{args.notes}-csv"
        shutil.copytree(source, csv_export, dirs_exist_ok=True)
        runs = {"services.xlsx, openpyxl (before)": [], "services.xlsx, calamine (now)": []}
        runs["services.csv (reference)"] = []
        out = args.workdir / "report"
        for _ in range(args.repeat):
            runs["services.xlsx, openpyxl (before)"].append(run_seconds(export, out, old=True))
            runs["services.xlsx, calamine (now)"].append(run_seconds(export, out, old=False))
            runs["services.csv (reference)"].append(run_seconds(csv_export, out, old=False))

    print(f"\nmedians of {args.repeat}\n")
    print("| reading services.xlsx | seconds | rows/s |")
    print("|---|---:|---:|")
    for name, times in reads.items():
        m = statistics.median(times)
        print(f"| {name} | {m:.2f} | {rows / m:,.0f} |")
    old, new = (statistics.median(t) for t in reads.values())
    print(f"\nspeed-up of the read: {old / new:.1f}x")
    if runs:
        print(f"\n| `chartaudit run` at {args.notes:,} notes (process wall time) | seconds |")
        print("|---|---:|")
        for name, times in runs.items():
            print(f"| {name} | {statistics.median(times):.1f} |")
    if args.check:
        goals_export = args.workdir / f"export-{args.notes}-xlsx-goals"
        build(source, goals_export, goals_too=True)
        check(goals_export)


if __name__ == "__main__":
    main()
