"""The whole-package probes with the real tools: siegfried (PRONOM), MediaInfo (bit rates) and clamd.

Audio and video are made by a real encoder at the bit rate each test states (the corpus has none);
clamd runs on a unix socket in a temp folder with only this project's EICAR signature loaded.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from archive_service.config import Settings, ToolSettings
from archive_service.errors import BackendUnavailableError, MissingDependencyError
from archive_service.pipeline.steps.identify import format_model
from archive_service.pipeline.virus_events import NOT_PERFORMED, virus_check_events
from archive_service.tools.clamav import Clamd
from archive_service.tools.identify import identify
from archive_service.tools.media import mediainfo_binary, probe_media
from archive_service.tools.pronom import identify_pronom, siegfried_binary
from archive_service.validation import ValidationReport, validate_package
from ingest_rules.catalogue import rule
from ingest_rules.findings import Finding, Severity
from tests.fixtures import media
from tests.fixtures.clamd import EICAR, SIGNATURE_NAME, running_clamd
from tests.fixtures.requirements import missing
from tests.fixtures.sip_builder import CORPUS, DataFile, DocSpec, SipBuilder, blank_pdf, default_document, valid_sip

SF_INSTALL = "bash scripts/services/siegfried.sh install"


@pytest.fixture(scope="module")
def tools() -> ToolSettings:
    """The default tool settings, with siegfried required (built by scripts/services/siegfried.sh)."""
    settings = ToolSettings()
    if siegfried_binary(settings) is None:
        missing("siegfried (sf)", SF_INSTALL)
    if mediainfo_binary() is None:
        missing("mediainfo (Debian)")
    return settings


def _package(files: list[DataFile]) -> SipBuilder:
    """A valid package whose single document carries `files` (a signed PDF is not needed for media)."""
    builder = valid_sip((1,))
    builder.documents = [DocSpec(name="1", values=default_document(1, 1), files=files)]
    return builder


def _judge(tmp_path: Path, builder: SipBuilder, **settings: object) -> ValidationReport:
    return validate_package(builder.write_dir(tmp_path / "in"), Settings(home=tmp_path / "home", **settings))


def _rules(report: ValidationReport, severity: Severity | None = None) -> set[str]:
    return {f.rule for f in report.findings if severity is None or f.severity is severity}


def _only(report: ValidationReport, rule_id: str) -> Finding:
    found = [f for f in report.findings if f.rule == rule_id]
    assert len(found) == 1, [f.to_dict() for f in report.findings]
    assert found[0].message_vi and found[0].message_en and found[0].clause and found[0].object == "file"
    return found[0]


# ---- PRONOM (siegfried) ----------------------------------------------------------------------------


def test_siegfried_gives_puid_name_and_version_of_corpus_files_in_one_run(tools: ToolSettings) -> None:
    files = [
        CORPUS / "vietnamese/vanbanplus__Phuluc1.doc",
        CORPUS / "office/xlrd__sample.xlsx",
        CORPUS / "wild/ocrmypdf__2400dpi.pdf",
    ]
    report = identify_pronom(files, tools)
    assert report is not None
    found = {p.name: (m.puid, m.format_version) for p, m in report.matches.items()}
    assert found == {
        "vanbanplus__Phuluc1.doc": ("fmt/40", "97-2003"),
        "xlrd__sample.xlsx": ("fmt/214", "2007 onwards"),
        "ocrmypdf__2400dpi.pdf": ("fmt/17", "1.3"),
    }
    assert report.agent.startswith("siegfried 1.11.") and "DROID_SignatureFile_V" in report.agent
    assert all(m.by_content for m in report.matches.values())


def test_identify_records_siegfried_for_premis_and_falls_back_to_libmagic_without_it(
    tools: ToolSettings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = CORPUS / "vietnamese/vanbanplus__Phuluc1.doc"
    pronom = identify_pronom([doc], tools)
    assert pronom is not None
    model = format_model(identify(doc), pronom.get(doc), pronom)
    assert (model.puid, model.format_name, model.format_version) == ("fmt/40", "Microsoft Word Document", "97-2003")
    assert model.mimetype == "application/msword" and model.identified_by == pronom.agent and model.basis
    monkeypatch.setenv("PATH", str(tmp_path))
    assert identify_pronom([doc], ToolSettings(cache_dir=tmp_path)) is None
    with pytest.raises(MissingDependencyError) as raised:  # a configured sf that is not there is an error
        identify_pronom([doc], ToolSettings(cache_dir=tmp_path, siegfried=tmp_path / "sf"))
    assert "siegfried.sh" in raised.value.message_en
    fallback = format_model(identify(doc), None, None)
    assert fallback.puid == "fmt/40" and fallback.identified_by.startswith("libmagic")


def test_declared_mimetype_that_pronom_gives_is_no_file_format_mismatch(tools: ToolSettings, tmp_path: Path) -> None:
    """libmagic calls every ASF file video/x-ms-asf; PRONOM knows a .wma is audio/x-ms-wma (fmt/132)."""
    wma = media.audio(tmp_path / "media", 128, name="ghi_am.wma", codec="wmav2")
    report = _judge(tmp_path, _package([DataFile("ghi_am.wma", wma, "audio/x-ms-wma")]))
    assert report.findings == [], [f.to_dict() for f in report.findings]
    formats = report.probes.formats if report.probes else {}
    assert [m.puid for m in formats.values()] == ["fmt/132"]


def test_declared_mimetype_neither_libmagic_nor_pronom_gives_is_file_format_mismatch(
    tools: ToolSettings, tmp_path: Path
) -> None:
    mp3 = media.audio(tmp_path / "media", 128)
    report = _judge(tmp_path, _package([DataFile("ghi_am.mp3", mp3, "audio/x-ms-wma")]))
    assert _rules(report) == {"file.format.mismatch"}
    assert "audio/x-ms-wma" in _only(report, "file.format.mismatch").message_en


def test_a_format_only_pronom_knows_is_judged_against_the_list(tools: ToolSettings, tmp_path: Path) -> None:
    """Apple Core Audio: libmagic says application/octet-stream, siegfried fmt/416 from its bytes."""
    caf = media.tone(tmp_path / "media", "ghi_am.caf")
    report = _judge(tmp_path, _package([DataFile("ghi_am.caf", caf, "audio/x-caf")]))
    assert _rules(report) == {"file.format.not_allowed"}
    assert "fmt/416" in _only(report, "file.format.not_allowed").message_en


def test_bytes_neither_libmagic_nor_pronom_knows_are_file_format_identify(tools: ToolSettings, tmp_path: Path) -> None:
    wavpack = media.tone(tmp_path / "media", "ghi_am.wv")
    report = _judge(tmp_path, _package([DataFile("ghi_am.wv", wavpack, "audio/x-wavpack")]))
    assert _rules(report) == {"file.format.identify"}
    message = _only(report, "file.format.identify")
    assert "libmagic" in message.message_en and "PRONOM: no signature matches" in message.message_en


# ---- file.media.bitrate (MediaInfo) ------------------------------------------------------------------


def test_mediainfo_reads_the_bit_rate_the_encoder_was_given(tools: ToolSettings, tmp_path: Path) -> None:
    low, high = tmp_path / "a64.mp3", tmp_path / "a128.mp3"
    media.audio(tmp_path, 64, name=low.name)
    media.audio(tmp_path, 128, name=high.name)
    clip = tmp_path / "phim.mp4"
    media.video(tmp_path, 2000, name=clip.name)
    found = probe_media([low, high, clip])
    assert [s.bit_rate for s in found[low].streams] == [64000]
    assert [s.bit_rate for s in found[high].streams] == [128000]
    video = [s for s in found[clip].streams if s.kind == "video"]
    assert [(s.bit_rate, s.source) for s in video] == [(2_000_000, "nominal")]


def test_audio_below_128_kbps_is_file_media_bitrate(tools: ToolSettings, tmp_path: Path) -> None:
    mp3 = media.audio(tmp_path / "media", 64)
    report = _judge(tmp_path, _package([DataFile("ghi_am.mp3", mp3, "audio/mpeg")]))
    assert _rules(report) == {"file.media.bitrate"} and not report.valid
    message = _only(report, "file.media.bitrate")
    assert "64 kbps" in message.message_vi and "128 kbps" in message.message_en


def test_audio_at_128_kbps_passes(tools: ToolSettings, tmp_path: Path) -> None:
    mp3 = media.audio(tmp_path / "media", 128)
    report = _judge(tmp_path, _package([DataFile("ghi_am.mp3", mp3, "audio/mpeg")]))
    assert report.findings == [], [f.to_dict() for f in report.findings]


def test_video_below_1500_kbps_is_file_media_bitrate(tools: ToolSettings, tmp_path: Path) -> None:
    clip = media.video(tmp_path / "media", 500)
    report = _judge(tmp_path, _package([DataFile("phim.mp4", clip, "video/mp4")]))
    assert _rules(report) == {"file.media.bitrate"}
    message = _only(report, "file.media.bitrate")
    assert "video" in message.message_en and "500 kbps" in message.message_en and "1500 kbps" in message.message_vi


def test_video_at_2000_kbps_passes(tools: ToolSettings, tmp_path: Path) -> None:
    clip = media.video(tmp_path / "media", 2000)
    report = _judge(tmp_path, _package([DataFile("phim.mp4", clip, "video/mp4")]))
    assert report.findings == [], [f.to_dict() for f in report.findings]


def test_a_recording_whose_streams_cannot_be_read_is_file_media_bitrate(tools: ToolSettings, tmp_path: Path) -> None:
    """One MPEG audio frame header, then nothing: libmagic says audio/mpeg, MediaInfo finds no stream."""
    junk = b"\xff\xfb\x50\xc4" + bytes(300)
    report = _judge(tmp_path, _package([DataFile("ghi_am.mp3", junk, "audio/mpeg")]))
    assert _rules(report) == {"file.media.bitrate"}
    assert "no audio or video stream" in _only(report, "file.media.bitrate").message_en


# ---- file.virus (clamd) ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def clamd_socket(tmp_path_factory: pytest.TempPathFactory) -> object:
    with running_clamd(tmp_path_factory.mktemp("clamd")) as sock:
        yield sock


def _with_note(content: bytes) -> SipBuilder:
    return _package([DataFile("QD_1.pdf", blank_pdf(1)), DataFile("ghi_chu.txt", content, "text/plain")])


def test_an_infected_file_is_file_virus_and_the_package_is_refused(clamd_socket: Path, tmp_path: Path) -> None:
    report = _judge(tmp_path, _with_note(EICAR), clamav=str(clamd_socket))
    assert _rules(report, Severity.ERROR) == {"file.virus"} and not report.valid
    found = _only(report, "file.virus")
    assert found.path.endswith("ghi_chu.txt") and SIGNATURE_NAME in found.message_en and "ClamAV" in found.message_vi


def test_a_clean_package_passes_and_every_file_is_recorded_as_scanned(clamd_socket: Path, tmp_path: Path) -> None:
    report = _judge(tmp_path, _with_note("Ghi chú: không có gì đáng ngại".encode()), clamav=str(clamd_socket))
    assert report.findings == [], [f.to_dict() for f in report.findings]
    assert report.probes is not None and report.probes.virus.scanner.startswith("ClamAV ")
    results = report.probes.virus.results
    assert {r.status for r in results.values()} == {"clean"}
    assert {"METS.xml", "representations/rep1/METS.xml"} <= set(results), sorted(results)
    events = virus_check_events(report.probes.virus, tuple(results))
    assert [(e.event_type, e.outcome, e.agent) for e in events] == [
        ("virus check", "success", report.probes.virus.scanner)
    ]


def test_a_file_beyond_the_scanner_limit_is_file_virus_not_scanned(tmp_path: Path) -> None:
    with running_clamd(tmp_path / "clamd", stream_max="64K") as sock:
        report = _judge(tmp_path, _with_note(b"Ghi ch\xc3\xba\n" * 20_000), clamav=str(sock))
    assert _rules(report) == {"file.virus.not_scanned"} and report.valid
    assert "size limit" in _only(report, "file.virus.not_scanned").message_en
    assert report.probes is not None
    events = virus_check_events(report.probes.virus, ())
    assert [e.outcome for e in events] == ["success", NOT_PERFORMED]


def test_a_file_clamd_skips_for_its_limits_is_not_taken_for_infected(tmp_path: Path) -> None:
    """With AlertExceedsMax, clamd names a skipped file Heuristics.Limits.Exceeded.*: not scanned, not a virus."""
    limits = "MaxFileSize 64K\nMaxScanSize 64K\nAlertExceedsMax yes\n"
    with running_clamd(tmp_path / "clamd", stream_max="10M", extra=limits) as sock:
        report = _judge(tmp_path, _with_note(b"Ghi ch\xc3\xba\n" * 20_000), clamav=str(sock))
    assert _rules(report) == {"file.virus.not_scanned"} and report.valid
    assert "Heuristics.Limits.Exceeded" in _only(report, "file.virus.not_scanned").message_en


def test_without_a_scanner_not_scanned_is_recorded_explicitly(tmp_path: Path) -> None:
    report = _judge(tmp_path, _with_note(EICAR))
    assert "file.virus" not in _rules(report)
    assert report.probes is not None and not report.probes.virus.configured
    (event,) = virus_check_events(report.probes.virus, ("x/a.pdf",))
    assert event.outcome == NOT_PERFORMED and "not scanned" in event.detail and "ARCHIVE_CLAMAV" in event.detail


def test_a_configured_scanner_that_is_down_stops_validation_as_retryable(tmp_path: Path) -> None:
    with pytest.raises(BackendUnavailableError) as raised:
        _judge(tmp_path, _with_note(b"note"), clamav=str(tmp_path / "no-such.sock"))
    assert "ClamAV" in raised.value.message_vi and raised.value.http_status == 503


def test_clamd_addresses_are_unix_sockets_or_host_and_port(clamd_socket: Path) -> None:
    assert Clamd(f"unix:{clamd_socket}").version().startswith("ClamAV ")
    with pytest.raises(BackendUnavailableError):
        Clamd("127.0.0.1:1").version()


def test_the_probe_rules_are_catalogued_with_their_severity() -> None:
    expected = {"file.media.bitrate": "error", "file.virus": "error", "file.virus.not_scanned": "warning"}
    assert {r: str(rule(r).severity) for r in expected} == expected
