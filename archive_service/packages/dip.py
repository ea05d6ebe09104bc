"""Writing a dissemination information package (DIP): a ZIP that an archivist hands to a reader.

Layout (docs/decisions/0018-dip-exports-multipart-limits.md):

    METS.xml                                       DIP METS (OAISPACKAGETYPE=DIP) describing everything below
    manifest-sha256.txt                            `<sha256>  <path>` for every other file (`sha256sum -c`)
    <FileCode>/metadata/EAD.xml                    the dossier's metadata as received, bit for bit
    <FileCode>/<DocCode>/metadata/<name>.xml       the document's metadata as received, bit for bit
    <FileCode>/<DocCode>/preservation/<name>       PDF/A preservation copies
    <FileCode>/<DocCode>/original/<name>           originals, when asked for (or when no copy exists)

The METS follows CSIP's structure (header agents, dmdSec/mdRef, fileSec with SHA-256, a physical
structMap) but claims no E-ARK DIP profile: the folders are arranged by code for a human reader,
not as E-ARK representations. Only the layout lives here: which records go in, and where their
bytes come from, is decided by `archive_service.dip_export`.
"""

from __future__ import annotations

import mimetypes
import re
import unicodedata
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import cast

from lxml import etree

from archive_service.packages.aip import ARCHIVE_AGENT
from archive_service.packages.mets import CSIP_NS, METS_NS, XLINK_NS

MANIFEST = "manifest-sha256.txt"
_UNSAFE = re.compile(r"[^\w.\-]+")
_METS_NSMAP = cast(dict[str, str], {None: METS_NS, "xlink": XLINK_NS, "csip": CSIP_NS})
_M = f"{{{METS_NS}}}"
_HREF = f"{{{XLINK_NS}}}href"
_NOTETYPE = f"{{{CSIP_NS}}}NOTETYPE"
# Already compressed (PDF, images, audio, video): stored as they are, everything else deflated.
_STORED_TYPES = ("application/pdf", "image/", "audio/", "video/", "application/zip")


def safe_component(name: str) -> str:
    """One path component built from a sender's code or file name: NFC, no separators, no `..`."""
    cleaned = _UNSAFE.sub("_", unicodedata.normalize("NFC", name)).strip("._") or "_"
    return cleaned[:150]


@dataclass(frozen=True)
class DipFile:
    """A file of the DIP: where it goes, where its verified bytes are now, and its fixity."""

    path: str
    source: Path
    sha256: str
    size: int
    role: str  # "metadata", "preservation" or "original"
    mimetype: str = ""


@dataclass(frozen=True)
class DipDocument:
    code: str
    title: str
    files: tuple[DipFile, ...]


@dataclass(frozen=True)
class DipDossier:
    code: str
    title: str
    metadata: DipFile | None
    documents: tuple[DipDocument, ...]


@dataclass(frozen=True)
class DipSpec:
    export_id: str
    created_at: datetime
    requested_by: str
    dossiers: tuple[DipDossier, ...]

    def files(self) -> list[DipFile]:
        out: list[DipFile] = []
        for dossier in self.dossiers:
            if dossier.metadata is not None:
                out.append(dossier.metadata)
            for document in dossier.documents:
                out.extend(document.files)
        return out


def dossier_folder(code: str) -> str:
    return safe_component(code)


def document_folder(dossier_code: str, document_code: str) -> str:
    return f"{dossier_folder(dossier_code)}/{safe_component(document_code)}"


def write_dip(spec: DipSpec, target: Path) -> None:
    """Write the DIP ZIP to `target` (via a `.part` file, so a failure leaves nothing behind)."""
    part = target.with_name(target.name + ".part")
    try:
        with zipfile.ZipFile(part, "w", allowZip64=True) as archive:
            for item in spec.files():
                archive.write(item.source, item.path, compress_type=_compression(item))
            archive.writestr(MANIFEST, _manifest(spec.files()), compress_type=zipfile.ZIP_DEFLATED)
            mets = etree.tostring(_mets(spec), xml_declaration=True, encoding="UTF-8", pretty_print=True)
            archive.writestr("METS.xml", mets, compress_type=zipfile.ZIP_DEFLATED)
        part.replace(target)
    except BaseException:
        part.unlink(missing_ok=True)
        raise


def _compression(item: DipFile) -> int:
    return zipfile.ZIP_STORED if _mimetype(item).startswith(_STORED_TYPES) else zipfile.ZIP_DEFLATED


def _mimetype(item: DipFile) -> str:
    return item.mimetype or mimetypes.guess_type(item.path)[0] or "application/octet-stream"


def _manifest(files: Iterable[DipFile]) -> str:
    return "".join(f"{item.sha256}  {item.path}\n" for item in files)


def _mets(spec: DipSpec) -> etree._Element:
    created = spec.created_at.isoformat(timespec="seconds")
    mets = etree.Element(f"{_M}mets", nsmap=_METS_NSMAP)
    mets.set("OBJID", spec.export_id)
    mets.set("TYPE", "Mixed")
    mets.set("LABEL", " ".join(d.code for d in spec.dossiers)[:500])
    header = etree.SubElement(mets, f"{_M}metsHdr", CREATEDATE=created, RECORDSTATUS="NEW")
    header.set(f"{{{CSIP_NS}}}OAISPACKAGETYPE", "DIP")
    name, _, version = ARCHIVE_AGENT.partition(" ")
    software = etree.SubElement(header, f"{_M}agent", ROLE="CREATOR", TYPE="OTHER", OTHERTYPE="SOFTWARE")
    etree.SubElement(software, f"{_M}name").text = name
    etree.SubElement(software, f"{_M}note", {_NOTETYPE: "SOFTWARE VERSION"}).text = version
    requester = etree.SubElement(header, f"{_M}agent", ROLE="OTHER", OTHERROLE="REQUESTER", TYPE="INDIVIDUAL")
    etree.SubElement(requester, f"{_M}name").text = spec.requested_by

    dmd_ids: dict[str, str] = {}
    metadata = [item for item in spec.files() if item.role == "metadata"]
    for index, item in enumerate(metadata):
        dmd_ids[item.path] = f"dmd-{index}"
        dmd = etree.SubElement(mets, f"{_M}dmdSec", ID=dmd_ids[item.path], CREATED=created, STATUS="CURRENT")
        _reference(dmd, "mdRef", item, MDTYPE="OTHER")
    file_sec = etree.SubElement(mets, f"{_M}fileSec", ID="filesec-dip")
    groups = {
        role: etree.SubElement(file_sec, f"{_M}fileGrp", ID=f"filegrp-{role}", USE=use)
        for role, use in (("preservation", "Preservation"), ("original", "Original"))
    }
    file_ids: dict[str, str] = {}
    for index, item in enumerate(f for f in spec.files() if f.role != "metadata"):
        file_ids[item.path] = f"ID-dip-{index}"
        node = etree.SubElement(
            groups[item.role], f"{_M}file", ID=file_ids[item.path], MIMETYPE=_mimetype(item),
            SIZE=str(item.size), CREATED=created, CHECKSUM=item.sha256, CHECKSUMTYPE="SHA-256",
        )
        _reference(node, "FLocat", item)
    struct = etree.SubElement(mets, f"{_M}structMap", ID="structmap-dip", TYPE="PHYSICAL", LABEL="CSIP")
    top = etree.SubElement(struct, f"{_M}div", ID="div-dip", LABEL=spec.export_id)
    for d_index, dossier in enumerate(spec.dossiers):
        div = etree.SubElement(top, f"{_M}div", ID=f"div-dossier-{d_index}", LABEL=dossier.code)
        if dossier.metadata is not None:
            div.set("DMDID", dmd_ids[dossier.metadata.path])
        for index, document in enumerate(dossier.documents):
            doc_div = etree.SubElement(div, f"{_M}div", ID=f"div-dossier-{d_index}-doc-{index}", LABEL=document.code)
            described = [dmd_ids[f.path] for f in document.files if f.path in dmd_ids]
            if described:
                doc_div.set("DMDID", " ".join(described))
            for item in document.files:
                if item.path in file_ids:
                    etree.SubElement(doc_div, f"{_M}fptr", FILEID=file_ids[item.path])
    return mets


def _reference(parent: etree._Element, tag: str, item: DipFile, **extra: str) -> None:
    attributes = {"LOCTYPE": "URL", f"{{{XLINK_NS}}}type": "simple", _HREF: item.path, **extra}
    if tag == "mdRef":
        attributes.update(
            MIMETYPE="text/xml", SIZE=str(item.size), CHECKSUM=item.sha256, CHECKSUMTYPE="SHA-256"
        )
    etree.SubElement(parent, f"{_M}{tag}", attributes)
