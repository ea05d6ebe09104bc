"""The backends the contract tests run on.

Each backend is a small class giving the tests a store plus the few things only an intruder
with direct access could do (corrupt or remove stored bytes, leave crash debris). Adding a
backend (MinIO) means one such class and one entry in `BACKENDS`; the tests stay as they are.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Protocol

import pytest

from storage.local import LocalObjectStore
from storage.protocol import ObjectStore


class Backend(Protocol):
    store: ObjectStore

    def corrupt(self, key: str) -> None:
        """Flip one stored byte behind the store's back."""

    def remove(self, key: str) -> None:
        """Remove the stored bytes behind the store's back."""

    def leave_crash_debris(self, key: str) -> None:
        """Leave what a process killed in the middle of storing `key` would leave."""

    def is_protected(self, key: str) -> bool:
        """Whether the committed object is protected against being overwritten."""

    def raw_state(self) -> dict[str, tuple[int, ...]]:
        """Everything the backend holds, with enough metadata to see any change."""


class LocalBackend:
    def __init__(self, tmp_path: Path) -> None:
        self.root = tmp_path / "store"
        self.root.mkdir()  # a provisioned store, as a bucket would be
        self.store: ObjectStore = LocalObjectStore(self.root, "primary")

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*key.split("/"))

    def corrupt(self, key: str) -> None:
        path = self._path(key)
        path.chmod(0o644)  # committed files are read-only; an intruder just changes that
        with path.open("r+b") as stored:
            first = stored.read(1)
            stored.seek(0)
            stored.write(bytes([first[0] ^ 0x01]))

    def remove(self, key: str) -> None:
        self._path(key).unlink()

    def leave_crash_debris(self, key: str) -> None:
        folder = self._path(key).parent
        folder.mkdir(parents=True, exist_ok=True)
        (self.root / ".tmp-0123456789abcdef").write_bytes(b"half an obj")  # killed while streaming
        (folder / ".tmp-fedcba9876543210").write_bytes(b"half")  # an older writer's temp file
        record = self.root.joinpath(".fixity", *key.split("/"))  # killed between the two renames
        record.parent.mkdir(parents=True, exist_ok=True)
        record.write_text(f"# size 4\n{'ab' * 32}  {key}\n", encoding="utf-8")

    def is_protected(self, key: str) -> bool:
        return stat.S_IMODE(self._path(key).stat().st_mode) & 0o222 == 0

    def raw_state(self) -> dict[str, tuple[int, ...]]:
        state: dict[str, tuple[int, ...]] = {}
        for folder, _, files in os.walk(self.root):
            for name in files:
                path = Path(folder, name)
                if path != self.root / ".lock":
                    info = path.stat()
                    relative = path.relative_to(self.root).as_posix()
                    state[relative] = (info.st_ino, info.st_mtime_ns, info.st_size, info.st_mode)
        return state


BACKENDS = [pytest.param(LocalBackend, id="local")]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    backend: Backend = request.param(tmp_path)
    return backend


@pytest.fixture
def store(backend: Backend) -> ObjectStore:
    return backend.store
