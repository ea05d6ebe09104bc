"""What only the embedded backend has: its file, its generations, and SQLite's failure modes."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from search.embedded import EmbeddedSearchIndex
from search.errors import RebuildSupersededError, SearchUnavailable
from search.factory import open_index
from search.protocol import AccessFilter, IndexedRecord, RecordKind, SearchQuery


def record(code: str, title: str = "Quyết định phê duyệt") -> IndexedRecord:
    return IndexedRecord(kind=RecordKind.DOCUMENT, code=code, title=title, fonds="F1", access_regime="Công khai")


def codes(index: EmbeddedSearchIndex, text: str = "") -> list[str]:
    result = index.query(SearchQuery(text=text, access=AccessFilter(), limit=1000))
    return sorted(hit.code for hit in result.hits)


def tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "index" / "search.sqlite3"


@pytest.fixture
def index(path: Path) -> Iterator[EmbeddedSearchIndex]:
    opened = EmbeddedSearchIndex(path)
    yield opened
    opened.close()


def test_factory(tmp_path: Path) -> None:
    index = open_index("embedded", tmp_path)
    index.close()
    assert (tmp_path / "index" / "search.sqlite3").is_file()
    remote = open_index("http://127.0.0.1:9200", tmp_path)  # opening does not connect
    assert type(remote).__name__ == "OpenSearchIndex"
    remote.close()
    with pytest.raises(ValueError, match="not supported"):
        open_index("solr", tmp_path)


def test_the_index_persists_in_wal_mode(index: EmbeddedSearchIndex, path: Path) -> None:
    index.index([record("A")])
    index.close()
    reopened = EmbeddedSearchIndex(path)
    assert codes(reopened, "quyet dinh") == ["A"]
    reopened.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_rebuild_keeps_one_generation(index: EmbeddedSearchIndex, path: Path) -> None:
    index.index([record("A")])
    index.rebuild([record("B")])
    index.rebuild([record("C")])
    assert {name for name in tables(path) if name.startswith("records_")} == {"records_g3"}
    assert codes(index) == ["C"]


def test_a_superseded_rebuild_fails_and_the_newer_one_wins(index: EmbeddedSearchIndex, path: Path) -> None:
    other = EmbeddedSearchIndex(path)  # another process, say a second `archive reindex`

    def records() -> Iterator[IndexedRecord]:
        yield from (record(f"OLD-{i}") for i in range(600))  # one batch is written
        other.rebuild([record("NEW")])
        yield record("OLD-LAST")

    with pytest.raises(RebuildSupersededError):
        index.rebuild(records())
    assert codes(index) == ["NEW"]
    other.close()


def test_a_crashed_rebuild_leaves_debris_that_the_next_rebuild_clears(index: EmbeddedSearchIndex, path: Path) -> None:
    def crash() -> Iterator[IndexedRecord]:
        yield from (record(f"X-{i}") for i in range(600))
        raise KeyboardInterrupt  # rebuild cleans up even on this

    with pytest.raises(KeyboardInterrupt):
        index.rebuild(crash())
    assert len({name for name in tables(path) if name.startswith("records_")}) == 1
    with sqlite3.connect(path) as conn:  # a process killed mid-rebuild leaves a building generation
        conn.execute("INSERT INTO generations (state) VALUES ('building')")
    index.rebuild([record("B")])
    assert codes(index) == ["B"]
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT state FROM generations").fetchall() == [("active",)]


def test_a_file_that_is_not_an_index_is_unavailable(path: Path) -> None:
    path.parent.mkdir(parents=True)
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(SearchUnavailable):
        EmbeddedSearchIndex(path)


def test_a_closed_index_is_unavailable(index: EmbeddedSearchIndex) -> None:
    index.close()
    with pytest.raises(SearchUnavailable):
        index.health()


@given(st.text(max_size=60))
def test_any_query_text_is_answered(tmp_path_factory: pytest.TempPathFactory, text: str) -> None:
    index = EmbeddedSearchIndex(tmp_path_factory.getbasetemp() / "hypothesis.sqlite3")
    try:
        index.index([record("A", 'Quyết định "số" 15/QĐ-BNV AND OR NOT NEAR(x) * ^')])
        result = index.query(SearchQuery(text=text, access=AccessFilter()))
        assert result.total == len(result.hits) <= 1
    finally:
        index.close()


@pytest.mark.parametrize("text", ['"', 'a"b', "NEAR(a b)", "a OR b", "*", "^quyết", "title: a", "{x}"])
def test_query_syntax_is_never_passed_to_fts(index: EmbeddedSearchIndex, text: str) -> None:
    index.index([record("A")])
    index.query(SearchQuery(text=text, access=AccessFilter()))
