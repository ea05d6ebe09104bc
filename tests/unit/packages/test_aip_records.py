"""What the AIP records for the rebuild: path mapping both ways, the events added at sealing,
and the signature validation events."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from archive_service.file_checks import FileSignatures, SignatureResult
from archive_service.packages.aip import event_agents
from archive_service.pipeline.accession import aip_path_of
from archive_service.pipeline.signature_events import signature_events
from archive_service.pipeline.steps.build_aip import staged_path_of

VALID = SignatureResult(
    field_name="Sig1",
    kind="signature",
    signer_subject="CN=Nguyễn Văn A",
    signer_common_name="Nguyễn Văn A",
    signer_organisation="Bộ Nội vụ",
    issuer="CN=CA",
    serial_number="1",
    signing_time=datetime(2019, 3, 5, 8, 0, tzinfo=UTC),
    signing_time_source="timestamp",
    digest_algorithm="sha256",
    sub_filter="ETSI.CAdES.detached",
    intact=True,
    modification_level="NONE",
    coverage="ENTIRE_FILE",
    trusted=None,
    expired_at_signing=False,
    organisation=True,
    page=1,
    rect=None,
)


@pytest.mark.parametrize(
    "staged",
    [
        "METS.xml",
        "representations/rep1/METS.xml",
        "representations/rep1/data/Quyết định 15.pdf",
        "representations/rep1/metadata/descriptive/EAD_doc_1.xml",
        "metadata/descriptive/EAD.xml",
        "documentation/Biên bản giao nộp.pdf",
        "submission/odd.txt",
    ],
)
def test_every_sender_file_is_found_again_under_its_aip_path(staged: str) -> None:
    aip_path = aip_path_of(staged)
    if staged == "representations/rep1/METS.xml":  # the archive writes its own; the sender's moves
        aip_path = "submission/representations/rep1/METS.xml"
    assert staged_path_of(aip_path) == staged


@pytest.mark.parametrize(
    "archive_path",
    [
        "METS.xml",
        "representations/rep1/METS.xml",
        "representations/rep2/METS.xml",
        "representations/rep2/data/a.pdf",
        "representations/rep2/metadata/preservation/PREMIS.xml",
        "metadata/preservation/PREMIS.xml",
        "metadata/preservation/transfer.json",
    ],
)
def test_files_the_archive_wrote_are_not_the_senders(archive_path: str) -> None:
    assert staged_path_of(archive_path) is None


def test_signature_event_outcome_is_the_worst_signature_and_names_the_limits() -> None:
    broken = replace(VALID, field_name="Sig2", intact=False, error="digest mismatch")
    a, b = "representations/rep1/data/a.pdf", "representations/rep1/data/b.pdf"
    checked = {
        b: FileSignatures(b, (), "pyHanko", "0.29", None),
        a: FileSignatures(a, (VALID, broken), "pyHanko", "0.29", None),
    }
    events = signature_events(checked)
    assert [e.objects for e in events] == [(a,), (b,)]
    assert [e.outcome for e in events] == ["invalid", "not signed"]
    assert events[0].event_type == "digital signature validation"
    assert events[0].agent == "pyHanko 0.29"
    assert "Nguyễn Văn A" in events[0].detail and "digest mismatch" in events[0].detail
    assert "revocation: not checked" in events[0].detail
    assert signature_events({a: replace(checked[a], results=(VALID,))})[0].outcome == "valid"


def test_each_tool_of_an_event_is_its_own_agent_and_joins_back() -> None:
    agent = "ocrmypdf 16.10.4, ghostscript 10.07.0, tesseract 5.3.0"
    assert event_agents(agent) == ["ocrmypdf 16.10.4", "ghostscript 10.07.0", "tesseract 5.3.0"]
    assert ", ".join(event_agents(agent)) == agent
