"""The archive's own copies of third-party XML schemas (METS, xlink, PREMIS), loaded offline.

A sender's `schemas/` folder is never trusted: validation always uses these files.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from itertools import islice
from pathlib import Path
from typing import cast

from lxml import etree

SCHEMA_DIR = Path(__file__).with_name("schemas")


@cache
def load_schema(filename: str) -> etree.XMLSchema:
    """Compile `schemas/<filename>`; imports resolve to sibling files, never to the network."""
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    return etree.XMLSchema(etree.parse(str(SCHEMA_DIR / filename), parser))


def schema_errors(filename: str, root: etree._Element, limit: int = 5) -> list[str]:
    """Up to `limit` validation messages (with line numbers) of `root` against the schema."""
    schema = load_schema(filename)
    if schema.validate(root):
        return []
    entries = cast(Iterable[etree._LogEntry], schema.error_log)
    return [f"line {e.line}: {e.message}" for e in islice(entries, limit)]
