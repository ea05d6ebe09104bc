"""20 concurrent submitters on loopback against a live `archive serve` (quality.md, Reliability):
zero errors, zero losses, one transfer per Idempotency-Key however often it is retried, and one
dossier per accepted package. Scaled down for CI; `bench/api_load.py` runs the full size."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from archive_service.catalog.models import Dossier
from archive_service.config import Settings
from archive_service.wiring import build_services
from tests.api.conftest import OWN_ORG
from tests.fixtures.api_load import build_packages, run_load
from tests.fixtures.live_server import api_key, live_server

pytestmark = pytest.mark.slow

CLIENTS = 20
PER_CLIENT = 5
FULL_EVERY = 10  # one package in ten is ingested in full, the others are RECORDSTATUS=TEST


def test_twenty_concurrent_submitters_lose_nothing_and_duplicate_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    key = api_key(home, OWN_ORG)
    packages = build_packages(tmp_path / "packages", CLIENTS * PER_CLIENT, FULL_EVERY)
    with live_server(home) as server:
        report = run_load(server.base_url, key, packages, CLIENTS, timeout=900)
    print(report.summary())
    assert report.errors == []
    assert report.duplicates == []
    assert report.unexpected == []
    assert len(report.transfer_ids) == len(packages)
    accepted = sum(1 for p in packages if p.expected == "accepted")
    assert report.statuses == {"accepted": accepted, "tested": len(packages) - accepted}
    services = build_services(Settings(home=home))
    try:
        with services.sessions() as session:
            assert session.scalar(select(func.count()).select_from(Dossier)) == accepted
    finally:
        services.close()
