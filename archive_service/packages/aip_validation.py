"""Checking a stored AIP folder: schemas, fixity, references and the CSIP rules that are cheap to check.

`validate_aip` reads only the folder, so it checks what `write_aip` produced as it sits in storage:

- the root METS and every representation METS it points to validate against METS 1.12.1 and,
  through a wrapper schema that also imports the DILCIS extension, the `csip:` attribute values;
  every PREMIS file referenced from an amdSec validates against PREMIS 3.0;
- every file, metadata file and METS pointer a METS names exists inside the folder with the
  listed SIZE and SHA-256; every PREMIS object has the fixity and size the file has; every file in
  the folder is named by some METS;
- CSIP 2.2 / E-ARK AIP 2.2 structure: OBJID (= folder name), TYPE, PROFILE, CREATEDATE,
  `OAISPACKAGETYPE="AIP"`, a software CREATOR agent with its version, a `csip:NOTETYPE` on every
  agent note, ids on fileSec, fileGrp and file (file ids start with "ID"), MIMETYPE and CREATED
  on files and mdRefs, one `CSIP` PHYSICAL structMap with one top div.

`commons_ip2_validate` runs the E-ARK validator commons-ip2 (Maven Central 2.10.0, fetched by
`scripts/services/commons-ip2.sh`) on the same folder as an independent second opinion.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from itertools import islice
from pathlib import Path, PurePosixPath
from typing import Any, cast
from urllib.parse import unquote

from lxml import etree

from archive_service.errors import MissingDependencyError
from archive_service.packages.mets import CSIP_NS, METS_NS, XLINK_NS
from ingest_rules.xml_schemas import SCHEMA_DIR, schema_errors

PREMIS_NS = "http://www.loc.gov/premis/v3"
COMMONS_IP2_INSTALL = "bash scripts/services/commons-ip2.sh"
COMMONS_IP2_MAIN = "org.roda_project.commons_ip2.cli.Main"
MAX_SCHEMA_ERRORS = 5
_M = f"{{{METS_NS}}}"
_P = f"{{{PREMIS_NS}}}"
_HREF = f"{{{XLINK_NS}}}href"
_NS = {"m": METS_NS, "xlink": XLINK_NS, "csip": CSIP_NS, "p": PREMIS_NS}
_CSIP_WRAPPER = b"""<?xml version="1.0" encoding="UTF-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <xs:import namespace="http://www.loc.gov/METS/" schemaLocation="mets.xsd"/>
  <xs:import namespace="https://DILCIS.eu/XML/METS/CSIPExtensionMETS" schemaLocation="DILCISExtensionMETS.xsd"/>
</xs:schema>
"""
_CHUNK = 1024 * 1024
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def validate_aip(folder: Path) -> list[str]:
    """Every problem found in the AIP stored at `folder` (empty when it is valid)."""
    problems: list[str] = []
    referenced: set[str] = {"METS.xml"}
    root = _parse(folder, "METS.xml", problems)
    if root is None:
        return problems
    _check_mets(folder, "METS.xml", root, problems, referenced, expected_objid=folder.name)
    for premis in root.iterfind("m:amdSec/m:digiprovMD/m:mdRef[@MDTYPE='PREMIS']", _NS):
        _check_premis(folder, _href(premis), problems)
    for pointer in root.iterfind(".//m:structMap//m:mptr", _NS):
        target = _resolve(folder, "", _href(pointer), "METS.xml: mptr", problems)
        if target is None or not (folder / target).is_file():
            if target is not None:
                problems.append(f"METS.xml: mptr target {target} does not exist")
            continue
        referenced.add(target)
        if target.startswith("representations/"):
            representation = _parse(folder, target, problems)
            if representation is not None:
                objid = PurePosixPath(target).parent.name
                _check_mets(folder, target, representation, problems, referenced, expected_objid=objid)
    for path in _all_files(folder):
        if path not in referenced:
            problems.append(f"{path}: in the AIP but named by no METS")
    return problems


@dataclass(frozen=True)
class CommonsIpReport:
    """commons-ip2's verdict: `VALID`/`INVALID`, failed MUST requirements, failed SHOULD/MAY ones."""

    result: str
    errors: tuple[str, ...]
    warnings: tuple[str, ...]

    @property
    def valid(self) -> bool:
        return self.result == "VALID" and not self.errors


def find_commons_ip2(lib: Path | None = None, cache_dir: Path | None = None) -> Path:
    """The folder of commons-ip2's jars; MissingDependencyError (naming the script) when absent."""
    if lib is None:
        configured = os.environ.get("ARCHIVE_TOOL_CACHE")
        base = cache_dir or (Path(configured) if configured else Path.home() / ".cache" / "archive-service")
        lib = base / "commons-ip2" / "lib"
    if not any(lib.glob("commons-ip2-*.jar")):
        raise MissingDependencyError(
            f"Không tìm thấy commons-ip2 trong {lib}. Cài đặt bằng lệnh: {COMMONS_IP2_INSTALL}",
            f"commons-ip2 not found in {lib}. Install it with: {COMMONS_IP2_INSTALL}",
        )
    return lib


def commons_ip2_validate(
    folder: Path, *, lib: Path | None = None, java: str = "java", timeout: float = 600
) -> CommonsIpReport:
    """Validate the AIP folder with commons-ip2 (CSIP 2.2.0 and AIP rules) and read its JSON report."""
    jars = find_commons_ip2(lib)
    with tempfile.TemporaryDirectory(prefix="commons-ip2-") as out:
        command = [java, "-cp", f"{jars}/*", COMMONS_IP2_MAIN, "validate", "-i", str(folder), "-o", out]
        env = {**os.environ, "LC_ALL": "C.UTF-8"}
        # cwd: commons-ip2's logback writes commons-ip.log.txt into the working directory.
        proc = subprocess.run(command, capture_output=True, cwd=out, env=env, timeout=timeout, check=False)
        reports = sorted(Path(out).glob("*.json"))
        if not reports:
            stderr = (proc.stdout + proc.stderr).decode("utf-8", "replace").strip()[-1000:]
            raise RuntimeError(f"commons-ip2 wrote no report (exit {proc.returncode}): {stderr}")
        report = cast(dict[str, Any], json.loads(reports[0].read_text(encoding="utf-8")))
    errors: list[str] = []
    warnings: list[str] = []
    for requirement in report.get("validation", []):
        testing = requirement.get("testing", {})
        if testing.get("outcome") != "FAILED":
            continue
        text = "; ".join([*testing.get("issues", []), *testing.get("warnings", [])]) or requirement.get("name", "")
        line = f"{requirement.get('id')} ({requirement.get('level')}): {text}"
        (errors if requirement.get("level") == "MUST" else warnings).append(line)
    result = str(report.get("summary", {}).get("result", "UNKNOWN"))
    return CommonsIpReport(result, tuple(errors), tuple(warnings))


@cache
def _csip_schema() -> etree.XMLSchema:
    """METS plus the DILCIS extension, so lax `csip:` attributes are checked against their types."""
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    document = etree.fromstring(_CSIP_WRAPPER, parser, base_url=str(SCHEMA_DIR / "csip-wrapper.xsd"))
    return etree.XMLSchema(document)


def _parse(folder: Path, path: str, problems: list[str]) -> etree._Element | None:
    parser = etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False)
    try:
        return etree.parse(str(folder / path), parser).getroot()
    except OSError:
        problems.append(f"{path}: missing")
    except etree.XMLSyntaxError as exc:
        problems.append(f"{path}: not well-formed XML ({exc})")
    return None


def _href(node: etree._Element) -> str:
    return unquote(node.get(_HREF, ""))


def _resolve(folder: Path, base: str, href: str, where: str, problems: list[str]) -> str | None:
    """`href` (relative to the folder `base` inside the AIP) as a path inside the AIP, or None."""
    if not href:
        problems.append(f"{where}: no xlink:href")
        return None
    if href.startswith("/") or _SCHEME.match(href):
        problems.append(f"{where}: {href} is not a relative path inside the AIP")
        return None
    parts: list[str] = [p for p in PurePosixPath(base).parts if p != "."]
    for part in PurePosixPath(href).parts:
        if part == ".":
            continue
        if part != "..":
            parts.append(part)
        elif parts:
            parts.pop()
        else:
            problems.append(f"{where}: {href} points outside the AIP")
            return None
    path = "/".join(parts)
    if not path or not (folder / path).resolve().is_relative_to(folder.resolve()):
        problems.append(f"{where}: {href} points outside the AIP")
        return None
    return path


def _check_mets(
    folder: Path, path: str, mets: etree._Element, problems: list[str], referenced: set[str], expected_objid: str
) -> None:
    problems.extend(_schema_problems(path, mets))
    _check_header(path, mets, expected_objid, problems)
    _check_agents(path, mets, problems)
    base = str(PurePosixPath(path).parent)
    base = "" if base == "." else base
    for ref in [*mets.iterfind("m:dmdSec/m:mdRef", _NS), *mets.iterfind("m:amdSec/*/m:mdRef", _NS)]:
        _check_reference(folder, path, base, ref, "mdRef", problems, referenced)
    _check_file_sec(folder, path, base, mets, problems, referenced)
    _check_struct_map(path, mets, problems)


def _schema_problems(path: str, mets: etree._Element) -> list[str]:
    """METS 1.12.1, then METS with the DILCIS extension (values of the `csip:` attributes)."""
    found = [f"{path}: mets.xsd {e}" for e in schema_errors("mets.xsd", mets, MAX_SCHEMA_ERRORS)]
    csip = _csip_schema()
    if not csip.validate(mets):
        entries = cast(Iterable[etree._LogEntry], csip.error_log)
        found.extend(f"{path}: CSIP extension line {e.line}: {e.message}" for e in islice(entries, MAX_SCHEMA_ERRORS))
    ids: set[str] = set()
    for node in mets.iter(f"{_M}*"):
        ident = node.get("ID")
        if ident is not None and ident in ids:
            found.append(f"{path}: ID {ident} is used twice")
        if ident is not None:
            ids.add(ident)
    return found


def _check_header(path: str, mets: etree._Element, expected_objid: str, problems: list[str]) -> None:
    """OBJID (= the folder's name, CSIP1), TYPE, PROFILE, CREATEDATE, OAISPACKAGETYPE=AIP."""
    objid = mets.get("OBJID")
    if not objid:
        problems.append(f"{path}: mets has no OBJID")
    elif objid != expected_objid:
        problems.append(f"{path}: OBJID {objid!r} is not its folder's name {expected_objid!r}")
    problems.extend(f"{path}: mets has no {name}" for name in ("TYPE", "PROFILE") if not mets.get(name))
    header = mets.find("m:metsHdr", _NS)
    if header is None:
        problems.append(f"{path}: no metsHdr")
        return
    if not header.get("CREATEDATE"):
        problems.append(f"{path}: metsHdr has no CREATEDATE")
    package_type = header.get(f"{{{CSIP_NS}}}OAISPACKAGETYPE")
    if package_type != "AIP":
        problems.append(f"{path}: csip:OAISPACKAGETYPE is {package_type!r}, not 'AIP'")


def _check_agents(path: str, mets: etree._Element, problems: list[str]) -> None:
    """A named software CREATOR with its version (CSIP10-16); a NOTETYPE on every agent note."""
    software = mets.findall("m:metsHdr/m:agent[@ROLE='CREATOR'][@TYPE='OTHER'][@OTHERTYPE='SOFTWARE']", _NS)
    if not software:
        problems.append(f"{path}: no CREATOR agent of OTHERTYPE SOFTWARE")
    for agent in software:
        if not (agent.findtext("m:name", "", _NS) or "").strip():
            problems.append(f"{path}: the software agent has no name")
        if agent.find("m:note[@csip:NOTETYPE='SOFTWARE VERSION']", _NS) is None:
            problems.append(f"{path}: the software agent has no note of NOTETYPE 'SOFTWARE VERSION'")
    for note in mets.iterfind("m:metsHdr/m:agent/m:note", _NS):
        if not note.get(f"{{{CSIP_NS}}}NOTETYPE"):
            problems.append(f"{path}: an agent note has no csip:NOTETYPE")


def _check_file_sec(
    folder: Path, path: str, base: str, mets: etree._Element, problems: list[str], referenced: set[str]
) -> None:
    """Ids on fileSec, fileGrp and file ("ID…" for files, E-ARK AIP9); every FLocat's fixity."""
    file_sec = mets.find("m:fileSec", _NS)
    if file_sec is not None and not file_sec.get("ID"):
        problems.append(f"{path}: fileSec has no ID")
    for group in mets.iterfind("m:fileSec//m:fileGrp", _NS):
        if not group.get("ID") or not group.get("USE"):
            problems.append(f"{path}: fileGrp {group.get('USE', '?')} lacks ID or USE")
    for item in mets.iterfind("m:fileSec//m:file", _NS):
        if not item.get("ID", "").startswith("ID"):
            problems.append(f"{path}: file ID {item.get('ID')!r} does not start with 'ID' (E-ARK AIP)")
        for location in item.iterfind("m:FLocat", _NS):
            _check_reference(folder, path, base, item, "file", problems, referenced, _href(location))


def _check_struct_map(path: str, mets: etree._Element, problems: list[str]) -> None:
    """One PHYSICAL structMap labelled CSIP with one top div; every fptr names a listed file."""
    struct_maps = mets.findall("m:structMap[@TYPE='PHYSICAL'][@LABEL='CSIP']", _NS)
    if len(struct_maps) != 1:
        problems.append(f"{path}: needs exactly one structMap TYPE=PHYSICAL LABEL=CSIP, has {len(struct_maps)}")
    elif len(struct_maps[0].findall("m:div", _NS)) != 1:
        problems.append(f"{path}: the CSIP structMap needs exactly one top div")
    file_ids = {f.get("ID") for f in mets.iterfind("m:fileSec//m:file", _NS)}
    for pointer in mets.iterfind(".//m:structMap//m:fptr", _NS):
        if pointer.get("FILEID") not in file_ids:
            problems.append(f"{path}: fptr names unknown file {pointer.get('FILEID')}")


def _check_reference(
    folder: Path,
    mets_path: str,
    base: str,
    node: etree._Element,
    kind: str,
    problems: list[str],
    referenced: set[str],
    href: str | None = None,
) -> None:
    """A file named by an mdRef or a file/FLocat: inside the AIP, present, listed size and SHA-256."""
    where = f"{mets_path}: {kind} {node.get('ID') or ''}".rstrip()
    target = _resolve(folder, base, _href(node) if href is None else href, where, problems)
    if target is None:
        return
    referenced.add(target)
    for attribute in ("MIMETYPE", "CREATED", "SIZE", "CHECKSUM"):
        if not node.get(attribute):
            problems.append(f"{where}: {target} has no {attribute}")
    if (node.get("CHECKSUMTYPE") or "") != "SHA-256":
        problems.append(f"{where}: {target} has CHECKSUMTYPE {node.get('CHECKSUMTYPE')!r}, not SHA-256")
    full = folder / target
    if not full.is_file():
        problems.append(f"{where}: {target} does not exist")
        return
    size = full.stat().st_size
    if node.get("SIZE") and node.get("SIZE") != str(size):
        problems.append(f"{where}: {target} is {size} bytes, METS says {node.get('SIZE')}")
    checksum = (node.get("CHECKSUM") or "").lower()
    if checksum and checksum != _sha256(full):
        problems.append(f"{where}: {target} does not match its SHA-256 {checksum}")


def _check_premis(folder: Path, href: str, problems: list[str]) -> None:
    """PREMIS 3.0 validity, and each file object's fixity and size against the stored file."""
    path = _resolve(folder, "", href, "METS.xml: PREMIS mdRef", problems)
    if path is None:
        return
    premis = _parse(folder, path, problems)
    if premis is None:
        return
    problems.extend(f"{path}: premis.xsd {e}" for e in schema_errors("premis.xsd", premis, MAX_SCHEMA_ERRORS))
    for obj in premis.iterfind("p:object", _NS):
        name = obj.findtext("p:objectIdentifier/p:objectIdentifierValue", "", _NS) or ""
        target = _resolve(folder, "", name, f"{path}: object", problems)
        if target is None:
            continue
        full = folder / target
        if not full.is_file():
            problems.append(f"{path}: object {target} does not exist")
            continue
        digest = (obj.findtext("p:objectCharacteristics/p:fixity/p:messageDigest", "", _NS) or "").lower()
        if digest != _sha256(full):
            problems.append(f"{path}: object {target} does not match its SHA-256 {digest}")
        size = obj.findtext("p:objectCharacteristics/p:size", "", _NS)
        if size != str(full.stat().st_size):
            problems.append(f"{path}: object {target} is {full.stat().st_size} bytes, PREMIS says {size}")


@lru_cache(maxsize=1024)
def _sha256_cached(path: Path, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _sha256(path: Path) -> str:
    """SHA-256 of a file, hashed once per validation even when METS and PREMIS both name it."""
    stat = path.stat()
    return _sha256_cached(path, stat.st_size, stat.st_mtime_ns)


def _all_files(folder: Path) -> list[str]:
    """Every regular file of the AIP, as a POSIX path relative to it."""
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
