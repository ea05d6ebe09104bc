"""Runs a transfer's steps in order, persisting each output, under a lease, resumable.

After a crash (even `kill -9`) the next run continues from the last finished step: outputs are
reloaded from the catalog, object keys are stable, and the catalog step is one transaction, so
there is never a duplicate AIP nor a half-visible record.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from pydantic import BaseModel
from sqlalchemy import delete, select

from archive_service.catalog import queries
from archive_service.catalog.models import Transfer, TransferStep
from archive_service.errors import ArchiveError, BackendUnavailableError
from archive_service.faults import fault_point
from archive_service.pipeline.context import StepContext
from archive_service.pipeline.lease import Heartbeat, claim, release
from archive_service.pipeline.outcomes import TransferFailedError, TransferRejectedError, TransferTestedError
from archive_service.pipeline.steps.build_aip import BuildAipStep
from archive_service.pipeline.steps.catalog import CatalogStep
from archive_service.pipeline.steps.identify import IdentifyStep
from archive_service.pipeline.steps.index import IndexStep
from archive_service.pipeline.steps.preserve import PreserveStep
from archive_service.pipeline.steps.store import StoreStep
from archive_service.pipeline.steps.unpack import UnpackStep
from archive_service.pipeline.steps.validate import ValidateStep
from archive_service.states import StepStatus, TransferStatus
from archive_service.wiring import Services
from ingest_rules.findings import Finding

Progress = Callable[[str, int, int], None]


class Step(Protocol):
    """A pipeline step: idempotent, with a name and version persisted with its output."""

    @property
    def name(self) -> str: ...

    @property
    def version(self) -> str: ...

    @property
    def output_model(self) -> type[BaseModel]: ...

    def run(self, ctx: StepContext) -> BaseModel: ...


STEPS: tuple[Step, ...] = (
    UnpackStep(),
    ValidateStep(),
    IdentifyStep(),
    PreserveStep(),
    BuildAipStep(),
    StoreStep(),
    CatalogStep(),
    IndexStep(),
)
_NEEDS_WORK_DIR_UNTIL = "store"


def work_dir_for(services: Services, transfer_id: str) -> Path:
    return services.settings.work_root / transfer_id


def record_step(services: Services, transfer_id: str, step: Step, output: BaseModel) -> None:
    """Persist a finished step's output (idempotent: a re-run replaces its own row)."""
    with services.sessions() as session, session.begin():
        session.execute(
            delete(TransferStep).where(TransferStep.transfer_id == transfer_id, TransferStep.name == step.name)
        )
        session.add(
            TransferStep(
                transfer_id=transfer_id,
                name=step.name,
                version=step.version,
                status=StepStatus.DONE,
                output=output.model_dump(mode="json"),
                finished_at=datetime.now(UTC),
            )
        )


def run_transfer(services: Services, transfer_id: str, progress: Progress | None = None) -> None:
    """Take the lease and run every unfinished step; the transfer ends in a final state."""
    with services.sessions() as session:
        claim(session, transfer_id)
        transfer = queries.transfer(session, transfer_id)
        ctx = StepContext(
            transfer_id=transfer_id,
            source=Path(transfer.source_path),
            work_dir=work_dir_for(services, transfer_id),
            services=services,
            submitter=transfer.submitter,
            submitter_org=transfer.submitter_org,
            profile=transfer.profile or None,
            received_at=transfer.received_at.replace(tzinfo=transfer.received_at.tzinfo or UTC),
        )
    try:
        with Heartbeat(services.sessions, transfer_id):
            _load_outputs(ctx)
            _set_status(services, transfer_id, TransferStatus.PROCESSING)
            for number, step in enumerate(STEPS, start=1):
                if step.output_model in ctx.outputs:
                    continue
                if progress is not None:
                    progress(step.name, number, len(STEPS))
                output = step.run(ctx)
                record_step(services, transfer_id, step, output)
                ctx.outputs[step.output_model] = output
                fault_point(f"after:{step.name}")
    except TransferRejectedError as exc:
        _end(services, transfer_id, TransferStatus.REJECTED, exc.findings, retryable=False)
    except TransferTestedError as exc:
        _end(services, transfer_id, TransferStatus.TESTED, exc.findings, retryable=False)
    except TransferFailedError as exc:
        _end(services, transfer_id, TransferStatus.FAILED, exc.findings, retryable=exc.retryable)
        if exc.retryable:
            return
    except BackendUnavailableError as exc:
        _end(services, transfer_id, TransferStatus.FAILED, [], retryable=True, error=exc)
        return
    finally:
        with services.sessions() as session:
            release(session, transfer_id)
    _cleanup(services, ctx.work_dir)


def _load_outputs(ctx: StepContext) -> None:
    """Reload finished steps; if the work dir is gone before storing, start again from unpack."""
    with ctx.services.sessions() as session:
        rows = {
            r.name: r
            for r in session.scalars(
                select(TransferStep).where(
                    TransferStep.transfer_id == ctx.transfer_id, TransferStep.status == StepStatus.DONE
                )
            )
        }
    if _NEEDS_WORK_DIR_UNTIL not in rows and not (ctx.work_dir / "package").is_dir():
        rows = {}
    for step in STEPS:
        row = rows.get(step.name)
        if row is not None and row.output is not None and row.version == step.version:
            ctx.outputs[step.output_model] = step.output_model.model_validate(row.output)


def _set_status(services: Services, transfer_id: str, status: TransferStatus) -> None:
    with services.sessions() as session, session.begin():
        transfer = session.get(Transfer, transfer_id)
        if transfer is not None and transfer.status not in (TransferStatus.ACCEPTED,):
            transfer.status = status


def _end(
    services: Services,
    transfer_id: str,
    status: TransferStatus,
    findings: list[Finding],
    *,
    retryable: bool,
    error: ArchiveError | None = None,
) -> None:
    with services.sessions() as session, session.begin():
        transfer = queries.transfer(session, transfer_id)
        transfer.status = status
        transfer.retryable = retryable
        transfer.findings = [f.to_dict() for f in findings]
        transfer.error = error.to_dict() if error else None
        transfer.finished_at = datetime.now(UTC)


def _cleanup(services: Services, work_dir: Path) -> None:
    """The transfer has ended for good: its only copies are now in the stores."""
    if not services.settings.keep_work_dirs:
        shutil.rmtree(work_dir, ignore_errors=True)
