"""How long object lock keeps a dossier's AIP objects: from its retention period (decision 0012).

The dossier states its retention period ("Thời hạn bảo quản", `Maintenance`) in the words of its
rule profile: "Vĩnh viễn" (permanent) or a number of years ("20 năm"). The period runs from
1 January of the year after the dossier's work ended (its `EndDate`), as Vietnamese archival
practice counts it, or from the day the archive received it when no end date is given.

* A number of years: the lock ends when the period ends, but never sooner than
  `MINIMUM_LOCK` from now, so a period that has already run out still leaves time for the
  appraisal that must precede any lawful destruction.
* Permanent: the lock lasts `permanent_years` (ARCHIVE_RETENTION_PERMANENT_YEARS) from
  receipt, and an operator extends it before it ends; object lock has no "forever".
* No parseable period (a profile without the field, or a value validation let through as a
  warning): None, and the store applies its own configured retention (`retention_days`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Final

from ingest_rules.field_rules import fold, in_domain
from ingest_rules.metadata_rules import parse_vn_date
from ingest_rules.profile import UnknownProfileError, load_profile

MINIMUM_LOCK: Final = timedelta(days=365)
"""The shortest lock given to an object whose retention period has (nearly) run out."""


@dataclass(frozen=True, slots=True)
class RetentionPeriod:
    """A dossier's retention period: a number of years, or permanent (`years` None)."""

    years: int | None

    @property
    def permanent(self) -> bool:
        return self.years is None


def parse_retention(value: str, profile_id: str) -> RetentionPeriod | None:
    """The period `value` states in the words of `profile_id`, or None if it states none."""
    try:
        domain = load_profile(profile_id).values
    except UnknownProfileError:
        return None
    if not value.strip():
        return None
    if in_domain(value, [domain.maintenance_permanent]):
        return RetentionPeriod(None)
    years = domain.maintenance_years.fullmatch(fold(value))
    if years is None or int(years["years"]) < 1:
        return None
    return RetentionPeriod(int(years["years"]))


def _add_years(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February in a year that has none
        return moment.replace(year=moment.year + years, day=28) + timedelta(days=1)


def retain_until(
    dossier_values: Mapping[str, str],
    profile_id: str,
    received_at: datetime,
    *,
    permanent_years: int,
    now: datetime | None = None,
) -> datetime | None:
    """When the lock of the dossier's objects ends, or None to use the store's default."""
    period = parse_retention(dossier_values.get("Maintenance", ""), profile_id)
    if period is None:
        return None
    received = received_at if received_at.tzinfo else received_at.replace(tzinfo=UTC)
    if period.years is None:
        return _add_years(received, permanent_years)
    ended = parse_vn_date(dossier_values.get("EndDate", ""))
    start = datetime.combine(date(ended.year + 1, 1, 1), time(), UTC) if ended else received
    floor = (now or datetime.now(UTC)) + MINIMUM_LOCK
    return max(_add_years(start, period.years), floor)
