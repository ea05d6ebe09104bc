"""The PREMIS "virus check" events of a transfer, from the scan made during validation.

Without a configured scanner the event says so ("not performed"), so the record never implies
a scan that did not happen; files the scanner could not read get their own "not performed" event.
"""

from __future__ import annotations

from archive_service.file_probes import VirusScan
from archive_service.packages.aip import ARCHIVE_AGENT
from archive_service.pipeline.context import new_event
from archive_service.pipeline.models import EventRecord

NOT_PERFORMED = "not performed"


def virus_check_events(scan: VirusScan | None, files: tuple[str, ...]) -> tuple[EventRecord, ...]:
    """One event for the files found clean, one for those not scanned (all of them without a scanner)."""
    if scan is None or not scan.configured:
        return (
            new_event(
                "virus check",
                "Chưa quét virus: kho lưu trữ chưa cấu hình trình quét (ARCHIVE_CLAMAV) / "
                "not scanned: no virus scanner is configured (ARCHIVE_CLAMAV)",
                ARCHIVE_AGENT,
                files,
                outcome=NOT_PERFORMED,
            ),
        )
    clean = tuple(p for p, r in scan.results.items() if r.status == "clean")
    skipped = {p: r.reason for p, r in scan.results.items() if r.status == "not_scanned"}
    events = []
    if clean:
        events.append(
            new_event(
                "virus check",
                f"{len(clean)} tệp không phát hiện mã độc / {len(clean)} files clean",
                scan.scanner,
                clean,
            )
        )
    if skipped:
        reasons = "; ".join(sorted(set(skipped.values())))
        events.append(
            new_event(
                "virus check",
                f"Chưa quét được {len(skipped)} tệp / {len(skipped)} files not scanned: {reasons}",
                scan.scanner,
                tuple(skipped),
                outcome=NOT_PERFORMED,
            )
        )
    return tuple(events)
