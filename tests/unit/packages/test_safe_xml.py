from __future__ import annotations

from pathlib import Path

import pytest

from archive_service.packages.safe_xml import (
    MalformedXmlError,
    UnsafeXmlError,
    parse_xml_bytes,
    parse_xml_file,
)

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<HoSo><Title>&lol9;</Title></HoSo>"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE HoSo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<HoSo><Title>&xxe;</Title></HoSo>"""

XXE_NETWORK = b"""<?xml version="1.0"?>
<!DOCTYPE HoSo SYSTEM "http://127.0.0.1:9/evil.dtd"><HoSo/>"""


@pytest.mark.parametrize("data", [BILLION_LAUGHS, XXE, XXE_NETWORK, BILLION_LAUGHS.decode().encode("utf-16")])
def test_doctype_is_refused(data: bytes) -> None:
    with pytest.raises(UnsafeXmlError) as info:
        parse_xml_bytes(data)
    assert "DOCTYPE" in info.value.reason_vi


def test_doctype_after_long_prolog_is_still_refused() -> None:
    data = b"<?xml version='1.0'?>" + b"<!--" + b"x" * 10_000 + b"-->" + XXE.split(b"?>", 1)[1]
    with pytest.raises(UnsafeXmlError):
        parse_xml_bytes(data)


def test_xinclude_is_refused() -> None:
    data = b'<a xmlns:xi="http://www.w3.org/2001/XInclude"><xi:include href="/etc/passwd" parse="text"/></a>'
    with pytest.raises(UnsafeXmlError, match="XInclude"):
        parse_xml_bytes(data)


def test_network_href_is_refused() -> None:
    data = b'<m xmlns:xlink="http://www.w3.org/1999/xlink"><f xlink:href="https://example.org/x.pdf"/></m>'
    with pytest.raises(UnsafeXmlError):
        parse_xml_bytes(data)


def test_deep_nesting_is_refused_quickly() -> None:
    data = b"<a>" * 100_000 + b"</a>" * 100_000
    with pytest.raises(UnsafeXmlError):
        parse_xml_bytes(data)


def test_oversized_file_is_refused_without_reading_it_all(tmp_path: Path) -> None:
    big = tmp_path / "big.xml"
    big.write_bytes(b"<a>" + b"x" * 2_000_000 + b"</a>")
    with pytest.raises(UnsafeXmlError):
        parse_xml_file(big, max_bytes=1_000_000)


def test_malformed_xml_says_where() -> None:
    with pytest.raises(MalformedXmlError, match="line 1"):
        parse_xml_bytes(b"<HoSo><Title></HoSo>")


def test_vietnamese_xml_parses() -> None:
    root = parse_xml_bytes("<HoSo><Title>Hồ sơ về việc tuyển dụng</Title></HoSo>".encode())
    assert root.findtext("Title") == "Hồ sơ về việc tuyển dụng"
