"""The embedded broker: kombu's SQLAlchemy transport on a SQLite file, polled every 100 ms.

kombu hands every transport option to create_engine(), so the polling interval cannot be passed
as an option; a subclass sets it instead (the default of 1 s would add a second per task).
"""

from __future__ import annotations

from kombu.transport import TRANSPORT_ALIASES
from kombu.transport.sqlalchemy import Transport as SQLAlchemyTransport

ALIAS = "sqla-fast"


class Transport(SQLAlchemyTransport):
    polling_interval = 0.1


def embedded_broker_url(url: str) -> str:
    """`sqla+sqlite:///x` -> `sqla-fast+sqlite:///x`, registering the alias kombu resolves."""
    TRANSPORT_ALIASES.setdefault(ALIAS, f"{__name__}:Transport")
    return f"{ALIAS}+{url.removeprefix('sqla+')}"
