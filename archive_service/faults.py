"""Named fault points, so crash-recovery tests can kill the process (SIGKILL) at a chosen place.

`ARCHIVE_FAULT_KILL_AT=after:store` makes the process kill itself with SIGKILL when it passes
that point. Unset (always, in production) it costs one dictionary look-up.
"""

from __future__ import annotations

import os
import signal


def fault_point(name: str) -> None:
    if os.environ.get("ARCHIVE_FAULT_KILL_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)
