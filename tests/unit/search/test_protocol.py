from __future__ import annotations

import unicodedata

import pytest

from search.protocol import AccessFilter, IndexedRecord, RecordKind, SearchQuery, label_key

RESTRICTED = "Sử dụng có điều kiện"


def test_labels_compare_after_nfc_trimming_and_case_folding() -> None:
    assert label_key(" CÔNG KHAI ") == label_key(unicodedata.normalize("NFD", "Công khai"))
    assert label_key("Công khai") != label_key("Cong khai")


@pytest.mark.parametrize(
    ("access", "fonds", "regime", "visible"),
    [
        (AccessFilter(), "F1", "Công khai", True),
        (AccessFilter(), "F1", "công khai", True),
        (AccessFilter(), "F1", RESTRICTED, False),
        (AccessFilter(open_regimes=frozenset()), "F1", "Công khai", False),
        (AccessFilter(see_all=True), "F1", RESTRICTED, True),
        (AccessFilter(grants=frozenset({("F1", RESTRICTED)})), "F1", RESTRICTED.upper(), True),
        (AccessFilter(grants=frozenset({("F1", RESTRICTED)})), "F2", RESTRICTED, False),
        (AccessFilter(grants=frozenset({("F1", RESTRICTED)})), "F1", "Mật", False),
    ],
)
def test_visibility_rule(access: AccessFilter, fonds: str, regime: str, visible: bool) -> None:
    assert access.allows(fonds, regime) is visible


@pytest.mark.parametrize(("limit", "offset"), [(-1, 0), (1001, 0), (20, -1)])
def test_query_bounds(limit: int, offset: int) -> None:
    with pytest.raises(ValueError, match=r"limit|offset"):
        SearchQuery(access=AccessFilter(), limit=limit, offset=offset)


def test_a_record_needs_a_code() -> None:
    with pytest.raises(ValueError, match="code"):
        IndexedRecord(kind=RecordKind.DOCUMENT, code="", title="", fonds="F", access_regime="")
