"""The parts of a METS file the archive reads: header, agents, dmdSec references, files, structMap.

Only what the checks and the pipeline need is modelled; the file itself is kept bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree

METS_NS = "http://www.loc.gov/METS/"
XLINK_NS = "http://www.w3.org/1999/xlink"
CSIP_NS = "https://DILCIS.eu/XML/METS/CSIPExtensionMETS"
_M = f"{{{METS_NS}}}"
_HREF = f"{{{XLINK_NS}}}href"


@dataclass(frozen=True)
class Agent:
    role: str
    type: str
    name: str
    note: str


@dataclass(frozen=True)
class FileRef:
    """A file named by a METS `mdRef` or `file/FLocat`, with what the sender says about it."""

    id: str
    href: str
    checksum: str | None
    checksum_type: str | None
    size: str | None
    mimetype: str | None = None
    created: str | None = None


@dataclass(frozen=True)
class Div:
    """A `structMap` division: for a document, its metadata (DMDID) and its files (FILEID)."""

    id: str
    label: str
    dmd_ids: tuple[str, ...]
    file_ids: tuple[str, ...]
    mptr_hrefs: tuple[str, ...]


@dataclass
class Mets:
    objid: str
    type: str
    record_status: str | None
    package_type: str | None
    create_date: str | None
    agents: list[Agent] = field(default_factory=list)
    dmd_refs: dict[str, FileRef] = field(default_factory=dict)
    files: dict[str, FileRef] = field(default_factory=dict)
    divs: list[Div] = field(default_factory=list)
    has_physical_structmap: bool = False

    def creator(self) -> Agent | None:
        """The CSIP creator organisation (metsHdr/agent ROLE=CREATOR TYPE=ORGANIZATION)."""
        for agent in self.agents:
            if agent.role == "CREATOR" and agent.type == "ORGANIZATION":
                return agent
        return None


def _text(element: etree._Element | None) -> str:
    return (element.text or "").strip() if element is not None else ""


def parse_mets(root: etree._Element) -> Mets:
    """Read a METS document that has already been parsed safely (and schema-checked)."""
    header = root.find(f"{_M}metsHdr")
    mets = Mets(
        objid=root.get("OBJID", ""),
        type=root.get("TYPE", ""),
        record_status=header.get("RECORDSTATUS") if header is not None else None,
        package_type=header.get(f"{{{CSIP_NS}}}OAISPACKAGETYPE") if header is not None else None,
        create_date=header.get("CREATEDATE") if header is not None else None,
    )
    for agent in root.iterfind(f"{_M}metsHdr/{_M}agent"):
        mets.agents.append(
            Agent(
                role=agent.get("ROLE", ""),
                type=agent.get("TYPE", ""),
                name=_text(agent.find(f"{_M}name")),
                note=_text(agent.find(f"{_M}note")),
            )
        )
    for dmd in root.iterfind(f"{_M}dmdSec"):
        ref = dmd.find(f"{_M}mdRef")
        if ref is not None:
            mets.dmd_refs[dmd.get("ID", "")] = FileRef(
                id=dmd.get("ID", ""),
                href=ref.get(_HREF, ""),
                checksum=ref.get("CHECKSUM"),
                checksum_type=ref.get("CHECKSUMTYPE"),
                size=ref.get("SIZE"),
                mimetype=ref.get("MIMETYPE"),
                created=ref.get("CREATED"),
            )
    for file in root.iterfind(f"{_M}fileSec//{_M}file"):
        locat = file.find(f"{_M}FLocat")
        mets.files[file.get("ID", "")] = FileRef(
            id=file.get("ID", ""),
            href=locat.get(_HREF, "") if locat is not None else "",
            checksum=file.get("CHECKSUM"),
            checksum_type=file.get("CHECKSUMTYPE"),
            size=file.get("SIZE"),
            mimetype=file.get("MIMETYPE"),
            created=file.get("CREATED"),
        )
    for struct_map in root.iterfind(f"{_M}structMap"):
        if struct_map.get("TYPE", "").upper() != "PHYSICAL":
            continue
        mets.has_physical_structmap = True
        for div in struct_map.iter(f"{_M}div"):
            mets.divs.append(
                Div(
                    id=div.get("ID", ""),
                    label=div.get("LABEL", ""),
                    dmd_ids=tuple(div.get("DMDID", "").split()),
                    file_ids=tuple(f.get("FILEID", "") for f in div.iterfind(f"{_M}fptr")),
                    mptr_hrefs=tuple(m.get(_HREF, "") for m in div.iterfind(f"{_M}mptr")),
                )
            )
    return mets
