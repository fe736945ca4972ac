"""`webhooks.deliver(delivery_id)`: one signed POST per attempt, retried with backoff.

Delivery is at least once: a worker that dies after the receiver answered but before the attempt
is recorded sends again on redelivery. Receivers de-duplicate on `X-Webhook-Id`.
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import anyio
import httpx
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError

from fastapi_app.core.config import Settings, get_settings
from fastapi_app.core.metrics import record_webhook_attempt
from fastapi_app.db.session import sync_session_factory
from fastapi_app.models import DeliveryState, WebhookAttempt, WebhookDelivery
from fastapi_app.services.webhook_service import (
    DELIVER_TASK,
    RESPONSE_EXCERPT_CHARS,
    SIGNATURE_HEADER,
    Target,
    UnsafeUrl,
    check_url,
    classify,
    encode_body,
    get_secret_sync,
    retry_delay,
    sign,
)
from fastapi_app.tasks.celery_app import celery_app

logger = logging.getLogger("fastapi_app.tasks.webhooks")

# Bytes read from a receiver's answer: enough for the excerpt, never a huge body into memory.
_READ_LIMIT = 4096
_MAX_DB_RETRIES = 6


class WebhookTimedOut(httpx.TimeoutException):
    """The attempt's overall deadline passed; retried like any timeout."""


@celery_app.task(bind=True, name=DELIVER_TASK, max_retries=None, acks_late=True)
def deliver(self: Any, delivery_id: str) -> dict[str, Any]:
    settings = get_settings()
    try:
        return _deliver(self, uuid.UUID(delivery_id), settings)
    except (OperationalError, InterfaceError) as exc:
        # The database is the thing that failed: try later, the attempt was not recorded.
        if self.request.retries >= _MAX_DB_RETRIES + settings.WEBHOOK_MAX_ATTEMPTS:
            raise
        countdown = retry_delay(self.request.retries, settings.WEBHOOK_RETRY_BASE_SECONDS, 120)
        raise self.retry(exc=exc, countdown=countdown) from exc


def _claim_attempt(delivery_id: uuid.UUID) -> tuple[WebhookDelivery, int, str | None] | None:
    """Take the next attempt number, or None when the delivery is finished or another copy of
    this task took the number first (the conditional update makes that race harmless)."""
    with sync_session_factory()() as session:
        delivery = session.get(WebhookDelivery, delivery_id)
        if delivery is None or delivery.state != DeliveryState.PENDING:
            return None
        number = delivery.attempt_count + 1
        claimed = session.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.id == delivery_id,
                WebhookDelivery.state == DeliveryState.PENDING,
                WebhookDelivery.attempt_count == delivery.attempt_count,
            )
            .values(attempt_count=number, updated_at=datetime.now(UTC))
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:
            session.rollback()
            return None
        session.add(WebhookAttempt(delivery_id=delivery_id, attempt_number=number, started_at=datetime.now(UTC)))
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            return None
        secret = get_secret_sync(session, delivery.owner_id)
        return delivery, number, secret


def _deliver(task: Any, delivery_id: uuid.UUID, settings: Settings) -> dict[str, Any]:
    claim = _claim_attempt(delivery_id)
    if claim is None:
        return {"status": "skipped"}
    delivery, number, secret = claim

    started = time.monotonic()
    status_code: int | None = None
    excerpt: str | None = None
    error: BaseException | None = None
    try:
        if secret is None:
            raise UnsafeUrl("no_secret", "The owner no longer exists.")
        # Checked again here, against the addresses we will connect to: DNS may have changed.
        allow_private = settings.WEBHOOK_ALLOW_PRIVATE_TARGETS
        target = check_url(delivery.url, allow_private=allow_private, resolve=not allow_private)
        status_code, excerpt = _post(target, delivery, secret, settings)
    except Exception as exc:  # every failure is recorded on the attempt, then classified
        error = exc
    duration_ms = int((time.monotonic() - started) * 1000)
    outcome = classify(status_code, error)
    if outcome == "retry" and number >= settings.WEBHOOK_MAX_ATTEMPTS:
        outcome = "give_up"
    error_text = _describe(error) if error is not None else None
    if error is None and outcome != "success":
        error_text = f"HTTP {status_code}"
    record_webhook_attempt(outcome)

    with sync_session_factory()() as session:
        session.execute(
            update(WebhookAttempt)
            .where(WebhookAttempt.delivery_id == delivery_id, WebhookAttempt.attempt_number == number)
            .values(duration_ms=duration_ms, status_code=status_code, error=error_text, response_excerpt=excerpt)
        )
        values: dict[str, Any] = {
            "last_status_code": status_code,
            "last_error": error_text,
            "updated_at": datetime.now(UTC),
        }
        if outcome == "success":
            values.update(state=DeliveryState.SUCCEEDED, completed_at=datetime.now(UTC))
        elif outcome == "give_up":
            values.update(state=DeliveryState.FAILED, completed_at=datetime.now(UTC))
        session.execute(update(WebhookDelivery).where(WebhookDelivery.id == delivery_id).values(**values))
        session.commit()

    logger.info(
        "webhook %s attempt %s to %s: %s (%s) in %s ms",
        delivery_id,
        number,
        _safe_url(delivery.url),
        outcome,
        status_code if status_code is not None else error_text,
        duration_ms,
    )
    if outcome == "retry":
        countdown = retry_delay(number - 1, settings.WEBHOOK_RETRY_BASE_SECONDS, settings.WEBHOOK_RETRY_MAX_SECONDS)
        raise task.retry(countdown=countdown, max_retries=None)
    return {"status": outcome, "attempt": number, "status_code": status_code}


def _post(target: Target, delivery: WebhookDelivery, secret: str, settings: Settings) -> tuple[int, str]:
    body = encode_body(delivery.payload)
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "document-processing-webhooks/1",
        "X-Webhook-Id": str(delivery.id),
        "X-Webhook-Event": delivery.event_type,
        "X-Webhook-Timestamp": str(timestamp),
        SIGNATURE_HEADER: sign(secret, timestamp, body),
    }
    url, extensions = delivery.url, {}
    if not settings.WEBHOOK_ALLOW_PRIVATE_TARGETS and target.addresses:
        # Connect to the address we just vetted, not to whatever the name resolves to a moment
        # later (DNS rebinding); Host and TLS SNI still carry the real name, so certificates verify.
        url, host_header = _pinned(target)
        headers["Host"] = host_header
        if target.scheme == "https":
            extensions["sni_hostname"] = target.host
    return anyio.run(_send, url, body, headers, extensions, settings.WEBHOOK_TIMEOUT_SECONDS)


async def _send(
    url: str, body: bytes, headers: dict[str, str], extensions: dict[str, Any], budget: float
) -> tuple[int, str]:
    """POST and read at most _READ_LIMIT bytes of the answer, all within `budget` seconds.

    httpx's timeouts are per operation (the connect, each read): a receiver that sends a byte every
    few seconds never trips one and would hold this worker slot until the task's time limit. One
    deadline over the whole exchange cancels whatever operation is pending when it passes."""
    try:
        with anyio.fail_after(budget):
            # trust_env off: an HTTP(S)_PROXY from the environment would bypass the address pinning.
            async with (
                httpx.AsyncClient(timeout=budget, follow_redirects=False, trust_env=False) as client,
                client.stream("POST", url, content=body, headers=headers, extensions=extensions) as response,
            ):
                raw = bytearray()
                async for chunk in response.aiter_bytes():
                    raw += chunk
                    if len(raw) >= _READ_LIMIT:
                        break
                return response.status_code, raw.decode("utf-8", errors="replace")[:RESPONSE_EXCERPT_CHARS]
    except TimeoutError:
        raise WebhookTimedOut(
            f"no complete answer within {budget:g} s (connect, request and response together)"
        ) from None


def _pinned(target: Target) -> tuple[str, str]:
    parts = urlsplit(target.url)
    address = target.addresses[0]
    host = f"[{address}]" if ":" in address else address
    default_port = 443 if target.scheme == "https" else 80
    netloc = host if target.port == default_port else f"{host}:{target.port}"
    original_host = f"[{target.host}]" if ":" in target.host else target.host
    host_header = original_host if target.port == default_port else f"{original_host}:{target.port}"
    return urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, "")), host_header


def _describe(error: BaseException) -> str:
    if isinstance(error, UnsafeUrl):
        return f"refused target ({error.reason}): {error.message}"
    text = str(error) or type(error).__name__
    return f"{type(error).__name__}: {text}"[:RESPONSE_EXCERPT_CHARS]


def _safe_url(url: str) -> str:
    # Query strings often carry tokens: keep them out of the logs.
    return url.split("?", 1)[0]
