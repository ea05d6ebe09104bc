"""Index: drain the outbox into the search index (after commit; never blocks intake)."""

from __future__ import annotations

from archive_service.indexing import drain_outbox
from archive_service.pipeline.context import StepContext
from archive_service.pipeline.models import IndexOutput


class IndexStep:
    name = "index"
    version = "1"
    output_model = IndexOutput

    def run(self, ctx: StepContext) -> IndexOutput:
        return IndexOutput(indexed=drain_outbox(ctx.services))
