"""Identify: the real format of every record file, for PREMIS.

siegfried gives the PRONOM PUID, format name and version in one run over the package; libmagic
gives the MIME type. Where siegfried is not installed, or matched the name only, the PUID comes
from the libmagic table of `tools.identify`. Each file's `identified_by` names the tool, its
version and its signature set.
"""

from __future__ import annotations

from archive_service.file_probes import identified_mimetype
from archive_service.pipeline.context import StepContext, new_event
from archive_service.pipeline.models import FormatModel, IdentifyOutput, ValidateOutput
from archive_service.tools.identify import Identification, identify
from archive_service.tools.pronom import PronomMatch, PronomReport, identify_pronom


class IdentifyStep:
    name = "identify"
    version = "2"
    output_model = IdentifyOutput

    def run(self, ctx: StepContext) -> IdentifyOutput:
        paths = [file.path for item in ctx.output(ValidateOutput).items for file in item.files]
        pronom = identify_pronom([ctx.staged_root / p for p in paths], ctx.services.settings.tools)
        formats: dict[str, FormatModel] = {}
        events = []
        for path in paths:
            found = identify(ctx.staged_root / path)
            match = pronom.get(ctx.staged_root / path) if pronom else None
            model = format_model(found, match, pronom)
            formats[path] = model
            version = f" {model.format_version}" if model.format_version else ""
            events.append(
                new_event(
                    "format identification",
                    f"{model.mimetype}; {model.format_name}{version}; "
                    f"PRONOM {model.puid or 'không rõ / unknown'}{f' ({model.basis})' if model.basis else ''}",
                    model.identified_by,
                    (path,),
                )
            )
        return IdentifyOutput(formats=formats, events=tuple(events))


def format_model(found: Identification, match: PronomMatch | None, pronom: PronomReport | None) -> FormatModel:
    """siegfried's answer where it identified the bytes, else libmagic's with the table PUID."""
    mimetype = identified_mimetype(found.mimetype, match)
    if pronom is not None and match is not None and match.by_content:
        return FormatModel(
            mimetype=mimetype,
            format_name=match.format_name,
            puid=match.puid,
            format_version=match.format_version,
            identified_by=pronom.agent,
            basis=match.basis,
        )
    return FormatModel(
        mimetype=mimetype,
        format_name=found.format_name,
        puid=found.puid,
        identified_by=f"{found.tool} {found.tool_version}".strip(),
    )
