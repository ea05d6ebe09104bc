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

from archive_service.config import Settings
from archive_service.errors import ArchiveError, ExitCode
from archive_service.validation import ValidationReport, validate_package
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


def _settings() -> Settings:
    return Settings()


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
    click.echo(f"{errors} lỗi, {len(report.findings) - errors} cảnh báo / "
               f"{errors} errors, {len(report.findings) - errors} warnings")
    for item in report.findings:
        click.echo(_format_finding(item))


@main.command()
@click.argument("package", type=click.Path(path_type=Path))
@click.option("--profile", "profile_id", type=click.Choice(["tt02-2019", "tt05-2025"]), default=None,
              help="Hồ sơ quy tắc / rule profile (mặc định: theo phần tử gốc của EAD.xml)")
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
        click.echo(f"{spec.id}  [{spec.severity}]  {spec.summary_vi}\n    {spec.summary_en}\n"
                   f"    Căn cứ / Clause: {spec.clause}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
def serve(host: str, port: int) -> None:
    """Chạy API và giao diện web / Run the API and web UI."""
    import uvicorn

    from archive_service.api.app import create_app

    uvicorn.run(create_app(_settings()), host=host, port=port, log_level=os.environ.get("ARCHIVE_LOG_LEVEL", "info"))
