from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from archive_service.fixity_audit import in_daily_slice


@given(st.lists(st.text(min_size=1), min_size=1, max_size=200, unique=True), st.integers(1, 60), st.dates())
def test_a_full_cycle_of_daily_runs_checks_every_object_exactly_once(keys: list[str], cycle: int, start: date) -> None:
    days = [start + timedelta(days=i) for i in range(cycle)] if start.toordinal() + cycle < date.max.toordinal() else []
    for key in keys:
        if days:
            assert sum(in_daily_slice(key, cycle, day) for day in days) == 1
