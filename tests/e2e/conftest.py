from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

ARCHIVE = Path(sys.executable).with_name("archive")


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str

    def json(self) -> object:
        return json.loads(self.stdout)


CliRunner = Callable[..., Run]


@pytest.fixture
def archive_home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def cli(archive_home: Path) -> CliRunner:
    """Run the installed `archive` console script in a subprocess, as a user would."""

    def run(*args: str, env: dict[str, str] | None = None, timeout: float = 600) -> Run:
        full_env = {**os.environ, "ARCHIVE_HOME": str(archive_home), **(env or {})}
        proc = subprocess.run(
            [str(ARCHIVE), *args], capture_output=True, text=True, env=full_env, timeout=timeout, check=False
        )
        return Run(proc.returncode, proc.stdout, proc.stderr)

    return run
