"""The catalog's query functions give the same answers on both backends."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from archive_service.catalog import queries
from archive_service.catalog.models import Document, Dossier, Fonds, StoredFile, Transfer
from archive_service.states import TransferStatus
from ingest_rules.metadata_rules import DocumentIdentity

CODE = "G09.42.05.2019.01"


def add_version(
    session: Session, version: int, status: str, *, current: bool, doc_code: str = f"{CODE}.001"
) -> None:
    """Version `version` of the dossier `CODE`, received in its own transfer."""
    fonds = session.query(Fonds).filter_by(code="G09").one_or_none() or Fonds(code="G09", name="UBND tỉnh Hà Giang")
    transfer = Transfer(id=f"T-{version}", package_id=f"pkg-{version}", package_digest=f"{version:064d}",
                        status=status)
    session.add(transfer)
    session.flush()
    dossier = Dossier(fonds=fonds, transfer_id=transfer.id, code=CODE, title=f"Hồ sơ quy hoạch, bản {version}",
                      profile="tt02_2019", access_regime="Công khai", aip_id=f"aip-{version}",
                      aip_version=version, is_current=current)
    document = Document(dossier=dossier, kind="text", code=doc_code, ordinal=1, code_number="05",
                        code_notation="QĐ-UBND", organ_name="Ủy ban nhân dân tỉnh Hà Giang",
                        issued_date="05/11/2019", access_regime="Công khai", effective_access="Công khai")
    StoredFile(document=document, role="original", name="qd.pdf", object_key=f"aip-{version}/qd.pdf",
               sha256="ab" * 32, size=10)
    session.add(dossier)


def identity(**changes: str | int | None) -> DocumentIdentity:
    values: dict[str, str | int | None] = {
        "doc_code": None, "code_number": "5", "code_notation": "QĐ-UBND",
        "organ_name": "Ủy ban nhân dân tỉnh Hà Giang", "year": 2019,
    }
    values.update(changes)
    return DocumentIdentity(**values)  # type: ignore[arg-type]


def test_nothing_is_found_in_an_empty_catalog(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        assert queries.current_dossier(session, CODE) is None
        assert queries.current_document(session, f"{CODE}.001") is None
        assert queries.latest_version(session, CODE) == 0
        assert not queries.holds_document(session, identity(doc_code=f"{CODE}.001"), None)


def test_current_version_of_an_accepted_dossier(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        add_version(session, 1, TransferStatus.ACCEPTED, current=False)
        add_version(session, 2, TransferStatus.ACCEPTED, current=True, doc_code=f"{CODE}.002")
        add_version(session, 3, TransferStatus.PROCESSING, current=False, doc_code=f"{CODE}.003")
    with sessions() as session:
        assert queries.latest_version(session, CODE) == 3
        dossier = queries.current_dossier(session, CODE)
        assert dossier is not None
        assert (dossier.aip_version, dossier.title) == (2, "Hồ sơ quy hoạch, bản 2")
        assert [d.code for d in dossier.documents] == [f"{CODE}.002"]
        assert [f.object_key for f in dossier.documents[0].files] == ["aip-2/qd.pdf"]

        document = queries.current_document(session, f"{CODE}.002")
        assert document is not None
        assert document.dossier.aip_version == 2
        assert [f.name for f in document.files] == ["qd.pdf"]
        assert queries.current_document(session, f"{CODE}.001") is None  # an older version
        assert queries.current_document(session, f"{CODE}.003") is None  # not accepted (yet)


def test_a_dossier_that_is_not_accepted_is_invisible(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        add_version(session, 1, TransferStatus.FAILED, current=True)
    with sessions() as session:
        assert queries.current_dossier(session, CODE) is None
        assert queries.current_document(session, f"{CODE}.001") is None
        assert queries.latest_version(session, CODE) == 1


def test_holds_document_by_code_or_by_number(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        add_version(session, 1, TransferStatus.ACCEPTED, current=True)
    with sessions() as session:
        assert queries.holds_document(session, identity(doc_code=f"{CODE}.001"), None)
        assert queries.holds_document(session, identity(), None)  # "5" and "05" are the same number
        assert queries.holds_document(session, identity(organ_name="ỦY BAN NHÂN DÂN TỈNH HÀ GIANG"), None)
        assert not queries.holds_document(session, identity(year=2020), None)
        assert not queries.holds_document(session, identity(code_notation="QĐ-UBND-x"), None)
        assert not queries.holds_document(session, identity(code_number=None), None)
        assert not queries.holds_document(session, identity(doc_code=f"{CODE}.001"), CODE)  # its own dossier
        lookup = queries.SessionCatalogLookup(session)
        assert lookup.holds_dossier(CODE)
        assert not lookup.holds_dossier("G09.42.05.2019.99")
