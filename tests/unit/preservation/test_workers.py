"""The warm worker pool: results in order, warm processes reused, crashes and stalls isolated to their item."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from archive_service.errors import MissingDependencyError
from archive_service.preservation.workers import WorkerLost, WorkerPool

pytestmark = pytest.mark.slow  # each pool spawns Python processes

# Tasks run in spawned processes, so they are module-level functions importable from there.


def _pid_and_limit(value: int) -> tuple[int, int, str | None]:
    return value * 2, os.getpid(), os.environ.get("OMP_THREAD_LIMIT")


def _die_on_three(value: int) -> int:
    if value == 3:
        os.kill(os.getpid(), signal.SIGKILL)
    return value


def _hang_on_two(value: int) -> int:
    if value == 2:
        time.sleep(600)
    return value


def _missing_tool(value: int) -> int:
    raise MissingDependencyError(f"thiếu công cụ {value}", f"tool {value} is missing", details=[{"n": value}])


def _grandchild_then_hang(path: str) -> int:
    """Start a child process (as OCRmyPDF starts Ghostscript), note its pid, and hang."""
    import subprocess

    child = subprocess.Popen(["sleep", "600"])
    Path(path).write_text(str(child.pid), encoding="utf-8")
    time.sleep(600)
    return 0


def test_results_come_back_in_order_from_warm_reused_processes() -> None:
    pool: WorkerPool[int, tuple[int, int, str | None]] = WorkerPool(_pid_and_limit, workers=2, stall_timeout=60)
    try:
        first = pool.run(list(range(8)))
        second = pool.run(list(range(4)))
    finally:
        pool.close()
    assert [r[0] for r in first if not isinstance(r, WorkerLost)] == [0, 2, 4, 6, 8, 10, 12, 14]
    pids = {r[1] for r in [*first, *second] if not isinstance(r, WorkerLost)}
    assert 1 <= len(pids) <= 2  # the same two processes served both batches
    assert os.getpid() not in pids
    assert {r[2] for r in first if not isinstance(r, WorkerLost)} == {"1"}  # single-threaded Tesseract
    assert pool.run([]) == []


def test_a_crash_fails_only_its_own_item_and_the_pool_recovers() -> None:
    pool: WorkerPool[int, int] = WorkerPool(_die_on_three, workers=2, stall_timeout=60)
    try:
        results = pool.run([1, 2, 3, 4, 5])
        after = pool.run([6, 7])
    finally:
        pool.close()
    assert results[:2] == [1, 2] and results[3:] == [4, 5]
    lost = results[2]
    assert isinstance(lost, WorkerLost)
    assert "stopped abruptly" in lost.reason_en
    assert "dừng đột ngột" in lost.reason_vi
    assert after == [6, 7]


def test_a_stalled_item_is_stopped_after_the_timeout_without_failing_its_neighbours() -> None:
    pool: WorkerPool[int, int] = WorkerPool(_hang_on_two, workers=2, stall_timeout=3)
    started = time.monotonic()
    try:
        results = pool.run([1, 2, 3])
    finally:
        pool.close()
    assert time.monotonic() - started < 60
    assert results[0] == 1 and results[2] == 3
    lost = results[1]
    assert isinstance(lost, WorkerLost)
    assert lost.reason_en == "the conversion did not finish within 3 seconds and was stopped"


def test_a_stalled_worker_takes_its_children_with_it(tmp_path: Path) -> None:
    marker = tmp_path / "child.pid"
    pool: WorkerPool[str, int] = WorkerPool(_grandchild_then_hang, workers=1, stall_timeout=3)
    try:
        [result] = pool.run([str(marker)])
    finally:
        pool.close()
    assert isinstance(result, WorkerLost)
    child = int(marker.read_text(encoding="utf-8"))
    deadline = time.monotonic() + 10
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(child)


def test_an_error_raised_by_the_task_reaches_the_caller_with_both_messages() -> None:
    pool: WorkerPool[int, int] = WorkerPool(_missing_tool, workers=1, stall_timeout=60)
    try:
        with pytest.raises(MissingDependencyError) as caught:
            pool.run([7])
    finally:
        pool.close()
    assert caught.value.message_vi == "thiếu công cụ 7"
    assert caught.value.message_en == "tool 7 is missing"
    assert caught.value.details == [{"n": 7}]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (killed, not yet reaped by its new parent) counts as gone
    return Path(f"/proc/{pid}/stat").read_text(encoding="utf-8").split()[2] != "Z"
