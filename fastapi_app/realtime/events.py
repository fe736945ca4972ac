"""The processing events: one shape for the WebSocket, webhooks, the timeline and Redis."""

from __future__ import annotations

import json
import uuid
from typing import Any

from fastapi_app.models import DocumentEvent

# Not a document event: tells every API process to close the user's WebSockets opened with an older
# token_version. It rides the user's events channel, so it reaches whichever process holds the socket.
SESSIONS_ENDED = "sessions_ended"
CHANNEL_PREFIX = "docproc:events:user:"


def channel_for(owner_id: uuid.UUID | str) -> str:
    return f"{CHANNEL_PREFIX}{owner_id}"


def event_message(event: DocumentEvent) -> dict[str, Any]:
    message: dict[str, Any] = {
        "type": event.type,
        "event_id": event.id,
        "document_id": str(event.document_id),
        "run": event.run,
        "status": event.status,
        "stage": event.stage,
        "progress": event.progress,
        "message": event.message,
        "error_code": event.error_code,
        "timestamp": event.created_at.isoformat(),
    }
    message.update(event.details or {})
    return message


def encode(message: dict[str, Any], owner_id: uuid.UUID | str) -> str:
    return json.dumps({"owner_id": str(owner_id), "event": message}, ensure_ascii=False, separators=(",", ":"))


def sessions_ended_message(token_version: int, reason: str) -> dict[str, Any]:
    return {"type": SESSIONS_ENDED, "token_version": token_version, "reason": reason}
