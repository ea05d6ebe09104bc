"""DIP folder and file names come from the sender's codes and names: they can never leave their
folder, and a name written in decomposed Unicode comes out composed (NFC)."""

from __future__ import annotations

import unicodedata

import pytest

from archive_service.packages.dip import document_folder, safe_component


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("000.00.00.G09.2019.01.TCCB", "000.00.00.G09.2019.01.TCCB"),
        ("../../etc/passwd", "etc_passwd"),
        ("a/b\\c", "a_b_c"),
        ("..", "_"),
        ("", "_"),
        ("Quyết định số 15.pdf", "Quyết_định_số_15.pdf"),
    ],
)
def test_a_component_is_one_safe_name(name: str, expected: str) -> None:
    assert safe_component(name) == expected


def test_decomposed_names_come_out_composed() -> None:
    decomposed = unicodedata.normalize("NFD", "Tờ trình.pdf")
    assert safe_component(decomposed) == unicodedata.normalize("NFC", "Tờ_trình.pdf")


def test_a_document_folder_has_exactly_two_levels() -> None:
    assert document_folder("../hs", "/vb/../x").split("/") == ["hs", "vb_.._x"]
