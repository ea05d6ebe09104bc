"""Finding Ghostscript: the setting or the tool cache, never PATH, and never a version below 10.03."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from archive_service.config import Settings
from archive_service.errors import ExitCode, MissingDependencyError
from archive_service.tools.ghostscript import (
    INSTALL_COMMAND,
    MINIMUM_VERSION,
    check_ghostscript,
    find_ghostscript,
    ghostscript_version,
)


def fake_gs(folder: Path, version: str, *, counter: Path | None = None) -> Path:
    """A tiny shell script that answers `--version` like Ghostscript."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "gs"
    count = f'echo x >> "{counter}"\n' if counter else ""
    script.write_text(f"#!/bin/sh\n{count}echo {version}\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def test_finds_the_cached_ghostscript_at_least_10_03(gs: Path) -> None:
    assert gs.is_relative_to(Settings().tools.cache_dir) or gs == Settings().tools.ghostscript
    assert ghostscript_version(gs) >= MINIMUM_VERSION
    assert check_ghostscript(gs) >= (10, 3, 0)


def test_refuses_an_old_ghostscript_with_the_install_command(tmp_path: Path) -> None:
    old = fake_gs(tmp_path / "debian", "10.0.0")
    with pytest.raises(MissingDependencyError) as caught:
        find_ghostscript(old, tmp_path / "cache")
    error = caught.value
    assert error.exit_code == ExitCode.MISSING_TOOL
    assert "10.0.0" in error.message_en
    assert "10.0.0" in error.message_vi
    assert INSTALL_COMMAND == "bash scripts/install-system-deps.sh"
    assert INSTALL_COMMAND in error.message_en
    assert INSTALL_COMMAND in error.message_vi


def test_a_cached_old_ghostscript_is_refused_too(tmp_path: Path) -> None:
    fake_gs(tmp_path / "cache" / "gs" / "bin", "10.02.1")
    with pytest.raises(MissingDependencyError, match=r"10\.2\.1 at .* is too old"):
        find_ghostscript(None, tmp_path / "cache")


def test_ghostscript_on_path_is_never_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    on_path = fake_gs(tmp_path / "bin", "10.07.0")
    monkeypatch.setenv("PATH", str(on_path.parent))
    with pytest.raises(MissingDependencyError) as caught:
        find_ghostscript(None, tmp_path / "empty-cache")
    assert INSTALL_COMMAND in caught.value.message_en


def test_the_setting_wins_and_must_exist(tmp_path: Path) -> None:
    configured = fake_gs(tmp_path / "opt", "10.05.1")
    fake_gs(tmp_path / "cache" / "gs" / "bin", "10.07.0")
    assert find_ghostscript(configured, tmp_path / "cache") == configured
    with pytest.raises(MissingDependencyError, match="ARCHIVE_TOOLS__GHOSTSCRIPT"):
        find_ghostscript(tmp_path / "nowhere" / "gs", tmp_path / "cache")


def test_a_program_without_a_version_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MissingDependencyError, match="reported no version"):
        check_ghostscript(fake_gs(tmp_path, "GPL Ghostscript"))
    broken = tmp_path / "broken" / "gs"
    broken.parent.mkdir()
    broken.write_text("not a program")
    with pytest.raises(MissingDependencyError, match="Cannot run"):
        check_ghostscript(broken)


def test_the_version_is_probed_once_per_process(tmp_path: Path) -> None:
    counter = tmp_path / "calls"
    program = fake_gs(tmp_path / "bin", "10.07.0", counter=counter)
    assert check_ghostscript(program) == (10, 7, 0)
    assert check_ghostscript(program) == (10, 7, 0)
    assert counter.read_text().count("x") == 1
