"""Measure openpyxl (write-only) against XlsxWriter (constant_memory) for big detail sheets.

Writes N synthetic findings-like rows x 12 columns (9 text, 1 date, 2 integers),
every text cell written as text the way the workbook writer must (no formula ever), and prints
rows/s and memory for each writer. Each run is a fresh subprocess; its peak resident memory
is reset after the synthetic data is built (Linux clear_refs), so "peak MB" is the process's
peak while writing and "+MB" what the writer added on top of the data; the medians of the
repeats are reported.

    python benchmarks/xlsx_writers.py --rows 100000 1000000 --repeat 3
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

COLUMNS = [
    "note_id",
    "patient_id",
    "episode_id",
    "therapist",
    "discipline",
    "note_type",
    "date_of_service",
    "item_id",
    "severity",
    "units",
    "minutes",
    "message",
]
TEXT = {0, 1, 2, 3, 4, 5, 7, 8, 11}
EXCEL_EPOCH = np.datetime64("1899-12-30")


def synthetic(rows: int, seed: int = 1) -> list:
    """Column arrays shaped like findings.csv: a unique message per row, as real ones are."""
    rng = np.random.default_rng(seed)
    n = np.arange(rows)
    dates = np.datetime64("2026-01-01") + rng.integers(0, 365, rows).astype("timedelta64[D]")
    minutes = rng.integers(8, 75, rows)
    return [
        np.char.add("N", n.astype(str)).astype(object),
        np.char.add("P", (n // 20).astype(str)).astype(object),
        np.char.add("E", (n // 12).astype(str)).astype(object),
        np.array([f"Therapist {i}" for i in range(50)], dtype=object)[n % 50],
        np.array(["PT", "OT", "SLP"], dtype=object)[n % 3],
        np.array(["daily", "progress", "evaluation"], dtype=object)[n % 3],
        dates,
        np.array([f"ITEM-{i}" for i in range(30)], dtype=object)[n % 30],
        np.array(["critical", "high", "medium", "low"], dtype=object)[n % 4],
        rng.integers(1, 5, rows),
        minutes,
        np.char.add(
            np.char.add(minutes.astype(str), " timed minutes support 2 units; "),
            np.char.add((n % 7).astype(str), " billed"),
        ).astype(object),
    ]


def write_openpyxl(columns: list, path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Findings")
    ws.append(COLUMNS)
    cols = list(columns)
    # openpyxl stores datetimes (date-formatted) itself; give it Python datetimes.
    cols[6] = cols[6].astype("datetime64[us]").astype(dt.datetime)
    for c in (9, 10):
        cols[c] = cols[c].tolist()
    for row in zip(*cols, strict=True):
        values = list(row)
        for c in TEXT:
            v = values[c]
            # openpyxl turns a str starting with "=" into a formula: force those to text.
            if v[:1] == "=":
                cell = WriteOnlyCell(ws, value=v)
                cell.data_type = "s"
                values[c] = cell
        ws.append(values)
    wb.save(path)


def write_xlsxwriter(columns: list, path: Path) -> None:
    import xlsxwriter

    wb = xlsxwriter.Workbook(
        str(path),
        {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False},
    )
    ws = wb.add_worksheet("Findings")
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    ws.write_row(0, 0, COLUMNS)
    cols = list(columns)
    # Dates as Excel serial numbers, converted for the whole column at once.
    cols[6] = ((cols[6] - EXCEL_EPOCH) / np.timedelta64(1, "D")).tolist()
    for c in (9, 10):
        cols[c] = cols[c].tolist()
    write_string, write_number = ws.write_string, ws.write_number
    text = sorted(TEXT)
    for r, row in enumerate(zip(*cols, strict=True), start=1):
        for c in text:
            write_string(r, c, row[c])
        write_number(r, 6, row[6], date_fmt)
        write_number(r, 9, row[9])
        write_number(r, 10, row[10])
    wb.close()


WRITERS = {"openpyxl-write-only": write_openpyxl, "xlsxwriter-constant-memory": write_xlsxwriter}


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024  # kB
    raise RuntimeError(f"/proc/self/status has no {field}")


def _reset_peak() -> bool:
    """Reset the kernel's peak-RSS mark (Linux: clear_refs 5) so it covers the writer only."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def one_run(writer: str, rows: int) -> dict:
    """Run one writer once (call in a fresh process); peak RSS is measured for this run only."""
    columns = synthetic(rows)
    before = _status_mb("VmRSS")
    reset = _reset_peak()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.xlsx"
        started = time.perf_counter()
        WRITERS[writer](columns, path)
        seconds = time.perf_counter() - started
        size = path.stat().st_size
    if reset:
        peak = _status_mb("VmHWM")
    else:  # peak of the whole process, data generation included
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return {
        "seconds": seconds,
        "rows_per_s": rows / seconds,
        "peak_rss_mb": peak,
        "writer_mb": peak - before,
        "file_mb": size / 2**20,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--writer", choices=list(WRITERS), action="append")
    parser.add_argument("--child", nargs=2, metavar=("WRITER", "ROWS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(one_run(args.child[0], int(args.child[1]))))
        return
    print(
        f"{'writer':28} {'rows':>9} {'s':>7} {'rows/s':>9} {'peak MB':>8} {'+MB':>7} {'file MB':>8}"
    )
    for rows in args.rows:
        for writer in args.writer or list(WRITERS):
            runs = []
            for _ in range(args.repeat):
                out = subprocess.run(
                    [sys.executable, __file__, "--child", writer, str(rows)],
                    check=True,
                    capture_output=True,
                    text=True,
                )
                runs.append(json.loads(out.stdout))
            med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
            print(
                f"{writer:28} {rows:>9,} {med['seconds']:>7.1f} {med['rows_per_s']:>9,.0f} "
                f"{med['peak_rss_mb']:>8.0f} {med['writer_mb']:>7.0f} {med['file_mb']:>8.1f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
