"""Time `chartaudit sample-data` (the generator) of two or more git revisions, interleaved.

Usage:
    python benchmarks/bench_sample.py --notes 10000 100000 --repeat 3 main HEAD

Each revision's src/ is exported with `git archive` into a temporary folder, so the
revisions are timed side by side without touching the checkout. For each size the
repetitions are interleaved (main, HEAD, main, HEAD, ...), each in a fresh child process
that imports the revision's chartaudit.sample and times generate() into a new folder (the
CSV files written, imports not). Prints the median wall time and the median CPU time of the
child per revision and size, with each revision's ratio to the first one, as a Markdown
table. On a shared machine a busy neighbour shows as a gap between wall and CPU time; quote
medians measured in one run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, resource, sys, tempfile, time
from chartaudit.sample import generate

def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime

with tempfile.TemporaryDirectory() as out:
    wall, used = time.perf_counter(), cpu()
    generate(out, notes=int(sys.argv[1]), seed=int(sys.argv[2]))
    print(json.dumps({"wall": time.perf_counter() - wall, "cpu": cpu() - used}))
"""


def export_src(rev: str, into: Path) -> Path:
    """The revision's src/ folder, extracted under into; raises CalledProcessError for an
    unknown revision."""
    tar = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev, "src"], check=True, capture_output=True
    ).stdout
    folder = into / rev.replace("/", "_")
    folder.mkdir()
    subprocess.run(["tar", "-x", "-C", str(folder)], input=tar, check=True)
    return folder / "src"


def time_once(src: Path, notes: int, seed: int) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(notes), str(seed)],
        env={"PYTHONPATH": str(src), "PATH": "/usr/bin:/bin"},
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("revisions", nargs="+", help="git revisions; the first is the baseline")
    parser.add_argument("--notes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        srcs = {rev: export_src(rev, Path(tmp)) for rev in args.revisions}
        print("| notes | revision | wall (median) | CPU (median) | wall vs first |")
        print("|---:|---|---:|---:|---:|")
        for notes in args.notes:
            runs: dict[str, list[dict[str, float]]] = {rev: [] for rev in srcs}
            for _ in range(args.repeat):
                for rev, src in srcs.items():
                    runs[rev].append(time_once(src, notes, args.seed))
            first = statistics.median(r["wall"] for r in runs[args.revisions[0]])
            for rev, rs in runs.items():
                wall = statistics.median(r["wall"] for r in rs)
                cpu = statistics.median(r["cpu"] for r in rs)
                print(
                    f"| {notes:,} | {rev} | {wall:.2f} s | {cpu:.2f} s | {wall / first:.2f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
