"""The OpenSearch search index (spec architecture.md, Ports; decision 0011).

Layout. The alias `<prefix>` names one concrete index `<prefix>-<timestamp>`, which queries
read. Every text field is indexed twice from Python-made tokens (`vietnamese.tokens`): `*_exact`
(NFC lower case) and `*_folded` (`vietnamese.fold`), both with the core `whitespace` analyzer, so
the server needs no `asciifolding` or ICU (the integ-test distribution has neither) and tokens
and phrases are exactly those of the embedded index. Filters and facets are keyword fields; the
display texts (title, subject, full text) are kept in `_source` only, for highlights.

Ranking, as in `search.embedded`: every query group must match as a phrase in one folded field
(BM25, title weighted highest); a record whose exact fields match the query as typed (with
diacritics) gains `_EXACT_BOOST`, one whose canonical notation equals the query's gains
`_NOTATION_BOOST`, and a notation match alone is enough to be found. The boosts are far above
any realistic BM25 sum (field weights are a tenth of the embedded ones), so they act as tiers.

Access. The caller's `AccessFilter` is a bool filter of the query (see_all, or the regime is
open, or (fonds, regime) is granted), so hits, total, aggregations (facets) and highlights only
ever cover visible records.

Rebuild (alias swap). `rebuild` creates `<prefix>-<timestamp>` with the aliases
`<prefix>-rebuild` (where `index` and `delete` also write meanwhile) and `<index>-fill` (the
rebuild's own), bulk-loads it, then in one atomic `update_aliases` points `<prefix>` at it,
removes the old index and drops both build aliases. A later rebuild deletes a half-built index;
the rebuild that owned it fails with `RebuildSupersededError`. Every write uses
`require_alias`, so a write racing a swap never auto-creates a stray index.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any, Final

import urllib3
from opensearchpy import OpenSearch
from opensearchpy.exceptions import ImproperlyConfigured, NotFoundError, OpenSearchException, TransportError

from search.errors import RebuildSupersededError, SearchError, SearchUnavailable
from search.highlight import highlight, term_pattern
from search.protocol import (
    FACET_FIELDS,
    AccessFilter,
    Hit,
    IndexedRecord,
    RecordKind,
    SearchQuery,
    SearchResult,
    batches,
    label_key,
)
from search.query_text import ParsedQuery, parse_query
from search.vietnamese import fold, nfc, normalise_notation, tokens

_TIMEOUT_SECONDS: Final = 10.0
_REBUILD_BATCH: Final = 500
_EXACT_BOOST: Final = 1000.0
_NOTATION_BOOST: Final = 2000.0
_FACET_SIZE: Final = 10_000  # distinct values listed per facet
_MAX_WINDOW: Final = 100_000  # offset + limit beyond this returns no further hits
_PREFIX: Final = re.compile(r"[a-z0-9][a-z0-9_.-]*")
_GRANT_SEPARATOR: Final = "\x1f"

# Text fields and their BM25 weights (embedded: 10, 4, 4, 1, 2).
_TEXT_FIELDS: Final = {"title": 1.0, "subject": 0.4, "keywords": 0.4, "body": 0.1, "meta": 0.2}
_FOLDED_FIELDS: Final = [f"{name}_folded^{weight}" for name, weight in _TEXT_FIELDS.items()]
_EXACT_FIELDS: Final = [f"{name}_exact^{weight}" for name, weight in _TEXT_FIELDS.items()]
_KEYWORDS: Final = (
    *("kind", "code", "fonds", "doc_type", "doc_type_key", "organ", "retention"),
    *("access_regime", "regime_key", "access_key", "notation_key"),
    *("dossier_code", "number_notation", "issued_date"),
)
_SOURCE: Final = ["kind", "code", "title", "subject", "full_text"]

_TOKENS: Final = {"type": "text", "analyzer": "whitespace"}
_MAPPINGS: Final[dict[str, Any]] = {
    "dynamic": "strict",
    "_source": {"excludes": ["*_exact", "*_folded"]},
    "properties": {
        **{name: {"type": "keyword"} for name in _KEYWORDS},
        "year": {"type": "integer"},
        **{name: {"type": "text", "index": False} for name in ("title", "subject", "full_text")},
        **{f"{name}_{form}": _TOKENS for name in _TEXT_FIELDS for form in ("exact", "folded")},
    },
}
_SETTINGS: Final[dict[str, Any]] = {
    "number_of_shards": 1,  # exact facet counts and BM25 statistics
    "number_of_replicas": 0,
    "max_result_window": _MAX_WINDOW,
}
# Facets grouped by a key show the smallest spelling of the group, as `min()` does in SQLite.
_FACET_KEYS: Final = {"doc_type": "doc_type_key", "access_regime": "regime_key"}


class OpenSearchIndex:
    """`SearchIndex` on an OpenSearch 2.x cluster at `url`, under the alias `index_prefix`."""

    def __init__(self, url: str, index_prefix: str = "archive", *, timeout: float = _TIMEOUT_SECONDS) -> None:
        if not _PREFIX.fullmatch(index_prefix):
            raise ValueError(f"index prefix {index_prefix!r}: use lower-case letters, digits, '_', '.' or '-'")
        self._url = url
        self._alias = index_prefix
        self._building = f"{index_prefix}-rebuild"
        self._lock = threading.Lock()
        self._ready = False
        with self._errors():
            self._client = OpenSearch(hosts=[url], timeout=timeout, max_retries=1, retry_on_timeout=False)

    # --- SearchIndex ----------------------------------------------------------------------------

    def index(self, records: Sequence[IndexedRecord]) -> None:
        if not records:
            return
        self._ensure()
        actions: list[dict[str, Any]] = []
        for record in records:
            document = _document(record)
            for target in (self._alias, self._building):
                actions += [{"index": {"_index": target, "_id": _id(record.kind, record.code)}}, document]
        self._bulk(actions)

    def delete(self, kind: RecordKind, code: str) -> None:
        self._ensure()
        self._bulk([{"delete": {"_index": target, "_id": _id(kind, code)}} for target in (self._alias, self._building)])

    def query(self, q: SearchQuery) -> SearchResult:
        parsed = parse_query(q.text)
        self._ensure()
        with self._errors():
            response = self._client.search(index=self._alias, body=_search_body(q, parsed))
        pattern = term_pattern(parsed.terms)
        hits = []
        for found in response["hits"]["hits"]:
            source = found["_source"]
            texts = (source.get("title", ""), source.get("subject", ""), source.get("full_text", ""))
            score = float(found.get("_score") or 0.0)
            hits.append(
                Hit(RecordKind(source["kind"]), source["code"], source["title"], score, highlight(texts, pattern))
            )
        return SearchResult(
            total=int(response["hits"]["total"]["value"]),
            hits=hits,
            facets=_facets(response.get("aggregations", {})),
        )

    def rebuild(self, records: Iterable[IndexedRecord]) -> None:
        self._ensure()
        name = self._new_name()
        fill = f"{name}-fill"
        with self._errors():
            leftovers = self._indices_of(self._building)
            if leftovers:
                self._client.indices.delete(index=",".join(leftovers), ignore_unavailable=True)
            self._create(name, {self._building: {}, fill: {}}, refresh_interval="-1")
        try:
            for batch in batches(records, _REBUILD_BATCH):
                self._fill(fill, batch)
            self._swap(name, fill)
        except BaseException:
            with suppress(SearchError, OpenSearchException):
                self._client.indices.delete(index=name, ignore_unavailable=True)
            raise

    def health(self) -> None:
        self._ensure()
        with self._errors():
            status = self._client.cluster.health(index=self._alias)["status"]
        if status == "red":
            raise SearchUnavailable(f"search index {self._alias} at {self._url} is red")

    def close(self) -> None:
        with self._errors():
            self._client.close()

    # --- Indices and aliases --------------------------------------------------------------------

    def _ensure(self) -> None:
        """Create the first concrete index behind the alias, once (racing creators converge)."""
        if self._ready:
            return
        with self._lock, self._errors():
            if self._ready:
                return
            if not self._client.indices.exists_alias(name=self._alias):
                self._create(self._new_name(), {self._alias: {}})
                # Two processes may both have created one: the oldest stays, the others go.
                extra = sorted(self._indices_of(self._alias))[1:]
                if extra:
                    actions = [{"remove_index": {"index": index}} for index in extra]
                    with suppress(NotFoundError):
                        self._client.indices.update_aliases(body={"actions": actions})
            self._ready = True

    def _create(self, name: str, aliases: dict[str, Any], *, refresh_interval: str | None = None) -> None:
        settings = _SETTINGS | ({"refresh_interval": refresh_interval} if refresh_interval else {})
        body = {"settings": settings, "mappings": _MAPPINGS, "aliases": aliases}
        self._client.indices.create(index=name, body=body)

    def _new_name(self) -> str:
        return f"{self._alias}-{time.time_ns()}"

    def _indices_of(self, alias: str) -> list[str]:
        try:
            return sorted(self._client.indices.get_alias(name=alias))
        except NotFoundError:
            return []

    def _fill(self, fill: str, records: Sequence[IndexedRecord]) -> None:
        if not records:
            return
        actions: list[dict[str, Any]] = []
        for record in records:
            actions += [{"index": {"_index": fill, "_id": _id(record.kind, record.code)}}, _document(record)]
        try:
            self._bulk(actions, refresh=False)
        except _AliasMissingError as exc:
            raise RebuildSupersededError(f"index {fill.removesuffix('-fill')} was discarded") from exc

    def _swap(self, name: str, fill: str) -> None:
        """Point the alias at `name`, delete the old index and drop the build aliases, atomically."""
        with self._errors():
            try:
                self._client.indices.put_settings(index=fill, body={"index": {"refresh_interval": None}})
                self._client.indices.refresh(index=fill)
                actions: list[dict[str, Any]] = [{"add": {"index": name, "alias": self._alias}}]
                actions += [{"remove_index": {"index": old}} for old in self._indices_of(self._alias)]
                actions += [{"remove": {"index": name, "alias": alias}} for alias in (self._building, fill)]
                self._client.indices.update_aliases(body={"actions": actions})
            except NotFoundError as exc:
                raise RebuildSupersededError(f"index {name} was discarded or replaced: {exc}") from exc

    # --- Requests -------------------------------------------------------------------------------

    def _bulk(self, actions: list[dict[str, Any]], *, refresh: bool = True) -> None:
        """Send `actions`; a write to the build alias is dropped when no rebuild runs."""
        with self._errors():
            response = self._client.bulk(body=actions, refresh="true" if refresh else "false", require_alias=True)
        if not response.get("errors"):
            return
        for item in response["items"]:
            (result,) = item.values()
            error = result.get("error")
            if error is None:
                continue
            if error.get("type") == "index_not_found_exception":
                if result.get("_index") == self._building:
                    continue
                self._ready = False
                raise _AliasMissingError(f"search index {result.get('_index')} is missing: {error.get('reason')}")
            raise SearchUnavailable(f"search index {self._alias}: {error.get('type')}: {error.get('reason')}")

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """opensearch-py and urllib3 errors leave the backend as `SearchUnavailable`."""
        try:
            yield
        except (OpenSearchException, ImproperlyConfigured, urllib3.exceptions.HTTPError, OSError) as exc:
            detail = f"{exc.status_code} {exc.error}" if isinstance(exc, TransportError) else str(exc)
            raise SearchUnavailable(f"search index {self._alias} at {self._url}: {detail}") from exc


class _AliasMissingError(SearchUnavailable):
    """A write's alias is gone: the index was deleted, or a rebuild was superseded."""


def _id(kind: RecordKind, code: str) -> str:
    return f"{kind}:{nfc(code)}"


def _document(record: IndexedRecord) -> dict[str, Any]:
    """The indexed form of `record`: display texts, keyword fields and token fields."""
    meta = " ".join([record.code, record.dossier_code, record.number_notation, record.organ, record.doc_type])
    fonds, regime_key = nfc(record.fonds), label_key(record.access_regime)
    document: dict[str, Any] = {
        "kind": str(record.kind),
        "code": nfc(record.code),
        "title": nfc(record.title),
        "subject": nfc(record.subject),
        "full_text": nfc(record.full_text),
        "fonds": fonds,
        "year": record.year,
        "doc_type": nfc(record.doc_type),
        "doc_type_key": label_key(record.doc_type),
        "organ": nfc(record.organ),
        "retention": nfc(record.retention),
        "access_regime": nfc(record.access_regime),
        "regime_key": regime_key,
        "access_key": fonds + _GRANT_SEPARATOR + regime_key,
        "notation_key": normalise_notation(record.number_notation) or None,
        "dossier_code": nfc(record.dossier_code),
        "number_notation": nfc(record.number_notation),
        "issued_date": record.issued_date,
    }
    texts = (record.title, record.subject, record.keywords, record.full_text, meta)
    for name, text in zip(_TEXT_FIELDS, texts, strict=True):
        syllables = tokens(text)
        document[f"{name}_exact"] = " ".join(syllables)
        document[f"{name}_folded"] = " ".join(fold(syllable) for syllable in syllables)
    return document


def _phrases(groups: Iterable[tuple[str, ...]], fields: list[str]) -> list[dict[str, Any]]:
    """One clause per group: the group as a phrase within one of `fields`."""
    return [{"multi_match": {"query": " ".join(group), "type": "phrase", "fields": fields}} for group in groups]


def _access(access: AccessFilter) -> list[dict[str, Any]]:
    """The visibility rule of `AccessFilter.allows` as filter clauses."""
    if access.see_all:
        return []
    clauses: list[dict[str, Any]] = []
    if open_keys := access.open_keys():
        clauses.append({"terms": {"regime_key": sorted(open_keys)}})
    if grants := access.grant_keys():
        clauses.append({"terms": {"access_key": sorted(f + _GRANT_SEPARATOR + r for f, r in grants)}})
    if not clauses:
        return [{"match_none": {}}]
    return [{"bool": {"should": clauses, "minimum_should_match": 1}}]


def _search_body(q: SearchQuery, parsed: ParsedQuery) -> dict[str, Any]:
    filters = _access(q.access)
    if q.fonds is not None:
        filters.append({"term": {"fonds": nfc(q.fonds)}})
    if q.year is not None:
        filters.append({"term": {"year": q.year}})
    if q.doc_type is not None:
        filters.append({"term": {"doc_type_key": label_key(q.doc_type)}})
    if q.access_regime is not None:
        filters.append({"term": {"regime_key": label_key(q.access_regime)}})
    query: dict[str, Any] = {"bool": {"filter": filters}}
    if parsed.groups:
        text: dict[str, Any] = {"bool": {"must": _phrases(parsed.folded_groups, _FOLDED_FIELDS)}}
        if parsed.accented:  # without diacritics every match is exact: nothing to prefer
            exact = {"bool": {"filter": _phrases(parsed.groups, _EXACT_FIELDS)}}
            text["bool"]["should"] = [{"constant_score": {"filter": exact, "boost": _EXACT_BOOST}}]
        should = [text]
        if parsed.notation:
            notation = {"term": {"notation_key": parsed.notation}}
            should.append({"constant_score": {"filter": notation, "boost": _NOTATION_BOOST}})
        query["bool"] |= {"should": should, "minimum_should_match": 1}
    offset = min(q.offset, _MAX_WINDOW)
    return {
        "query": query,
        "from": offset,
        "size": min(q.limit, _MAX_WINDOW - offset),
        "sort": [
            {"_score": "desc"},
            {"year": {"order": "desc", "missing": "_last"}},
            {"kind": "asc"},
            {"code": "asc"},
        ],
        "track_scores": True,
        "track_total_hits": True,
        "_source": _SOURCE,
        "aggs": _aggregations(),
    }


def _aggregations() -> dict[str, Any]:
    aggs: dict[str, Any] = {}
    for name in FACET_FIELDS:
        terms: dict[str, Any] = {"field": _FACET_KEYS.get(name, name), "size": _FACET_SIZE}
        if name not in ("year", "access_regime"):
            terms["exclude"] = [""]
        aggs[name] = {"terms": terms}
        if name in _FACET_KEYS:
            label = {"terms": {"field": name, "size": 1, "order": {"_key": "asc"}}}
            aggs[name]["aggs"] = {"label": label}
    return aggs


def _facets(aggregations: dict[str, Any]) -> dict[str, dict[str, int]]:
    facets: dict[str, dict[str, int]] = {name: {} for name in FACET_FIELDS}
    for name in FACET_FIELDS:
        for bucket in aggregations.get(name, {}).get("buckets", []):
            if name in _FACET_KEYS:
                value = str(bucket["label"]["buckets"][0]["key"])
            elif name == "year":
                value = str(int(bucket["key"]))
            else:
                value = str(bucket["key"])
            facets[name][value] = int(bucket["doc_count"])
    return facets
