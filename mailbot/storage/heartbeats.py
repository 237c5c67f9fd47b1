"""Facts the daemon records about itself (last poll, last error, status page), with times."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from mailbot.storage.models import ServiceState


def record(sessions: sessionmaker[Session], key: str, value: str, now: datetime) -> None:
    """Store one fact (last successful poll, last error) with its time."""
    # Two daemons may write the same fact at once; whoever loses the insert
    # race simply updates the row the other created.
    for _attempt in range(2):
        try:
            with sessions() as session, session.begin():
                row = session.get(ServiceState, key)
                if row is None:
                    session.add(ServiceState(key=key, value=value, at=now))
                else:
                    row.value, row.at = value, now
            return
        except IntegrityError:
            continue
