"""Identify: the real format of every record file (libmagic MIME type and PRONOM PUID)."""

from __future__ import annotations

from archive_service.pipeline.context import StepContext, new_event
from archive_service.pipeline.models import FormatModel, IdentifyOutput, ValidateOutput
from archive_service.tools.identify import identify


class IdentifyStep:
    name = "identify"
    version = "1"
    output_model = IdentifyOutput

    def run(self, ctx: StepContext) -> IdentifyOutput:
        formats: dict[str, FormatModel] = {}
        events = []
        for item in ctx.output(ValidateOutput).items:
            for file in item.files:
                found = identify(ctx.staged_root / file.path)
                formats[file.path] = FormatModel(
                    mimetype=found.mimetype, format_name=found.format_name, puid=found.puid
                )
                events.append(
                    new_event(
                        "format identification",
                        f"{found.mimetype}; {found.format_name}; PRONOM {found.puid or 'không rõ / unknown'}",
                        f"{found.tool} {found.tool_version}",
                        (file.path,),
                    )
                )
        return IdentifyOutput(formats=formats, events=tuple(events))
