"""Errors of the search port; backend exceptions (sqlite3, opensearch-py) never pass this border."""

from __future__ import annotations


class SearchError(Exception):
    """Base of every error raised by a `SearchIndex`."""


class SearchUnavailable(SearchError):  # noqa: N818 - the port's error names are fixed by architecture.md
    """The index cannot be reached, read or written; retry later (intake never waits for it)."""


class RebuildSupersededError(SearchError):
    """Another rebuild replaced this one's half-built index before it could be swapped in."""
