"""DIP exports over the API and the CLI: what the caller may see goes out, verified and logged;
what they may not see is never in the ZIP, its METS or its manifest."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree

from archive_service import users
from archive_service.cli import main
from archive_service.states import Role
from tests.api.conftest import RESTRICTED, ApiArchive, open_archive
from tests.fixtures.sip_builder import SipBuilder, valid_sip

pytestmark = pytest.mark.slow


@dataclass
class Held:
    api: ApiArchive
    builder: SipBuilder
    source: Path  # the package as sent, unzipped

    @property
    def dossier(self) -> str:
        return self.builder.dossier["FileCode"]

    def doc(self, index: int) -> str:
        return self.builder.documents[index].values["DocCode"]


@pytest.fixture(scope="module")
def held(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Held]:
    folder = tmp_path_factory.mktemp("exports")
    builder = valid_sip((1, 1, 1))
    builder.documents[2].values["Mode"] = RESTRICTED
    source = builder.write_dir(folder / "sent")
    for api in open_archive(folder / "home"):
        response = api.submit("submitter_own", builder.write_zip(folder).read_bytes())
        assert api.wait_final("submitter_own", response.json()["transfer_id"])["status"] == "accepted"
        yield Held(api, builder, source)


def _export(held: Held, caller: str, codes: list[str], **extra: object) -> zipfile.ZipFile:
    api = held.api
    made = api.client.post("/api/v1/exports", json={"codes": codes, **extra}, headers=api.headers(caller))
    assert made.status_code == 201, made.text
    body = made.json()
    fetched = api.client.get(body["download_url"], headers=api.headers(caller))
    assert fetched.status_code == 200
    assert fetched.headers["content-type"] == "application/zip"
    assert hashlib.sha256(fetched.content).hexdigest() == body["sha256"]
    assert len(fetched.content) == body["size"]
    return zipfile.ZipFile(io.BytesIO(fetched.content))


def _manifest(dip: zipfile.ZipFile) -> dict[str, str]:
    lines = dip.read("manifest-sha256.txt").decode().splitlines()
    return {path: digest for digest, path in (line.split("  ", 1) for line in lines)}


def test_a_dip_holds_metadata_as_received_and_verified_preservation_copies(held: Held) -> None:
    dip = _export(held, "archivist", [held.dossier])
    names = set(dip.namelist())
    manifest = _manifest(dip)
    assert {"METS.xml", "manifest-sha256.txt"} <= names
    assert set(manifest) == names - {"METS.xml", "manifest-sha256.txt"}
    for path, digest in manifest.items():
        assert hashlib.sha256(dip.read(path)).hexdigest() == digest, path
    ead = next(n for n in names if n.endswith("/metadata/EAD.xml"))
    assert dip.read(ead) == (held.source / "metadata/descriptive/EAD.xml").read_bytes()
    sent_doc_metadata = (held.source / "representations/rep1/metadata/descriptive/EAD_doc_"
                         f"{held.builder.documents[0].name}.xml").read_bytes()
    assert sent_doc_metadata in {dip.read(n) for n in names}
    copies = [n for n in names if "/preservation/" in n]
    assert len(copies) == 2 and all(dip.read(n).startswith(b"%PDF") for n in copies)
    assert not [n for n in names if "/original/" in n]  # originals only when asked for
    mets = etree.fromstring(dip.read("METS.xml"))
    header = mets.find("{http://www.loc.gov/METS/}metsHdr")
    assert header is not None and "DIP" in header.attrib.values()
    described = {
        ref.get("{http://www.w3.org/1999/xlink}href"): (ref.get("CHECKSUM") or ref.getparent().get("CHECKSUM"))
        for ref in mets.iter("{http://www.loc.gov/METS/}mdRef", "{http://www.loc.gov/METS/}FLocat")
    }
    assert described == manifest  # the METS describes exactly the files of the manifest, with their hashes
    labels = {div.get("LABEL") for div in mets.iter("{http://www.loc.gov/METS/}div")}
    assert {held.dossier, held.doc(0), held.doc(1)} <= labels


def test_a_restricted_document_is_left_out_without_a_trace(held: Held) -> None:
    hidden = held.doc(2)
    plain = _export(held, "archivist", [held.dossier])
    everything = b"".join(plain.read(n) for n in plain.namelist())
    assert hidden.encode() not in everything  # not in paths, METS, manifest or metadata
    assert "mật danh" not in everything.decode("utf-8", "replace")
    granted = _export(held, "archivist_granted", [held.dossier])
    assert any(hidden in n for n in granted.namelist())


def test_originals_are_added_bit_for_bit_when_asked(held: Held) -> None:
    dip = _export(held, "archivist", [held.doc(0)], originals=True)
    original = held.builder.documents[0].files[0]
    assert original.content in {dip.read(n) for n in dip.namelist() if "/original/" in n}
    assert [n for n in dip.namelist() if n.endswith("/metadata/EAD.xml")]  # the dossier's metadata too


def test_a_code_the_caller_may_not_see_is_refused_like_a_missing_one(held: Held) -> None:
    api = held.api
    hidden = api.client.post("/api/v1/exports", json={"codes": [held.dossier, held.doc(2)]},
                             headers=api.headers("archivist"))
    missing = api.client.post("/api/v1/exports", json={"codes": ["no-such-code"]}, headers=api.headers("archivist"))
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["code"] == missing.json()["code"] == "not_found"
    assert not list((api.home / "exports").glob("*.part"))


@pytest.mark.parametrize("body", [{"codes": []}, {"codes": ["x"] * 101}, {"codes": [""]}, {"codez": ["x"]}, {}])
def test_a_malformed_request_is_422(held: Held, body: dict[str, object]) -> None:
    response = held.api.client.post("/api/v1/exports", json=body, headers=held.api.headers("archivist"))
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_request"


def test_an_export_is_its_makers_alone(held: Held) -> None:
    api = held.api
    made = api.client.post("/api/v1/exports", json={"codes": [held.dossier]}, headers=api.headers("archivist_granted"))
    url = made.json()["download_url"]
    assert api.client.get(url, headers=api.headers("archivist")).status_code == 404
    assert api.client.get(url, headers=api.headers("admin")).status_code == 200
    assert api.client.get("/api/v1/exports/..%2F..%2Fcatalog.sqlite3", headers=api.headers("admin")).status_code == 404


def test_exports_and_their_downloads_are_logged_with_what_was_withheld(held: Held) -> None:
    api = held.api
    made = api.client.post("/api/v1/exports", json={"codes": [held.dossier]}, headers=api.headers("archivist"))
    export_id = made.json()["export_id"]
    api.client.get(made.json()["download_url"], headers=api.headers("archivist"))
    page = api.client.get("/api/v1/audit-log", params={"page_size": 500}, headers=api.headers("auditor")).json()
    exports = [e for e in page["entries"] if e["action"] == "export" and e["details"]["export_id"] == export_id]
    assert len(exports) == 1 and exports[0]["details"]["withheld"] == 1 and exports[0]["target"] == held.dossier
    assert ("download", export_id) in {(e["action"], e["target"]) for e in page["entries"]}


def test_the_cli_writes_the_same_dip_with_the_users_rights(
    held: Held, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARCHIVE_HOME", str(held.api.home))
    with held.api.services.sessions() as session:
        users.add_user(session, users.OPERATOR, "lan", Role.ARCHIVIST)
        session.commit()
    runner = CliRunner()
    as_lan = runner.invoke(main, ["export", held.dossier, "-o", str(tmp_path / "lan.zip"), "--as", "lan", "--json"])
    assert as_lan.exit_code == 0, as_lan.output
    summary = json.loads(as_lan.stdout)
    assert held.doc(2) not in summary["documents"] and held.doc(0) in summary["documents"]
    with zipfile.ZipFile(tmp_path / "lan.zip") as dip:
        assert hashlib.sha256((tmp_path / "lan.zip").read_bytes()).hexdigest() == summary["sha256"]
        assert all(held.doc(2) not in n for n in dip.namelist())
    operator = runner.invoke(main, ["export", held.dossier, "-o", str(tmp_path / "all.zip"), "--originals"])
    assert operator.exit_code == 0, operator.output
    with zipfile.ZipFile(tmp_path / "all.zip") as dip:
        assert any(held.doc(2) in n for n in dip.namelist())  # the operator is an administrator
        assert [n for n in dip.namelist() if "/original/" in n]
    missing = runner.invoke(main, ["export", "no-such-code", "-o", str(tmp_path / "none.zip")])
    assert missing.exit_code == 4
    assert not (tmp_path / "none.zip").exists()


def test_an_expired_export_is_removed_when_the_next_one_is_made(held: Held) -> None:
    import os
    import time

    api = held.api
    old = api.client.post("/api/v1/exports", json={"codes": [held.doc(0)]}, headers=api.headers("archivist")).json()
    day_ago = time.time() - 25 * 3600
    for path in (api.home / "exports").glob(f"{old['export_id']}.*"):
        os.utime(path, (day_ago, day_ago))
    api.client.post("/api/v1/exports", json={"codes": [held.doc(1)]}, headers=api.headers("archivist"))
    assert api.client.get(old["download_url"], headers=api.headers("archivist")).status_code == 404
    assert not list((api.home / "exports").glob(f"{old['export_id']}.*"))


def test_storage_down_is_503_with_retry_after_and_leaves_nothing(
    held: Held, monkeypatch: pytest.MonkeyPatch
) -> None:
    from storage.errors import StorageUnavailable

    def down(_: object, key: str) -> None:
        raise StorageUnavailable(key, "connection refused")

    api = held.api
    before = set((api.home / "exports").glob("*"))
    for copy in api.services.store.copies:
        monkeypatch.setattr(type(copy), "open", down)
    response = api.client.post("/api/v1/exports", json={"codes": [held.dossier]}, headers=api.headers("archivist"))
    assert response.status_code == 503
    assert response.headers["Retry-After"].isdigit()
    assert response.json()["code"] == "backend_unavailable"
    assert set((api.home / "exports").glob("*")) == before
    download = api.client.get(f"/api/v1/documents/{held.doc(0)}/files/original", headers=api.headers("archivist"))
    assert download.status_code == 503
