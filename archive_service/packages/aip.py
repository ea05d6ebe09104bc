"""Writing the archival information package (AIP) in the E-ARK layout of Circular 05/2025 AIP_hoso.

The AIP is stored as individual objects under `<aip_id>/`, so each has its own fixity:

    METS.xml                                 root METS written by the archive (OAISPACKAGETYPE=AIP)
    metadata/descriptive/EAD.xml             the sender's dossier metadata, bit for bit
    metadata/preservation/PREMIS.xml         objects, events and agents (PREMIS 3)
    metadata/preservation/transfer.json      the transfer's facts and its signed receipt (optional)
    submission/METS.xml                      the sender's root METS, bit for bit, as evidence
    submission/representations/rep1/METS.xml the sender's representation METS, bit for bit, as evidence
    representations/rep1/METS.xml            the original representation, described by the archive
    representations/rep1/metadata/...        the sender's document metadata, bit for bit
    representations/rep1/data/<originals>    the originals, bit for bit
    representations/rep2/METS.xml            the preservation representation written by the archive
    representations/rep2/metadata/preservation/PREMIS.xml  its copies and the migrations that made them
    representations/rep2/data/<copies>       PDF/A preservation copies

Every METS in the AIP is the archive's own and follows E-ARK CSIP 2.2 and AIP 2.2 as the
independent validator commons-ip2 checks them (docs/decisions/0009-aip-validation.md): a sender's
METS need not (its agent notes lack `csip:NOTETYPE`, its file ids do not start with "ID", its
OBJID is not the folder name), so the sender's METS files are kept under `submission/` and the
archive describes rep1 itself. Only the four generated XML files are written here; every other
object is streamed to storage from where it already is (the transfer's work dir), so nothing is
copied twice.
"""

from __future__ import annotations

import hashlib
import mimetypes
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import cast

from lxml import etree

from archive_service import __version__
from archive_service.packages.mets import CSIP_NS, METS_NS, XLINK_NS

PREMIS_NS = "http://www.loc.gov/premis/v3"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
ARCHIVE_AGENT = f"archive-service {__version__}"
AIP_PROFILE = "https://earkaip.dilcis.eu/profile/E-ARK-AIP.xml"
REP1 = "representations/rep1/"
REP2 = "representations/rep2/"
TRANSFER_RECORD = "metadata/preservation/transfer.json"
REP2_PREMIS = f"{REP2}metadata/preservation/PREMIS.xml"
SENDER_REP1_METS = "submission/representations/rep1/METS.xml"
_METS_NSMAP = cast(dict[str, str], {None: METS_NS, "xlink": XLINK_NS, "csip": CSIP_NS})
_M = f"{{{METS_NS}}}"
_P = f"{{{PREMIS_NS}}}"
_HREF = f"{{{XLINK_NS}}}href"
_NOTETYPE = f"{{{CSIP_NS}}}NOTETYPE"


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

    @classmethod
    def of_bytes(cls, aip_path: str, source: Path, data: bytes, mimetype: str) -> AipFile:
        """A file the archive generated (XML or JSON) whose bytes are already at `source`."""
        fmt = ("JSON", "fmt/817") if mimetype == "application/json" else ("XML", "fmt/101")
        return cls(aip_path, source, hashlib.sha256(data).hexdigest(), len(data), mimetype, *fmt)


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
    """Write the generated METS and PREMIS files into `folder`; return every object of the AIP.

    The sender's `representations/rep1/METS.xml`, if given, is returned under
    `submission/representations/rep1/METS.xml`; the archive writes its own rep1 METS instead.
    """
    folder.mkdir(parents=True, exist_ok=True)
    spec = replace(
        spec,
        files=tuple(replace(f, aip_path=_relocated(f.aip_path)) for f in spec.files),
        events=tuple(replace(e, objects=tuple(_relocated(o) for o in e.objects)) for e in spec.events),
    )
    generated: list[AipFile] = []
    data = [f for f in spec.files if f.aip_path.startswith((f"{REP1}data/", f"{REP2}data/"))]
    premis = _write(folder / "PREMIS.xml", "metadata/preservation/PREMIS.xml", _premis(data, spec.events), "text/xml")
    generated.append(premis)
    if any(f.aip_path.startswith(REP1) for f in spec.files):
        generated.append(_write(folder / "rep1-METS.xml", f"{REP1}METS.xml", _rep1_mets(spec), "text/xml"))
    copies = [f for f in data if f.aip_path.startswith(REP2)]
    rep2_premis = None
    if copies:
        sources = {c.derived_from for c in copies}
        migrations = [e for e in spec.events if e.event_type == "migration" and sources & set(e.objects)]
        rep2_premis = _write(folder / "rep2-PREMIS.xml", REP2_PREMIS, _premis(copies, migrations), "text/xml")
        generated.append(rep2_premis)
    rep2 = _write(folder / "rep2-METS.xml", f"{REP2}METS.xml", _rep2_mets(spec, rep2_premis), "text/xml")
    generated.append(rep2)
    everything = [*spec.files, *generated]
    root = _write(folder / "METS.xml", "METS.xml", _root_mets(spec, everything), "text/xml")
    return [*everything, root]


def _relocated(aip_path: str) -> str:
    """The sender's representation METS moves to `submission/`, bit for bit."""
    return SENDER_REP1_METS if aip_path == f"{REP1}METS.xml" else aip_path


def _write(path: Path, aip_path: str, root: etree._Element, mimetype: str) -> AipFile:
    data = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    path.write_bytes(data)
    return AipFile.of_bytes(aip_path, path, data, mimetype)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def _precise(moment: datetime) -> str:
    """Event times keep their microseconds: the catalog rebuilt from the AIP gets the same instant."""
    return moment.isoformat(timespec="microseconds")


def _mets_root(objid: str, spec: AipSpec) -> etree._Element:
    """`mets` and `metsHdr` as CSIP 2.2 wants them (CSIP1-16, CSIP117).

    The creating software is an agent with its version in a `SOFTWARE VERSION` note; the sender is
    an OTHER/SUBMITTER organisation whose note is its `IDENTIFICATIONCODE` (commons-ip2's METS
    schema requires `csip:NOTETYPE` on every agent note).
    """
    mets = etree.Element(f"{_M}mets", nsmap=_METS_NSMAP)
    mets.set("OBJID", objid)
    mets.set("TYPE", "Mixed")
    mets.set("LABEL", spec.dossier_code)
    mets.set("PROFILE", AIP_PROFILE)
    header = etree.SubElement(mets, f"{_M}metsHdr", CREATEDATE=_iso(spec.created_at), RECORDSTATUS="NEW")
    header.set(f"{{{CSIP_NS}}}OAISPACKAGETYPE", "AIP")
    name, _, version = ARCHIVE_AGENT.partition(" ")
    archive = etree.SubElement(header, f"{_M}agent", ROLE="CREATOR", TYPE="OTHER", OTHERTYPE="SOFTWARE")
    etree.SubElement(archive, f"{_M}name").text = name
    etree.SubElement(archive, f"{_M}note", {_NOTETYPE: "SOFTWARE VERSION"}).text = version
    sender = etree.SubElement(header, f"{_M}agent", ROLE="OTHER", OTHERROLE="SUBMITTER", TYPE="ORGANIZATION")
    etree.SubElement(sender, f"{_M}name").text = spec.creator_name
    if spec.creator_org:
        etree.SubElement(sender, f"{_M}note", {_NOTETYPE: "IDENTIFICATIONCODE"}).text = spec.creator_org
    return mets


def _mimetype(item: AipFile) -> str:
    """The identified MIME type, else the one the file name suggests (METS and EAD are XML)."""
    return item.mimetype or mimetypes.guess_type(item.aip_path)[0] or "application/octet-stream"


def _file_node(group: etree._Element, ident: str, item: AipFile, href: str, created: str) -> None:
    node = etree.SubElement(
        group,
        f"{_M}file",
        ID=ident,
        MIMETYPE=_mimetype(item),
        SIZE=str(item.size),
        CREATED=created,
        CHECKSUM=item.sha256,
        CHECKSUMTYPE="SHA-256",
    )
    etree.SubElement(node, f"{_M}FLocat", {_HREF: href, f"{{{XLINK_NS}}}type": "simple", "LOCTYPE": "URL"})


def _md_ref(parent: etree._Element, item: AipFile, href: str, mdtype: str, created: str) -> etree._Element:
    return etree.SubElement(
        parent,
        f"{_M}mdRef",
        {
            "LOCTYPE": "URL",
            "MDTYPE": mdtype,
            "MIMETYPE": item.mimetype or "text/xml",
            f"{{{XLINK_NS}}}type": "simple",
            _HREF: href,
            "SIZE": str(item.size),
            "CREATED": created,
            "CHECKSUM": item.sha256,
            "CHECKSUMTYPE": "SHA-256",
        },
    )


def _mptr(parent: etree._Element, href: str, title: str) -> None:
    etree.SubElement(
        parent,
        f"{_M}mptr",
        {_HREF: href, f"{{{XLINK_NS}}}type": "simple", f"{{{XLINK_NS}}}title": title, "LOCTYPE": "URL"},
    )


def _root_mets(spec: AipSpec, objects: list[AipFile]) -> etree._Element:
    """The AIP's root METS (CSIP 2.2): metadata references, the representation METS, the structMap.

    Every object outside `metadata/` and the representations is in the fileSec: the sender's METS
    files (and any other file of the submission) in the `Submission` group, each representation
    METS in its `Representations/<name>` group. The structMap has one package `div`
    (LABEL = OBJID) holding a `Metadata` div that links the dmdSec and the amdSec, then one div per
    representation (and the submission) whose LABEL equals its fileGrp's USE and whose `mptr`
    points at its METS, titled with that fileGrp's ID.
    """
    mets = _mets_root(spec.aip_id, spec)
    created = _iso(spec.created_at)
    by_path = {o.aip_path: o for o in objects}
    dmd = etree.SubElement(mets, f"{_M}dmdSec", ID="dmd-dossier", CREATED=created, STATUS="CURRENT")
    _md_ref(dmd, by_path["metadata/descriptive/EAD.xml"], "metadata/descriptive/EAD.xml", "OTHER", created)
    amd = etree.SubElement(mets, f"{_M}amdSec", ID="amd-aip")
    digiprov = etree.SubElement(amd, f"{_M}digiprovMD", ID="premis-aip", CREATED=created, STATUS="CURRENT")
    premis = by_path["metadata/preservation/PREMIS.xml"]
    _md_ref(digiprov, premis, "metadata/preservation/PREMIS.xml", "PREMIS", created)
    admids = ["premis-aip"]
    record = by_path.get(TRANSFER_RECORD)
    if record is not None:
        provenance = etree.SubElement(amd, f"{_M}digiprovMD", ID="transfer-aip", CREATED=created, STATUS="CURRENT")
        _md_ref(provenance, record, TRANSFER_RECORD, "OTHER", created).set("OTHERMDTYPE", "TRANSFER-RECORD")
        admids.append("transfer-aip")
    file_sec = etree.SubElement(mets, f"{_M}fileSec", ID="filesec-aip")
    pointers: list[tuple[str, str, str]] = []
    submission = sorted(path for path in by_path if path.startswith("submission/"))
    if submission:
        group = etree.SubElement(file_sec, f"{_M}fileGrp", ID="filegrp-submission", USE="Submission")
        for index, path in enumerate(submission):
            _file_node(group, f"ID-submission-{index}", by_path[path], path, created)
        if "submission/METS.xml" in by_path:
            pointers.append(("filegrp-submission", "Submission", "submission/METS.xml"))
    for name in ("rep1", "rep2"):
        path = f"representations/{name}/METS.xml"
        if path in by_path:
            group_id, use = f"filegrp-{name}", f"Representations/{name}"
            group = etree.SubElement(file_sec, f"{_M}fileGrp", ID=group_id, USE=use)
            _file_node(group, f"ID-mets-{name}", by_path[path], path, created)
            pointers.append((group_id, use, path))
    struct = etree.SubElement(mets, f"{_M}structMap", ID="structmap-aip", TYPE="PHYSICAL", LABEL="CSIP")
    top = etree.SubElement(struct, f"{_M}div", ID="div-aip", LABEL=spec.aip_id)
    etree.SubElement(
        top, f"{_M}div", ID="div-metadata", LABEL="Metadata", DMDID="dmd-dossier", ADMID=" ".join(admids)
    )
    for group_id, use, path in pointers:
        div = etree.SubElement(top, f"{_M}div", ID=f"div-{group_id.removeprefix('filegrp-')}", LABEL=use)
        _mptr(div, path, group_id)
    return mets


def _rep1_mets(spec: AipSpec) -> etree._Element:
    """The original representation's METS: the sender's document metadata and the originals.

    Each metadata file is a dmdSec, all linked from the `Metadata` div (CSIP88); each document is
    a div of `Data` with its metadata's DMDID and its originals as `fptr`s.
    Other files of rep1 outside `metadata/` are listed as data too, so nothing goes unlisted.
    """
    mets = _mets_root("rep1", spec)
    created = _iso(spec.created_at)
    files = {f.aip_path: f for f in spec.files if f.aip_path.startswith(REP1) and f.aip_path != f"{REP1}METS.xml"}
    dmd_ids: dict[str, str] = {}
    for index, path in enumerate(sorted(p for p in files if p.startswith(f"{REP1}metadata/"))):
        dmd_ids[path] = f"dmd-rep1-{index}"
        dmd = etree.SubElement(mets, f"{_M}dmdSec", ID=dmd_ids[path], CREATED=created, STATUS="CURRENT")
        _md_ref(dmd, files[path], path.removeprefix(REP1), "OTHER", created)
    file_sec = etree.SubElement(mets, f"{_M}fileSec", ID="filesec-rep1")
    group = etree.SubElement(file_sec, f"{_M}fileGrp", ID="filegrp-rep1-data", USE="Data")
    ids: dict[str, str] = {}
    for index, path in enumerate(sorted(p for p in files if p not in dmd_ids)):
        ids[path] = f"ID-rep1-{index}"
        _file_node(group, ids[path], files[path], path.removeprefix(REP1), created)
    struct = etree.SubElement(mets, f"{_M}structMap", ID="structmap-rep1", TYPE="PHYSICAL", LABEL="CSIP")
    top = etree.SubElement(struct, f"{_M}div", ID="div-rep1", LABEL="rep1")
    if dmd_ids:
        metadata = etree.SubElement(top, f"{_M}div", ID="div-rep1-metadata", LABEL="Metadata")
        metadata.set("DMDID", " ".join(dmd_ids.values()))
    data = etree.SubElement(top, f"{_M}div", ID="div-rep1-data", LABEL="Data")
    listed: set[str] = set()
    for index, document in enumerate(spec.documents):
        div = etree.SubElement(data, f"{_M}div", ID=f"div-rep1-doc-{index}", LABEL=document.code)
        if document.metadata_path in dmd_ids:
            div.set("DMDID", dmd_ids[document.metadata_path])
        for path in document.originals:
            if path in ids:
                etree.SubElement(div, f"{_M}fptr", FILEID=ids[path])
                listed.add(path)
    for path in sorted(set(ids) - listed):
        etree.SubElement(data, f"{_M}fptr", FILEID=ids[path])
    return mets


def _rep2_mets(spec: AipSpec, premis: AipFile | None) -> etree._Element:
    """The preservation representation's METS: its own PREMIS (amdSec), its PDF/A copies, one
    structMap div per document."""
    mets = _mets_root("rep2", spec)
    created = _iso(spec.created_at)
    copies = {f.aip_path: f for f in spec.files if f.aip_path.startswith(REP2)}
    if premis is not None:
        amd = etree.SubElement(mets, f"{_M}amdSec", ID="amd-rep2")
        digiprov = etree.SubElement(amd, f"{_M}digiprovMD", ID="premis-rep2", CREATED=created, STATUS="CURRENT")
        _md_ref(digiprov, premis, REP2_PREMIS.removeprefix(REP2), "PREMIS", created)
    file_sec = etree.SubElement(mets, f"{_M}fileSec", ID="filesec-rep2")
    group = etree.SubElement(file_sec, f"{_M}fileGrp", ID="filegrp-rep2-data", USE="Data")
    ids: dict[str, str] = {}
    for index, path in enumerate(sorted(copies)):
        ids[path] = f"ID-rep2-{index}"
        _file_node(group, ids[path], copies[path], path.removeprefix(REP2), created)
    struct = etree.SubElement(mets, f"{_M}structMap", ID="structmap-rep2", TYPE="PHYSICAL", LABEL="CSIP")
    top = etree.SubElement(struct, f"{_M}div", ID="div-rep2", LABEL="rep2")
    if premis is not None:
        etree.SubElement(top, f"{_M}div", ID="div-rep2-metadata", LABEL="Metadata", ADMID="premis-rep2")
    data = etree.SubElement(top, f"{_M}div", ID="div-rep2-data", LABEL="Data")
    for index, document in enumerate(spec.documents):
        div = etree.SubElement(data, f"{_M}div", ID=f"div-rep2-doc-{index}", LABEL=document.code)
        for path in document.copies:
            if path in ids:
                etree.SubElement(div, f"{_M}fptr", FILEID=ids[path])
    return mets


def _premis(objects: list[AipFile], events: Sequence[PremisEvent]) -> etree._Element:
    """PREMIS 3: the objects, the events (in the order they happened) and every agent they name."""
    premis = etree.Element(f"{_P}premis", nsmap={"premis": PREMIS_NS, "xsi": XSI_NS}, version="3.0")
    for item in objects:
        _premis_object(premis, item)
    agents = sorted({a for e in events for a in event_agents(e.agent)} | {ARCHIVE_AGENT})
    for event in events:
        _premis_event(premis, event)
    for agent in agents:
        name, _, version = agent.partition(" ")
        node = etree.SubElement(premis, f"{_P}agent")
        _identifier(node, "agentIdentifier", agent)
        etree.SubElement(node, f"{_P}agentName").text = name
        etree.SubElement(node, f"{_P}agentType").text = "software"
        etree.SubElement(node, f"{_P}agentVersion").text = version
    return premis


def event_agents(agent: str) -> list[str]:
    """The tools an event names ("OCRmyPDF 16.10.4, Ghostscript 10.07.0"): one PREMIS agent
    each, "name version"; joined again with ", " they give the event's agent back."""
    return [part.strip() for part in agent.split(", ") if part.strip()]


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
    etree.SubElement(node, f"{_P}eventDateTime").text = _precise(event.at)
    detail = etree.SubElement(node, f"{_P}eventDetailInformation")
    etree.SubElement(detail, f"{_P}eventDetail").text = event.detail
    outcome = etree.SubElement(node, f"{_P}eventOutcomeInformation")
    etree.SubElement(outcome, f"{_P}eventOutcome").text = event.outcome
    for agent in event_agents(event.agent):
        _identifier(node, "linkingAgentIdentifier", agent)
    for path in event.objects:
        _identifier(node, "linkingObjectIdentifier", path)
