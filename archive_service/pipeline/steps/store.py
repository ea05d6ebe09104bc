"""Store: put every AIP object into every copy, each verified against its SHA-256."""

from __future__ import annotations

from archive_service.faults import fault_point
from archive_service.packages.aip import ARCHIVE_AGENT
from archive_service.pipeline.context import StepContext, new_event
from archive_service.pipeline.models import BuildAipOutput, StoreOutput


def object_key(aip_id: str, aip_path: str) -> str:
    return f"{aip_id}/{aip_path}"


class StoreStep:
    name = "store"
    version = "1"
    output_model = StoreOutput

    def run(self, ctx: StepContext) -> StoreOutput:
        built = ctx.output(BuildAipOutput)
        store = ctx.services.store
        keys = []
        for index, item in enumerate(built.objects):
            key = object_key(built.aip_id, item.aip_path)
            store.put_file(key, ctx.work_dir / item.source, item.sha256)
            keys.append(key)
            if index == 0:
                fault_point("store:after-first-object")
        copies = ", ".join(s.name for s in store.copies)
        event = new_event(
            "replication",
            f"{len(keys)} đối tượng lưu vào {len(store.copies)} bản ({copies}), mã băm SHA-256 đã kiểm tra / "
            f"{len(keys)} objects stored in {len(store.copies)} copies ({copies}), SHA-256 verified",
            ARCHIVE_AGENT,
        )
        return StoreOutput(keys=tuple(keys), events=(event,))
