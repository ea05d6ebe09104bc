"""Unpack: stage the package into the transfer's work dir, hashing every file once."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from archive_service.config import PackageLimits
from archive_service.packages.staging import StagedPackage, stage_package
from archive_service.pipeline.context import StepContext
from archive_service.pipeline.models import StagedFileModel, UnpackOutput
from archive_service.pipeline.outcomes import TransferRejectedError


def package_digest(staged: StagedPackage) -> str:
    """The content identity of a package: SHA-256 over its sorted (path, SHA-256) list.

    The same files give the same digest whether they came as a ZIP or a folder.
    """
    lines = "".join(f"{path}\t{staged.files[path].sha256}\n" for path in sorted(staged.files))
    return hashlib.sha256(f"{staged.package_id}\n{lines}".encode()).hexdigest()


def unpack(source: Path, work_dir: Path, limits: PackageLimits) -> tuple[StagedPackage, UnpackOutput]:
    """Stage `source` under `work_dir/package/`, replacing what a crashed attempt left there."""
    target = work_dir / "package"
    shutil.rmtree(target, ignore_errors=True)
    staged = stage_package(source, target, limits)
    if not staged.ok:
        raise TransferRejectedError(staged.findings)
    files = tuple(StagedFileModel(path=f.path, size=f.size, sha256=f.sha256) for f in staged.files.values())
    return staged, UnpackOutput(package_id=staged.package_id, digest=package_digest(staged), files=files)


class UnpackStep:
    name = "unpack"
    version = "1"
    output_model = UnpackOutput

    def run(self, ctx: StepContext) -> UnpackOutput:
        return unpack(ctx.source, ctx.work_dir, ctx.services.settings.limits)[1]
