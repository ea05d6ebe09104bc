"""Named fault points, so failure tests can stop the process at a chosen place.

`ARCHIVE_FAULT_KILL_AT=after:store` makes the process kill itself with SIGKILL when it passes
that point. `ARCHIVE_FAULT_PAUSE_AT=store:after-first-object` with `ARCHIVE_FAULT_PAUSE_FILE=F`
makes it create F and wait there until the test removes F (at most `PAUSE_LIMIT_SECONDS`), so a
test can act at that moment, e.g. stop a backend. Unset (always, in production) each costs one
dictionary look-up.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

PAUSE_LIMIT_SECONDS = 120.0


def fault_point(name: str) -> None:
    if os.environ.get("ARCHIVE_FAULT_KILL_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)
    if os.environ.get("ARCHIVE_FAULT_PAUSE_AT") == name:
        _pause(Path(os.environ["ARCHIVE_FAULT_PAUSE_FILE"]))


def _pause(marker: Path) -> None:
    marker.write_text(str(os.getpid()), encoding="ascii")
    deadline = time.monotonic() + PAUSE_LIMIT_SECONDS
    while marker.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
