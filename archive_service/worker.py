"""`archive worker`: a process that consumes the work queue (decision 0017).

Run as many as the load needs, on any hosts that reach the catalog, the queue and the stores;
each takes transfers one per thread. SIGINT finishes the transfers in progress and stops;
SIGTERM stops at once (the interrupted transfers are resumed by another worker, as after a crash).
"""

from __future__ import annotations

import logging
import os

from archive_service.config import Settings
from archive_service.errors import ConfigurationError
from archive_service.wiring import build_services
from archive_service.work_queue import WorkQueue


def run_worker(settings: Settings, concurrency: int) -> None:
    """Consume transfers with `concurrency` threads until stopped by a signal."""
    logging.basicConfig(
        level=os.environ.get("ARCHIVE_LOG_LEVEL", "INFO").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if concurrency < 1:
        raise ConfigurationError("--concurrency phải ít nhất là 1", "--concurrency must be at least 1")
    # Services are not closed at the end: after SIGTERM, transfer threads may still be running
    # until the process exits, and closing the index or catalog under them could end their
    # transfer as failed instead of leaving it (with its lease) for another worker to resume.
    queue = WorkQueue(build_services(settings))
    consumer = queue.consumer(concurrency)
    logging.getLogger("archive_service.worker").info(
        "Tiến trình xử lý sẵn sàng / worker ready: %d thread(s), %s queue",
        concurrency,
        "PostgreSQL" if queue.distributed else "embedded",
    )
    queue.start_sweeping()
    try:
        consumer.run()
    finally:
        queue.stop_sweeping()
