from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures.cli import CliRunner, Run, run_archive


@pytest.fixture
def archive_home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def cli(archive_home: Path) -> CliRunner:
    """`archive ...` in a subprocess with ARCHIVE_HOME set to a fresh folder."""

    def run(*args: str, env: dict[str, str] | None = None, timeout: float = 600) -> Run:
        return run_archive(archive_home, *args, env=env, timeout=timeout)

    return run
