"""Two workers cataloguing the first dossiers of one organisation at the same moment share one
fonds: the one whose insert loses the race takes the row the other committed."""

from __future__ import annotations

import threading
import time

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from archive_service.catalog.models import Fonds
from archive_service.pipeline.steps.catalog import fonds_for


def test_a_fonds_created_concurrently_is_created_once(sessions: sessionmaker[Session]) -> None:
    found: list[int] = []

    def second_worker() -> None:
        with sessions() as session, session.begin():
            found.append(fonds_for(session, "000.00.00.G09", "Bộ Nội vụ").id)

    with sessions() as first:
        first.begin()
        created = fonds_for(first, "000.00.00.G09", "Bộ Nội vụ")
        first.flush()
        racer = threading.Thread(target=second_worker)
        racer.start()
        time.sleep(0.5)  # the second worker is now waiting on the first one's insert
        first.commit()
        racer.join(timeout=30)
    assert found == [created.id]
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Fonds)) == 1
