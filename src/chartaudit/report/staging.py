"""Atomic output: everything is written to a staging folder and moved into place at the end."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def staged(out_dir: Path) -> Iterator[Path]:
    """Yield a staging folder; on success its files replace those in `out_dir`.

    A failed run (any exception) leaves `out_dir` exactly as it was: no half-written report.
    Sub-folders (therapists/, episodes/, letters/) are replaced whole so stale pages from an
    earlier run do not linger next to new ones.
    """
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=".chartaudit-", dir=out_dir.parent))
    try:
        yield stage
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    out_dir.mkdir(parents=True, exist_ok=True)
    for entry in sorted(stage.iterdir()):
        target = out_dir / entry.name
        if entry.is_dir():
            if target.exists():
                old = target.with_name(f".{target.name}.old")
                shutil.rmtree(old, ignore_errors=True)
                os.replace(target, old)
                os.replace(entry, target)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(entry, target)
        elif target.exists():
            # Moved aside first: renaming over an existing file makes ext4 flush the new one
            # to disk (half a second for a million notes' workbook).
            old = target.with_name(f".{target.name}.old")
            os.replace(target, old)
            os.replace(entry, target)
            old.unlink(missing_ok=True)
        else:
            os.replace(entry, target)
    shutil.rmtree(stage, ignore_errors=True)
