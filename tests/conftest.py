"""Shared fixtures: isolated history/key locations so tests never touch the user's files."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
REALDATA = SHARED / "realdata"


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path_factory, monkeypatch):
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("CHARTAUDIT_HISTORY", str(home / "history.sqlite"))
    monkeypatch.setenv("CHARTAUDIT_REDACT_KEY", "test-key")
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("HOME", str(home))
    yield


def realdata(*parts: str) -> Path:
    """Path into ../shared/realdata; tests that need it skip when it is not there."""
    path = REALDATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real data not available: {path}")
    return path


def sample_export(folder: Path, notes: int, seed: int) -> Path:
    """A synthetic export written by the real `chartaudit sample-data` command."""
    from typer.testing import CliRunner

    from chartaudit.cli import app

    result = CliRunner().invoke(
        app, ["sample-data", str(folder), "--notes", str(notes), "--seed", str(seed)]
    )
    assert result.exit_code == 0, result.output
    return folder


@pytest.fixture
def full_disk_for_pages(monkeypatch):
    """Writing a therapist page fails as on a full disk; every other file is written."""
    real = Path.write_bytes

    def full_disk(self, payload):
        if self.parent.name == "therapists":
            raise OSError(28, "No space left on device")
        return real(self, payload)

    monkeypatch.setattr(Path, "write_bytes", full_disk)
