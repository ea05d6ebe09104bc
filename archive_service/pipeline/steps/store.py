"""Store: put every AIP object into every copy, each verified against its SHA-256.

Keys are stable (`<aip_id>/<path>`, the AIP id derived from the transfer id), so a retried step
writes to the same keys: an object stored by an earlier attempt is verified and kept, never
written twice. Before writing, the unfinished uploads an interrupted attempt left behind are
aborted (decision 0012). Stores with object lock keep each object locked until the date derived
from the dossier's retention period (`archive_service.retention`).
"""

from __future__ import annotations

from archive_service.faults import fault_point
from archive_service.packages.aip import ARCHIVE_AGENT
from archive_service.pipeline.context import StepContext, new_event
from archive_service.pipeline.models import BuildAipOutput, StoreOutput, ValidateOutput
from archive_service.retention import retain_until
from archive_service.storage_debris import discard_incomplete_uploads


def object_key(aip_id: str, aip_path: str) -> str:
    return f"{aip_id}/{aip_path}"


class StoreStep:
    name = "store"
    version = "1"
    output_model = StoreOutput

    def run(self, ctx: StepContext) -> StoreOutput:
        built = ctx.output(BuildAipOutput)
        validated = ctx.output(ValidateOutput)
        store = ctx.services.store
        until = retain_until(
            validated.dossier_values,
            validated.profile,
            ctx.received_at,
            permanent_years=ctx.services.settings.retention_permanent_years,
        )
        keys = [object_key(built.aip_id, item.aip_path) for item in built.objects]
        discard_incomplete_uploads(store, keys)
        for index, (key, item) in enumerate(zip(keys, built.objects, strict=True)):
            store.put_file(key, ctx.work_dir / item.source, item.sha256, retain_until=until)
            if index == 0:
                fault_point("store:after-first-object")
        copies = ", ".join(s.name for s in store.copies)
        lock_vi = f", bản có khóa đối tượng giữ đến {until:%Y-%m-%d}" if until else ""
        lock_en = f", copies with object lock retain them until {until:%Y-%m-%d}" if until else ""
        event = new_event(
            "replication",
            f"{len(keys)} đối tượng lưu vào {len(store.copies)} bản ({copies}), mã băm SHA-256 đã kiểm tra"
            f"{lock_vi} / {len(keys)} objects stored in {len(store.copies)} copies ({copies}), SHA-256 verified"
            f"{lock_en}",
            ARCHIVE_AGENT,
        )
        return StoreOutput(keys=tuple(keys), events=(event,))
