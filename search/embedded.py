"""The embedded search index: one SQLite file with FTS5, no server (spec architecture.md, Ports).

Layout. Generation N of the index is two tables: `records_gN` (kind, code, title, the filter and
facet columns, access keys, notation key) and `fts_gN`, an FTS5 table whose rowid is the record's
id and which holds every text field twice, as NFC text ("exact") and folded (`vietnamese.fold`).
The table `generations` names the `active` generation, which queries read, and the one being
`building`, if any.

Ranking. Syllables of the query must all match the folded columns (weighted BM25: title, then
subject and keywords, then codes and names, then the full text). A record whose exact columns
match the query as typed gains one point, so with diacritics in the query "quyết định" ranks
above "quyết đính"; a record whose canonical notation equals the query's gains two.

Access. The caller's `AccessFilter` is a condition of the SQL that selects the visible matches;
hits, total, facets and highlights are all computed from that set.

Rebuild ("alias" swap). `rebuild` fills a new generation while queries keep reading the active
one, then switches `generations` and drops the old tables in one transaction: a reader's WAL
snapshot holds either the old or the new generation, never a half-built one. Building a second
file and `os.replace`-ing it was rejected: the WAL and shared-memory files belong to the path,
so another process or thread still holding the old file (`archive serve` during `archive
reindex`) could pair the new database with the old WAL. Writes that arrive during a rebuild go
to both generations; as with any rebuild from a snapshot, a record the rebuild read before a
concurrent change can still overwrite it, so the caller re-indexes what changed while a rebuild
ran. One rebuild runs at a time: a new one discards a half-built generation, and the rebuild
that owned it fails with `RebuildSupersededError`.

Threads. One connection per thread, WAL mode, writers serialised by `BEGIN IMMEDIATE`.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from search.errors import RebuildSupersededError, SearchError, SearchUnavailable
from search.highlight import highlight, term_pattern
from search.protocol import (
    FACET_FIELDS,
    Hit,
    IndexedRecord,
    RecordKind,
    SearchQuery,
    SearchResult,
    batches,
    label_key,
)
from search.query_text import ParsedQuery, parse_query
from search.vietnamese import fold, nfc, normalise_notation

_TIMEOUT_SECONDS = 10.0
_REBUILD_BATCH = 500
_EXACT_COLUMNS = "{title subject keywords body meta}"
_FOLDED_COLUMNS = "{title_f subject_f keywords_f body_f meta_f}"

# Statements are templates over one generation's tables; `_sql` fills in `records_gN` and
# `fts_gN` from the integer generation, and every value is a bound parameter.
_GENERATIONS = """CREATE TABLE IF NOT EXISTS generations (
    gen INTEGER PRIMARY KEY,
    state TEXT NOT NULL CHECK (state IN ('active', 'building'))
)"""
_CREATE_GENERATION = (
    """CREATE TABLE {records} (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        code TEXT NOT NULL,
        title TEXT NOT NULL,
        fonds TEXT NOT NULL,
        year INTEGER,
        doc_type TEXT NOT NULL,
        organ TEXT NOT NULL,
        retention TEXT NOT NULL,
        access_regime TEXT NOT NULL,
        regime_key TEXT NOT NULL,
        doc_type_key TEXT NOT NULL,
        notation_key TEXT,
        UNIQUE (kind, code)
    )""",
    "CREATE INDEX {records}_notation ON {records} (notation_key)",
    """CREATE VIRTUAL TABLE {fts} USING fts5(
        title, subject, keywords, body, meta, title_f, subject_f, keywords_f, body_f, meta_f,
        tokenize = 'unicode61 remove_diacritics 0'
    )""",
)
_DROP_GENERATION = ("DROP TABLE IF EXISTS {fts}", "DROP TABLE IF EXISTS {records}")
_DELETE = (
    "DELETE FROM {fts} WHERE rowid IN (SELECT id FROM {records} WHERE kind = ? AND code = ?)",
    "DELETE FROM {records} WHERE kind = ? AND code = ?",
)
_INSERT_RECORD = """INSERT INTO {records} (kind, code, title, fonds, year, doc_type, organ,
    retention, access_regime, regime_key, doc_type_key, notation_key)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id"""
_INSERT_TEXT = """INSERT INTO {fts} (rowid, title, subject, keywords, body, meta,
    title_f, subject_f, keywords_f, body_f, meta_f) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"""

# A query is one read transaction: the visible matches and their scores go into this connection's
# temporary table, then the page, the facets and the page's texts are read from it.
_HITS = "CREATE TEMP TABLE IF NOT EXISTS hits (id INTEGER PRIMARY KEY, score REAL NOT NULL)"
_MATCHED = """
folded (id, rank) AS MATERIALIZED (
    SELECT rowid, bm25({fts}, 10.0, 4.0, 4.0, 1.0, 2.0, 10.0, 4.0, 4.0, 1.0, 2.0)
    FROM {fts} WHERE {fts} MATCH :folded
),
exact (id) AS MATERIALIZED (SELECT rowid FROM {fts} WHERE {fts} MATCH :exact),
notation (id) AS (SELECT id FROM {records} WHERE notation_key = :notation),
scored (id, score) AS (
    SELECT id, (id IN (SELECT id FROM exact)) + 2.0 * (id IN (SELECT id FROM notation))
               - rank / (1.0 - rank)
    FROM folded
    UNION ALL
    SELECT id, 2.0 FROM notation WHERE id NOT IN (SELECT id FROM folded)
)"""
_EVERYTHING = "scored (id, score) AS (SELECT id, 0.0 FROM {records})"
_COLLECT = """
INSERT INTO temp.hits (id, score)
SELECT r.id, s.score FROM scored AS s JOIN {records} AS r ON r.id = s.id
WHERE (:see_all
       OR r.regime_key IN (SELECT value FROM json_each(:open_regimes))
       OR r.fonds || char(31) || r.regime_key IN (SELECT value FROM json_each(:grants)))
  AND (:fonds IS NULL OR r.fonds = :fonds)
  AND (:year IS NULL OR r.year = :year)
  AND (:doc_type IS NULL OR r.doc_type_key = :doc_type)
  AND (:regime IS NULL OR r.regime_key = :regime)"""
_PAGE = """
SELECT r.id, r.kind, r.code, r.title, h.score FROM temp.hits AS h JOIN {records} AS r USING (id)
ORDER BY h.score DESC, r.year DESC, r.kind, r.code LIMIT ? OFFSET ?"""
_FACETS = """
WITH visible AS MATERIALIZED (SELECT r.* FROM temp.hits JOIN {records} AS r USING (id))
SELECT 'total', NULL, count(*) FROM visible
UNION ALL SELECT 'fonds', fonds, count(*) FROM visible WHERE fonds <> '' GROUP BY fonds
UNION ALL SELECT 'year', CAST(year AS TEXT), count(*) FROM visible
    WHERE year IS NOT NULL GROUP BY year
UNION ALL SELECT 'doc_type', min(doc_type), count(*) FROM visible
    WHERE doc_type <> '' GROUP BY doc_type_key
UNION ALL SELECT 'organ', organ, count(*) FROM visible WHERE organ <> '' GROUP BY organ
UNION ALL SELECT 'retention', retention, count(*) FROM visible
    WHERE retention <> '' GROUP BY retention
UNION ALL SELECT 'access_regime', min(access_regime), count(*) FROM visible GROUP BY regime_key"""
_TEXTS = """SELECT rowid, title, subject, body FROM {fts}
    WHERE rowid IN (SELECT value FROM json_each(?))"""

_RecordRow = tuple[Any, ...]
_TextRow = tuple[str, ...]


def _sql(template: str, generation: int) -> str:
    return template.format(records=f"records_g{generation}", fts=f"fts_g{generation}")


class EmbeddedSearchIndex:
    """`SearchIndex` on SQLite FTS5 in the file at `path` (created on first use)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        self._closed = False
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SearchUnavailable(f"cannot create the search index folder: {exc}") from exc
        with self._transaction() as conn:
            conn.execute(_GENERATIONS)
            if not self._generations(conn, "active"):
                self._create_generation(conn, "active")

    # --- SearchIndex ----------------------------------------------------------------------------

    def index(self, records: Sequence[IndexedRecord]) -> None:
        rows = [_rows(record) for record in records]
        if not rows:
            return
        with self._transaction() as conn:
            for generation in self._generations(conn):
                _upsert(conn, generation, rows)

    def delete(self, kind: RecordKind, code: str) -> None:
        with self._transaction() as conn:
            for generation in self._generations(conn):
                for statement in _DELETE:
                    conn.execute(_sql(statement, generation), (str(kind), code))

    def query(self, q: SearchQuery) -> SearchResult:
        parsed = parse_query(q.text)
        params = _parameters(q, parsed)
        collect = "WITH " + (_MATCHED if parsed.groups else _EVERYTHING) + _COLLECT
        with self._transaction(write=False) as conn:
            generation = self._active(conn)
            conn.execute(_HITS)
            conn.execute("DELETE FROM temp.hits")
            conn.execute(_sql(collect, generation), params)
            page = conn.execute(_sql(_PAGE, generation), (q.limit, q.offset)).fetchall()
            counts = conn.execute(_sql(_FACETS, generation)).fetchall()
            ids = json.dumps([row[0] for row in page])
            texts = {row[0]: row[1:] for row in conn.execute(_sql(_TEXTS, generation), (ids,))}
        pattern = term_pattern(parsed.terms)
        hits = [
            Hit(RecordKind(kind), code, title, float(score), highlight(texts[rowid], pattern))
            for rowid, kind, code, title, score in page
        ]
        facets: dict[str, dict[str, int]] = {name: {} for name in FACET_FIELDS}
        total = 0
        for name, value, count in counts:
            if name == "total":
                total = count
            else:
                facets[name][value] = count
        return SearchResult(total=total, hits=hits, facets=facets)

    def rebuild(self, records: Iterable[IndexedRecord]) -> None:
        with self._transaction() as conn:
            for leftover in self._generations(conn, "building"):
                _drop_generation(conn, leftover)
            generation = self._create_generation(conn, "building")
        try:
            for batch in batches(records, _REBUILD_BATCH):
                self._fill(generation, batch)
            self._swap(generation)
        except BaseException:
            with suppress(SearchError), self._transaction() as conn:
                if generation in self._generations(conn, "building"):
                    _drop_generation(conn, generation)
            raise
        with self._errors():
            # executescript steps the pragma to completion; `execute` would free a single page.
            self._connection().executescript("PRAGMA incremental_vacuum;")

    def health(self) -> None:
        with self._transaction(write=False) as conn:
            self._active(conn)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            for conn in self._connections:
                conn.close()
            self._connections.clear()

    # --- Generations ----------------------------------------------------------------------------

    def _fill(self, generation: int, records: Sequence[IndexedRecord]) -> None:
        rows = [_rows(record) for record in records]
        with self._transaction() as conn:
            if generation not in self._generations(conn, "building"):
                raise RebuildSupersededError(f"generation {generation} was discarded")
            _upsert(conn, generation, rows)

    def _swap(self, generation: int) -> None:
        with self._transaction() as conn:
            if generation not in self._generations(conn, "building"):
                raise RebuildSupersededError(f"generation {generation} was discarded")
            for old in self._generations(conn, "active"):
                _drop_generation(conn, old)
            conn.execute("UPDATE generations SET state = 'active' WHERE gen = ?", (generation,))

    @staticmethod
    def _generations(conn: sqlite3.Connection, state: str | None = None) -> list[int]:
        rows = conn.execute("SELECT gen FROM generations WHERE ? IS NULL OR state = ? ORDER BY gen", (state, state))
        return [int(row[0]) for row in rows]

    def _active(self, conn: sqlite3.Connection) -> int:
        active = self._generations(conn, "active")
        if not active:
            raise SearchUnavailable(f"search index {self._path} has no active generation")
        return active[0]

    @staticmethod
    def _create_generation(conn: sqlite3.Connection, state: str) -> int:
        (generation,) = conn.execute("INSERT INTO generations (state) VALUES (?) RETURNING gen", (state,)).fetchone()
        for statement in _CREATE_GENERATION:
            conn.execute(_sql(statement, generation))
        return int(generation)

    # --- Connections ----------------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        with self._lock:
            if self._closed:
                raise SearchUnavailable(f"search index {self._path} is closed")
            if conn is not None:
                return conn
            conn = sqlite3.connect(self._path, timeout=_TIMEOUT_SECONDS, isolation_level=None, check_same_thread=False)
            self._connections.append(conn)
            self._local.conn = conn
        # Pages freed by a rebuild go back to the file system (takes effect on a new file only).
        conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA journal_size_limit = 67108864")  # the WAL shrinks after a rebuild
        conn.execute("PRAGMA temp_store = MEMORY")
        return conn

    @contextmanager
    def _transaction(self, *, write: bool = True) -> Iterator[sqlite3.Connection]:
        """A transaction on this thread's connection (writers take the write lock at once)."""
        with self._errors():
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield conn
            except BaseException:
                conn.rollback()
                raise
            conn.commit()

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """sqlite3 errors leave the backend as `SearchUnavailable`."""
        try:
            yield
        except sqlite3.Error as exc:
            raise SearchUnavailable(f"search index {self._path}: {exc}") from exc


def _rows(record: IndexedRecord) -> tuple[_RecordRow, _TextRow]:
    """The `records` row and the FTS texts (exact, then folded) of one record."""
    meta = " ".join([record.code, record.dossier_code, record.number_notation, record.organ, record.doc_type])
    fields = (record.title, record.subject, record.keywords, record.full_text, meta)
    texts = tuple(nfc(text) for text in fields)
    notation = normalise_notation(record.number_notation)
    row = (
        str(record.kind),
        nfc(record.code),
        texts[0],
        nfc(record.fonds),
        record.year,
        nfc(record.doc_type),
        nfc(record.organ),
        nfc(record.retention),
        nfc(record.access_regime),
        label_key(record.access_regime),
        label_key(record.doc_type),
        notation or None,
    )
    return row, texts + tuple(fold(text) for text in texts)


def _upsert(conn: sqlite3.Connection, generation: int, rows: Sequence[tuple[_RecordRow, _TextRow]]) -> None:
    for row, texts in rows:
        for statement in _DELETE:
            conn.execute(_sql(statement, generation), row[:2])
        (rowid,) = conn.execute(_sql(_INSERT_RECORD, generation), row).fetchone()
        conn.execute(_sql(_INSERT_TEXT, generation), (rowid, *texts))


def _drop_generation(conn: sqlite3.Connection, generation: int) -> None:
    for statement in _DROP_GENERATION:
        conn.execute(_sql(statement, generation))
    conn.execute("DELETE FROM generations WHERE gen = ?", (generation,))


def _match(columns: str, groups: Iterable[tuple[str, ...]]) -> str:
    """An FTS5 expression: every group, as a quoted phrase, within `columns`."""
    return columns + " : (" + " AND ".join(f'"{" ".join(group)}"' for group in groups) + ")"


def _parameters(q: SearchQuery, parsed: ParsedQuery) -> dict[str, Any]:
    folded = _match(_FOLDED_COLUMNS, parsed.folded_groups)
    return {
        "folded": folded,
        # Without diacritics in the query every match counts as exact: nothing to prefer.
        "exact": _match(_EXACT_COLUMNS, parsed.groups) if parsed.accented else folded,
        "notation": parsed.notation or None,
        "see_all": q.access.see_all,
        "open_regimes": json.dumps(sorted(q.access.open_keys())),
        "grants": json.dumps(sorted(f"{fonds}\x1f{regime}" for fonds, regime in q.access.grant_keys())),
        "fonds": None if q.fonds is None else nfc(q.fonds),
        "year": q.year,
        "doc_type": None if q.doc_type is None else label_key(q.doc_type),
        "regime": None if q.access_regime is None else label_key(q.access_regime),
    }
