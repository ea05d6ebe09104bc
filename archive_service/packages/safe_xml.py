"""Parsing XML from senders without ever resolving entities, loading DTDs or touching the network.

Refused outright: any DOCTYPE (so no internal or external entities, no billion laughs), XInclude
elements, `xlink:href` values that carry a URL scheme, documents nested deeper than libxml2's
default limit, and files above the configured size. Each refusal says why, in both languages.
"""

from __future__ import annotations

from pathlib import Path

from lxml import etree

XINCLUDE_NS = "http://www.w3.org/2001/XInclude"
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"


class UnsafeXmlError(ValueError):
    """The XML tries something a transfer must never do (rule pkg.xml.unsafe)."""

    def __init__(self, reason_vi: str, reason_en: str) -> None:
        super().__init__(reason_en)
        self.reason_vi = reason_vi
        self.reason_en = reason_en


class MalformedXmlError(ValueError):
    """The XML is not well-formed; the message is libxml2's, with line numbers."""


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_pis=True,
    )


def parse_xml_bytes(data: bytes) -> etree._Element:
    """Parse `data` and return its root element, or raise UnsafeXmlError / MalformedXmlError."""
    head = data[:4096]
    if b"<!DOCTYPE" in head or b"<\x00!\x00D\x00O\x00C\x00T\x00Y\x00P\x00E" in head:
        raise UnsafeXmlError("tệp XML có khai báo DOCTYPE", "the XML has a DOCTYPE declaration")
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        message = str(exc)
        if "depth" in message.lower() or "huge" in message.lower():
            raise UnsafeXmlError(
                "tệp XML lồng quá sâu hoặc quá lớn", "the XML is nested too deeply or too large"
            ) from exc
        raise MalformedXmlError(message) from exc
    docinfo: etree.DocInfo = root.getroottree().docinfo
    has_dtd = docinfo.internalDTD is not None or docinfo.externalDTD is not None
    if has_dtd or docinfo.public_id or getattr(docinfo, "system_url", None):
        raise UnsafeXmlError("tệp XML có khai báo DOCTYPE", "the XML has a DOCTYPE declaration")
    _refuse_active_content(root)
    return root


def parse_xml_file(path: Path, max_bytes: int) -> etree._Element:
    """Read at most `max_bytes` from `path` and parse it safely."""
    with path.open("rb") as handle:
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise UnsafeXmlError(f"tệp XML lớn hơn {max_bytes} byte", f"the XML file is larger than {max_bytes} bytes")
    return parse_xml_bytes(data)


def _refuse_active_content(root: etree._Element) -> None:
    for element in root.iter():
        if not isinstance(element.tag, str):
            if isinstance(element, etree._Entity):
                raise UnsafeXmlError("tệp XML dùng thực thể (entity)", "the XML uses an entity reference")
            continue
        if element.tag.startswith(f"{{{XINCLUDE_NS}}}"):
            raise UnsafeXmlError("tệp XML dùng XInclude", "the XML uses XInclude")
        href = element.get(XLINK_HREF)
        if href is not None and ":" in href.split("/", 1)[0]:
            raise UnsafeXmlError(
                f"tệp XML tham chiếu ra ngoài gói: {href}",
                f"the XML references a location outside the package: {href}",
            )
