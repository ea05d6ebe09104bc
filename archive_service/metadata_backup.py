"""The whole catalog as XML (Circular 02/2019 Art. 10: back up the metadata), and its restore.

Every table of the catalog is written row by row, column by column, with its type, so a restore
into an empty catalog gives identical records (the audit log still verifies). Files and AIPs are
not in it: they are in the object stores.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

from lxml import etree
from sqlalchemy import JSON, BigInteger, Boolean, DateTime, Integer, Table, func, insert, select, text
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeDecorator

from archive_service import __version__
from archive_service.catalog.models import Base
from archive_service.errors import ConflictError, InvalidPackageError
from archive_service.packages.safe_xml import MalformedXmlError, UnsafeXmlError, parse_xml_file

NS = "urn:archive-service:catalog-backup:1"
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_T = f"{{{NS}}}"


def _tables() -> list[Table]:
    """Tables in an order where every foreign key points to an earlier table."""
    return list(Base.metadata.sorted_tables)


def _text(value: Any, column_type: Any) -> str:
    if isinstance(column_type, JSON):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _value(text: str, column_type: Any) -> Any:
    if isinstance(column_type, TypeDecorator):  # models.UTCDateTime: parse what it stores
        column_type = column_type.impl
    if isinstance(column_type, JSON):
        return json.loads(text)
    if isinstance(column_type, DateTime):
        return datetime.fromisoformat(text)
    if isinstance(column_type, Boolean):
        return text == "true"
    if isinstance(column_type, Integer | BigInteger):
        return int(text)
    return text


def export_catalog(session: Session, target: Path) -> dict[str, int]:
    """Write every table to `target` (atomically); return the row count per table."""
    root = etree.Element(f"{_T}catalog", nsmap={None: NS}, version=__version__)  # type: ignore[dict-item]
    counts: dict[str, int] = {}
    for table in _tables():
        node = etree.SubElement(root, f"{_T}table", name=table.name)
        rows = session.execute(select(table).order_by(*table.primary_key.columns)).mappings()
        counts[table.name] = 0
        for row in rows:
            counts[table.name] += 1
            row_node = etree.SubElement(node, f"{_T}row")
            for column in table.columns:
                value = row[column.name]
                cell = etree.SubElement(row_node, f"{_T}c", name=column.name)
                if value is None:
                    cell.set("null", "true")
                    continue
                text = _text(value, column.type)
                if _NOT_XML.search(text):  # e.g. the form feeds between pages of extracted text
                    cell.set("enc", "json")
                    text = json.dumps(text, ensure_ascii=False)
                cell.text = text
    temp = target.with_name(f".{target.name}.part")
    temp.write_bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))
    temp.replace(target)
    return counts


def import_catalog(session: Session, source: Path, max_bytes: int) -> dict[str, int]:
    """Restore a backup into an EMPTY catalog (refused otherwise); return rows per table."""
    for table in _tables():
        if session.scalar(select(func.count()).select_from(table)):
            raise ConflictError(
                f"Danh mục không trống (bảng {table.name}); chỉ khôi phục vào danh mục trống",
                f"The catalog is not empty (table {table.name}); restore only into an empty catalog",
            )
    try:
        root = parse_xml_file(source, max_bytes)
    except (UnsafeXmlError, MalformedXmlError) as exc:
        raise InvalidPackageError(f"Tệp sao lưu không đọc được: {exc}", f"Unreadable backup: {exc}") from exc
    by_name = {t.name: t for t in _tables()}
    counts: dict[str, int] = {}
    for node in root.iterfind(f"{_T}table"):
        table = by_name[node.get("name", "")]
        rows = []
        for row_node in node.iterfind(f"{_T}row"):
            row: dict[str, Any] = {}
            for cell in row_node.iterfind(f"{_T}c"):
                column = table.columns[cell.get("name", "")]
                text = json.loads(cell.text or '""') if cell.get("enc") == "json" else cell.text or ""
                row[column.name] = None if cell.get("null") == "true" else _value(text, column.type)
            rows.append(row)
        if rows:
            session.execute(insert(table), rows)
        counts[table.name] = len(rows)
    if session.get_bind().dialect.name == "postgresql":
        _advance_sequences(session)
    session.commit()
    return counts


def _advance_sequences(session: Session) -> None:
    """Rows were inserted with their ids: move each id sequence past the largest one."""
    for table in _tables():
        for column in table.primary_key.columns:
            if column.autoincrement is True or (column.autoincrement == "auto" and isinstance(column.type, Integer)):
                session.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', '{column.name}'), "  # noqa: S608
                        f"COALESCE((SELECT MAX({column.name}) FROM {table.name}), 0) + 1, false)"
                    )
                )
