"""The helper process that renders part of the HTML pages: every piece done once, in one of
the two processes; its errors reach the user as if this process had raised them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from chartaudit.errors import ChartauditError, InputError
from chartaudit.report import parallel

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or (os.cpu_count() or 1) < 2,
    reason="the helper process is forked on Linux with two CPUs or more",
)


def _recorder(folder, delay_here=0.0, parent=None):
    parent = parent or os.getpid()

    def run(pieces):
        if os.getpid() == parent:
            time.sleep(delay_here)
        for n in pieces:
            (folder / f"{n}-{os.getpid()}").write_text("done")

    return run


def test_every_piece_is_done_exactly_once_and_the_helper_takes_some(tmp_path, monkeypatch):
    monkeypatch.delenv("CHARTAUDIT_THREADS", raising=False)
    work = parallel.SharedWork(40)
    run = _recorder(tmp_path, delay_here=0.3)  # the helper starts first and takes pieces
    assert work.start_helper(run)
    work.run_here(run)
    done = [p.name.split("-") for p in tmp_path.iterdir()]
    assert sorted(int(n) for n, _ in done) == list(range(40))
    assert any(pid != str(os.getpid()) for _, pid in done)  # the helper did work


def test_one_thread_means_no_helper_and_every_piece_in_order(tmp_path, monkeypatch):
    monkeypatch.setenv("CHARTAUDIT_THREADS", "1")
    work = parallel.SharedWork(5)
    seen = []
    assert not work.start_helper(seen.extend)
    work.run_here(seen.extend)
    assert seen == [0, 1, 2, 3, 4]


def test_an_error_in_the_helper_is_raised_here_whole(tmp_path, monkeypatch):
    monkeypatch.delenv("CHARTAUDIT_THREADS", raising=False)
    parent = os.getpid()

    def run(pieces):
        for _n in pieces:
            if os.getpid() != parent:
                raise InputError("notes.csv row 7: no date", fix="add the date")
            time.sleep(0.05)  # leave pieces for the helper

    work = parallel.SharedWork(20)
    assert work.start_helper(run)
    with pytest.raises(InputError) as caught:
        work.run_here(run)
    assert caught.value.message == "notes.csv row 7: no date"
    assert caught.value.fix == "add the date"
    assert any("helper process" in note for note in caught.value.__notes__)


def test_a_helper_killed_by_the_system_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("CHARTAUDIT_THREADS", raising=False)
    parent = os.getpid()

    def run(pieces):
        if os.getpid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)  # as the out-of-memory killer would
        time.sleep(0.2)
        list(pieces)

    work = parallel.SharedWork(4)
    assert work.start_helper(run)
    with pytest.raises(ChartauditError, match="stopped \\(signal 9, likely for lack of memory"):
        work.run_here(run)


def test_when_this_process_fails_the_helper_is_stopped_and_reaped(monkeypatch):
    monkeypatch.delenv("CHARTAUDIT_THREADS", raising=False)
    parent = os.getpid()

    def run(pieces):
        if os.getpid() != parent:
            time.sleep(60)  # would outlive the run if not stopped
        raise KeyError("boom")

    work = parallel.SharedWork(4)
    assert work.start_helper(run)
    pid = work._pid
    started = time.monotonic()
    with pytest.raises(KeyError):
        work.run_here(run)
    assert time.monotonic() - started < 30
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # already reaped: no zombie left behind


def test_the_helper_ends_when_its_parent_is_killed(tmp_path):
    """A run killed mid-way (SIGKILL, no cleanup) leaves no helper rendering pages."""
    script = f"""
import os, time
from pathlib import Path
from chartaudit.report import parallel
os.environ.pop("CHARTAUDIT_THREADS", None)
parent = os.getpid()
def run(pieces):
    if os.getpid() != parent:
        Path({str(tmp_path / "helper.pid")!r}).write_text(str(os.getpid()))
        time.sleep(120)
    time.sleep(120)
work = parallel.SharedWork(4)
work.start_helper(run)
work.run_here(run)
"""
    proc = subprocess.Popen([sys.executable, "-c", script])
    pid_file = tmp_path / "helper.pid"
    deadline = time.monotonic() + 60
    while not pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    helper = int(pid_file.read_text())
    proc.kill()
    proc.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(helper, 0)
        except ProcessLookupError:
            return
        with open(f"/proc/{helper}/stat") as stat:
            if stat.read().split(") ")[1].startswith("Z"):
                return  # dead, only waiting to be reaped by init
        time.sleep(0.05)
    pytest.fail("the helper outlived its parent")
