"""`archive rebuild-catalog`: the catalog comes back from the AIPs in storage alone.

A dossier goes through NEW, REPLACEMENT and SUPPLEMENT, a second dossier is a PNG scan (OCRed), and
one package is refused. The catalog, the search index and the work dirs are then deleted; only the
two object stores (and the signing keys, backed up separately) remain. The rebuilt catalog, exported
as XML, must equal the export taken before, with the normalisation of docs/decisions/0013: the
refused transfer is not rebuilt (it has no AIP), tables that are not archival data (users, grants,
API keys, audit log, step state, outbox) are left out, `transfer.finished_at` becomes the AIP's
sealing time, and intake's storage event ("replication"), which happens after the AIP is sealed,
is replaced by the rebuild's own fixity-check event.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from archive_service.config import Settings
from archive_service.errors import MissingDependencyError
from archive_service.tools.ghostscript import find_ghostscript
from storage.local import LocalObjectStore
from tests.catalog.conftest import PostgresServer, postgres_server  # noqa: F401 -- fixture
from tests.contract.conftest import MINIO_PASSWORD, MINIO_USER, MinioServer, minio_server  # noqa: F401 -- fixture
from tests.contract.test_search_index import opensearch_url  # noqa: F401 -- fixture
from tests.fixtures.cli import CliRunner, run_archive
from tests.fixtures.requirements import missing
from tests.fixtures.sip_builder import CORPUS, DataFile, DocSpec, SipBuilder, default_document, valid_sip

pytestmark = pytest.mark.slow

SCAN = CORPUS / "vietnamese/vietocr3__vietsample2.png"
ARCHIVAL = ("fonds", "dossier", "document", "file", "event", "transfer", "stored_object")
NS = "{urn:archive-service:catalog-backup:1}"
DOSSIER = "000.00.00.G09.000.00.00.G09.2019.01.TCCB"
SCAN_DOSSIER = "000.00.00.G09.000.00.00.G09.2020.02.VP"
SCAN_DOC = "000.00.00.G09.2020.0001"

Rows = dict[str, list[dict[str, str | None]]]


@pytest.fixture(scope="module")
def tools() -> None:
    if not SCAN.is_file():
        missing(f"the shared test corpus is not at {CORPUS}")
    settings = Settings().tools
    try:
        find_ghostscript(settings.ghostscript, settings.cache_dir)
    except MissingDependencyError as exc:
        missing(exc.message_en)


def _replacement() -> SipBuilder:
    replacement = valid_sip(pages=(1, 2))
    replacement.record_status = "REPLACEMENT"
    replacement.dossier["Title"] = "Hồ sơ về việc tuyển dụng công chức năm 2019 (chỉnh lý)"
    return replacement


def _supplement() -> SipBuilder:
    supplement = valid_sip(pages=(1,))
    supplement.record_status = "SUPPLEMENT"
    new = supplement.documents[0]
    new.values.update(default_document(3, 1), DocCode="000.00.00.G09.2019.0018", CodeNumber="18")
    new.name = "4"
    new.files[0].name = "QD_4.pdf"
    new.values["Subject"] = "Về việc bổ sung danh sách công chức trúng tuyển"
    supplement.dossier["TotalDoc"] = "3"
    supplement.dossier["PageNumber"] = "4"
    return supplement


def _scan() -> SipBuilder:
    builder = SipBuilder()
    builder.dossier.update(
        FileCode=SCAN_DOSSIER,
        FileCatalog="2020",
        FileNotation="02.VP",
        Title="Hồ sơ công văn số hóa năm 2020",
        StartDate="02/01/2020",
        EndDate="30/12/2020",
        TotalDoc="1",
        PageNumber="1",
        Keyword="số hóa",
    )
    values = default_document(1, 1)
    values.update(
        DocCode=SCAN_DOC,
        FileCode=SCAN_DOSSIER,
        CodeNumber="01",
        CodeNotation="CV-VP",
        IssuedDate="10/02/2020",
        TypeName="Công văn",
        Subject="Về việc số hóa tài liệu lưu trữ",
        ConfidenceLevel="Số hóa",
    )
    builder.documents = [DocSpec("1", values, [DataFile("CV_01.png", SCAN.read_bytes(), "image/png")])]
    return builder


def _rows(export: Path) -> Rows:
    root = etree.parse(str(export)).getroot()
    tables: Rows = {}
    for table in root.iterfind(f"{NS}table"):
        tables[table.get("name", "")] = [
            {c.get("name", ""): None if c.get("null") == "true" else (c.text or "") for c in row.iterfind(f"{NS}c")}
            for row in table.iterfind(f"{NS}row")
        ]
    return tables


def _normalised(rows: Rows) -> Rows:
    """The archival tables, without what decision 0013 says a rebuild cannot restore."""
    kept = {name: rows[name] for name in ARCHIVAL}
    kept["transfer"] = [{**r, "finished_at": None} for r in kept["transfer"] if r["status"] == "accepted"]
    kept["event"] = [r for r in kept["event"] if r["event_type"] != "replication" and not _rebuild_event(r)]
    return kept


def _rebuild_event(row: dict[str, str | None]) -> bool:
    return row["event_type"] == "fixity check" and "catalog rebuilt from storage" in (row["detail"] or "")


def _wipe_all_but_storage(home: Path) -> None:
    for path in home.iterdir():
        if path.name not in ("store", "keys"):
            shutil.rmtree(path) if path.is_dir() else path.unlink()


def _corrupt(path: Path) -> None:
    path.chmod(0o644)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def test_catalog_rebuilt_from_storage_alone_equals_the_lost_one(
    tools: None, cli: CliRunner, archive_home: Path, tmp_path: Path
) -> None:
    receipts = []
    for name, builder in (("a", valid_sip()), ("b", _replacement()), ("c", _supplement()), ("d", _scan())):
        run = cli("ingest", str(builder.write_dir(tmp_path / name)), "--json", timeout=900)
        assert run.code == 0, run.stdout + run.stderr
        receipts.append(run.json())
    assert cli("ingest", str(valid_sip().write_dir(tmp_path / "refused")), "--json").code == 2
    before = tmp_path / "before.xml"
    assert cli("export-metadata", "-o", str(before)).code == 0
    shown_before = {code: cli("show", code, "--json").json() for code in (DOSSIER, SCAN_DOSSIER, SCAN_DOC)}
    search_before = cli("search", "tuyen dung", "--json").json()

    _wipe_all_but_storage(archive_home)
    # a damaged object in the primary copy: the rebuild reads it from the replica
    scan_aip: str = receipts[3]["dossier"]["aip_id"]
    copy = next((archive_home / "store" / "primary" / scan_aip / "representations" / "rep2" / "data").iterdir())
    _corrupt(copy)

    rebuilt = cli("rebuild-catalog", "--json", timeout=900)
    assert rebuilt.code == 0, rebuilt.stdout + rebuilt.stderr
    report: dict[str, Any] = rebuilt.json()  # type: ignore[assignment]
    assert sorted(report["restored"]) == sorted(r["dossier"]["aip_id"] for r in receipts)
    assert report["skipped"] == []
    assert [i["key"] for i in report["from_replica"]] == [f"{scan_aip}/representations/rep2/data/{copy.name}"]
    assert report["counts"]["dossier"] == 4

    after = tmp_path / "after.xml"
    assert cli("export-metadata", "-o", str(after)).code == 0
    old, new = _normalised(_rows(before)), _normalised(_rows(after))
    for table in ARCHIVAL:
        assert new[table] == old[table], table
    replaced = [r for r in _rows(after)["event"] if _rebuild_event(r)]
    assert len(replaced) == 4
    assert all("primary" in (r["detail"] or "") and "replica" in (r["detail"] or "") for r in replaced)

    for code, data in shown_before.items():
        shown = cli("show", code, "--json").json()
        assert {k: v for k, v in shown.items() if k != "events"} == {  # type: ignore[union-attr]
            k: v for k, v in data.items() if k != "events"  # type: ignore[union-attr]
        }
    assert cli("search", "tuyen dung", "--json").json() == search_before
    assert cli("search", "so hoa tai lieu", "--json").json()["hits"][0]["code"] == SCAN_DOC  # type: ignore[index]
    out = tmp_path / "copy.pdf"
    assert cli("get", SCAN_DOC, "--preservation", "-o", str(out)).code == 0
    assert out.read_bytes().startswith(b"%PDF")
    receipt_file = tmp_path / "receipt.json"
    receipt_file.write_text(json.dumps(receipts[0], ensure_ascii=False), encoding="utf-8")
    assert cli("receipt", "verify", str(receipt_file)).code == 0
    assert cli("log", "verify").code == 0

    again = cli("rebuild-catalog")
    assert again.code == 5
    assert "--add-missing" in again.stderr
    added = cli("rebuild-catalog", "--add-missing", "--json")
    assert added.code == 0, added.stderr
    assert added.json()["restored"] == []  # type: ignore[index]
    assert len(added.json()["already_held"]) == 4  # type: ignore[index]


LEGACY_METS = b"""<?xml version='1.0' encoding='UTF-8'?>
<mets xmlns="http://www.loc.gov/METS/" OBJID="aip-legacy" TYPE="Mixed">
  <structMap TYPE="PHYSICAL"><div LABEL="aip-legacy"/></structMap>
</mets>
"""


def test_unreadable_aips_are_skipped_and_named(
    tools: None, cli: CliRunner, archive_home: Path, tmp_path: Path
) -> None:
    """An AIP sealed without a transfer record, and one whose object is damaged in both copies,
    are listed with the reason (exit 7); the readable ones are restored, even when the primary's
    listing stops at a damaged fixity record."""
    builder = valid_sip(pages=(1,))
    builder.dossier.update(TotalDoc="1", PageNumber="1")
    damaged = cli("ingest", str(builder.write_dir(tmp_path / "a")), "--json")
    assert damaged.code == 0, damaged.stdout
    damaged_aip: str = damaged.json()["dossier"]["aip_id"]  # type: ignore[index]
    kept = _scan()
    kept_run = cli("ingest", str(kept.write_dir(tmp_path / "b")), "--json", timeout=900)
    assert kept_run.code == 0, kept_run.stdout
    kept_aip: str = kept_run.json()["dossier"]["aip_id"]  # type: ignore[index]
    record = archive_home / "store" / "primary" / ".fixity" / kept_aip / "METS.xml"
    record.chmod(0o644)
    record.write_text("not a fixity record\n", encoding="utf-8")
    legacy = tmp_path / "METS.xml"
    legacy.write_bytes(LEGACY_METS)
    for name in ("primary", "replica"):
        store = LocalObjectStore(archive_home / "store" / name, name)
        with legacy.open("rb") as stream:
            store.put("aip-legacy/METS.xml", stream, hashlib.sha256(LEGACY_METS).hexdigest())
        _corrupt(archive_home / "store" / name / damaged_aip / "metadata" / "descriptive" / "EAD.xml")
    _wipe_all_but_storage(archive_home)

    run = cli("rebuild-catalog", "--json", timeout=900)
    assert run.code == 7, run.stdout + run.stderr
    report: dict[str, Any] = run.json()  # type: ignore[assignment]
    assert report["restored"] == [kept_aip]
    assert [u["copy"] for u in report["unlisted"]] == ["primary"]
    reasons = {s["aip_id"]: s["reason_en"] for s in report["skipped"]}
    assert set(reasons) == {"aip-legacy", damaged_aip}
    assert "no transfer record" in reasons["aip-legacy"]
    assert "metadata/descriptive/EAD.xml" in reasons[damaged_aip]
    assert cli("show", SCAN_DOSSIER).code == 0
    assert cli("show", DOSSIER).code == 4
    human = cli("rebuild-catalog", "--add-missing")
    assert human.code == 7
    assert "BỎ QUA / SKIPPED aip-legacy" in human.stdout


def test_rebuild_on_postgresql_minio_and_opensearch(
    postgres_server: PostgresServer,  # noqa: F811 -- the imported fixture
    minio_server: MinioServer,  # noqa: F811 -- the imported fixture
    opensearch_url: str,  # noqa: F811 -- the imported fixture
    tmp_path: Path,
) -> None:
    """The same rebuild on the scale-out engines: two MinIO buckets listed and read, a fresh
    PostgreSQL database rebuilt, the OpenSearch index swapped."""
    lost, fresh = postgres_server.create_database(), postgres_server.create_database()
    buckets = [minio_server.new_bucket() for _ in range(2)]
    stores = [f"s3://{MINIO_USER}:{MINIO_PASSWORD}@{minio_server.endpoint}/{b}" for b in buckets]
    env = {"ARCHIVE_STORAGE": stores[0], "ARCHIVE_STORAGE_REPLICA": stores[1], "ARCHIVE_SEARCH": opensearch_url}
    home = tmp_path / "home"
    try:
        before, after = tmp_path / "before.xml", tmp_path / "after.xml"
        lost_env = {**env, "ARCHIVE_DATABASE_URL": lost}
        for name, builder in (("a", valid_sip()), ("b", _replacement())):
            run = run_archive(home, "ingest", str(builder.write_dir(tmp_path / name)), "--json", env=lost_env)
            assert run.code == 0, run.stdout + run.stderr
        assert run_archive(home, "export-metadata", "-o", str(before), env=lost_env).code == 0
        fresh_env = {**env, "ARCHIVE_DATABASE_URL": fresh}
        rebuilt = run_archive(home, "rebuild-catalog", "--json", env=fresh_env)
        assert rebuilt.code == 0, rebuilt.stdout + rebuilt.stderr
        assert len(rebuilt.json()["restored"]) == 2  # type: ignore[index]
        assert run_archive(home, "export-metadata", "-o", str(after), env=fresh_env).code == 0
        old, new = _normalised(_rows(before)), _normalised(_rows(after))
        for table in ARCHIVAL:
            assert new[table] == old[table], table
        hits = run_archive(home, "search", "chinh ly", "--json", env=fresh_env).json()
        assert [h["code"] for h in hits["hits"] if h["kind"] == "dossier"] == [DOSSIER]  # type: ignore[index]
    finally:
        postgres_server.drop_database(lost)
        postgres_server.drop_database(fresh)
