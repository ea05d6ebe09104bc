"""Figures an operator scrapes (`GET /api/v1/metrics`, Prometheus text format 0.0.4).

Counts only — what the archive holds and how transfers ended — computed from the catalog, so
no record content and no secret can leak through them.
"""

from __future__ import annotations

from sqlalchemy import func, select

from archive_service.catalog.models import AuditEntry, IndexOutbox, StoredObject, Transfer
from archive_service.states import TransferStatus
from archive_service.wiring import Services


def prometheus_text(services: Services) -> str:
    with services.sessions() as session:
        counted = session.execute(select(Transfer.status, func.count()).group_by(Transfer.status))
        by_status: dict[str, int] = {str(row[0]): int(row[1]) for row in counted.all()}
        objects, size = session.execute(select(func.count(), func.coalesce(func.sum(StoredObject.size), 0))).one()
        entries = session.scalar(select(func.count()).select_from(AuditEntry)) or 0
        waiting = session.scalar(select(func.count()).select_from(IndexOutbox)) or 0
    copies = len(services.store.copies)
    lines = [
        "# HELP archive_transfers Transfers by their current status.",
        "# TYPE archive_transfers gauge",
        *(f'archive_transfers{{status="{s}"}} {by_status.get(str(s), 0)}' for s in TransferStatus),
        "# HELP archive_stored_objects AIP objects held (each kept in every copy).",
        "# TYPE archive_stored_objects gauge",
        f"archive_stored_objects {objects}",
        "# HELP archive_stored_bytes Bytes held in one copy.",
        "# TYPE archive_stored_bytes gauge",
        f"archive_stored_bytes {size}",
        "# HELP archive_storage_copies Independent copies every object is kept in.",
        "# TYPE archive_storage_copies gauge",
        f"archive_storage_copies {copies}",
        "# HELP archive_audit_log_entries Entries in the hash-chained audit log.",
        "# TYPE archive_audit_log_entries counter",
        f"archive_audit_log_entries {entries}",
        "# HELP archive_index_outbox Dossiers waiting to be indexed.",
        "# TYPE archive_index_outbox gauge",
        f"archive_index_outbox {waiting}",
    ]
    return "\n".join(lines) + "\n"
