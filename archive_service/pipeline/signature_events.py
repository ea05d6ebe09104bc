"""The PREMIS event of each PDF's signature validation at intake, before any conversion.

The PREMIS event type is the Library of Congress term "digital signature validation"; the detail
names each signature's field, signer, issuer, signing time (and where that time comes from), its
outcome, the trust roots used and the revocation limit (reference/tech.md §6). The outcome is the
worst of the file's signatures: "invalid", then "untrusted", then "valid"; "not signed" when the
file has none.
"""

from __future__ import annotations

from archive_service.file_checks import FileSignatures, SignatureResult
from archive_service.pipeline.context import new_event
from archive_service.pipeline.models import EventRecord

EVENT_TYPE = "digital signature validation"
_SEVERITY = ("valid", "untrusted", "invalid")


def signature_events(signatures: dict[str, FileSignatures]) -> list[EventRecord]:
    """One event per inspected PDF, in path order."""
    return [_event(signatures[path]) for path in sorted(signatures)]


def _event(checked: FileSignatures) -> EventRecord:
    results = checked.results
    if results:
        outcome = max((r.outcome for r in results), key=_SEVERITY.index)
        described = "; ".join(_describe(r) for r in results)
        detail = f"{len(results)} chữ ký / signatures: {described}"
    else:
        outcome = "not signed"
        detail = "Tệp không có chữ ký số / the file carries no digital signature"
    roots = checked.trust_roots or "không cấu hình / none configured"
    detail += f"; chứng thư gốc tin cậy / trust roots: {roots}; thu hồi / revocation: {checked.revocation}"
    return new_event(EVENT_TYPE, detail, f"{checked.tool} {checked.tool_version}", (checked.path,), outcome=outcome)


def _describe(result: SignatureResult) -> str:
    who = result.signer_common_name or result.signer_subject or "?"
    when = result.signing_time.isoformat() if result.signing_time else "?"
    source = f" ({result.signing_time_source})" if result.signing_time_source else ""
    text = f"“{result.field_name}” [{result.kind}] {who}, issuer {result.issuer}, signed {when}{source}"
    text += f": {result.outcome}"
    if result.error:
        text += f" ({result.error})"
    return text
