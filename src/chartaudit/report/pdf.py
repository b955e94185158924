"""PDF copies of the therapist pages, printed by headless Chromium when it is installed."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
MISSING = (
    "PDF needs Chromium: install it (e.g. apt-get install chromium) "
    "or use the HTML pages' Print button"
)
TIMEOUT = 90.0  # seconds per page; a page that takes longer is reported, not waited for
WORKERS = 2  # Chromium processes at once (each is memory hungry)


def find_chromium() -> str | None:
    """$CHARTAUDIT_CHROMIUM, else the first of chromium / chromium-browser / google-chrome
    found on PATH; None when there is none."""
    configured = os.environ.get("CHARTAUDIT_CHROMIUM")
    if configured:
        return shutil.which(configured) or (configured if os.access(configured, os.X_OK) else None)
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def render(
    browser: str,
    page: Path,
    output: Path,
    *,
    screenshot: bool = False,
    window: tuple[int, int] = (1280, 1600),
    timeout: float = TIMEOUT,
) -> str | None:
    """Print `page` to a PDF (or a PNG screenshot) at `output`; None on success, else why not.

    Every run gets a fresh, throw-away profile and no network features, so nothing from the
    user's browser is used and nothing is fetched.
    """
    output = Path(output).resolve()
    output.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(
        prefix="chartaudit-chromium-", ignore_cleanup_errors=True
    ) as profile:
        target = f"--screenshot={output}" if screenshot else f"--print-to-pdf={output}"
        command = [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
            "--no-pdf-header-footer",
            f"--window-size={window[0]},{window[1]}",
            f"--user-data-dir={profile}",
            target,
            Path(page).resolve().as_uri(),
        ]
        try:
            process = subprocess.Popen(  # fixed arguments, no shell
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,  # so a hung browser can be stopped with its children
            )
        except OSError as exc:
            return f"Chromium could not start ({exc.strerror or exc})"
        try:
            code = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _stop(process)
            output.unlink(missing_ok=True)
            return f"timed out after {timeout:.0f} s"
    if code != 0 or not output.is_file() or output.stat().st_size == 0:
        output.unlink(missing_ok=True)
        return f"Chromium exited with code {code} and wrote nothing"
    return None


def _stop(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass


def write_pdfs(folder: Path, timeout: float = TIMEOUT) -> tuple[list[Path], str | None]:
    """therapists/<slug>.pdf beside every therapist page; returns the PDFs written and a
    message for the user when Chromium is missing or some pages could not be printed."""
    browser = find_chromium()
    if browser is None:
        return [], MISSING
    pages = sorted((Path(folder) / "therapists").glob("*.html"))

    def one(page: Path) -> tuple[Path, str | None]:
        target = page.with_suffix(".pdf")
        return target, render(browser, page, target, timeout=timeout)

    written: list[Path] = []
    failed: list[str] = []
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        for target, problem in pool.map(one, pages):
            if problem is None:
                written.append(target)
            else:
                failed.append(f"{target.name}: {problem}")
    if failed:
        return written, (
            f"Chromium could not print {len(failed)} of {len(pages)} therapist page(s) to PDF "
            f"(first: {failed[0]}); the HTML pages are complete and have a Print button"
        )
    return written, None
