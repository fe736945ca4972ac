"""The embedded broker: kombu's SQLAlchemy transport on a SQLite file, polled every 100 ms.

kombu hands every transport option to create_engine(), so the polling interval cannot be passed
as an option; a subclass sets it instead (the default of 1 s would add a second per task).
"""

from __future__ import annotations

from kombu.transport.sqlalchemy import Transport as SQLAlchemyTransport


class Transport(SQLAlchemyTransport):
    polling_interval = 0.1
