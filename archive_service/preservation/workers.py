"""Warm worker processes for conversions, kept for the life of the process that owns them.

OCRmyPDF changes process-wide state (PATH, logging, `sys.stderr`), so one process converts one
file at a time; independent files are converted in parallel in a few long-lived processes, each
started once (spawned, so no lock or thread of the parent is inherited) with the conversion
modules imported, and whose tool probes (Ghostscript, Tesseract versions) are cached for its life.
Each worker runs Tesseract single-threaded (OMP_THREAD_LIMIT=1) and OCRmyPDF parallelises by page.

A worker that dies (a crash in Ghostscript, the out-of-memory killer) breaks the whole pool, and a
batch in which nothing finishes for `stall_timeout` seconds is stopped by killing the workers and
their children. The tasks that did not finish are then run again one at a time on a fresh pool,
so a bad file does not fail its neighbours; a task that breaks the pool when alone gets a
`WorkerLost` with the reason. Workers put themselves in their own process group, so that their
Ghostscript and Tesseract children die with them, and exit when their parent is gone.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

_PARENT_POLL_SECONDS = 1.0


@dataclass(frozen=True)
class WorkerLost:
    """A task whose worker process died or stalled even when it ran alone."""

    reason_vi: str
    reason_en: str


_CRASHED = WorkerLost(
    "tiến trình chuyển đổi dừng đột ngột (lỗi nghiêm trọng hoặc bị hệ điều hành dừng, ví dụ do hết bộ nhớ)",
    "the conversion process stopped abruptly (a crash, or killed by the system, e.g. out of memory)",
)


def _stalled(seconds: float) -> WorkerLost:
    return WorkerLost(
        f"quá trình chuyển đổi không xong trong {seconds:g} giây nên đã bị dừng",
        f"the conversion did not finish within {seconds:g} seconds and was stopped",
    )


class WorkerPool(Generic[T, R]):
    """Runs one task function over many items in warm worker processes, created on first use."""

    def __init__(
        self,
        task: Callable[[T], R],
        *,
        workers: int,
        stall_timeout: float,
        warm_modules: Sequence[str] = (),
    ) -> None:
        self._task = task
        self._workers = workers
        self._stall_timeout = stall_timeout
        self._warm_modules = tuple(warm_modules)
        self._executor: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def run(self, items: Sequence[T]) -> list[R | WorkerLost]:
        """The task's result for each item, in order; a lost worker gives WorkerLost for its item.

        An exception the task raises is raised here; the items of the batch not yet started
        are cancelled.
        """
        if not items:
            return []
        results: dict[int, R | WorkerLost] = {}
        unfinished = self._run_batch(items, range(len(items)), results)
        for index in unfinished:
            for lost_index, reason in self._run_batch(items, [index], results).items():
                results[lost_index] = reason
        return [results[index] for index in range(len(items))]

    def close(self) -> None:
        """Stop the workers (they are started again if the pool is used afterwards)."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)

    def _run_batch(
        self, items: Sequence[T], indices: Sequence[int], results: dict[int, R | WorkerLost]
    ) -> dict[int, WorkerLost]:
        """Run `items[i]` for each index into `results`; the indices left unfinished, with why."""
        executor = self._current()
        futures: dict[Future[R], int] = {executor.submit(self._task, items[i]): i for i in indices}
        pending = set(futures)
        lost: dict[int, WorkerLost] = {}
        try:
            while pending:
                done, pending = wait(pending, timeout=self._stall_timeout, return_when=FIRST_COMPLETED)
                if not done:
                    lost.update((futures[f], _stalled(self._stall_timeout)) for f in pending)
                    break
                for future in done:
                    try:
                        results[futures[future]] = future.result()
                    except BrokenProcessPool:
                        lost[futures[future]] = _CRASHED
        except Exception:
            for future in pending:
                future.cancel()
            raise
        except BaseException:  # interrupted: nothing of this batch may outlive the caller
            self._discard(executor)
            raise
        if lost:
            self._discard(executor)
        return lost

    def _current(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = ProcessPoolExecutor(
                    max_workers=self._workers,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_start_worker,
                    initargs=(os.getpid(), self._warm_modules),
                )
            return self._executor

    def _discard(self, executor: ProcessPoolExecutor) -> None:
        """Forget a broken or stalled executor, killing its workers and their children."""
        with self._lock:
            if self._executor is executor:
                self._executor = None
        processes = getattr(executor, "_processes", None) or {}
        for pid in list(processes):
            for kill in (os.killpg, os.kill):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    kill(pid, signal.SIGKILL)
        executor.shutdown(wait=True, cancel_futures=True)


def _start_worker(parent: int, modules: tuple[str, ...]) -> None:
    """Initialiser of a worker process: own process group, single-threaded OCR, warm imports."""
    os.setpgrp()
    os.environ["OMP_THREAD_LIMIT"] = "1"
    # fontTools warns about harmless font-table slack ("too much 'hmtx' table data") on stderr,
    # which would reach the user's terminal; conversion problems are reported as findings instead.
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True, name="parent-watch").start()
    for name in modules:
        importlib.import_module(name)


def _exit_with_parent(parent: int) -> None:
    """Kill this worker and its children once the process that started it is gone."""
    while os.getppid() == parent:
        time.sleep(_PARENT_POLL_SECONDS)
    os.killpg(0, signal.SIGKILL)
