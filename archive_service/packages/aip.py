"""Writing the archival information package (AIP) in the E-ARK layout of Circular 05/2025 AIP_hoso.

The AIP is stored as individual objects under `<aip_id>/`, so each has its own fixity:

    METS.xml                                 root METS written by the archive (OAISPACKAGETYPE=AIP)
    metadata/descriptive/EAD.xml             the sender's dossier metadata, bit for bit
    metadata/preservation/PREMIS.xml         objects, events and agents (PREMIS 3)
    submission/METS.xml                      the sender's root METS, bit for bit, as evidence
    representations/rep1/...                 the sender's representation: METS, metadata, originals
    representations/rep2/METS.xml            the preservation representation written by the archive
    representations/rep2/data/<copies>       PDF/A preservation copies

Only the three generated XML files are written here; every other object is streamed to storage
from where it already is (the transfer's work dir), so nothing is copied twice.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import cast

from lxml import etree

from archive_service import __version__
from archive_service.packages.mets import CSIP_NS, METS_NS, XLINK_NS

PREMIS_NS = "http://www.loc.gov/premis/v3"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
ARCHIVE_AGENT = f"archive-service {__version__}"
_METS_NSMAP = cast(dict[str, str], {None: METS_NS, "xlink": XLINK_NS, "csip": CSIP_NS})
_M = f"{{{METS_NS}}}"
_P = f"{{{PREMIS_NS}}}"
_HREF = f"{{{XLINK_NS}}}href"


@dataclass(frozen=True)
class AipFile:
    """A file that goes into the AIP: where its bytes are now and what is known about them."""

    aip_path: str
    source: Path
    sha256: str
    size: int
    mimetype: str = ""
    format_name: str = ""
    puid: str = ""
    derived_from: str | None = None


@dataclass(frozen=True)
class AipDocument:
    """A document of the dossier: its metadata file and its files in each representation."""

    code: str
    label: str
    metadata_path: str
    originals: tuple[str, ...]
    copies: tuple[str, ...]


@dataclass(frozen=True)
class PremisEvent:
    event_id: str
    event_type: str
    at: datetime
    detail: str
    outcome: str
    agent: str
    objects: tuple[str, ...]


@dataclass(frozen=True)
class AipSpec:
    aip_id: str
    package_id: str
    dossier_code: str
    created_at: datetime
    creator_name: str
    creator_org: str
    files: tuple[AipFile, ...]
    documents: tuple[AipDocument, ...]
    events: tuple[PremisEvent, ...]


def write_aip(spec: AipSpec, folder: Path) -> list[AipFile]:
    """Write the generated METS and PREMIS files into `folder`; return every object of the AIP."""
    folder.mkdir(parents=True, exist_ok=True)
    generated: list[AipFile] = []
    premis = _write(folder / "PREMIS.xml", "metadata/preservation/PREMIS.xml", _premis(spec), "text/xml")
    generated.append(premis)
    rep2 = _write(folder / "rep2-METS.xml", "representations/rep2/METS.xml", _rep2_mets(spec), "text/xml")
    generated.append(rep2)
    everything = [*spec.files, *generated]
    root = _write(folder / "METS.xml", "METS.xml", _root_mets(spec, everything), "text/xml")
    return [*everything, root]


def _write(path: Path, aip_path: str, root: etree._Element, mimetype: str) -> AipFile:
    data = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    path.write_bytes(data)
    return AipFile(aip_path, path, hashlib.sha256(data).hexdigest(), len(data), mimetype, "XML", "fmt/101")


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def _mets_root(objid: str, spec: AipSpec) -> etree._Element:
    mets = etree.Element(f"{_M}mets", nsmap=_METS_NSMAP)
    mets.set("OBJID", objid)
    mets.set("TYPE", "Mixed")
    mets.set("LABEL", spec.dossier_code)
    mets.set("PROFILE", "https://earkaip.dilcis.eu/profile/E-ARK-AIP.xml")
    header = etree.SubElement(mets, f"{_M}metsHdr", CREATEDATE=_iso(spec.created_at), RECORDSTATUS="NEW")
    header.set(f"{{{CSIP_NS}}}OAISPACKAGETYPE", "AIP")
    archive = etree.SubElement(header, f"{_M}agent", ROLE="CREATOR", TYPE="OTHER", OTHERTYPE="SOFTWARE")
    etree.SubElement(archive, f"{_M}name").text = ARCHIVE_AGENT
    sender = etree.SubElement(header, f"{_M}agent", ROLE="OTHER", OTHERROLE="SUBMITTER", TYPE="ORGANIZATION")
    etree.SubElement(sender, f"{_M}name").text = spec.creator_name
    etree.SubElement(sender, f"{_M}note").text = spec.creator_org
    return mets


def _file_node(group: etree._Element, ident: str, item: AipFile, href: str) -> None:
    node = etree.SubElement(
        group,
        f"{_M}file",
        ID=ident,
        MIMETYPE=item.mimetype or "application/octet-stream",
        SIZE=str(item.size),
        CHECKSUM=item.sha256,
        CHECKSUMTYPE="SHA-256",
    )
    etree.SubElement(node, f"{_M}FLocat", {_HREF: href, f"{{{XLINK_NS}}}type": "simple", "LOCTYPE": "URL"})


def _md_ref(parent: etree._Element, item: AipFile, href: str, mdtype: str) -> None:
    etree.SubElement(
        parent,
        f"{_M}mdRef",
        {
            "LOCTYPE": "URL",
            "MDTYPE": mdtype,
            "MIMETYPE": "text/xml",
            f"{{{XLINK_NS}}}type": "simple",
            _HREF: href,
            "SIZE": str(item.size),
            "CHECKSUM": item.sha256,
            "CHECKSUMTYPE": "SHA-256",
        },
    )


def _root_mets(spec: AipSpec, objects: list[AipFile]) -> etree._Element:
    mets = _mets_root(spec.aip_id, spec)
    by_path = {o.aip_path: o for o in objects}
    dmd = etree.SubElement(mets, f"{_M}dmdSec", ID="dmd-dossier", CREATED=_iso(spec.created_at))
    _md_ref(dmd, by_path["metadata/descriptive/EAD.xml"], "metadata/descriptive/EAD.xml", "OTHER")
    amd = etree.SubElement(mets, f"{_M}amdSec")
    digiprov = etree.SubElement(amd, f"{_M}digiprovMD", ID="premis-aip")
    _md_ref(digiprov, by_path["metadata/preservation/PREMIS.xml"], "metadata/preservation/PREMIS.xml", "PREMIS")
    file_sec = etree.SubElement(mets, f"{_M}fileSec")
    pointers: list[tuple[str, str]] = []
    groups = (
        ("Submission", "submission/METS.xml"),
        ("Representations/rep1", "representations/rep1/METS.xml"),
        ("Representations/rep2", "representations/rep2/METS.xml"),
    )
    for index, (use, path) in enumerate(groups):
        if path in by_path:
            group = etree.SubElement(file_sec, f"{_M}fileGrp", USE=use)
            _file_node(group, f"file-mets-{index}", by_path[path], path)
            pointers.append((use, path))
    struct = etree.SubElement(mets, f"{_M}structMap", TYPE="PHYSICAL", LABEL="CSIP")
    top = etree.SubElement(struct, f"{_M}div", ID="div-aip", LABEL=spec.aip_id, DMDID="dmd-dossier", ADMID="premis-aip")
    for index, (use, path) in enumerate(pointers):
        div = etree.SubElement(top, f"{_M}div", ID=f"div-{index}", LABEL=use)
        etree.SubElement(div, f"{_M}mptr", {_HREF: path, f"{{{XLINK_NS}}}type": "simple", "LOCTYPE": "URL"})
    return mets


def _rep2_mets(spec: AipSpec) -> etree._Element:
    mets = _mets_root(f"{spec.aip_id}-rep2", spec)
    copies = {f.aip_path: f for f in spec.files if f.aip_path.startswith("representations/rep2/")}
    file_sec = etree.SubElement(mets, f"{_M}fileSec")
    group = etree.SubElement(file_sec, f"{_M}fileGrp", USE="Preservation")
    ids: dict[str, str] = {}
    for index, path in enumerate(sorted(copies)):
        ids[path] = f"copy-{index}"
        _file_node(group, ids[path], copies[path], path.removeprefix("representations/rep2/"))
    struct = etree.SubElement(mets, f"{_M}structMap", TYPE="PHYSICAL", LABEL="CSIP")
    top = etree.SubElement(struct, f"{_M}div", ID="div-rep2", LABEL="rep2")
    for index, document in enumerate(spec.documents):
        div = etree.SubElement(top, f"{_M}div", ID=f"div-doc-{index}", LABEL=document.code)
        for path in document.copies:
            etree.SubElement(div, f"{_M}fptr", FILEID=ids[path])
    return mets


def _premis(spec: AipSpec) -> etree._Element:
    premis = etree.Element(f"{_P}premis", nsmap={"premis": PREMIS_NS, "xsi": XSI_NS}, version="3.0")
    for item in spec.files:
        if item.aip_path.startswith(("representations/rep1/data/", "representations/rep2/data/")):
            _premis_object(premis, item)
    agents = sorted({e.agent for e in spec.events} | {ARCHIVE_AGENT})
    for event in spec.events:
        _premis_event(premis, event)
    for agent in agents:
        node = etree.SubElement(premis, f"{_P}agent")
        _identifier(node, "agentIdentifier", agent)
        etree.SubElement(node, f"{_P}agentName").text = agent.split(" ", 1)[0]
        etree.SubElement(node, f"{_P}agentType").text = "software"
        etree.SubElement(node, f"{_P}agentVersion").text = agent.split(" ", 1)[1] if " " in agent else ""
    return premis


def _identifier(parent: etree._Element, tag: str, value: str) -> None:
    ident = etree.SubElement(parent, f"{_P}{tag}")
    etree.SubElement(ident, f"{_P}{tag}Type").text = "local"
    etree.SubElement(ident, f"{_P}{tag}Value").text = value


def _premis_object(premis: etree._Element, item: AipFile) -> None:
    obj = etree.SubElement(premis, f"{_P}object", {f"{{{XSI_NS}}}type": "premis:file"})
    _identifier(obj, "objectIdentifier", item.aip_path)
    chars = etree.SubElement(obj, f"{_P}objectCharacteristics")
    etree.SubElement(chars, f"{_P}compositionLevel").text = "0"
    fixity = etree.SubElement(chars, f"{_P}fixity")
    etree.SubElement(fixity, f"{_P}messageDigestAlgorithm").text = "SHA-256"
    etree.SubElement(fixity, f"{_P}messageDigest").text = item.sha256
    etree.SubElement(chars, f"{_P}size").text = str(item.size)
    fmt = etree.SubElement(chars, f"{_P}format")
    designation = etree.SubElement(fmt, f"{_P}formatDesignation")
    etree.SubElement(designation, f"{_P}formatName").text = item.format_name or item.mimetype or "unknown"
    if item.puid:
        registry = etree.SubElement(fmt, f"{_P}formatRegistry")
        etree.SubElement(registry, f"{_P}formatRegistryName").text = "PRONOM"
        etree.SubElement(registry, f"{_P}formatRegistryKey").text = item.puid
    etree.SubElement(obj, f"{_P}originalName").text = item.aip_path.rsplit("/", 1)[-1]
    if item.derived_from:
        relation = etree.SubElement(obj, f"{_P}relationship")
        etree.SubElement(relation, f"{_P}relationshipType").text = "derivation"
        etree.SubElement(relation, f"{_P}relationshipSubType").text = "is derived from"
        related = etree.SubElement(relation, f"{_P}relatedObjectIdentifier")
        etree.SubElement(related, f"{_P}relatedObjectIdentifierType").text = "local"
        etree.SubElement(related, f"{_P}relatedObjectIdentifierValue").text = item.derived_from


def _premis_event(premis: etree._Element, event: PremisEvent) -> None:
    node = etree.SubElement(premis, f"{_P}event")
    _identifier(node, "eventIdentifier", event.event_id)
    etree.SubElement(node, f"{_P}eventType").text = event.event_type
    etree.SubElement(node, f"{_P}eventDateTime").text = _iso(event.at)
    detail = etree.SubElement(node, f"{_P}eventDetailInformation")
    etree.SubElement(detail, f"{_P}eventDetail").text = event.detail
    outcome = etree.SubElement(node, f"{_P}eventOutcomeInformation")
    etree.SubElement(outcome, f"{_P}eventOutcome").text = event.outcome
    _identifier(node, "linkingAgentIdentifier", event.agent)
    for path in event.objects:
        _identifier(node, "linkingObjectIdentifier", path)
