"""While a step runs long, the task re-sends its last event as a heartbeat (tasks/heartbeat.py)."""

from __future__ import annotations

import time
import uuid
from typing import Any

from fastapi_app.tasks.heartbeat import Heartbeat

OWNER = uuid.uuid4()
EVENT = {
    "type": "document_processing",
    "event_id": 41,
    "document_id": "d1",
    "run": 1,
    "status": "processing",
    "stage": "analyzing",
    "progress": 80,
    "message": "Finding key values and entities",
    "error_code": None,
    "timestamp": "2026-01-01T00:00:00+00:00",
}


def wait_for(condition: Any, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.01)


def test_the_last_event_is_repeated_marked_and_not_stored() -> None:
    sent: list[tuple[dict[str, Any], uuid.UUID]] = []
    with Heartbeat(0.05, send=lambda message, owner: sent.append((message, owner))) as beat:
        beat.saw(EVENT, OWNER)
        wait_for(lambda: len(sent) >= 2)
    message, owner = sent[0]
    assert owner == OWNER
    assert message["heartbeat"] is True and message["event_id"] is None  # no row: never replayed, never deduped
    assert {k: v for k, v in message.items() if k not in ("heartbeat", "event_id", "timestamp")} == {
        k: v for k, v in EVENT.items() if k not in ("event_id", "timestamp")
    }
    assert message["timestamp"] != EVENT["timestamp"]


def test_nothing_before_a_first_event_nor_after_the_final_one() -> None:
    sent: list[dict[str, Any]] = []
    with Heartbeat(0.05, send=lambda message, owner: sent.append(message)) as beat:
        time.sleep(0.3)
        assert sent == []
        beat.saw(EVENT, OWNER)
        wait_for(lambda: len(sent) >= 1)
        beat.saw({**EVENT, "type": "document_completed", "stage": "done"}, OWNER, final=True)
        count = len(sent)
        time.sleep(0.3)
        assert len(sent) == count
    assert all(message["stage"] == "analyzing" for message in sent)


def test_a_page_part_repeats_neither_progress_nor_page_counts() -> None:
    from fastapi_app.tasks.page_parts import PagePartPipeline

    part = PagePartPipeline(str(uuid.uuid4()), 1, 5)
    fields = part._heartbeat_fields({**EVENT, "stage": "ocr", "current_page": 7, "total_pages": 60})
    # Another part may have moved the run further: a part's heartbeat must not take it back.
    assert "progress" not in fields and "current_page" not in fields and "total_pages" not in fields
    assert fields["stage"] == "ocr"
