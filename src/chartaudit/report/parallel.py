"""Numbered pieces of work shared with a forked copy of this process.

Rendering the HTML pages is Python through and through: a thread would wait for the GIL, so a
second core is only of use to a second process. A forked copy has every prepared table
already (the pages of a million notes need gigabytes of them; sending them to a fresh process
would cost more than it saves), and the operating system shares the memory until either
process writes to it.

The pieces are numbered 0 .. count - 1 and handed out one at a time through a pipe that holds
the numbers not yet taken: whichever process is free takes the next, so the work balances
itself when the parent also has other work (the workbook's thread). Results are files the
pieces write; nothing comes back but an error.

Where there is no fork (Windows), one CPU, CHARTAUDIT_THREADS=1 or fewer than two pieces,
this process does every piece itself, in order.
"""

from __future__ import annotations

import os
import pickle
import signal
import struct
import sys
import traceback
import warnings
from collections.abc import Callable, Iterator

from ..errors import ChartauditError
from ..memory import c_library

_PR_SET_PDEATHSIG = 1

_TICKET = struct.Struct("<I")
_PIPE_CAPACITY = 65536  # Linux's default: the tickets are written before the fork, at once
MAX_PIECES = _PIPE_CAPACITY // _TICKET.size


def helper_wanted() -> bool:
    """Whether a second process may help: fork exists, there is a second CPU and the user has
    not limited chartaudit to one thread (CHARTAUDIT_THREADS=1)."""
    if not hasattr(os, "fork") or not sys.platform.startswith("linux"):
        return False  # macOS: system libraries are not safe to use in a forked child
    value = os.environ.get("CHARTAUDIT_THREADS", "").strip()
    if value.isdigit() and int(value) == 1:
        return False
    return (os.cpu_count() or 1) >= 2


class SharedWork:
    """Pieces 0 .. count - 1 of some work, done here and, once start_helper() has forked, in
    a helper process as well. Use: start_helper(run), then run_here(run); `run` gets an
    iterator of the piece numbers its process takes."""

    def __init__(self, count: int) -> None:
        self.count = count
        self._pid: int | None = None
        self._tickets: int | None = None  # read end of the pipe of numbers not yet taken
        self._errors: int | None = None  # read end of the pipe the helper reports an error on

    def start_helper(self, run: Callable[[Iterator[int]], None]) -> bool:
        """Fork a helper that runs run(pieces it takes) and exits; False when none was started
        (see helper_wanted), and this process will do every piece."""
        if self._pid is not None or not 2 <= self.count <= MAX_PIECES or not helper_wanted():
            return False
        tickets_r, tickets_w = os.pipe()
        os.write(tickets_w, b"".join(_TICKET.pack(n) for n in range(self.count)))
        os.close(tickets_w)  # both processes read to the end: no piece is taken twice
        errors_r, errors_w = os.pipe()
        parent = os.getpid()
        try:
            with warnings.catch_warnings():
                # Python 3.12+ warns on fork with threads running: the helper never touches
                # what other threads hold (it renders pages and writes its own files).
                warnings.simplefilter("ignore", DeprecationWarning)
                pid = os.fork()
        except OSError:  # no memory or too many processes: do the work here
            for fd in (tickets_r, errors_r, errors_w):
                os.close(fd)
            return False
        if pid == 0:  # the helper
            code = 1
            try:
                os.close(errors_r)
                signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C stops it at once
                _die_with(parent)
                run(self._take(tickets_r))
                code = 0
            except BaseException as exc:  # noqa: BLE001 - reported to the parent
                try:
                    _send(errors_w, exc)
                except BaseException:  # noqa: BLE001, S110 - the exit code still tells
                    pass
            finally:
                os._exit(code)  # no atexit handlers, no flushing the parent's buffers
        os.close(errors_w)
        self._pid, self._tickets, self._errors = pid, tickets_r, errors_r
        return True

    def run_here(self, run: Callable[[Iterator[int]], None]) -> None:
        """Run `run` over the pieces this process takes (all of them without a helper), then
        wait for the helper and raise its error, if it had one."""
        if self._pid is None:
            run(iter(range(self.count)))
            return
        try:
            run(self._take(self._tickets))
        except BaseException:
            self.abandon()
            raise
        self._wait()

    def abandon(self) -> None:
        """Stop the helper (this process failed; its files are thrown away with the rest)."""
        if self._pid is None:
            return
        try:
            os.kill(self._pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.waitpid(self._pid, 0)
        self._close()

    @staticmethod
    def _take(tickets: int) -> Iterator[int]:
        while True:
            # A read of one ticket is atomic: the pipe hands each 4 bytes to one reader.
            data = os.read(tickets, _TICKET.size)
            if not data:
                return
            yield _TICKET.unpack(data)[0]

    def _wait(self) -> None:
        report = bytearray()
        while chunk := os.read(self._errors, 65536):
            report += chunk
        _, status = os.waitpid(self._pid, 0)
        self._close()
        if report:
            raise _received(bytes(report))
        if os.WIFSIGNALED(status):
            number = os.WTERMSIG(status)
            raise ChartauditError(
                f"the second process writing the HTML pages was stopped (signal {number}"
                + (", likely for lack of memory" if number == signal.SIGKILL else "")
                + "); no report was written",
                fix="run again; if it happens again, free memory or set CHARTAUDIT_THREADS=1 "
                "to write the pages in one process",
            )
        if os.WEXITSTATUS(status) != 0:
            raise ChartauditError(
                "the second process writing the HTML pages failed; no report was written",
                fix="run again with --debug, or set CHARTAUDIT_THREADS=1",
            )

    def _close(self) -> None:
        for fd in (self._tickets, self._errors):
            if fd is not None:
                os.close(fd)
        self._pid = self._tickets = self._errors = None


def _die_with(parent: int) -> None:
    """Have the kernel stop this helper when the parent ends (killed, say), rather than leave
    it rendering pages for a report that will never be finished."""
    libc = c_library()
    prctl = getattr(libc, "prctl", None)
    if prctl is not None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent ended before that took effect
        os._exit(1)


def _send(fd: int, exc: BaseException) -> None:
    """The helper's error, pickled, with its traceback as a note (shown with --debug)."""
    detail = "".join(traceback.format_exception(exc))
    try:
        payload = pickle.dumps(exc)
        pickle.loads(payload)  # noqa: S301 - our own bytes; must survive the trip
    except Exception:  # noqa: BLE001 - not picklable: its kind still tells
        payload = pickle.dumps(RuntimeError(f"{type(exc).__name__} in the page-writing process"))
    view = memoryview(pickle.dumps((payload, detail)))
    while view:
        view = view[os.write(fd, view) :]


def _received(report: bytes) -> BaseException:
    payload, detail = pickle.loads(report)  # noqa: S301 - written by our own forked helper
    exc = pickle.loads(payload)  # noqa: S301
    if isinstance(exc, BaseException):
        exc.add_note("in the helper process that wrote part of the pages:\n" + detail)
        return exc
    return RuntimeError("the page-writing process failed")
