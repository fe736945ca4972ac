"""Called by the event publisher after a final event (completed or failed) is committed."""

from __future__ import annotations

from typing import Any


def on_final_event(event: dict[str, Any]) -> None:
    """`event` is the published message (type, document_id, owner_id, status, error_code, ...).

    Webhook deliveries are enqueued from here (filled in by the webhooks work)."""
    return None
