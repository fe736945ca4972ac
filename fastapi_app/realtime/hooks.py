"""Called by the event publisher after a final event (completed or failed) is committed."""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger(__name__)


def on_final_event(event: dict[str, Any]) -> None:
    """`event` is the published message (type, document_id, owner_id, run, status, error_code, ...).

    Records a webhook delivery when the document or its owner has a target, then enqueues it.
    Never raises: the document's outcome is already committed and must not be undone by a
    webhook problem."""
    from fastapi_app.db.session import sync_session_factory
    from fastapi_app.services.webhook_service import FINAL_EVENT_TYPES, create_delivery, enqueue_delivery

    if event.get("type") not in FINAL_EVENT_TYPES:
        return
    try:
        with sync_session_factory()() as session:
            delivery_id = create_delivery(session, event)
    except Exception:
        logger.exception("webhook delivery for document %s could not be recorded", event.get("document_id"))
        return
    if delivery_id is None:
        return
    try:
        enqueue_delivery(delivery_id)
    except Exception:
        # The row stays pending; it is listed by GET /api/documents/{id}/webhooks for follow-up.
        logger.exception("webhook delivery %s could not be enqueued", delivery_id)
