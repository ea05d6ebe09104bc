"""What a step gets: the transfer it works on, its work dir, the services, earlier outputs."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel

from archive_service.pipeline.models import EventRecord, UnpackOutput
from archive_service.wiring import Services

M = TypeVar("M", bound=BaseModel)


@dataclass
class StepContext:
    transfer_id: str
    source: Path
    work_dir: Path
    services: Services
    submitter: str
    submitter_org: str | None
    profile: str | None
    received_at: datetime
    outputs: dict[type[BaseModel], BaseModel] = field(default_factory=dict)

    def output(self, model: type[M]) -> M:
        """The persisted output of an earlier step, by its model type."""
        value = self.outputs[model]
        if not isinstance(value, model):
            raise TypeError(f"{model.__name__} holds a {type(value).__name__}")
        return value

    @property
    def staged_root(self) -> Path:
        """Where the unpacked package sits in the work dir."""
        return self.work_dir / "package" / self.output(UnpackOutput).package_id


def new_event(
    event_type: str, detail: str, agent: str, objects: tuple[str, ...] = (), outcome: str = "success"
) -> EventRecord:
    """A PREMIS-style event stamped now with a fresh identifier."""
    return EventRecord(
        event_id=str(uuid.uuid4()),
        event_type=event_type,
        at=datetime.now(UTC),
        detail=detail,
        outcome=outcome,
        agent=agent,
        objects=objects,
    )
