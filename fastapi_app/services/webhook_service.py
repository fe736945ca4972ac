"""Webhooks: the target URL guard (SSRF), signing, retry policy, secrets and delivery records.

The pure parts (URL guard, signing, classification, backoff) are shared by the API, which checks
a URL when it is saved, and by the worker, which checks it again against the addresses it is
about to connect to (a name can resolve to a public address at upload time and to 127.0.0.1 later).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import random
import secrets
import socket
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlsplit

import anyio
import httpx
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, selectinload

from fastapi_app.core.config import Settings
from fastapi_app.core.errors import InvalidCallbackUrl
from fastapi_app.core.security import decrypt_secret, encrypt_secret
from fastapi_app.core.vocabulary import FINAL_EVENT_TYPES
from fastapi_app.db.session import sync_session_factory
from fastapi_app.models import DeliveryState, Document, User, WebhookDelivery

logger = logging.getLogger(__name__)

DELIVER_TASK = "webhooks.deliver"
# The fields a receiver gets: what the WebSocket sends, plus the run (owner_id stays internal).
PAYLOAD_FIELDS = ("type", "document_id", "run", "status", "stage", "progress", "message", "error_code", "timestamp")
MAX_URL_LENGTH = 2048
RESPONSE_EXCERPT_CHARS = 500
SIGNATURE_HEADER = "X-Webhook-Signature"

# 100.64.0.0/10 (carrier-grade NAT) is neither "private" nor "global" to `ipaddress`: named here.
_SHARED_ADDRESS_SPACE = ipaddress.ip_network("100.64.0.0/10")

Resolver = Callable[..., Sequence[tuple[Any, ...]]]


# --- URL guard ------------------------------------------------------------------------------


class UnsafeUrl(ValueError):
    """A webhook target we refuse to call; `reason` is a stable snake_case code for clients."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class Target:
    url: str
    scheme: str
    host: str
    port: int
    # Every address the host resolved to (all were checked); empty when private targets are allowed
    # and the caller did not ask for resolution.
    addresses: tuple[str, ...] = field(default_factory=tuple)


def blocked_reason(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why an address is not a public unicast one, or None when it is."""
    if isinstance(ip, ipaddress.IPv6Address):
        # ::ffff:127.0.0.1 and friends reach the IPv4 host: judge the embedded address.
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is not None:
            return blocked_reason(embedded)
    checks: tuple[tuple[str, bool], ...] = (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link_local", ip.is_link_local),
        # fec0::/10: deprecated (RFC 3879) yet still routed inside some networks, and `ipaddress`
        # calls it global.
        ("site_local", isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local),
        ("multicast", ip.is_multicast),
        ("shared_address_space", isinstance(ip, ipaddress.IPv4Address) and ip in _SHARED_ADDRESS_SPACE),
        ("reserved", ip.is_reserved),
        ("private", ip.is_private),
        # Documentation, benchmarking, 6to4 relays...: anything the registries do not call global.
        ("not_global", not ip.is_global),
    )
    return next((reason for reason, hit in checks if hit), None)


def _literal_ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if "%" in host:  # an IPv6 zone id names an interface: never a public target
        raise UnsafeUrl("invalid_host", "IPv6 zone identifiers are not allowed.")
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    # inet_aton accepts what browsers and libc resolvers do (2130706433, 0x7f.1, 0177.0.0.1):
    # decide on those forms here rather than trusting each resolver to agree.
    if host and all(c in "0123456789abcdefxABCDEFX." for c in host) and host[0].isdigit():
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def check_url(
    url: str,
    *,
    allow_private: bool,
    resolve: bool = True,
    resolver: Resolver = socket.getaddrinfo,
) -> Target:
    """Parse and vet a webhook URL; raise UnsafeUrl with a reason code when it is refused.

    Resolves the host (unless private targets are allowed and `resolve` is off) and refuses it
    when any of its addresses is not public: one bad address is enough for an attacker."""
    if not isinstance(url, str) or not url.strip():
        raise UnsafeUrl("empty", "The URL is empty.")
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeUrl("too_long", f"The URL is longer than {MAX_URL_LENGTH} characters.")
    if any(ord(c) <= 32 or ord(c) == 127 for c in url):
        raise UnsafeUrl("invalid", "The URL contains spaces or control characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeUrl("invalid", f"The URL cannot be parsed: {exc}.") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise UnsafeUrl("scheme", "Only http and https URLs are allowed.")
    if "@" in parts.netloc or parts.username is not None or parts.password is not None:
        raise UnsafeUrl("credentials", "The URL must not contain a user name or password.")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise UnsafeUrl("missing_host", "The URL has no host.")
    port = port or (443 if scheme == "https" else 80)

    literal = _literal_ip(host)
    if allow_private and not resolve:
        return Target(url=url, scheme=scheme, host=host, port=port, addresses=(str(literal),) if literal else ())
    if literal is not None:
        addresses = [literal]
    else:
        try:
            infos = resolver(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise UnsafeUrl("unresolvable", f"The host {host!r} does not resolve ({exc}).") from None
        addresses = []
        for info in infos:
            try:
                addresses.append(ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]))
            except ValueError:
                continue
        if not addresses:
            raise UnsafeUrl("unresolvable", f"The host {host!r} has no usable address.")
    if not allow_private:
        for ip in addresses:
            reason = blocked_reason(ip)
            if reason is None:
                continue
            if literal is not None:
                raise UnsafeUrl(reason, f"The address {ip} is not an allowed webhook target ({reason}).")
            # Never the addresses a name resolved to: the caller would learn the internal network's layout.
            raise UnsafeUrl(
                reason, f"The host {host!r} is not an allowed webhook target: it resolves to a non-public address."
            )
    unique = tuple(dict.fromkeys(str(ip) for ip in addresses))
    return Target(url=url, scheme=scheme, host=host, port=port, addresses=unique)


async def validate_target_url(url: str | None, settings: Settings, *, field_name: str) -> str | None:
    """API-side check of a callback_url / webhook_url; empty means none. Raises 400 INVALID_CALLBACK_URL."""
    url = (url or "").strip()
    if not url:
        return None
    try:
        # getaddrinfo blocks: keep it off the event loop.
        await anyio.to_thread.run_sync(
            lambda: check_url(url, allow_private=settings.WEBHOOK_ALLOW_PRIVATE_TARGETS, resolve=True)
        )
    except UnsafeUrl as exc:
        raise InvalidCallbackUrl(
            f"{field_name} is not allowed: {exc.message}", details={"field": field_name, "reason": exc.reason}
        ) from None
    return url


# --- signing, payload, retry policy -----------------------------------------------------------


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """`sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`: the timestamp is signed so an old
    request cannot be replayed with a fresh header."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(secret: str, timestamp: int, body: bytes, signature: str) -> bool:
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def build_payload(event: dict[str, Any]) -> dict[str, Any]:
    payload = {key: event.get(key) for key in PAYLOAD_FIELDS}
    payload["document_id"] = str(payload["document_id"])
    if isinstance(payload["timestamp"], datetime):
        payload["timestamp"] = payload["timestamp"].isoformat()
    return payload


def encode_body(payload: dict[str, Any]) -> bytes:
    # Compact and UTF-8 (Korean messages stay readable); the receiver must verify the raw bytes.
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=str).encode("utf-8")


Outcome = Literal["success", "retry", "give_up"]


def classify(status_code: int | None, error: BaseException | None = None) -> Outcome:
    """What one attempt's result means: 2xx done; timeouts, connection errors, 5xx and 429 are
    worth retrying; other answers (4xx, and 3xx since redirects are not followed) will not change."""
    if error is not None:
        if isinstance(error, UnsafeUrl):
            # DNS trouble may pass; an address we refuse will not become acceptable by waiting.
            return "retry" if error.reason == "unresolvable" else "give_up"
        if isinstance(error, (httpx.TimeoutException, httpx.TransportError, OSError)):
            return "retry"
        return "give_up"
    if status_code is None:
        return "retry"
    if 200 <= status_code < 300:
        return "success"
    if status_code == 429 or status_code >= 500:
        return "retry"
    return "give_up"


def retry_delay(retries_done: int, base: float, maximum: float, rand: Callable[[], float] = random.random) -> float:
    """Exponential backoff with "equal jitter": half the step fixed, half random, so receivers
    that failed together do not get hit together again, and a retry never comes immediately."""
    step = min(maximum, base * (2 ** max(retries_done, 0)))
    return step / 2 + rand() * step / 2


# --- secrets ------------------------------------------------------------------------------------


def new_secret() -> str:
    return secrets.token_urlsafe(32)


async def get_secret(session: AsyncSession, user: User) -> str:
    """The user's signing secret, created on first need."""
    if user.webhook_secret:
        value = decrypt_secret(user.webhook_secret, "webhook-secret")
        if value is not None:
            return value
        # Encrypted under an older SECRET_KEY: unreadable, so a new one is the only way forward.
        logger.warning("webhook secret of user %s cannot be decrypted; generating a new one", user.id)
    # Only fill it when still empty, so two first requests at once agree on one secret.
    await session.execute(
        update(User)
        .where(User.id == user.id, (User.webhook_secret.is_(None)) | (User.webhook_secret == user.webhook_secret))
        .values(webhook_secret=encrypt_secret(new_secret(), "webhook-secret"))
        .execution_options(synchronize_session=False)
    )
    await session.commit()
    await session.refresh(user, ["webhook_secret"])
    value = decrypt_secret(user.webhook_secret or "", "webhook-secret")
    assert value is not None
    return value


async def rotate_secret(session: AsyncSession, user: User) -> str:
    value = new_secret()
    user.webhook_secret = encrypt_secret(value, "webhook-secret")
    await session.commit()
    return value


def get_secret_sync(session: Session, user_id: uuid.UUID) -> str | None:
    """The worker's view: create the secret if the user never asked for it yet."""
    current = session.scalar(select(User.webhook_secret).where(User.id == user_id))
    if current:
        value = decrypt_secret(current, "webhook-secret")
        if value is not None:
            return value
    session.execute(
        update(User)
        .where(User.id == user_id, (User.webhook_secret.is_(None)) | (User.webhook_secret == current))
        .values(webhook_secret=encrypt_secret(new_secret(), "webhook-secret"))
        .execution_options(synchronize_session=False)
    )
    session.commit()
    stored = session.scalar(select(User.webhook_secret).where(User.id == user_id))
    return decrypt_secret(stored, "webhook-secret") if stored else None


# --- deliveries -----------------------------------------------------------------------------------


def create_delivery(session: Session, event: dict[str, Any]) -> uuid.UUID | None:
    """Record the delivery of one final event; None when there is nothing to send or it was
    already recorded (a duplicate event must not produce a second send)."""
    if event.get("type") not in FINAL_EVENT_TYPES:
        return None
    document_id = uuid.UUID(str(event["document_id"]))
    row = session.execute(
        select(Document.callback_url, Document.owner_id, User.webhook_url)
        .join(User, User.id == Document.owner_id)
        .where(Document.id == document_id)
    ).first()
    if row is None:
        return None
    callback_url, owner_id, user_url = row
    url = callback_url or user_url
    if not url:
        return None
    payload = build_payload(event)
    run = int(event.get("run") or 0)
    existing = session.scalar(
        select(WebhookDelivery.id).where(
            WebhookDelivery.document_id == document_id,
            WebhookDelivery.run == run,
            WebhookDelivery.event_type == event["type"],
        )
    )
    if existing is not None:
        return None
    delivery = WebhookDelivery(
        document_id=document_id,
        owner_id=owner_id,
        run=run,
        event_type=event["type"],
        url=url,
        payload=payload,
        state=DeliveryState.PENDING,
        attempt_count=0,
    )
    session.add(delivery)
    try:
        session.commit()
    except IntegrityError:
        # The same event handled concurrently elsewhere: that one owns the delivery.
        session.rollback()
        return None
    # Make the secret exist before the first send, so GET /api/webhooks/secret and the worker agree.
    get_secret_sync(session, owner_id)
    return delivery.id


def enqueue_delivery(delivery_id: uuid.UUID | str, *, countdown: float | None = None) -> None:
    from fastapi_app.queue.app import celery_app

    celery_app.send_task(DELIVER_TASK, args=[str(delivery_id)], countdown=countdown)


def on_final_event(event: dict[str, Any]) -> None:
    """The pipeline's step after a final event (completed or failed) is committed. `event` is the
    published message (type, document_id, owner_id, run, status, error_code, ...).

    Records a webhook delivery when the document or its owner has a target, then enqueues it.
    Never raises: the document's outcome is already committed and must not be undone by a
    webhook problem."""
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


async def list_deliveries(session: AsyncSession, document_id: uuid.UUID) -> list[WebhookDelivery]:
    query = (
        select(WebhookDelivery)
        .where(WebhookDelivery.document_id == document_id)
        .options(selectinload(WebhookDelivery.attempts))
        .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id)
    )
    return list((await session.scalars(query)).all())
