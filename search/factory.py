"""Chooses the search backend from the one `ARCHIVE_SEARCH` setting (spec architecture.md)."""

from __future__ import annotations

from pathlib import Path

from search.embedded import EmbeddedSearchIndex
from search.protocol import SearchIndex

EMBEDDED = "embedded"


def open_index(setting: str, home: Path) -> SearchIndex:
    """The index named by `setting`.

    "embedded" keeps it in `home`/index/search.sqlite3; an http:// or https:// URL opens the
    OpenSearch cluster there, under the alias "archive" (opensearch-py is imported only then).
    """
    cleaned = setting.strip()
    if cleaned.lower() == EMBEDDED:
        return EmbeddedSearchIndex(home / "index" / "search.sqlite3")
    if cleaned.lower().startswith(("http://", "https://")):
        from search.opensearch import OpenSearchIndex

        return OpenSearchIndex(cleaned)
    raise ValueError(
        f"ARCHIVE_SEARCH={setting!r} is not supported: use {EMBEDDED!r} "
        "or the URL of an OpenSearch cluster such as http://127.0.0.1:9200"
    )
