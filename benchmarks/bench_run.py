"""Benchmark a full `chartaudit run` against a bare pyarrow read of the same export.

Usage:
    python benchmarks/bench_run.py --notes 10000 100000 1000000 --repeat 3

For each size: generate the export once with `chartaudit sample-data` (cached under
--workdir, and made again when the generator's source has changed), then run the whole audit (all built-in checklists, every output) --repeat times,
each in a fresh child process so peak memory is that run's alone (what `chartaudit run EXPORT
--out OUT` does into a new folder, run history included). Reports the median wall time
per stage (load, checks by family, statistics, each output), the median peak resident memory,
and, measured in the same script, the median time pyarrow takes just to read the same CSV
files, with the ratio. The run's wall time is timed around the audit inside the child; the
process's wall time (Python's start, the imports and the exit included: what a user waits
for at the command line) is reported beside it, with its own ratio. Prints a Markdown table
(paste it into benchmarks/README.md).

Checklist items run on several threads, so the `checks:<family> (CPU)` rows are the CPU
seconds of each family's items (thread time), which add up to more than the `checks` wall
time when the items overlap. The HTML pages are rendered by the run and a forked helper
process: `html` is the run's own part (preparing, index.html and the pages it took), and the
helper's peak memory is only measured with --memory-tree (PSS of both, summed).

The bare read is timed with the system's default memory pages and with the run's own setting
(no transparent huge pages); the ratio is against the faster of the two in each repetition.

Both are also measured in CPU seconds (user + system, every thread, the HTML helper included):
the run's CPU time divided by the number of cores is the shortest wall time the run could
have if every core were busy from start to end, so that divided by the bare read is the
least run / bare read ratio this amount of work allows on this machine.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

CHILD = r"""
import json, resource, sys, time
from collections import defaultdict
from pathlib import Path
from chartaudit.checks import REGISTRY
from chartaudit.job import RunOptions, run_job

export, out = Path(sys.argv[1]), Path(sys.argv[2])
history = out.parent / (out.name + "-history.sqlite")  # a fresh run history, as a first run
history.unlink(missing_ok=True)

def cpu():  # user + system seconds of every thread, and of the HTML helper once reaped
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime

c, t = cpu(), time.perf_counter()
outcome = run_job(RunOptions(export_dir=export, out=out, history=history))
wall, cpu_s = time.perf_counter() - t, cpu() - c
families = defaultdict(float)
items = {i.id: i for i in outcome.data.result.items}
for item_id, seconds in outcome.data.result.timings.items():
    family = REGISTRY[items[item_id].check].fn.__module__.rsplit(".", 1)[-1]
    families["checks:" + family + " (CPU)"] += seconds
rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"wall": wall, "cpu": cpu_s, "stages": outcome.timings, "families": families,
                  "peak_mib": rss_kb / 1024, "notes": outcome.data.stats.overall["notes"],
                  "findings": outcome.data.stats.overall["findings"]}))
"""

BARE_READ = r"""
import resource, sys, time, pyarrow.csv as pacsv
from pathlib import Path
if sys.argv[2] == "small-pages":  # as chartaudit runs (memory.small_pages), Linux only
    import ctypes
    ctypes.CDLL(None).prctl(41, 1, 0, 0, 0)  # PR_SET_THP_DISABLE
def cpu():  # user + system seconds of every thread (pyarrow reads on all cores)
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime

c, t = cpu(), time.perf_counter()
rows = 0
for f in sorted(Path(sys.argv[1]).glob("*.csv")):
    rows += pacsv.read_csv(f).num_rows
print(time.perf_counter() - t, cpu() - c, rows)
"""


def generator_stamp() -> str:
    """SHA-256 of the sample-data generator's source: an export made by other code is stale."""
    import hashlib

    import chartaudit.sample

    return hashlib.sha256(Path(chartaudit.sample.__file__).read_bytes()).hexdigest()


def generate(notes: int, workdir: Path) -> Path:
    export = workdir / f"export-{notes}"
    stamp_file = workdir / f"export-{notes}.generator"
    stamp = generator_stamp()
    fresh = stamp_file.is_file() and stamp_file.read_text().strip() == stamp
    if not fresh or not (export / "notes.csv").is_file():
        shutil.rmtree(export, ignore_errors=True)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "chartaudit",
                "sample-data",
                str(export),
                "--notes",
                str(notes),
                "--seed",
                "1",
            ],
            check=True,
            stdout=sys.stderr,
        )
        stamp_file.write_text(stamp + "\n")
    return export


def bare_read(export: Path, pages: str) -> tuple[float, float]:
    """Seconds for pyarrow to read every CSV of the export, in a fresh process: with the
    system's default memory pages, or with "small-pages" the run's own setting (no
    transparent huge pages, see chartaudit.memory.small_pages). Which is faster varies from
    one read to the next on this machine (1.7 to 5.3 s for the 1M export): the ratio is taken
    against the faster of the two, every repetition."""
    out = subprocess.run(
        [sys.executable, "-c", BARE_READ, str(export), pages],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return float(out[0]), float(out[1])  # wall, CPU seconds


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        out += [int(c) for c in (task / "children").read_text().split()]
    return out


def _pss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


def one_run(export: Path, out: Path, memory_tree: bool = False) -> dict:
    """One run in a fresh child process into a fresh folder (the previous run's report is
    removed first, untimed: a first run into a new folder, as a first run history). With
    memory_tree, also the peak of the proportional memory (PSS) of the run and the helper
    process that renders part of the HTML, summed (Linux; sampled from here every 0.2 s, so
    the run itself is a little slower)."""
    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(export), str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    tree_peak = 0
    if memory_tree:
        while proc.poll() is None:
            try:
                pids = [proc.pid, *_children(proc.pid)]
                if len(pids) > 1:  # the helper: both processes' PSS (shared pages split)
                    tree_peak = max(tree_peak, sum(_pss_kib(p) for p in pids))
            except (OSError, ValueError):
                pass  # a process ended between listing and reading
            time.sleep(0.2)
    stdout, stderr = proc.communicate()
    process_wall = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"run failed:\n{stderr[-3000:]}")
    result = json.loads(stdout.strip().splitlines()[-1])
    # What a user waits for: Python's start, the imports and the exit as well.
    result["process_wall"] = process_wall
    if memory_tree:
        result["tree_peak_mib"] = tree_peak / 1024
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--notes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/chartaudit-bench"))
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    parser.add_argument(
        "--memory-tree",
        action="store_true",
        help="also sample the PSS of the run and its HTML helper process (slows the run a little)",
    )
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    results = {}
    for n in args.notes:
        export = generate(n, args.workdir)
        size = sum(f.stat().st_size for f in export.glob("*.csv"))
        runs, reads, default_reads, read_cpus = [], [], [], []
        for r in range(args.repeat):
            small, default = bare_read(export, "small-pages"), bare_read(export, "default")
            reads.append(small[0])
            default_reads.append(default[0])
            read_cpus.append(min(small, default)[1])  # the CPU seconds of the faster read
            runs.append(one_run(export, args.workdir / f"report-{n}", args.memory_tree))
            tree = runs[-1].get("tree_peak_mib")
            print(
                f"{n:>9,} notes  run {r + 1}/{args.repeat}: {runs[-1]['wall']:.1f} s, "
                f"peak {runs[-1]['peak_mib']:.0f} MiB"
                + (f" (with the HTML helper, PSS {tree:.0f} MiB)" if tree is not None else "")
                + f", bare read {min(reads[-1], default_reads[-1]):.2f} s",
                file=sys.stderr,
            )
        stages = sorted(
            {k for run in runs for k in run["stages"]}
            | {k for run in runs for k in run["families"]}
        )
        med = {
            s: statistics.median(run["stages"].get(s, run["families"].get(s, 0.0)) for run in runs)
            for s in stages
        }
        results[n] = {
            "wall": statistics.median(r["wall"] for r in runs),
            "process_wall": statistics.median(r["process_wall"] for r in runs),
            "peak_mib": statistics.median(r["peak_mib"] for r in runs),
            "bare_read": statistics.median(map(min, reads, default_reads)),
            "cpu": statistics.median(r["cpu"] for r in runs),
            "bare_read_cpu": statistics.median(read_cpus),
            "bare_read_small": statistics.median(reads),
            "bare_read_default": statistics.median(default_reads),
            "tree_peak_mib": max((r.get("tree_peak_mib", 0) for r in runs), default=0),
            "stages": med,
            "csv_mib": size / 2**20,
            "notes": runs[0]["notes"],
            "findings": runs[0]["findings"],
        }
    sizes = list(results)
    print(
        f"\nMedians of {args.repeat} runs on {os.cpu_count()} cores "
        f"({time.strftime('%Y-%m-%d')}):\n"
    )
    print("| stage | " + " | ".join(f"{n:,} notes" for n in sizes) + " |")
    print("|---|" + "---:|" * len(sizes))
    all_stages = sorted(
        {s for r in results.values() for s in r["stages"]},
        key=lambda s: (s == "total", s.startswith("checks:"), s),
    )
    for s in all_stages:
        print(
            f"| {s} | "
            + " | ".join(f"{results[n]['stages'].get(s, 0):.2f} s" for n in sizes)
            + " |"
        )
    for label, key, fmt in (
        ("wall (whole run)", "wall", "{:.1f} s"),
        (
            "wall of the process (Python start, imports and exit included)",
            "process_wall",
            "{:.1f} s",
        ),
        ("peak memory", "peak_mib", "{:.0f} MiB"),
        *(
            [("peak PSS, run + HTML helper (max)", "tree_peak_mib", "{:.0f} MiB")]
            if args.memory_tree
            else []
        ),
        ("bare pyarrow read (the faster of the two below)", "bare_read", "{:.2f} s"),
        ("&nbsp;&nbsp;with small pages (as the run)", "bare_read_small", "{:.2f} s"),
        ("&nbsp;&nbsp;with the system's default pages", "bare_read_default", "{:.2f} s"),
        ("CPU time of the run (every thread and the HTML helper)", "cpu", "{:.1f} s"),
        ("CPU time of the bare read (every thread)", "bare_read_cpu", "{:.2f} s"),
        ("export size (CSV)", "csv_mib", "{:.0f} MiB"),
        ("findings", "findings", "{:,}"),
    ):
        print(f"| {label} | " + " | ".join(fmt.format(results[n][key]) for n in sizes) + " |")
    for label, key in (("run", "wall"), ("process", "process_wall")):
        print(
            f"| {label} / bare read | "
            + " | ".join(f"{results[n][key] / results[n]['bare_read']:.1f}×" for n in sizes)
            + " |"
        )
    cores = os.cpu_count() or 1
    print(
        f"| run CPU / {cores} cores / bare read (the least the run / bare read can be "
        "with every core busy all the time) | "
        + " | ".join(f"{results[n]['cpu'] / cores / results[n]['bare_read']:.1f}×" for n in sizes)
        + " |"
    )
    if len(sizes) >= 2:
        a, b = sizes[-2], sizes[-1]
        print(
            f"\nGrowth {b:,} / {a:,} notes: {results[b]['wall'] / results[a]['wall']:.1f}× "
            f"wall for {b / a:.0f}× notes"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
