"""The SearchIndex contract: every backend must pass all of it (see SEARCH_BACKENDS).

The corpus is ~30 generated Vietnamese dossiers and documents plus a few records written for
one test each. Expected totals and facets are computed from the corpus with
`AccessFilter.allows`, the rule every backend must apply inside its query.
"""

from __future__ import annotations

import os
import subprocess
import threading
import unicodedata
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import NoReturn

import pytest

from search.errors import SearchUnavailable
from search.factory import open_index
from search.protocol import (
    FACET_FIELDS,
    AccessFilter,
    IndexedRecord,
    RecordKind,
    SearchIndex,
    SearchQuery,
    SearchResult,
)

REPO = Path(__file__).resolve().parents[2]
OPENSEARCH_SCRIPT = REPO / "scripts" / "services" / "opensearch.sh"
OPENSEARCH_PORT = os.environ.get("ARCHIVE_OPENSEARCH_PORT", "9201")
OPENSEARCH_URL = f"http://127.0.0.1:{OPENSEARCH_PORT}"


def opensearch_answers(url: str) -> bool:
    from opensearchpy import OpenSearch

    probe = OpenSearch(hosts=[url], timeout=5, max_retries=0)
    try:
        status = probe.cluster.health()["status"]
    except Exception:  # noqa: BLE001 - any failure means "not there"
        return False
    finally:
        probe.close()
    return status in ("green", "yellow")


def unavailable(message: str) -> NoReturn:
    """Skip, or fail under CI=true, where OpenSearch cannot be used."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def opensearch_url() -> Iterator[str]:
    """An OpenSearch node for the session: one already on the port, else one the script starts.

    A node this session started is stopped at its end. Without one the tests skip, or fail
    under CI=true.
    """
    started = False
    try:
        import opensearchpy  # noqa: F401
    except ImportError:
        unavailable("opensearch-py is not installed (needed with scripts/services/opensearch.sh)")
    if not opensearch_answers(OPENSEARCH_URL):
        done = subprocess.run(
            ["bash", str(OPENSEARCH_SCRIPT), "start", "", OPENSEARCH_PORT],
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        started = done.returncode == 0
        if not started or not opensearch_answers(OPENSEARCH_URL):
            message = (
                f"OpenSearch is not running on {OPENSEARCH_URL} and `scripts/services/opensearch.sh start` "
                f"failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
            )
            unavailable(message)
    yield OPENSEARCH_URL
    if started:
        subprocess.run(["bash", str(OPENSEARCH_SCRIPT), "stop"], capture_output=True, timeout=120, check=False)


def open_embedded(request: pytest.FixtureRequest, tmp_path: Path) -> SearchIndex:
    return open_index("embedded", tmp_path)


def open_opensearch(request: pytest.FixtureRequest, tmp_path: Path) -> SearchIndex:
    """A fresh alias per test; its indices are deleted afterwards."""
    from opensearchpy import OpenSearch

    from search.opensearch import OpenSearchIndex

    url: str = request.getfixturevalue("opensearch_url")
    prefix = f"test-{uuid.uuid4().hex[:12]}"

    def drop() -> None:
        admin = OpenSearch(hosts=[url])
        admin.indices.delete(index=f"{prefix}-*", ignore_unavailable=True)
        admin.close()

    request.addfinalizer(drop)
    return OpenSearchIndex(url, prefix)


# Adding a backend is one entry here; OpenSearch skips (fails under CI=true) without a node.
SEARCH_BACKENDS = [
    pytest.param(open_embedded, id="embedded"),
    pytest.param(open_opensearch, id="opensearch"),
]

FONDS_A = "H49.01"
FONDS_B = "G09.02"
PUBLIC = "Công khai"
RESTRICTED = "Sử dụng có điều kiện"
DOC = RecordKind.DOCUMENT
DOSSIER = RecordKind.DOSSIER

TYPES = ["Quyết định", "Công văn", "Báo cáo", "Tờ trình", "Kế hoạch"]
ORGANS = ["Bộ Nội vụ", "Ủy ban nhân dân tỉnh Quảng Ngãi", "Sở Giáo dục và Đào tạo"]
SUBJECTS = [
    "Về việc nâng bậc lương thường xuyên cho công chức",
    "Tổng kết công tác thi đua khen thưởng",
    "Hướng dẫn phòng, chống dịch COVID-19 trong trường học",
    "Kiểm tra việc thực hiện quy định về tiếp công dân",
    "Đào tạo, bồi dưỡng cán bộ, công chức cấp xã",
    "Sắp xếp đơn vị hành chính cấp huyện",
]
GENERATED = [
    IndexedRecord(
        kind=DOSSIER if i % 4 == 0 else DOC,
        code=f"{FONDS_A if i % 2 else FONDS_B}.{2018 + i % 6}.{i:02d}",
        title=f"{TYPES[i % 5]} {SUBJECTS[i % 6].lower()}",
        fonds=FONDS_A if i % 2 else FONDS_B,
        access_regime=PUBLIC,
        year=2018 + i % 6,
        doc_type=TYPES[i % 5],
        organ=ORGANS[i % 3],
        retention="Vĩnh viễn" if i % 3 == 0 else "20 năm",
        number_notation=f"{i + 100}/{'UBND-VX' if i % 3 == 1 else 'BNV-VP'}",
        subject=SUBJECTS[i % 6],
        keywords="công chức; thi đua" if i % 2 else "hành chính",
    )
    for i in range(24)
]
SPECIAL = [
    IndexedRecord(
        kind=DOC,
        code="DOC-EXACT",
        title="Quyết định phê duyệt kế hoạch lưu trữ năm 2020",
        fonds=FONDS_A,
        access_regime=PUBLIC,
        year=2020,
        doc_type="Quyết định",
        organ="Bộ Nội vụ",
        number_notation="15/QĐ-BNV",
        issued_date="2020-03-05",
    ),
    IndexedRecord(
        kind=DOC,
        code="DOC-NEAR",
        title="Quyết đính chính số liệu phê duyệt",  # "quyết đính": folds like "quyết định"
        fonds=FONDS_A,
        access_regime=PUBLIC,
        year=2021,
        doc_type="Thông báo",
    ),
    IndexedRecord(
        kind=DOC,
        code="DOC-ASCII",
        title="Quyet dinh khen thuong tap the",  # metadata typed without diacritics
        fonds=FONDS_B,
        access_regime=PUBLIC,
        year=2019,
    ),
    IndexedRecord(
        kind=DOC,
        code="DOC-CITES",
        title="Công văn hướng dẫn thực hiện",
        fonds=FONDS_A,
        access_regime=PUBLIC,
        year=2020,
        doc_type="Công văn",
        number_notation="205/BNV-VP",
        full_text="Căn cứ Quyết định số 15/QĐ-BNV ngày 05/3/2020 của Bộ trưởng Bộ Nội vụ.",
    ),
    IndexedRecord(
        kind=DOC,
        code="DOC-OCR",
        title="Báo cáo tình hình thiệt hại",
        fonds=FONDS_B,
        access_regime=PUBLIC,
        year=2022,
        doc_type="Báo cáo",
        full_text="Trang 3. Do mưa lớn kéo dài, nhiều nơi xảy ra sạt lở đất và lũ quét.",
    ),
    IndexedRecord(
        kind=DOC,
        code="DOC-PHRASE",
        title="Quy chế công tác văn thư lưu trữ của cơ quan",
        fonds=FONDS_A,
        access_regime=PUBLIC,
        year=2019,
    ),
    IndexedRecord(
        kind=DOC,
        code="DOC-SCATTER",
        title="Lưu trữ hồ sơ điện tử và văn thư",
        fonds=FONDS_A,
        access_regime=PUBLIC,
        year=2019,
    ),
    IndexedRecord(
        kind=DOC,
        code="DOC-HTML",
        title="Báo cáo <script>alert(1)</script> tổng kết & đánh giá",
        fonds=FONDS_B,
        access_regime="CÔNG KHAI",  # regimes compare case-insensitively
        year=2023,
    ),
    IndexedRecord(
        kind=DOSSIER,
        code="SECRET-A",
        title="Quyết định biệt phái cán bộ",
        fonds=FONDS_A,
        access_regime=RESTRICTED,
        year=2017,
        doc_type="Quyết định",
        organ="Cục Quản trị đặc biệt",
        retention="70 năm",
        subject="Hồ sơ biệt phái",
    ),
    IndexedRecord(
        kind=DOC,
        code="SECRET-B",
        title="Quyết định biệt phái chuyên gia",
        fonds=FONDS_B,
        access_regime=RESTRICTED,
        year=2016,
        doc_type="Quyết định",
        organ="Cục Quản trị đặc biệt",
        full_text="Danh sách biệt phái kèm theo.",
    ),
]
CORPUS = GENERATED + SPECIAL
BY_CODE = {record.code: record for record in CORPUS}
SECRETS = {"SECRET-A", "SECRET-B"}

ANYONE = AccessFilter()
ADMIN = AccessFilter(see_all=True)
GRANT_A = AccessFilter(grants=frozenset({(FONDS_A, RESTRICTED)}))
# The same grant as typed by someone else: decomposed and in capitals.
GRANT_A_NFD = AccessFilter(grants=frozenset({(FONDS_A, unicodedata.normalize("NFD", RESTRICTED.upper()))}))
ACCESS_FILTERS = [
    pytest.param(ANYONE, id="anyone"),
    pytest.param(ADMIN, id="admin"),
    pytest.param(GRANT_A, id="grant-a"),
    pytest.param(GRANT_A_NFD, id="grant-a-nfd"),
    pytest.param(AccessFilter(open_regimes=frozenset()), id="nothing-open"),
]


@pytest.fixture(params=SEARCH_BACKENDS)
def index(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SearchIndex]:
    opened: SearchIndex = request.param(request, tmp_path)
    yield opened
    opened.close()


@pytest.fixture
def loaded(index: SearchIndex) -> SearchIndex:
    index.index(CORPUS)
    return index


def search(
    index: SearchIndex,
    text: str,
    access: AccessFilter = ANYONE,
    *,
    fonds: str | None = None,
    year: int | None = None,
    doc_type: str | None = None,
    access_regime: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> SearchResult:
    return index.query(
        SearchQuery(
            text=text,
            access=access,
            fonds=fonds,
            year=year,
            doc_type=doc_type,
            access_regime=access_regime,
            limit=limit,
            offset=offset,
        )
    )


def codes(result: SearchResult) -> list[str]:
    return [hit.code for hit in result.hits]


def expected_facets(records: Iterable[IndexedRecord]) -> dict[str, dict[str, int]]:
    facets: dict[str, Counter[str]] = {name: Counter() for name in FACET_FIELDS}
    for record in records:
        for name in FACET_FIELDS:
            value = getattr(record, name)
            if value not in ("", None):
                facets[name][str(value)] += 1
    # regimes are counted case-insensitively, under one of their spellings
    regimes = Counter[str]()
    for value, count in facets["access_regime"].items():
        regimes[value.casefold()] += count
    return {name: dict(counter) for name, counter in facets.items()} | {"access_regime": dict(regimes)}


def casefold_regimes(result: SearchResult) -> dict[str, dict[str, int]]:
    regimes = {value.casefold(): count for value, count in result.facets["access_regime"].items()}
    return result.facets | {"access_regime": regimes}


# --- Vietnamese matching and ranking --------------------------------------------------------------


def test_query_without_diacritics_finds_accented_records(loaded: SearchIndex) -> None:
    assert codes(search(loaded, "quyet dinh phe duyet ke hoach")) == ["DOC-EXACT"]
    found = set(codes(search(loaded, "quyet dinh")))
    assert {"DOC-EXACT", "DOC-NEAR", "DOC-ASCII"} <= found
    assert found.isdisjoint(SECRETS)


def test_decomposed_and_upper_case_queries_match_like_nfc(loaded: SearchIndex) -> None:
    nfd = unicodedata.normalize("NFD", "QUYẾT ĐỊNH PHÊ DUYỆT")
    assert codes(search(loaded, nfd)) == codes(search(loaded, "quyết định phê duyệt"))
    assert "DOC-EXACT" in codes(search(loaded, nfd))


def test_exact_diacritics_rank_above_folded_only_matches(loaded: SearchIndex) -> None:
    ranked = codes(search(loaded, "quyết định"))
    exact = [code for code in ranked if "quyết định" in BY_CODE[code].title.lower()]
    folded_only = ["DOC-NEAR", "DOC-ASCII"]
    assert set(folded_only) <= set(ranked)
    assert exact
    assert max(ranked.index(code) for code in exact) < min(ranked.index(c) for c in folded_only)


def test_scores_follow_hit_order(loaded: SearchIndex) -> None:
    scores = [hit.score for hit in search(loaded, "quyết định").hits]
    assert scores == sorted(scores, reverse=True)


@pytest.mark.parametrize("text", ["15/QĐ-BNV", "15/QD-BNV", "15/qđ-bnv", "QĐ-BNV 15", "số 15 QĐ BNV"])
def test_number_and_symbol_find_the_document_first(loaded: SearchIndex, text: str) -> None:
    ranked = codes(search(loaded, text))
    assert ranked[0] == "DOC-EXACT"
    assert "DOC-CITES" in ranked  # it cites 15/QĐ-BNV in its text


def test_phrase_matches_syllables_in_order(loaded: SearchIndex) -> None:
    assert codes(search(loaded, '"văn thư lưu trữ"')) == ["DOC-PHRASE"]
    assert codes(search(loaded, '"van thu luu tru"')) == ["DOC-PHRASE"]
    assert set(codes(search(loaded, "văn thư lưu trữ"))) == {"DOC-PHRASE", "DOC-SCATTER"}


def test_full_text_is_searched(loaded: SearchIndex) -> None:
    result = search(loaded, "sạt lở")
    assert codes(result) == ["DOC-OCR"]
    assert "<mark>sạt</mark> <mark>lở</mark>" in result.hits[0].highlight


def test_dossiers_and_documents_are_both_found(loaded: SearchIndex) -> None:
    kinds = {hit.kind for hit in search(loaded, "công chức").hits}
    assert kinds == {RecordKind.DOSSIER, RecordKind.DOCUMENT}


# --- Highlights -----------------------------------------------------------------------------------


def test_highlight_marks_matched_syllables_in_the_stored_text(loaded: SearchIndex) -> None:
    (hit,) = [hit for hit in search(loaded, "quyet dinh phe duyet").hits if hit.code == "DOC-EXACT"]
    assert hit.highlight.startswith("<mark>Quyết</mark> <mark>định</mark> <mark>phê</mark>")


def test_highlight_is_escaped_html(loaded: SearchIndex) -> None:
    (hit,) = search(loaded, "tổng kết đánh giá").hits
    assert "<script>" not in hit.highlight
    assert "&lt;script&gt;" in hit.highlight
    assert "&amp;" in hit.highlight


# --- Filters, paging, facets ----------------------------------------------------------------------


def test_filters(loaded: SearchIndex) -> None:
    def visible(record: IndexedRecord) -> bool:
        return ANYONE.allows(record.fonds, record.access_regime)

    assert set(codes(search(loaded, "", fonds=FONDS_A))) == {
        r.code for r in CORPUS if r.fonds == FONDS_A and visible(r)
    }
    assert set(codes(search(loaded, "", year=2020))) == {r.code for r in CORPUS if r.year == 2020 and visible(r)}
    assert set(codes(search(loaded, "", doc_type="QUYẾT ĐỊNH"))) == {
        r.code for r in CORPUS if r.doc_type == "Quyết định" and visible(r)
    }
    assert set(codes(search(loaded, "quyết định", ADMIN, access_regime=RESTRICTED))) == SECRETS
    assert codes(search(loaded, "kế hoạch", fonds=FONDS_A, year=2020)) == ["DOC-EXACT"]


def test_paging_is_stable_and_total_ignores_the_page(loaded: SearchIndex) -> None:
    everything = search(loaded, "")
    pages = [search(loaded, "", limit=7, offset=offset) for offset in range(0, 40, 7)]
    assert all(page.total == everything.total for page in pages)
    assert [code for page in pages for code in codes(page)] == codes(everything)
    assert search(loaded, "", limit=0).hits == []


@pytest.mark.parametrize("access", ACCESS_FILTERS)
def test_total_and_facets_count_exactly_the_visible_records(loaded: SearchIndex, access: AccessFilter) -> None:
    visible = [r for r in CORPUS if access.allows(r.fonds, r.access_regime)]
    result = search(loaded, "", access, limit=1000)
    assert result.total == len(visible)
    assert sorted(codes(result)) == sorted(r.code for r in visible)
    assert casefold_regimes(result) == expected_facets(visible)


# --- Access ---------------------------------------------------------------------------------------


def test_restricted_records_never_reach_a_user_without_the_grant(loaded: SearchIndex) -> None:
    for text in ["biệt phái", "quyết định", "cục quản trị đặc biệt", ""]:
        result = search(loaded, text)
        assert SECRETS.isdisjoint(codes(result))
        assert result.total == len(result.hits)
        assert "Cục Quản trị đặc biệt" not in result.facets["organ"]
        assert not {"2016", "2017"} & result.facets["year"].keys()
        assert RESTRICTED not in result.facets["access_regime"]
        assert "70 năm" not in result.facets["retention"]
        assert not any("biệt" in hit.highlight for hit in result.hits)
    nothing = search(loaded, "biệt phái")
    assert (nothing.total, nothing.hits) == (0, [])
    assert all(counts == {} for counts in nothing.facets.values())


@pytest.mark.parametrize("grant", [GRANT_A, GRANT_A_NFD], ids=["nfc", "nfd-upper"])
def test_a_grant_opens_one_regime_in_one_fonds(loaded: SearchIndex, grant: AccessFilter) -> None:
    result = search(loaded, "biệt phái", grant)
    assert codes(result) == ["SECRET-A"]
    assert result.total == 1
    assert result.facets["organ"] == {"Cục Quản trị đặc biệt": 1}
    assert "<mark>biệt</mark> <mark>phái</mark>" in result.hits[0].highlight
    assert set(codes(search(loaded, "biệt phái", ADMIN))) == SECRETS


def test_nothing_is_visible_when_no_regime_is_open(loaded: SearchIndex) -> None:
    closed = AccessFilter(open_regimes=frozenset())
    assert search(loaded, "quyết định", closed).total == 0


# --- Writes -----------------------------------------------------------------------------------------


def test_index_upserts_by_kind_and_code(loaded: SearchIndex) -> None:
    before = search(loaded, "").total
    loaded.index([replace(BY_CODE["DOC-OCR"], title="Báo cáo khắc phục hậu quả", full_text="")])
    assert codes(search(loaded, "sạt lở")) == []
    assert codes(search(loaded, "khắc phục hậu quả")) == ["DOC-OCR"]
    assert search(loaded, "").total == before
    # the same code as another kind is another record
    loaded.index([replace(BY_CODE["DOC-OCR"], kind=DOSSIER, title="Hồ sơ khắc phục hậu quả")])
    assert {hit.kind for hit in search(loaded, "khắc phục hậu quả").hits} == {DOC, DOSSIER}


def test_a_record_can_lose_its_access(loaded: SearchIndex) -> None:
    loaded.index([replace(BY_CODE["DOC-EXACT"], access_regime=RESTRICTED)])
    assert "DOC-EXACT" not in codes(search(loaded, "15/QĐ-BNV"))
    assert "DOC-EXACT" in codes(search(loaded, "15/QĐ-BNV", GRANT_A))


def test_delete(loaded: SearchIndex) -> None:
    loaded.delete(DOC, "DOC-OCR")
    assert codes(search(loaded, "sạt lở")) == []
    loaded.delete(DOC, "DOC-OCR")  # absent: nothing happens
    loaded.delete(DOSSIER, "DOC-EXACT")  # wrong kind: nothing happens
    assert codes(search(loaded, "15/QĐ-BNV"))[0] == "DOC-EXACT"


def test_rebuild_replaces_everything(loaded: SearchIndex) -> None:
    fresh = IndexedRecord(kind=DOSSIER, code="NEW-1", title="Hồ sơ tiếp nhận mới", fonds=FONDS_A, access_regime=PUBLIC)
    loaded.rebuild([BY_CODE["DOC-PHRASE"], fresh])
    assert sorted(codes(search(loaded, ""))) == ["DOC-PHRASE", "NEW-1"]
    assert codes(search(loaded, "sạt lở")) == []
    assert codes(search(loaded, "15/QĐ-BNV")) == []
    loaded.index([BY_CODE["DOC-OCR"]])
    assert codes(search(loaded, "sạt lở")) == ["DOC-OCR"]


def test_readers_see_the_old_index_until_the_rebuild_is_swapped_in(loaded: SearchIndex) -> None:
    seen_during_rebuild: list[SearchResult] = []

    def records() -> Iterator[IndexedRecord]:
        for i in range(1200):  # several batches
            yield replace(BY_CODE["DOC-PHRASE"], code=f"NEW-{i}", title=f"Hồ sơ mới số {i}")
            if i == 600:
                seen_during_rebuild.append(search(loaded, "", limit=0))
                seen_during_rebuild.append(search(loaded, "hồ sơ mới", limit=0))

    loaded.rebuild(records())
    old_total = len([r for r in CORPUS if ANYONE.allows(r.fonds, r.access_regime)])
    assert [result.total for result in seen_during_rebuild] == [old_total, 0]
    assert search(loaded, "", limit=0).total == 1200


def test_writes_during_a_rebuild_are_kept(loaded: SearchIndex) -> None:
    late = replace(BY_CODE["DOC-OCR"], code="LATE", title="Văn bản đến muộn")

    def records() -> Iterator[IndexedRecord]:
        yield BY_CODE["DOC-PHRASE"]
        loaded.index([late])  # committed to the catalog after the rebuild read it
        yield BY_CODE["DOC-EXACT"]

    loaded.rebuild(records())
    assert sorted(codes(search(loaded, ""))) == ["DOC-EXACT", "DOC-PHRASE", "LATE"]


def test_a_failed_rebuild_leaves_the_index_as_it_was(loaded: SearchIndex) -> None:
    def records() -> Iterator[IndexedRecord]:
        yield BY_CODE["DOC-PHRASE"]
        raise RuntimeError("catalog read failed")

    before = codes(search(loaded, ""))
    with pytest.raises(RuntimeError, match="catalog read failed"):
        loaded.rebuild(records())
    assert codes(search(loaded, "")) == before
    loaded.rebuild([BY_CODE["DOC-OCR"]])
    assert codes(search(loaded, "")) == ["DOC-OCR"]


def test_empty_index(index: SearchIndex) -> None:
    index.health()
    index.index([])
    result = search(index, "quyết định")
    assert (result.total, result.hits) == (0, [])


# --- Threads ----------------------------------------------------------------------------------------


def test_concurrent_queries_and_writes(loaded: SearchIndex) -> None:
    errors: list[BaseException] = []

    def worker(task: Callable[[int], object]) -> None:
        try:
            for i in range(25):
                task(i)
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread's assertion
            errors.append(exc)

    def reader(_: int) -> None:
        result = search(loaded, "quyết định")
        assert result.total == len(result.hits)

    def writer(i: int) -> None:
        loaded.index([replace(BY_CODE["DOC-OCR"], code=f"T-{i}")])

    threads = [threading.Thread(target=worker, args=(task,)) for task in (reader,) * 3 + (writer,)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(codes(search(loaded, "sạt lở"))) == 26


# --- Backend errors ---------------------------------------------------------------------------------


def test_an_unreachable_opensearch_raises_search_unavailable() -> None:
    """Connection errors of opensearch-py/urllib3 never pass the border (no server needed)."""
    pytest.importorskip("opensearchpy")
    from search.opensearch import OpenSearchIndex

    unreachable = OpenSearchIndex("http://127.0.0.1:9", "nowhere", timeout=2.0)  # discard port: refused
    with pytest.raises(SearchUnavailable) as raised:
        unreachable.health()
    assert raised.value.__cause__ is not None
    with pytest.raises(SearchUnavailable):
        search(unreachable, "quyết định")
    with pytest.raises(SearchUnavailable):
        unreachable.index([BY_CODE["DOC-OCR"]])
    unreachable.close()
