"""Keep a document's live progress moving while one step runs long (issue 18: no gap over 2 s).

Extraction reports pages, sheets and CSV bytes as it goes, but some steps have nothing to count: OCR of one
dense page, the table and summary pass over a 500,000-row sheet, text analysis, building the report,
storing a 50 MB extraction. While a task runs, a thread of its own re-sends the task's last event on the
user's WebSocket channel whenever nothing was sent for HEARTBEAT_S, marked ``"heartbeat": true``.

A heartbeat states nothing new: the stage (and progress, see `fields`) of the last event that committed.
So it is broadcast only, never stored in document_events (it has no ``event_id``): the timeline keeps one
row per change, and a heartbeat can never land after the run's final event in the table. After a final
event (completed, failed) nothing more is sent. The thread touches only Redis, never the database, so it
cannot wait on the row locks the task holds.

The thread runs while the task's own thread holds the GIL for at most the interpreter's switch interval,
so a heartbeat is late only behind one long call into C that keeps the GIL (pydantic serialising a huge
result: ~0.4 s for 400,000 rows).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi_app.realtime.publisher import broadcast

HEARTBEAT_S = 1.0
_POLL_S = 0.1


class Heartbeat:
    def __init__(
        self,
        interval: float = HEARTBEAT_S,
        *,
        send: Callable[[dict[str, Any], uuid.UUID], None] | None = None,
        fields: Callable[[dict[str, Any]], dict[str, Any]] = lambda message: message,
    ) -> None:
        self.interval = interval
        self._send = send or broadcast
        self._fields = fields
        self._lock = threading.Lock()
        self._message: dict[str, Any] | None = None
        self._owner_id: uuid.UUID | None = None
        self._sent_at = time.monotonic()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.sent = 0

    def saw(self, message: dict[str, Any], owner_id: uuid.UUID, *, final: bool = False) -> None:
        """A real event was broadcast: the clock starts again, and it is what the next heartbeat repeats."""
        with self._lock:
            self._message = None if final else message
            self._owner_id = owner_id
            self._sent_at = time.monotonic()

    def __enter__(self) -> Heartbeat:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="progress-heartbeat", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        with self._lock:
            self._message = None

    def _run(self) -> None:
        while not self._stop.wait(_POLL_S):
            with self._lock:
                due = self._message is not None and time.monotonic() - self._sent_at >= self.interval
                message, owner_id = self._message, self._owner_id
                if due:
                    self._sent_at = time.monotonic()
            if due and message is not None and owner_id is not None:
                beat = {
                    **self._fields(message),
                    "event_id": None,
                    "heartbeat": True,
                    "timestamp": datetime.now(UTC).isoformat(),
                }
                self._send(beat, owner_id)  # broadcast never raises: Redis down only logs
                self.sent += 1
