"""The `archive` command line: the same services as the HTTP API, for operators and scripts.

Exit codes (spec interfaces.md) are decided here and only here, from `ArchiveError.exit_code`.
With `--json`, stdout carries exactly one JSON document.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from archive_service import audit_log, users
from archive_service.config import Settings
from archive_service.errors import ArchiveError, ExitCode, IntegrityError
from archive_service.validation import ValidationReport, validate_package
from archive_service.wiring import Services, build_services
from ingest_rules.catalogue import all_rules
from ingest_rules.findings import Finding

F = TypeVar("F", bound=Callable[..., Any])


def _print_json(data: object) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


def handles_errors(func: F) -> F:
    """Turn an ArchiveError into its exit code and a bilingual message; never a traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ArchiveError as exc:
            if kwargs.get("as_json"):
                _print_json({"error": exc.to_dict()})
            else:
                click.echo(f"Lỗi: {exc.message_vi}\nError: {exc.message_en}", err=True)
            sys.exit(exc.exit_code)

    return wrapper  # type: ignore[return-value]


@click.group()
@click.version_option(package_name="archive-service")
def main() -> None:
    """Kho lưu trữ hồ sơ điện tử / Electronic records archive."""


def run() -> None:
    """The console script: unexpected failures exit 1 with a short bilingual message; the full
    traceback goes to a file under ARCHIVE_HOME/logs (or to stderr with ARCHIVE_DEBUG=1)."""
    try:
        main(standalone_mode=True)
    except Exception as exc:  # reported and logged below, never hidden
        if os.environ.get("ARCHIVE_DEBUG"):
            raise
        log_file = _write_crash_log()
        click.echo(
            f"Lỗi ngoài dự kiến: {type(exc).__name__}: {exc}\nUnexpected error: {type(exc).__name__}: {exc}\n"
            f"Chi tiết / details: {log_file}",
            err=True,
        )
        sys.exit(ExitCode.UNEXPECTED)


def _write_crash_log() -> Path:
    import traceback
    from datetime import UTC, datetime

    folder = _settings().resolved_home / "logs"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"error-{datetime.now(UTC):%Y%m%dT%H%M%S%f}.log"
    path.write_text(traceback.format_exc(), encoding="utf-8")
    return path


def _settings() -> Settings:
    return Settings()


def _services() -> Services:
    return build_services(_settings())


as_option = click.option(
    "--as", "as_user", default=None, metavar="USER", help="Đọc với quyền của người dùng này / read as this user"
)
json_option = click.option("--json", "as_json", is_flag=True, help="In một tài liệu JSON / print one JSON document")


def _format_finding(item: Finding) -> str:
    where = item.path + (f" [{item.field}]" if item.field else "")
    return (
        f"  [{item.severity}] {item.rule} — {where}\n"
        f"      {item.message_vi}\n"
        f"      {item.message_en}\n"
        f"      Căn cứ / Clause: {item.clause}"
    )


def _print_report(report: ValidationReport) -> None:
    if report.valid:
        click.echo(f"Gói hợp lệ theo {report.profile} / The package is valid ({report.profile})")
    else:
        click.echo(f"Gói KHÔNG hợp lệ theo {report.profile} / The package is INVALID ({report.profile})")
    errors = sum(1 for f in report.findings if f.is_error)
    click.echo(
        f"{errors} lỗi, {len(report.findings) - errors} cảnh báo / "
        f"{errors} errors, {len(report.findings) - errors} warnings"
    )
    for item in report.findings:
        click.echo(_format_finding(item))


@main.command()
@click.argument("package", type=click.Path(path_type=Path))
@click.option(
    "--profile",
    "profile_id",
    type=click.Choice(["tt02-2019", "tt05-2025"]),
    default=None,
    help="Hồ sơ quy tắc / rule profile (mặc định: theo phần tử gốc của EAD.xml)",
)
@click.option("--json", "as_json", is_flag=True, help="In một tài liệu JSON / print one JSON document")
@handles_errors
def validate(package: Path, profile_id: str | None, as_json: bool) -> None:
    """Kiểm tra gói mà không lưu gì / Validate a package; nothing is stored."""
    report = validate_package(package, _settings(), profile_id=profile_id)
    if as_json:
        _print_json(report.to_dict())
    else:
        _print_report(report)
    sys.exit(ExitCode.OK if report.valid else ExitCode.REFUSED)


@main.group()
def rules() -> None:
    """Danh mục quy tắc kiểm tra / The rule catalogue."""


@rules.command("list")
@click.option("--json", "as_json", is_flag=True)
def rules_list(as_json: bool) -> None:
    """Liệt kê mọi quy tắc với căn cứ / List every rule with its clause."""
    specs = list(all_rules().values())
    if as_json:
        _print_json([s.to_dict() for s in specs])
        return
    for spec in specs:
        click.echo(
            f"{spec.id}  [{spec.severity}]  {spec.summary_vi}\n    {spec.summary_en}\n"
            f"    Căn cứ / Clause: {spec.clause}"
        )


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
def serve(host: str, port: int) -> None:
    """Chạy API và giao diện web / Run the API and web UI."""
    import uvicorn

    from archive_service.api.app import create_app

    uvicorn.run(create_app(_settings()), host=host, port=port, log_level=os.environ.get("ARCHIVE_LOG_LEVEL", "info"))


@main.command()
@click.option("--concurrency", default=None, type=int, help="Số luồng xử lý / worker threads")
@handles_errors
def worker(concurrency: int | None) -> None:
    """Xử lý các giao nộp trong hàng đợi / Process queued transfers (distributed mode)."""
    from archive_service.work_queue import DEFAULT_CONCURRENCY
    from archive_service.worker import run_worker

    run_worker(_settings(), DEFAULT_CONCURRENCY if concurrency is None else concurrency)


# -- intake -------------------------------------------------------------------------------------

_EXIT_FOR_STATUS = {"accepted": ExitCode.OK, "tested": ExitCode.OK, "rejected": ExitCode.REFUSED}


def _transfer_document(transfer: Any) -> dict[str, Any]:
    """The receipt of an accepted transfer; otherwise its state and findings in the same shape."""
    if transfer.receipt is not None:
        return dict(transfer.receipt)
    return {
        "transfer_id": transfer.id,
        "status": transfer.status,
        "retryable": transfer.retryable,
        "profile": transfer.profile,
        "findings": transfer.findings,
        "error": transfer.error,
        "received_at": transfer.received_at.isoformat(),
    }


def _print_transfer(data: dict[str, Any]) -> None:
    status_vi = {"accepted": "ĐÃ TIẾP NHẬN", "rejected": "BỊ TỪ CHỐI", "failed": "THẤT BẠI",
                 "tested": "ĐÃ KIỂM TRA (gói TEST, không lưu)"}
    click.echo(
        f"Giao nộp {data['transfer_id']}: {status_vi.get(data['status'], data['status'])} / transfer {data['status']}"
    )
    if "dossier" in data:
        click.echo(f"Hồ sơ / dossier: {data['dossier']['code']}  AIP: {data['dossier']['aip_id']}")
        for document in data["documents"]:
            click.echo(f"  {document['code']}")
            for item in document["files"]:
                click.echo(f"    [{item['role']}] {item['name']}  {item['size']} B  sha256 {item['sha256']}")
    if data.get("error"):
        click.echo(f"  {data['error']['message_vi']}\n  {data['error']['message_en']}")
    for raw in data.get("findings") or []:
        click.echo(_format_finding(Finding(**raw)))


@main.command()
@click.argument("package", type=click.Path(path_type=Path))
@click.option("--profile", "profile_id", type=click.Choice(["tt02-2019", "tt05-2025"]), default=None)
@json_option
@handles_errors
def ingest(package: Path, profile_id: str | None, as_json: bool) -> None:
    """Tiếp nhận hồ sơ qua toàn bộ quy trình / Take a package through the whole pipeline."""
    from rich.progress import Progress

    from archive_service.intake import ingest as run_ingest

    services = _services()
    with Progress(transient=True, disable=as_json, console=_stderr_console()) as bar:
        task = bar.add_task("Tiếp nhận / intake", total=None)

        def progress(step: str, number: int, total: int) -> None:
            bar.update(task, description=f"{step} ({number}/{total})", completed=number - 1, total=total)

        transfer = run_ingest(services, package, submitter=users.OPERATOR, profile=profile_id, progress=progress)
    data = _transfer_document(transfer)
    _print_json(data) if as_json else _print_transfer(data)
    if transfer.status == "failed":
        sys.exit(ExitCode.BACKEND_UNAVAILABLE if transfer.retryable else ExitCode.PRESERVATION_FAILED)
    sys.exit(_EXIT_FOR_STATUS.get(transfer.status, ExitCode.UNEXPECTED))


def _stderr_console() -> Any:
    from rich.console import Console

    return Console(stderr=True)


# -- reading ------------------------------------------------------------------------------------


@main.command()
@click.argument("code")
@as_option
@json_option
@handles_errors
def show(code: str, as_user: str | None, as_json: bool) -> None:
    """Xem hồ sơ hoặc văn bản / Show a dossier or document with files, fixity and events."""
    from archive_service.retrieval import show as show_record

    services = _services()
    with services.sessions() as session:
        reader = users.reader_for(session, as_user, services.settings)
    data = show_record(services, reader, code)
    if as_json:
        _print_json(data)
        return
    click.echo(f"{data['kind']}: {data['code']} — {data['title']}  [{data['access_regime']}]")
    for key, value in data["metadata"].items():
        click.echo(f"  {key}: {value}")
    for document in data.get("documents", [data] if data["kind"] != "dossier" else []):
        click.echo(f"  • {document['code']} {document['title']}")
        for item in document["files"]:
            click.echo(f"      [{item['role']}] {item['name']} {item['size']} B sha256 {item['sha256']}")
    for event in data["events"]:
        click.echo(f"  {event['at']} {event['type']} ({event['outcome']}) {event['agent']}")


@main.command()
@click.argument("code")
@click.option("--original", "role", flag_value="original", default=True, help="bản gốc / the original (default)")
@click.option("--preservation", "role", flag_value="preservation", help="bản sao bảo quản / the PDF/A copy")
@click.option("--file", "name", default=None, help="tên tệp khi văn bản có nhiều tệp / which file")
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True)
@as_option
@handles_errors
def get(code: str, role: str, name: str | None, output: Path, as_user: str | None) -> None:
    """Lấy tệp của văn bản / Write a document's file out (access rules apply)."""
    from archive_service.retrieval import get_file
    from archive_service.states import FileRole

    services = _services()
    with services.sessions() as session:
        reader = users.reader_for(session, as_user, services.settings)
    chosen = get_file(services, reader, code, FileRole(role), name, output)
    click.echo(f"{chosen.name} → {output} ({chosen.size} B, sha256 {chosen.sha256})", err=True)


@main.command("export")
@click.argument("codes", nargs=-1, required=True)
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), required=True)
@click.option("--originals", is_flag=True, help="kèm bản gốc / add the originals beside the preservation copies")
@as_option
@json_option
@handles_errors
def export(codes: tuple[str, ...], output: Path, originals: bool, as_user: str | None, as_json: bool) -> None:
    """Xuất gói DIP / Write a DIP of dossiers or documents (access rules apply)."""
    from archive_service.dip_export import export_records

    services = _services()
    with services.sessions() as session:
        reader = users.reader_for(session, as_user, services.settings)
    summary = export_records(services, reader, list(codes), output, originals=originals)
    if as_json:
        _print_json(summary.to_dict())
        return
    click.echo(
        f"{output}: {len(summary.documents)} văn bản / documents, {summary.files} tệp / files, "
        f"{summary.size} B, sha256 {summary.sha256}"
    )


@main.command()
@click.argument("query")
@click.option("--fonds", default=None)
@click.option("--year", type=int, default=None)
@click.option("--type", "doc_type", default=None)
@click.option("--access", "access_regime", default=None)
@click.option("--limit", type=int, default=20, show_default=True)
@as_option
@json_option
@handles_errors
def search(
    query: str,
    fonds: str | None,
    year: int | None,
    doc_type: str | None,
    access_regime: str | None,
    limit: int,
    as_user: str | None,
    as_json: bool,
) -> None:
    """Tìm kiếm (có dấu hoặc không dấu) / Search, with or without diacritics."""
    from archive_service.retrieval import search as run_search
    from search.protocol import AccessFilter, SearchQuery

    services = _services()
    with services.sessions() as session:
        reader = users.reader_for(session, as_user, services.settings)
    result = run_search(
        services,
        reader,
        SearchQuery(
            text=query,
            fonds=fonds,
            year=year,
            doc_type=doc_type,
            access_regime=access_regime,
            limit=limit,
            access=AccessFilter(see_all=False, open_regimes=frozenset(), grants=frozenset()),
        ),
    )
    hits = [
        {"kind": h.kind, "code": h.code, "title": h.title, "score": h.score, "highlight": h.highlight}
        for h in result.hits
    ]
    if as_json:
        _print_json({"total": result.total, "hits": hits, "facets": result.facets})
        return
    click.echo(f"{result.total} kết quả / results")
    for hit in hits:
        click.echo(f"  [{hit['kind']}] {hit['code']}  {hit['title']}\n      {hit['highlight']}")


# -- integrity ----------------------------------------------------------------------------------


@main.command()
@click.option("--sample", type=int, default=None, help="kiểm tra ngẫu nhiên N đối tượng / check N objects")
@click.option("--repair", is_flag=True, help="khôi phục từ bản tốt / restore from a good copy")
@click.option("--report", "report_file", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="biên bản HTML để in / a printable HTML report")
@click.option("--scheduled", is_flag=True,
              help="phần hôm nay của chu kỳ ARCHIVE_AUDIT_CYCLE_DAYS / today's share of the cycle (run daily)")
@json_option
@handles_errors
def audit(sample: int | None, repair: bool, report_file: Path | None, scheduled: bool, as_json: bool) -> None:
    """Kiểm tra toàn vẹn mọi đối tượng ở mọi bản / Fixity audit of every object in every copy."""
    from archive_service.fixity_audit import run_audit
    from archive_service.log_checkpoints import make_checkpoint

    services = _services()
    from datetime import UTC, datetime

    today = datetime.now(UTC).date() if scheduled else None
    report = run_audit(services, users.OPERATOR, sample=sample, repair=repair, scheduled_day=today)
    make_checkpoint(services)
    if report_file is not None:
        from archive_service.fixity_audit import report_html

        report_file.write_text(report_html(report, datetime.now(UTC)), encoding="utf-8")
    if as_json:
        _print_json(report.to_dict())
    else:
        click.echo(f"Đã kiểm tra / checked: {report.checked}, tốt / ok: {report.ok}")
        for item in report.corrupted:
            click.echo(
                f"  HỎNG / CORRUPTED [{item['copy']}] {item['key']} expected {item['expected']} found {item['found']}"
            )
        for item in report.missing:
            click.echo(f"  THIẾU / MISSING [{item['copy']}] {item['key']}")
        for item in report.repaired:
            click.echo(f"  ĐÃ KHÔI PHỤC / REPAIRED [{item['copy']}] {item['key']} from {item['from']}")
    sys.exit(ExitCode.OK if report.clean else ExitCode.INTEGRITY)


@main.command()
@click.argument("code")
@click.option("--on/--off", "on", default=None,
              help="đặt hoặc gỡ giữ pháp lý; bỏ trống để xem / place or lift the hold; omit to show it")
@as_option
@json_option
@handles_errors
def hold(code: str, on: bool | None, as_user: str | None, as_json: bool) -> None:
    """Giữ pháp lý mọi đối tượng của hồ sơ ở mọi bản / Legal hold on a dossier's objects in every copy."""
    from archive_service.legal_hold import legal_hold

    services = _services()
    with services.sessions() as session:
        reader = users.reader_for(session, as_user, services.settings)
    report = legal_hold(services, reader, code, on)
    if as_json:
        _print_json(report.to_dict())
    else:
        for item in report.objects:
            click.echo(f"  {item.describe()}")
    sys.exit(ExitCode.INTEGRITY if report.missing else ExitCode.OK)


@main.group()
def log() -> None:
    """Nhật ký kiểm toán / The audit log."""


@log.command("verify")
@json_option
@handles_errors
def log_verify(as_json: bool) -> None:
    """Kiểm tra chuỗi băm của nhật ký / Verify the audit log's hash chain."""
    services = _services()
    with services.sessions() as session:
        result = audit_log.verify(session)
    data = {
        "ok": result.ok,
        "checked": result.checked,
        "first_bad_seq": result.first_bad_seq,
        "reason_vi": result.reason_vi,
        "reason_en": result.reason_en,
    }
    if as_json:
        _print_json(data)
    elif result.ok:
        click.echo(f"Nhật ký toàn vẹn ({result.checked} mục) / the log is intact ({result.checked} entries)")
    else:
        click.echo(
            f"Nhật ký bị sửa tại mục {result.first_bad_seq}: {result.reason_vi}\n"
            f"The log was altered at entry {result.first_bad_seq}: {result.reason_en}"
        )
    if not result.ok:
        sys.exit(ExitCode.INTEGRITY)
    with services.sessions() as session:
        audit_log.append(session, users.OPERATOR, audit_log.AuditAction.LOG_VERIFY, "", {"checked": result.checked})
        session.commit()


@log.command("checkpoint")
@json_option
@handles_errors
def log_checkpoint(as_json: bool) -> None:
    """Ký xác nhận đầu nhật ký hiện tại / Sign the log's current head (stored in every copy)."""
    from archive_service.log_checkpoints import make_checkpoint

    checkpoint = make_checkpoint(_services())
    if as_json:
        _print_json(checkpoint)
    elif checkpoint is None:
        click.echo("Nhật ký trống / the log is empty")
    else:
        click.echo(f"seq {checkpoint['seq']} {checkpoint['entry_hash']} key {checkpoint['key_id']}")


@log.command("export")
@click.option("-o", "--output", type=click.Path(path_type=Path, file_okay=False), required=True)
@handles_errors
def log_export(output: Path) -> None:
    """Gói cho kiểm toán viên: nhật ký, điểm kiểm tra, khóa công khai / An auditor's bundle."""
    from archive_service.log_checkpoints import export_entries, stored_checkpoints
    from archive_service.signing import public_pem

    services = _services()
    output.mkdir(parents=True, exist_ok=True)
    with services.sessions() as session, (output / "log.jsonl").open("w", encoding="utf-8") as handle:
        for entry in export_entries(session):
            handle.write(json.dumps(entry, ensure_ascii=False) + "\n")
    (output / "checkpoints.json").write_text(json.dumps(stored_checkpoints(services), indent=2), encoding="utf-8")
    keys = {key_id: public_pem(key).decode() for key_id, key in services.keyring.public_keys().items()}
    (output / "public-keys.json").write_text(json.dumps(keys, indent=2), encoding="utf-8")
    click.echo(str(output))


@log.command("verify-offline")
@click.argument("bundle", type=click.Path(path_type=Path, file_okay=False, exists=True))
@json_option
@handles_errors
def log_verify_offline(bundle: Path, as_json: bool) -> None:
    """Kiểm tra gói nhật ký không cần kho / Verify an exported log bundle without the archive."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from archive_service.log_checkpoints import verify_offline

    keys: dict[str, Ed25519PublicKey] = {}
    for key_id, pem in json.loads((bundle / "public-keys.json").read_text(encoding="utf-8")).items():
        key = serialization.load_pem_public_key(pem.encode())
        if isinstance(key, Ed25519PublicKey):
            keys[key_id] = key
    with (bundle / "log.jsonl").open(encoding="utf-8") as handle:
        entries = (json.loads(line) for line in handle if line.strip())
        checkpoints = json.loads((bundle / "checkpoints.json").read_text(encoding="utf-8"))
        verdict = verify_offline(entries, checkpoints, keys)
    if as_json:
        _print_json(verdict.to_dict())
    elif verdict.ok:
        click.echo(f"Hợp lệ: {verdict.entries} mục, {verdict.checkpoints} điểm kiểm tra / valid: "
                   f"{verdict.entries} entries, {verdict.checkpoints} checkpoints")
    else:
        click.echo(f"{verdict.problem_vi}\n{verdict.problem_en}")
    sys.exit(ExitCode.OK if verdict.ok else ExitCode.INTEGRITY)


@main.group()
def receipt() -> None:
    """Biên nhận / Receipts."""


@receipt.command("verify")
@click.argument("receipt_file", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@json_option
@handles_errors
def receipt_verify(receipt_file: Path, as_json: bool) -> None:
    """Kiểm tra chữ ký và nội dung biên nhận / Check a receipt's signature and holdings."""
    from archive_service.receipt_check import check_receipt

    try:
        data = json.loads(receipt_file.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise IntegrityError(
            f"Biên nhận không phải JSON hợp lệ: {exc}", f"The receipt is not valid JSON: {exc}"
        ) from exc
    result = check_receipt(_services(), data)
    if as_json:
        _print_json(result.to_dict())
    else:
        click.echo(
            "Chữ ký hợp lệ / signature valid" if result.signature_ok else "Chữ ký KHÔNG hợp lệ / signature INVALID"
        )
        for problem in result.problems:
            click.echo(f"  {problem}")
    sys.exit(ExitCode.OK if result.ok else ExitCode.INTEGRITY)


@main.group()
def keys() -> None:
    """Khóa ký biên nhận / Signing keys."""


@keys.command("export")
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True)
@handles_errors
def keys_export(output: Path) -> None:
    """Sao lưu mọi khóa / Back up every key (private keys included: keep it safe)."""
    services = _services()
    path = services.keyring.export(output)
    with services.sessions() as session:
        audit_log.append(session, users.OPERATOR, audit_log.AuditAction.KEY_EXPORT, str(path))
        session.commit()
    click.echo(str(path))


@keys.command("rotate")
@handles_errors
def keys_rotate() -> None:
    """Tạo khóa mới; khóa cũ vẫn dùng để kiểm tra / New signing key; old ones still verify."""
    services = _services()
    key = services.keyring.rotate()
    with services.sessions() as session:
        audit_log.append(session, users.OPERATOR, audit_log.AuditAction.KEY_ROTATE, key.key_id)
        session.commit()
    click.echo(key.key_id)


@keys.command("import")
@click.argument("backup", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@handles_errors
def keys_import(backup: Path) -> None:
    """Khôi phục khóa từ bản sao lưu / Restore keys from a backup."""
    services = _services()
    imported = services.keyring.import_backup(backup)
    with services.sessions() as session:
        audit_log.append(session, users.OPERATOR, audit_log.AuditAction.KEY_IMPORT, ",".join(imported))
        session.commit()
    click.echo("\n".join(imported))


# -- users and index ----------------------------------------------------------------------------


@main.group("users")
def users_group() -> None:
    """Người dùng, vai trò và quyền / Users, roles and grants."""


@users_group.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(["submitter", "archivist", "auditor", "admin"]), required=True)
@click.option("--organisation", default=None, help="mã định danh cơ quan / organisation identifier")
@handles_errors
def users_add(name: str, role: str, organisation: str | None) -> None:
    """Thêm người dùng / Add a user."""
    from archive_service.states import Role

    services = _services()
    with services.sessions() as session:
        users.add_user(session, users.OPERATOR, name, Role(role), organisation)
    click.echo(f"{name} ({role})")


@users_group.command("list")
@json_option
@handles_errors
def users_list(as_json: bool) -> None:
    """Danh sách người dùng / List users."""
    services = _services()
    with services.sessions() as session:
        rows: list[dict[str, Any]] = [
            {
                "name": u.name,
                "role": u.role,
                "organisation": u.organisation,
                "grants": [{"fonds": g.fonds_code, "access": g.access_regime} for g in u.grants],
            }
            for u in users.list_users(session)
        ]
    if as_json:
        _print_json(rows)
        return
    for row in rows:
        grants = ", ".join(f"{g['fonds']}:{g['access']}" for g in row["grants"])
        click.echo(f"{row['name']}  {row['role']}  {row['organisation'] or ''}  {grants}")


@users_group.command("grant")
@click.argument("name")
@click.option("--fonds", required=True)
@click.option("--access", "regime", required=True)
@handles_errors
def users_grant(name: str, fonds: str, regime: str) -> None:
    """Cho phép xem chế độ truy cập A của phông F / Let a user see regime A in fonds F."""
    services = _services()
    with services.sessions() as session:
        users.grant(session, users.OPERATOR, name, fonds, regime)
    click.echo(f"{name}: {fonds} / {regime}")


@users_group.command("key")
@click.option("--organisation", required=True, help="mã định danh cơ quan / organisation identifier")
@click.option("--role", type=click.Choice(["submitter", "archivist", "auditor", "admin"]), default=None,
              help="vai trò của tài khoản mới (mặc định submitter) / role of the new account (default submitter)")
@click.option("--user", "user_name", default=None, help="gắn với người dùng có sẵn / bind to an existing user")
@handles_errors
def users_key(organisation: str, role: str | None, user_name: str | None) -> None:
    """Tạo khóa API (chỉ hiện một lần) / Create an API key, shown once, stored hashed."""
    from archive_service.api_keys import create_key
    from archive_service.states import Role

    services = _services()
    with services.sessions() as session:
        created = create_key(
            session, users.OPERATOR, organisation, role=Role(role) if role else None, user_name=user_name
        )
    click.echo(f"{created.user} ({created.role}, {created.organisation}) key #{created.key_id}", err=True)
    click.echo("Khóa chỉ hiện một lần, hãy lưu lại / the key is shown once, keep it safe:", err=True)
    click.echo(created.secret)


@main.command("export-metadata")
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), required=True)
@handles_errors
def export_metadata(output: Path) -> None:
    """Sao lưu toàn bộ danh mục ra XML / Back up the whole catalog as XML (02/2019 Art. 10)."""
    from archive_service.metadata_backup import export_catalog

    services = _services()
    with services.sessions() as session:
        counts = export_catalog(session, output)
        audit_log.append(session, users.OPERATOR, audit_log.AuditAction.EXPORT_METADATA, str(output), counts)
        session.commit()
    click.echo(f"{output}: " + ", ".join(f"{name} {n}" for name, n in counts.items()))


@main.command("import-metadata")
@click.argument("backup", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@handles_errors
def import_metadata(backup: Path) -> None:
    """Khôi phục danh mục từ bản sao lưu XML vào kho trống / Restore the catalog into an empty archive."""
    from archive_service.metadata_backup import import_catalog

    services = _services()
    with services.sessions() as session:
        counts = import_catalog(session, backup, max_bytes=services.settings.limits.max_total_bytes)
    click.echo(", ".join(f"{name} {n}" for name, n in counts.items()))


@main.command()
@handles_errors
def reindex() -> None:
    """Dựng lại chỉ mục tìm kiếm từ danh mục / Rebuild the search index from the catalog."""
    from archive_service.indexing import rebuild_index

    services = _services()
    count = rebuild_index(services)
    with services.sessions() as session:
        audit_log.append(session, users.OPERATOR, audit_log.AuditAction.REINDEX, "", {"records": count})
        session.commit()
    click.echo(f"{count} bản ghi đã lập chỉ mục / records indexed")


@main.command("rebuild-catalog")
@click.option("--add-missing", is_flag=True,
              help="chỉ thêm các AIP danh mục còn thiếu / add only the AIPs the catalog lacks")
@json_option
@handles_errors
def rebuild_catalog(add_missing: bool, as_json: bool) -> None:
    """Dựng lại danh mục và chỉ mục chỉ từ các AIP trong kho / Rebuild catalog and index from the AIPs alone.

    Mặc định chỉ chạy vào danh mục trống / by default only into an empty catalog.
    """
    from archive_service.rebuild_catalog import rebuild_catalog as run_rebuild

    report = run_rebuild(_services(), users.OPERATOR, add_missing=add_missing)
    if as_json:
        _print_json(report.to_dict())
    else:
        click.echo(
            f"Đã dựng lại {len(report.restored)} AIP, {report.indexed} bản ghi đã lập chỉ mục / "
            f"{len(report.restored)} AIPs restored, {report.indexed} records indexed"
        )
        click.echo(", ".join(f"{name} {n}" for name, n in report.counts.items()))
        for item in report.from_replica:
            click.echo(f"  ĐỌC TỪ BẢN KHÁC / READ FROM ANOTHER COPY [{item['copy']}] {item['key']}")
        for item in report.unlisted:
            click.echo(f"  KHÔNG LIỆT KÊ HẾT ĐƯỢC / LISTING STOPPED [{item['copy']}] {item['problem']}")
        for item in report.skipped:
            click.echo(f"  BỎ QUA / SKIPPED {item['aip_id']}: {item['reason_vi']}\n      {item['reason_en']}")
    sys.exit(ExitCode.OK if report.clean else ExitCode.INTEGRITY)
