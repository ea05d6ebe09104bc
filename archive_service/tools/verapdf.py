"""veraPDF, the PDF/A oracle: validate a batch of files in one JVM and parse its JSON report.

The CLI comes from Maven Central (`org.verapdf.apps:greenfield-apps`), fetched by
`scripts/services/verapdf.sh` into `<tool cache>/verapdf/lib`; it runs as
`java -cp '<lib>/*' org.verapdf.apps.GreenfieldCliWrapper` (the jar's Main-Class is the GUI).
A JVM costs 1-3 s to start, so callers validate many files per call. veraPDF silently skips
names it cannot find or decode and files without a `.pdf` extension, so each input is linked
into a private folder under an ASCII name (`00000.pdf`, ...) and the report is matched back by
that name; the exit code is ignored (it is non-zero for any non-compliant file) and the report
decides.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from archive_service.errors import MissingDependencyError

INSTALL_COMMAND = "bash scripts/services/verapdf.sh"
MAIN_CLASS = "org.verapdf.apps.GreenfieldCliWrapper"
FLAVOURS = frozenset({"0", "1a", "1b", "2a", "2b", "2u", "3a", "3b", "3u", "4", "4e", "4f", "ua1", "ua2"})
JVM_FLAGS = (
    "-Dfile.encoding=UTF8",
    "-XX:+IgnoreUnrecognizedVMOptions",
    # Needed by veraPDF to parse signature dictionaries on Java 17 (its own launcher sets it).
    "--add-exports=java.base/sun.security.pkcs=ALL-UNNAMED",
)
_START_SECONDS = 120.0
_SECONDS_PER_FILE = 120.0


@dataclass(frozen=True)
class FailedRule:
    """One veraPDF rule a file breaks, e.g. `6.2.4.3-4` of ISO 19005-2:2011."""

    rule_id: str
    specification: str
    description: str
    failed_checks: int


@dataclass(frozen=True)
class VeraResult:
    """veraPDF's verdict on one file; `error` is set when it could not validate it at all."""

    path: Path
    compliant: bool
    profile: str
    failed_rules: tuple[FailedRule, ...] = ()
    error: str | None = None

    def summary(self) -> str:
        """One line for messages: the verdict and the failed rule ids."""
        if self.error is not None:
            return f"{self.path.name}: not validated ({self.error})"
        if self.compliant:
            return f"{self.path.name}: compliant with {self.profile}"
        rules = ", ".join(f"{r.rule_id} {r.description}" for r in self.failed_rules)
        return f"{self.path.name}: not compliant with {self.profile}: {rules}"


def default_cache_dir() -> Path:
    """The tool cache the install scripts use (`ARCHIVE_TOOL_CACHE`, else ~/.cache/archive-service)."""
    configured = os.environ.get("ARCHIVE_TOOL_CACHE")
    return Path(configured) if configured else Path.home() / ".cache" / "archive-service"


def find_verapdf(lib: Path | None = None, cache_dir: Path | None = None) -> Path:
    """The folder of veraPDF's jars: `lib` if given, else `<cache_dir>/verapdf/lib`.

    Raises MissingDependencyError (naming the install script) when the jars or `java` are missing.
    """
    folder = lib if lib is not None else (cache_dir or default_cache_dir()) / "verapdf" / "lib"
    if not any(folder.glob("greenfield-apps-*.jar")):
        raise MissingDependencyError(
            f"Không tìm thấy veraPDF trong {folder}. Cài đặt bằng lệnh: {INSTALL_COMMAND}",
            f"veraPDF not found in {folder}. Install it with: {INSTALL_COMMAND}",
        )
    return folder


def verapdf_version(lib: Path) -> str:
    """The version of the veraPDF jars in `lib`, read from the name of `greenfield-apps-<version>.jar`."""
    jar = max(lib.glob("greenfield-apps-*.jar"), default=None)
    return jar.stem.removeprefix("greenfield-apps-") if jar is not None else "unknown"


def verapdf_validate(
    paths: Sequence[Path],
    flavour: str = "2b",
    *,
    lib: Path | None = None,
    cache_dir: Path | None = None,
    java: str = "java",
    timeout: float | None = None,
) -> dict[Path, VeraResult]:
    """Validate `paths` against PDF/A `flavour` in one veraPDF run; one result per input path.

    `flavour="0"` lets veraPDF pick the profile from each file's PDF/A claim (a copy claiming 2u
    is checked as 2u). A missing or unparsable file gets a result with `error` set. Raises
    MissingDependencyError when veraPDF or Java is missing, ValueError for an unknown flavour.
    """
    if flavour not in FLAVOURS:
        raise ValueError(f"unknown veraPDF flavour {flavour!r}")
    folder = find_verapdf(lib, cache_dir)
    results: dict[Path, VeraResult] = {}
    present = []
    for path in dict.fromkeys(paths):
        if path.is_file():
            present.append(path)
        else:
            results[path] = VeraResult(path, compliant=False, profile="", error="file not found")
    if not present:
        return results
    with tempfile.TemporaryDirectory(prefix="verapdf-") as scratch:
        links: dict[str, Path] = {}
        for index, path in enumerate(present):
            link = Path(scratch) / f"{index:05d}.pdf"
            link.symlink_to(path.resolve())
            links[link.name] = path
        report = _run(folder, flavour, sorted(links), Path(scratch), java, timeout or _timeout(len(present)))
    for job in _jobs(report):
        name = Path(str(job.get("itemDetails", {}).get("name", ""))).name
        if name in links:
            results[links[name]] = _result(links[name], job)
    for path in present:
        results.setdefault(path, VeraResult(path, compliant=False, profile="", error="not in veraPDF's report"))
    return {path: results[path] for path in paths}


def _timeout(count: int) -> float:
    return _START_SECONDS + _SECONDS_PER_FILE * count


def _run(folder: Path, flavour: str, names: list[str], cwd: Path, java: str, timeout: float) -> dict[str, Any]:
    command = [
        java,
        *JVM_FLAGS,
        "-cp",
        f"{folder}/*",
        MAIN_CLASS,
        "--flavour",
        flavour,
        "--format",
        "json",
        "--maxfailuresdisplayed",
        "3",
        *names,
    ]
    # A UTF-8 locale, so that the JVM can name any path it is given (LANG=C garbles Vietnamese).
    env = {**os.environ, "LC_ALL": "C.UTF-8"}
    try:
        proc = subprocess.run(command, capture_output=True, cwd=cwd, env=env, timeout=timeout, check=False)
    except FileNotFoundError as exc:
        raise MissingDependencyError(
            f"Không chạy được Java ({java}) cho veraPDF: cần Java 17",
            f"Cannot run Java ({java}) for veraPDF: Java 17 is required",
        ) from exc
    except subprocess.TimeoutExpired as exc:
        raise RuntimeError(f"veraPDF did not finish {len(names)} file(s) within {timeout:.0f} s") from exc
    try:
        return cast(dict[str, Any], json.loads(proc.stdout.decode("utf-8")))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        stderr = proc.stderr.decode("utf-8", "replace").strip()[-1000:]
        raise RuntimeError(f"veraPDF printed no JSON report (exit {proc.returncode}): {stderr}") from exc


def _jobs(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    jobs = report.get("report", {}).get("jobs", [])
    return [job for job in jobs if isinstance(job, dict)]


def _result(path: Path, job: Mapping[str, Any]) -> VeraResult:
    """A job of the JSON report: `validationResult[0]` when validated, `taskException` when not."""
    validations = job.get("validationResult") or []
    if not validations:
        problem = job.get("taskException") or {}
        message = problem.get("exceptionMessage") or problem.get("exception") or "no validation result"
        return VeraResult(path, compliant=False, profile="", error=str(message))
    validation = validations[0]
    details = validation.get("details", {})
    rules = tuple(
        FailedRule(
            rule_id=f"{rule.get('clause', '?')}-{rule.get('testNumber', '?')}",
            specification=str(rule.get("specification", "")),
            description=str(rule.get("description", "")),
            failed_checks=int(rule.get("failedChecks", 0)),
        )
        for rule in details.get("ruleSummaries", [])
        if str(rule.get("status", "")).lower() == "failed"
    )
    compliant = bool(validation.get("compliant")) and not rules and int(details.get("failedRules", 0)) == 0
    return VeraResult(path, compliant=compliant, profile=str(validation.get("profileName", "")), failed_rules=rules)
