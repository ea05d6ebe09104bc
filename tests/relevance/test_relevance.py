"""Judged queries an archivist would type, with the records that must come first.

Reports precision@5 (relevant hits in the top 5, divided by min(5, number of relevant records))
and mean reciprocal rank per backend, and holds them above thresholds.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from search.protocol import AccessFilter, SearchIndex, SearchQuery
from tests.contract.test_search_index import SEARCH_BACKENDS, opensearch_url  # noqa: F401 -- fixture
from tests.relevance.collection import RESTRICTED, collection, corpus_available

# query -> the records that are relevant (the first one listed is the best answer)
JUDGED: list[tuple[str, set[str]]] = [
    # unaccented, as typed on a keyboard without a Vietnamese input method
    ("tuyen dung cong chuc", {"BNV.2019.0015", "000.00.00.G09.000.00.00.G09.2019.01.TCCB", "QN.2024.0901"}),
    ("nang bac luong", {"BNV.2019.0016"}),
    ("chuyen doi so", {"QN.2025.0090", "000.00.00.H49.000.00.00.H49.2025.03.VP"}),
    ("phong chay chua chay", {"QN.2025.0575"}),
    ("giai phong mat bang", {"QN.2025.0053", "QN.2018.0778"}),
    ("quy che lam viec", {"QN.2025.0138"}),
    ("ky luat ky cuong hanh chinh", {"QN.2025.0207"}),
    ("giai ngan von dau tu cong", {"QN.2025.0208"}),
    ("an toan giao thong hoc sinh", {"DN.2019.0463"}),
    ("hoc sinh gioi", {"DN.2023.0101"}),
    ("tuyen sinh lop 10", {"DN.2023.0102"}),
    ("cong tac van thu", {"BNV.2020.0030", "BNV.2019.0001"}),
    ("so hoa tai lieu luu tru", {"BNV.2021.0211", "BNV.2019.0002"}),
    ("chinh ly tai lieu", {"BNV.2021.0212"}),
    ("gia dat", {"QN.2018.0777", "QN.2018.0778"}),
    ("dich covid", {"QN.2020.1234", "QN.2020.1235", "DN.2020.0066", "000.00.00.H17.000.00.00.H17.2020.05.GD"}),
    ("luat luu tru", {"BNV.2021.0210"}),
    ("vien thong cong ich", {"QN.2025.0012"}),
    ("dong bao dan toc thieu so", {"QN.2024.0507"}),
    # with diacritics
    ("tuyển dụng công chức", {"BNV.2019.0015", "000.00.00.G09.000.00.00.G09.2019.01.TCCB", "QN.2024.0901"}),
    ("Chương trình mục tiêu quốc gia", {"QN.2024.0507"}),
    ("khen thưởng", {"BNV.2019.0150"}),
    ("tiêu chuẩn dữ liệu thông tin đầu vào", {"BNV.2019.0002"}),
    ("kỳ thi THPT quốc gia", {"DN.2019.0463"}),
    ("đổi mới căn bản, toàn diện giáo dục", {"DN.2023.5740"}),
    ("tổng kết năm học", {"DN.2022.0055"}),
    ("văn thư ban hành văn bản", {"BNV.2023.0046"}),
    # number and notation, in the forms people type
    ("15/QĐ-BNV", {"BNV.2019.0015"}),
    ("15/QD-BNV", {"BNV.2019.0015"}),
    ("QĐ-BNV 15", {"BNV.2019.0015"}),
    ("30/2020/NĐ-CP", {"BNV.2020.0030"}),
    ("30/2020/ND-CP", {"BNV.2020.0030"}),
    ("02/2019/TT-BNV", {"BNV.2019.0002"}),
    ("507/TB-UBND", {"QN.2024.0507"}),
    ("4637/SGDĐT-CTrTT", {"DN.2019.0463"}),
    # phrases
    ('"phê duyệt lịch"', {"BNV.2023.0044"}),
    ('"dịch vụ viễn thông công ích"', {"QN.2025.0012"}),
    # words found only in the page text (born-digital text layer)
    ("openvpn client", {"BNV.2023.0045"}),
    ("Sở Thông tin và Truyền thông", {"QN.2025.0012"}),
    ("thêm mới lịch", {"BNV.2023.0044"}),
    # words of the digitised poem, from its text layer
    ("nang sai gon anh di ma chot mat", {"VH.1970.0001"}),
    ("áo lụa Hà Đông", {"VH.1970.0001"}),
]

ARCHIVIST = AccessFilter(open_regimes=frozenset({"Công khai"}))
MIN_PRECISION_AT_5 = 0.85
MIN_MRR = 0.9


def _scores(index: SearchIndex) -> tuple[float, float, list[str]]:
    """Precision@5 and MRR over the records an archivist without grants may see."""
    regimes = {r.code: r.access_regime for r in collection()}
    precisions, reciprocal_ranks, misses = [], [], []
    for query, relevant in JUDGED:
        visible = {code for code in relevant if ARCHIVIST.allows("", regimes[code])}
        hits = [h.code for h in index.query(SearchQuery(text=query, access=ARCHIVIST, limit=10)).hits]
        top = hits[:5]
        precisions.append(len(visible & set(top)) / min(5, len(visible)))
        rank = next((i for i, code in enumerate(hits, start=1) if code in visible), None)
        reciprocal_ranks.append(1 / rank if rank else 0.0)
        if rank != 1:
            misses.append(f"{query!r}: first relevant at {rank}, top {top}")
    return sum(precisions) / len(precisions), sum(reciprocal_ranks) / len(reciprocal_ranks), misses


Opener = Callable[[pytest.FixtureRequest, Path], SearchIndex]


@pytest.mark.parametrize("open_backend", SEARCH_BACKENDS)
def test_judged_queries_find_the_right_records_first(
    open_backend: Opener, request: pytest.FixtureRequest, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if not corpus_available():
        pytest.fail("the shared corpus (../shared/corpus) is needed for the relevance suite")
    assert len(JUDGED) >= 40
    index = open_backend(request, tmp_path)
    try:
        index.rebuild(collection())
        precision, mrr, misses = _scores(index)
    finally:
        index.close()
    with capsys.disabled():
        print(
            f"\n[relevance] {request.node.callspec.id}: {len(JUDGED)} queries: "
            f"precision@5 = {precision:.3f}, MRR = {mrr:.3f}"
        )
    assert precision >= MIN_PRECISION_AT_5, misses
    assert mrr >= MIN_MRR, misses


@pytest.mark.parametrize("open_backend", SEARCH_BACKENDS)
def test_restricted_records_never_surface_for_an_archivist_without_the_grant(
    open_backend: Opener, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    index = open_backend(request, tmp_path)
    try:
        index.rebuild(collection())
        result = index.query(SearchQuery(text="ky thi tuyen cong chuc", access=ARCHIVIST))
        granted = index.query(
            SearchQuery(
                text="ky thi tuyen cong chuc",
                access=AccessFilter(
                    open_regimes=frozenset({"Công khai"}), grants=frozenset({("000.00.00.H49", RESTRICTED)})
                ),
            )
        )
    finally:
        index.close()
    assert "QN.2024.0901" not in {h.code for h in result.hits}
    assert RESTRICTED not in result.facets.get("access_regime", {})
    assert granted.hits[0].code == "QN.2024.0901"
