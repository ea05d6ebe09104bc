from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from archive_service.packages.safe_paths import UnsafePathError, join_relative, safe_relative_path


@pytest.mark.parametrize(
    "name",
    ["/etc/passwd", "\\windows\\system32", "C:/x.pdf", "pkg/../../etc/passwd", "..", "a/\x00b", "", "./"],
)
def test_unsafe_names_are_refused(name: str) -> None:
    with pytest.raises(UnsafePathError):
        safe_relative_path(name)


def test_clean_names_are_normalised() -> None:
    assert safe_relative_path("pkg//data/./a.pdf") == "pkg/data/a.pdf"
    assert safe_relative_path("pkg\\data\\a.pdf") == "pkg/data/a.pdf"
    # NFD "Quyết" becomes NFC
    assert safe_relative_path("pkg/Quye\u0302\u0301t.pdf") == "pkg/Quy\u1ebft.pdf"


def test_join_relative_refuses_escape_from_representation() -> None:
    assert join_relative("representations/rep1", "data/a.pdf") == "representations/rep1/data/a.pdf"
    with pytest.raises(UnsafePathError):
        join_relative("representations/rep1", "../../METS.xml")


@given(st.text())
def test_result_never_escapes_or_is_absolute(name: str) -> None:
    try:
        clean = safe_relative_path(name)
    except UnsafePathError:
        return
    assert not clean.startswith("/")
    assert ".." not in clean.split("/")
    assert "" not in clean.split("/")
    assert "\\" not in clean
