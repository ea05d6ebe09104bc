"""Fuzzing the XML parsing: METS, EAD and edXML text broken or made hostile by Hypothesis.

Through `safe_xml`, `read_sip` and `read_edxml`, every document ends as parsed XML or as a clear
refusal (a finding in both languages, or `UnsafeXmlError` / `MalformedXmlError` with a reason);
no other exception, no network connection, and the content of a local file named by an external
entity, an XInclude or a link never appears in anything the reader returns.
"""

from __future__ import annotations

import re
import socket
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TypeVar

import pytest
from hypothesis import event, example, given
from hypothesis import strategies as st
from lxml import etree

from archive_service.config import PackageLimits
from archive_service.packages.edxml import read_edxml
from archive_service.packages.safe_xml import MalformedXmlError, UnsafeXmlError, parse_xml_bytes
from archive_service.packages.sip import DOSSIER_EAD, REP_METS, ROOT_METS, read_sip
from archive_service.packages.staging import stage_package
from tests.fixtures.edxml_builder import b64, edxml_packet, zip_bytes
from tests.fixtures.fuzzing import (
    SECONDS_PER_EXAMPLE,
    ConnectionWatch,
    assert_clear_findings,
    connection_watch,
    files_below,
    fuzz_settings,
)
from tests.fixtures.sip_builder import valid_sip

SECRET = "TOKEN-7b1e40c2-bi-mat-khong-duoc-lo"
PACKAGE_ID = "uuid-0f0e0d0c-fuzz-4000-8000-000000000002"
DOC_EAD = "representations/rep1/metadata/descriptive/EAD_doc_1.xml"
T = TypeVar("T")
_ROOT_TAG = re.compile(rb"<([A-Za-z_][\w:.-]*)")  # the first element (not <!DOCTYPE, <?pi, <!--)
LIMITS = PackageLimits(max_total_bytes=64 * 1024**2, max_xml_bytes=40 * 1024**2)


@dataclass(frozen=True)
class Targets:
    """Where hostile references point: a secret local file and a loopback listener."""

    secret_file: Path
    url: str


@pytest.fixture(scope="module")
def watch() -> Iterator[ConnectionWatch]:
    with connection_watch() as listener:
        yield listener
    assert listener.connections == 0, "a parser opened a network connection"


@pytest.fixture(scope="module")
def targets(watch: ConnectionWatch, tmp_path_factory: pytest.TempPathFactory) -> Targets:
    secret_file = tmp_path_factory.mktemp("secret") / "secret.txt"
    secret_file.write_text(SECRET, encoding="utf-8")
    return Targets(secret_file, watch.url)


@cache
def _package_files() -> dict[str, bytes]:
    """A valid one-document SIP as files, written once."""
    builder = valid_sip((1,))
    builder.package_id = PACKAGE_ID
    with tempfile.TemporaryDirectory() as folder:
        root = builder.write_dir(Path(folder))
        return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@cache
def _edxml_packet() -> bytes:
    wrapped = zip_bytes({"QD_1.pdf": b"%PDF-1.4 fuzz"})
    return edxml_packet([("QD_1.zip", "application/zip", b64(wrapped)), ("to-trinh.txt", "text/plain", b64(b"x"))])


# -- how a document is broken ----------------------------------------------------------------

# {secret} and {url} are filled in with the targets; {root} is the document's root element name.
_PROLOGS = [
    '<!DOCTYPE {root} [<!ENTITY xxe SYSTEM "file://{secret}">]>',
    '<!DOCTYPE {root} [<!ENTITY xxe SYSTEM "{url}">]>',
    '<!DOCTYPE {root} [<!ENTITY % p SYSTEM "{url}"> %p;]>',
    '<!DOCTYPE {root} SYSTEM "{url}">',
    '<!DOCTYPE {root} PUBLIC "-//fuzz//DTD//EN" "file://{secret}">',
    '<!DOCTYPE {root} [<!ENTITY a "ha"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
    '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY xxe "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>',
    "<!--" + "đệm " * 1100 + '--><!DOCTYPE {root} [<!ENTITY xxe SYSTEM "file://{secret}">]>',
    '<?xml-stylesheet type="text/xsl" href="{url}"?>',
]
_BODY_INJECTIONS = [
    "&xxe;",
    '<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="file://{secret}" parse="text"/>',
    '<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="{url}"/>',
    '<x xmlns:xlink="http://www.w3.org/1999/xlink" xlink:href="file://{secret}"/>',
    '<x xmlns:xlink="http://www.w3.org/1999/xlink" xlink:href="{url}"/>',
    '<x xsi:schemaLocation="urn:x {url}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"/>',
    "<![CDATA[&xxe;]]>",
    "<?php echo 1; ?>",
]
_ENCODINGS = ["UTF-8", "UTF-16", "ISO-8859-1", "windows-1258", "US-ASCII", "IBM037", "UTF-7", "bogus-8", ""]
_BOMS = [b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff", b"\xef\xbb\xbf\xef\xbb\xbf"]
_CODECS = ["utf-16", "utf-16-be", "utf-32", "latin-1", "cp037"]
_DEPTHS = [40, 255, 300, 5000]
_ATTRIBUTE_SIZES = [100, 70_000, 10_000_001]
_INVALID_UTF8 = [b"\xc3\x28", b"\xed\xa0\x80", b"\xff", b"\xf4\x90\x80\x80"]


@dataclass(frozen=True)
class Breakage:
    kind: str
    offset: int = 0
    choice: int = 0
    data: bytes = b""

    def apply(self, doc: bytes, targets: Targets) -> bytes:
        at = self.offset % (len(doc) + 1)
        if self.kind in _SNIPPETS:
            return _inside_root(doc, _SNIPPETS[self.kind](self, targets), at)
        return _REWRITES[self.kind](self, doc, at, targets)


def _fill(template: str, targets: Targets, doc: bytes = b"") -> bytes:
    return template.format(secret=targets.secret_file.as_posix(), url=targets.url, root=_root_name(doc)).encode()


def _flip(step: Breakage, doc: bytes, at: int) -> bytes:
    if at >= len(doc):
        return doc
    return doc[:at] + bytes([doc[at] ^ (step.data[0] or 0xFF)]) + doc[at + 1 :]


# Breakages that put a snippet inside the root element.
_SNIPPETS: dict[str, Callable[[Breakage, Targets], bytes]] = {
    "inject": lambda step, targets: _fill(_pick(_BODY_INJECTIONS, step.choice), targets),
    "nest": lambda step, _: b"<n>" * _pick(_DEPTHS, step.choice) + b"</n>" * _pick(_DEPTHS, step.choice),
    "huge": lambda step, _: b'<n v="' + b"A" * _pick(_ATTRIBUTE_SIZES, step.choice) + b'"/>',
    "invalid_utf8": lambda step, _: _pick(_INVALID_UTF8, step.choice),
}
# Breakages that rewrite the document's bytes.
_REWRITES: dict[str, Callable[[Breakage, bytes, int, Targets], bytes]] = {
    "prolog": lambda step, doc, _, targets: (
        doc[: _body_offset(doc)] + _fill(_pick(_PROLOGS, step.choice), targets, doc) + doc[_body_offset(doc) :]
    ),
    "truncate": lambda _, doc, at, __: doc[:at],
    "flip": lambda step, doc, at, _: _flip(step, doc, at),
    "insert": lambda step, doc, at, _: doc[:at] + step.data + doc[at:],
    "declare": lambda step, doc, _, __: _redeclare(doc, _pick(_ENCODINGS, step.choice)),
    "bom": lambda step, doc, _, __: _pick(_BOMS, step.choice) + doc,
    "reencode": lambda step, doc, _, __: _reencode(doc, _pick(_CODECS, step.choice)),
}


def _pick(options: Sequence[T], choice: int) -> T:
    return options[choice % len(options)]


def _root_name(doc: bytes) -> str:
    found = _ROOT_TAG.search(doc)
    return found.group(1).decode().split(":")[-1] if found else "root"


def _body_offset(doc: bytes) -> int:
    """Where the prolog ends (after the XML declaration): where a DOCTYPE goes."""
    at = doc.find(b"?>") + 2 if doc.startswith(b"<?xml") else 0
    found = doc.find(b"<", at)
    return found if found >= 0 else at


def _inside_root(doc: bytes, snippet: bytes, at: int) -> bytes:
    """`snippet` after the end of the first start tag at or after `at` (at least the root's)."""
    found = _ROOT_TAG.search(doc)
    root = found.start() if found else 0
    close = doc.find(b">", max(at, root))
    if close < 0:
        close = doc.find(b">", root)
    return doc[: close + 1] + snippet + doc[close + 1 :] if close >= 0 else doc + snippet


def _redeclare(doc: bytes, encoding: str) -> bytes:
    declaration = f'<?xml version="1.0" encoding="{encoding}"?>' if encoding else '<?xml version="1.0"?>'
    return declaration.encode() + doc[_body_offset(doc) :]


def _reencode(doc: bytes, codec: str) -> bytes:
    """The document in another encoding, declared or not (a lying or missing declaration)."""
    text = doc.decode("utf-8", "replace")
    return text.encode(codec, "replace")


breakages = st.builds(
    Breakage,
    kind=st.sampled_from(sorted(_SNIPPETS) + sorted(_REWRITES)),
    offset=st.integers(0, 1 << 16),
    choice=st.integers(0, 31),
    data=st.binary(min_size=1, max_size=24),
)


def _break(doc: bytes, steps: list[Breakage], targets: Targets) -> bytes:
    for step in steps:
        doc = step.apply(doc, targets)
    return doc


# -- the contract ----------------------------------------------------------------------------


def _assert_secret_kept(*texts: object) -> None:
    for text in texts:
        assert SECRET not in str(text)


def _parse(data: bytes) -> None:
    try:
        root = parse_xml_bytes(data)
    except UnsafeXmlError as exc:
        assert exc.reason_vi and exc.reason_en and exc.reason_vi != exc.reason_en
        _assert_secret_kept(exc.reason_vi, exc.reason_en)
        event("refused as unsafe")
    except MalformedXmlError as exc:
        assert str(exc)
        _assert_secret_kept(exc)
        event("refused as malformed")
    else:
        _assert_secret_kept(etree.tostring(root, encoding="unicode"))
        event("parsed")


def _read_package(replaced: str, data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        top = Path(folder)
        source = top / "in" / PACKAGE_ID
        for rel, content in _package_files().items():
            (source / rel).parent.mkdir(parents=True, exist_ok=True)
            (source / rel).write_bytes(data if rel == replaced else content)
        started = time.monotonic()
        staged = stage_package(source, top / "work", LIMITS)
        assert_clear_findings(staged.findings)
        if not staged.ok:  # a document made huge, then re-encoded into four bytes a character
            assert {f.rule for f in staged.findings} == {"pkg.archive.too_large"}, staged.findings
            return
        reading = read_sip(staged, max_xml_bytes=LIMITS.max_xml_bytes)
        assert time.monotonic() - started < SECONDS_PER_EXAMPLE
        assert_clear_findings(reading.findings)
        _assert_secret_kept(*(f.to_dict() for f in reading.findings))
        assert not [f for f in reading.findings if folder in f.message_en], "a finding shows the server's paths"
        if reading.package is not None:
            _assert_secret_kept(reading.package.dossier_values, *(i.values for i in reading.package.items))
        event("read" if reading.package is not None else "refused")


def _read_edxml(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        top = Path(folder)
        source = top / "cv.edxml"
        source.write_bytes(data)
        started = time.monotonic()
        reading = read_edxml(source, LIMITS, top / "out", report_path="data/cv.edxml")
        assert time.monotonic() - started < SECONDS_PER_EXAMPLE
        assert_clear_findings(reading.findings)
        _assert_secret_kept(*(f.to_dict() for f in reading.findings), reading.header, reading.nested_headers)
        assert not [f for f in reading.findings if folder in f.message_en], "a finding shows the server's paths"
        written = files_below(top / "out")
        assert all(SECRET.encode() not in content for content in written.values())
        assert set(files_below(top, excluding=top / "out")) == {"cv.edxml"}, "written outside extract_to"
        event("read" if reading.header is not None else "refused")


@fuzz_settings(max_examples=120)
@given(
    doc=st.sampled_from([ROOT_METS, REP_METS, DOSSIER_EAD, DOC_EAD]), steps=st.lists(breakages, min_size=1, max_size=3)
)
@example(doc=ROOT_METS, steps=[Breakage("prolog", choice=0), Breakage("inject", choice=0)])
@example(doc=DOSSIER_EAD, steps=[Breakage("prolog", choice=6), Breakage("inject", choice=0)])
@example(doc=DOSSIER_EAD, steps=[Breakage("reencode", choice=4)])
def test_broken_or_hostile_xml_in_a_sip_gives_findings_only(doc: str, steps: list[Breakage], targets: Targets) -> None:
    original = _package_files()[doc]
    data = _break(original, steps, targets)
    _parse(data)
    _read_package(doc, data)


@fuzz_settings(max_examples=80)
@given(steps=st.lists(breakages, min_size=1, max_size=3))
@example(steps=[Breakage("prolog", choice=1), Breakage("inject", choice=0)])
@example(steps=[Breakage("inject", choice=1)])
def test_broken_or_hostile_edxml_gives_findings_only(steps: list[Breakage], targets: Targets) -> None:
    data = _break(_edxml_packet(), steps, targets)
    _parse(data)
    _read_edxml(data)


@fuzz_settings(max_examples=150)
@given(st.binary(max_size=1024) | st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_random_bytes_parse_or_are_refused(data: bytes) -> None:
    _parse(data)


def test_the_hostile_documents_do_reach_the_secret_with_a_careless_parser(targets: Targets) -> None:
    """The fuzzer's attacks are real: a parser left at its most trusting reads the secret file
    (and the listener sees a connection when one is made), so the tests above would see a leak."""
    careless = etree.XMLParser(resolve_entities=True, load_dtd=True, no_network=False)
    dossier = _package_files()[DOSSIER_EAD]
    from_file = _break(dossier, [Breakage("prolog", choice=0), Breakage("inject", choice=0)], targets)
    assert SECRET in etree.tostring(etree.fromstring(from_file, careless), encoding="unicode")
    with connection_watch() as listener:
        socket.create_connection(("127.0.0.1", listener.port), timeout=5).close()
        deadline = time.monotonic() + 5
        while listener.connections == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert listener.connections == 1
