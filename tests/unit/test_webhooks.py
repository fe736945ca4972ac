"""Webhooks without a broker: the URL guard, signing, retry policy, and delivery on a SQLite database."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from fastapi_app.core.config import Settings
from fastapi_app.core.errors import InvalidCallbackUrl
from fastapi_app.services.webhook_service import (
    UnsafeUrl,
    build_payload,
    check_url,
    classify,
    encode_body,
    retry_delay,
    sign,
    validate_target_url,
    verify,
)

# --- a real HTTP receiver (also used by the e2e tests) -------------------------------------------


class Receiver:
    """http.server on 127.0.0.1 recording every request; fails the first `fail_first` with `fail_status`."""

    def __init__(self, fail_first: int = 0, fail_status: int = 500) -> None:
        self.fail_first = fail_first
        self.fail_status = fail_status
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._lock:
                    receiver.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                    failing = len(receiver.requests) <= receiver.fail_first
                status = receiver.fail_status if failing else 200
                answer = b'{"error": "try later"}' if failing else b'{"ok": true}'
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- URL guard ------------------------------------------------------------------------------------

REFUSED = [
    ("ftp://example.com/x", "scheme"),
    ("file:///etc/passwd", "scheme"),
    ("gopher://8.8.8.8/", "scheme"),
    ("javascript:alert(1)", "scheme"),
    ("http://user:pass@8.8.8.8/", "credentials"),
    ("http://user@8.8.8.8/", "credentials"),
    ("http://8.8.8.8@127.0.0.1/", "credentials"),
    ("http:///path-only", "missing_host"),
    ("http://8.8.8.8:99999/", "invalid"),
    ("http://8.8.8.8/a b", "invalid"),
    ("", "empty"),
    ("http://127.0.0.1/", "loopback"),
    ("http://127.1.2.3:8080/", "loopback"),
    ("http://localhost/", "loopback"),
    ("http://LOCALHOST.:8000/", "loopback"),
    ("http://[::1]/", "loopback"),
    ("http://[::ffff:127.0.0.1]/", "loopback"),
    ("http://[::ffff:10.0.0.1]/", "private"),
    ("http://2130706433/", "loopback"),  # decimal 127.0.0.1
    ("http://0x7f.1/", "loopback"),  # hex, short form
    ("http://0x7f000001/", "loopback"),
    ("http://0177.0.0.1/", "loopback"),  # octal
    ("http://017700000001/", "loopback"),
    ("http://0/", "unspecified"),
    ("http://0.0.0.0:8000/", "unspecified"),
    ("http://[::]/", "unspecified"),
    ("http://10.1.2.3/", "private"),
    ("http://172.16.0.1/", "private"),
    ("http://172.31.255.254/", "private"),
    ("http://192.168.1.1/", "private"),
    ("http://[fc00::1]/", "private"),
    ("http://[fd12:3456::1]/", "private"),
    ("http://169.254.169.254/latest/meta-data/", "link_local"),
    ("http://[fe80::1]/", "link_local"),
    ("http://[fe80::1%25eth0]/", "invalid_host"),
    ("http://224.0.0.1/", "multicast"),
    ("http://[ff02::1]/", "multicast"),
    ("http://100.64.0.1/", "shared_address_space"),
    ("http://100.127.255.254/", "shared_address_space"),
    ("http://240.0.0.1/", "reserved"),
    ("http://192.0.2.10/", "private"),  # documentation range: never a real receiver
    ("https://[2002:7f00:1::1]/", "loopback"),  # 6to4 wrapping 127.0.0.1
    # Site-local IPv6: deprecated (RFC 3879) but still routed inside some networks.
    ("http://[fec0::1]/", "site_local"),
    ("http://[fed0:1234::5]:8080/", "site_local"),
    ("http://[feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]/", "site_local"),
]


@pytest.mark.parametrize(("url", "reason"), REFUSED)
def test_guard_refuses(url: str, reason: str) -> None:
    with pytest.raises(UnsafeUrl) as caught:
        check_url(url, allow_private=False)
    assert caught.value.reason == reason, caught.value.message


@pytest.mark.parametrize(
    "url",
    ["http://8.8.8.8/hook", "https://1.1.1.1:8443/a?token=x", "https://[2001:4860:4860::8888]/x", "HTTPS://8.8.4.4"],
)
def test_guard_accepts_public_addresses(url: str) -> None:
    target = check_url(url, allow_private=False)
    assert target.addresses
    assert target.scheme == ("https" if url.lower().startswith("https") else "http")


def _resolver(*addresses: str) -> Any:
    def resolve(host: str, port: int, **_: Any) -> list[tuple[Any, ...]]:
        family = socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (a, port)) for a in addresses]

    return resolve


def test_guard_checks_every_resolved_address() -> None:
    public = check_url("https://hooks.example.com/x", allow_private=False, resolver=_resolver("93.184.216.34"))
    assert public.addresses == ("93.184.216.34",) and public.port == 443 and public.host == "hooks.example.com"
    # One internal address among public ones is enough to be refused (round-robin rebinding).
    with pytest.raises(UnsafeUrl) as caught:
        check_url("https://hooks.example.com/x", allow_private=False, resolver=_resolver("93.184.216.34", "10.0.0.5"))
    assert caught.value.reason == "private"

    def fails(*_: Any, **__: Any) -> Any:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    with pytest.raises(UnsafeUrl) as caught:
        check_url("https://nowhere.invalid/", allow_private=False, resolver=fails)
    assert caught.value.reason == "unresolvable"


@pytest.mark.parametrize(
    ("addresses", "reason"),
    [
        (("10.0.0.5",), "private"),
        (("93.184.216.34", "192.168.77.12"), "private"),
        (("127.0.0.53",), "loopback"),
        (("169.254.169.254",), "link_local"),
        (("fec0::1:2",), "site_local"),
        (("fd00:ab::7",), "private"),
        (("::ffff:10.9.8.7",), "private"),
    ],
)
def test_refusal_of_a_name_does_not_reveal_what_it_resolved_to(addresses: tuple[str, ...], reason: str) -> None:
    # Whoever saves a webhook URL must not learn the internal addresses of names like intranet.corp.
    with pytest.raises(UnsafeUrl) as caught:
        check_url("https://intranet.corp/hook", allow_private=False, resolver=_resolver(*addresses))
    assert caught.value.reason == reason
    assert caught.value.message == (
        "The host 'intranet.corp' is not an allowed webhook target: it resolves to a non-public address."
    )
    for address in addresses:
        assert address not in str(caught.value)
        assert ipaddress.ip_address(address).exploded not in str(caught.value)


async def test_api_error_for_a_name_does_not_reveal_its_addresses() -> None:
    # A real resolution: localhost is 127.0.0.1 (and ::1) on every machine.
    with pytest.raises(InvalidCallbackUrl) as caught:
        await validate_target_url(
            "http://localhost:8080/h", Settings(WEBHOOK_ALLOW_PRIVATE_TARGETS=False), field_name="callback_url"
        )
    assert caught.value.details == {"field": "callback_url", "reason": "loopback"}
    assert caught.value.message == (
        "callback_url is not allowed: The host 'localhost' is not an allowed webhook target: "
        "it resolves to a non-public address."
    )
    assert "127.0.0.1" not in caught.value.message and "::1" not in caught.value.message


def test_private_targets_when_allowed() -> None:
    assert check_url("http://127.0.0.1:9000/h", allow_private=True).addresses == ("127.0.0.1",)
    assert check_url("http://localhost:9000/h", allow_private=True, resolve=False).addresses == ()
    # What is never acceptable stays refused.
    for url, reason in [("ftp://127.0.0.1/", "scheme"), ("http://a:b@127.0.0.1/", "credentials")]:
        with pytest.raises(UnsafeUrl) as caught:
            check_url(url, allow_private=True)
        assert caught.value.reason == reason


async def test_api_validation_is_a_400_with_the_reason() -> None:
    settings = Settings(WEBHOOK_ALLOW_PRIVATE_TARGETS=False)
    with pytest.raises(InvalidCallbackUrl) as caught:
        await validate_target_url("http://127.0.0.1:8080/hook", settings, field_name="callback_url")
    error = caught.value
    assert error.status_code == 400 and error.error_code == "INVALID_CALLBACK_URL"
    assert error.details == {"field": "callback_url", "reason": "loopback"}
    assert await validate_target_url("  ", settings, field_name="callback_url") is None
    allowed = Settings(WEBHOOK_ALLOW_PRIVATE_TARGETS=True)
    assert await validate_target_url("http://127.0.0.1:8080/h", allowed, field_name="x") == "http://127.0.0.1:8080/h"


# --- signing, payload, retry policy ---------------------------------------------------------------


def test_signature_known_vector() -> None:
    body = b'{"type":"document_completed","document_id":"d1"}'
    # HMAC-SHA256("whsec_test", "1700000000." + body), computed with hmac/hashlib once and pinned.
    expected = "sha256=807f777b2c8c29d77a53cd09a09dbacb9814027c9173a2bf321dec7d74f324c0"
    assert sign("whsec_test", 1700000000, body) == expected
    assert verify("whsec_test", 1700000000, body, expected)
    assert not verify("whsec_test", 1700000001, body, expected)
    assert not verify("other", 1700000000, body, expected)
    assert not verify("whsec_test", 1700000000, body + b" ", expected)


def test_payload_is_the_public_event() -> None:
    event = {
        "type": "document_failed",
        "document_id": uuid.UUID(int=1),
        "owner_id": uuid.UUID(int=2),
        "run": 2,
        "status": "failed",
        "stage": "extracting",
        "progress": 30,
        "message": "파일을 읽을 수 없습니다",
        "error_code": "CORRUPT_FILE",
        "timestamp": "2026-03-15T05:30:00+00:00",
    }
    payload = build_payload(event)
    assert "owner_id" not in payload and payload["document_id"] == str(uuid.UUID(int=1)) and payload["run"] == 2
    assert json.loads(encode_body(payload)) == payload
    assert "파일".encode() in encode_body(payload)  # UTF-8, not \u escapes


@pytest.mark.parametrize(
    ("status", "error", "outcome"),
    [
        (200, None, "success"),
        (204, None, "success"),
        (299, None, "success"),
        (500, None, "retry"),
        (502, None, "retry"),
        (503, None, "retry"),
        (429, None, "retry"),
        (400, None, "give_up"),
        (401, None, "give_up"),
        (404, None, "give_up"),
        (410, None, "give_up"),
        (301, None, "give_up"),  # redirects are not followed: retrying would not change anything
        (None, httpx.ConnectError("refused"), "retry"),
        (None, httpx.ReadTimeout("slow"), "retry"),
        (None, httpx.ConnectTimeout("slow"), "retry"),
        (None, httpx.RemoteProtocolError("bad"), "retry"),
        (None, ConnectionResetError(), "retry"),
        (None, UnsafeUrl("loopback", "no"), "give_up"),
        (None, UnsafeUrl("unresolvable", "DNS down"), "retry"),
        (None, ValueError("bug"), "give_up"),
    ],
)
def test_retry_classification(status: int | None, error: BaseException | None, outcome: str) -> None:
    assert classify(status, error) == outcome


def test_backoff_grows_with_jitter_and_a_cap() -> None:
    assert [retry_delay(n, 2, 600, rand=lambda: 0.0) for n in range(5)] == [1, 2, 4, 8, 16]
    assert [retry_delay(n, 2, 600, rand=lambda: 1.0) for n in range(5)] == [2, 4, 8, 16, 32]
    assert retry_delay(20, 2, 600, rand=lambda: 1.0) == 600
    assert all(1 <= retry_delay(0, 2, 600) <= 2 for _ in range(100))


# --- deliveries on a real (SQLite) database ---------------------------------------------------------


@pytest.fixture(scope="module")
def sqlite_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    from tests.conftest import migrated_sqlite_database

    with migrated_sqlite_database(tmp_path_factory.mktemp("webhooks") / "app.sqlite3") as path:
        yield path


def _document(callback_url: str | None = None, user_url: str | None = None) -> tuple[uuid.UUID, uuid.UUID]:
    from fastapi_app.db.session import sync_session_factory
    from fastapi_app.models import Document, User

    with sync_session_factory()() as session:
        user = User(
            username=f"u{uuid.uuid4().hex[:8]}",
            email=f"{uuid.uuid4().hex[:8]}@example.com",
            hashed_password="x",
            webhook_url=user_url,
        )
        session.add(user)
        session.flush()
        document = Document(
            owner_id=user.id,
            original_filename="a.pdf",
            stored_name=uuid.uuid4().hex,
            file_type="pdf",
            mime_type="application/pdf",
            size_bytes=1,
            sha256="0" * 64,
            callback_url=callback_url,
        )
        session.add(document)
        session.commit()
        return user.id, document.id


def _event(document_id: uuid.UUID, owner_id: uuid.UUID, event_type: str = "document_completed") -> dict[str, Any]:
    return {
        "type": event_type,
        "document_id": str(document_id),
        "owner_id": str(owner_id),
        "run": 1,
        "status": "completed" if event_type == "document_completed" else "failed",
        "stage": "done",
        "progress": 100,
        "message": "Processing completed",
        "error_code": None,
        "timestamp": "2026-03-15T05:30:00+00:00",
    }


class _Retry(Exception):
    pass


class _Task:
    """Stands in for the bound Celery task: `retry` is recorded instead of re-queued."""

    def __init__(self) -> None:
        self.request = SimpleNamespace(retries=0)
        self.countdowns: list[float] = []

    def retry(self, countdown: float, **_: Any) -> _Retry:
        self.countdowns.append(countdown)
        return _Retry()


def _run_until_done(delivery_id: uuid.UUID, settings: Settings, limit: int = 10) -> _Task:
    from fastapi_app.tasks.webhook_tasks import _deliver

    task = _Task()
    for _ in range(limit):
        try:
            result = _deliver(task, delivery_id, settings)
        except _Retry:
            continue
        assert result["status"] in ("success", "give_up", "skipped")
        return task
    raise AssertionError("never finished")


def _delivery(delivery_id: uuid.UUID) -> Any:
    from sqlalchemy.orm import selectinload

    from fastapi_app.db.session import sync_session_factory
    from fastapi_app.models import WebhookDelivery

    with sync_session_factory()() as session:
        return session.scalar(
            select(WebhookDelivery)
            .where(WebhookDelivery.id == delivery_id)
            .options(selectinload(WebhookDelivery.attempts))
        )


def test_on_final_event_records_one_delivery(sqlite_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapi_app.db.session import sync_session_factory
    from fastapi_app.models import WebhookDelivery
    from fastapi_app.services import webhook_service

    queued: list[str] = []
    monkeypatch.setattr(webhook_service, "enqueue_delivery", lambda delivery_id, **_: queued.append(str(delivery_id)))
    owner_id, document_id = _document(callback_url="http://127.0.0.1:1/hook", user_url="http://127.0.0.1:2/default")
    event = _event(document_id, owner_id)
    webhook_service.on_final_event(event)
    webhook_service.on_final_event(event)  # a duplicate event: nothing more is sent
    webhook_service.on_final_event({**event, "type": "document_processing"})
    assert len(queued) == 1
    with sync_session_factory()() as session:
        (delivery,) = session.scalars(select(WebhookDelivery).where(WebhookDelivery.document_id == document_id)).all()
    assert delivery.url == "http://127.0.0.1:1/hook"  # the upload's callback_url wins over the default
    assert delivery.payload["type"] == "document_completed" and "owner_id" not in delivery.payload

    # Without a callback_url the owner's default is used; without either, nothing is recorded.
    owner_id, document_id = _document(user_url="http://127.0.0.1:2/default")
    webhook_service.on_final_event(_event(document_id, owner_id, "document_failed"))
    owner_id, document_id = _document()
    webhook_service.on_final_event(_event(document_id, owner_id))
    assert len(queued) == 2
    assert _delivery(uuid.UUID(queued[1])).url == "http://127.0.0.1:2/default"
    with sync_session_factory()() as session:
        assert session.scalar(select(func.count()).where(WebhookDelivery.document_id == document_id)) == 0


def test_delivery_retries_then_succeeds_signed(sqlite_db: Path) -> None:
    from fastapi_app.db.session import sync_session_factory
    from fastapi_app.models import User
    from fastapi_app.services.webhook_service import create_delivery, get_secret_sync

    settings = Settings(WEBHOOK_ALLOW_PRIVATE_TARGETS=True, WEBHOOK_RETRY_BASE_SECONDS=0.01)
    with Receiver(fail_first=2) as receiver:
        owner_id, document_id = _document(callback_url=receiver.url)
        with sync_session_factory()() as session:
            delivery_id = create_delivery(session, _event(document_id, owner_id))
            assert delivery_id is not None
            secret = get_secret_sync(session, owner_id)
            stored = session.scalar(select(User.webhook_secret).where(User.id == owner_id))
        assert secret and stored and secret not in stored  # encrypted at rest
        task = _run_until_done(delivery_id, settings)
    assert len(task.countdowns) == 2
    delivery = _delivery(delivery_id)
    assert delivery.state == "succeeded" and delivery.attempt_count == 3 and delivery.completed_at is not None
    assert [(a.attempt_number, a.status_code) for a in delivery.attempts] == [(1, 500), (2, 500), (3, 200)]
    assert (
        delivery.attempts[0].response_excerpt == '{"error": "try later"}' and delivery.attempts[0].error == "HTTP 500"
    )
    assert all(a.duration_ms is not None for a in delivery.attempts)

    assert len(receiver.requests) == 3
    last = receiver.requests[-1]
    headers = {k.lower(): v for k, v in last["headers"].items()}
    assert headers["content-type"] == "application/json"
    assert headers["x-webhook-id"] == str(delivery_id) and headers["x-webhook-event"] == "document_completed"
    assert verify(secret, int(headers["x-webhook-timestamp"]), last["body"], headers["x-webhook-signature"])
    assert json.loads(last["body"])["document_id"] == str(document_id)

    # Finished deliveries are never sent again (a redelivered task does nothing).
    _run_until_done(delivery_id, settings)
    assert len(receiver.requests) == 3


def test_delivery_gives_up_on_4xx_and_after_max_attempts(sqlite_db: Path) -> None:
    from fastapi_app.db.session import sync_session_factory
    from fastapi_app.services.webhook_service import create_delivery

    settings = Settings(WEBHOOK_ALLOW_PRIVATE_TARGETS=True, WEBHOOK_RETRY_BASE_SECONDS=0.01, WEBHOOK_MAX_ATTEMPTS=3)
    with Receiver(fail_first=100, fail_status=410) as gone, Receiver(fail_first=100) as down:
        ids = []
        for url in (gone.url, down.url):
            owner_id, document_id = _document(callback_url=url)
            with sync_session_factory()() as session:
                ids.append(create_delivery(session, _event(document_id, owner_id)))
        assert _run_until_done(ids[0], settings).countdowns == []
        assert len(_run_until_done(ids[1], settings).countdowns) == 2
    first, second = _delivery(ids[0]), _delivery(ids[1])
    assert first.state == "failed" and first.attempt_count == 1 and first.last_status_code == 410
    assert second.state == "failed" and second.attempt_count == 3 and len(down.requests) == 3


def test_delivery_refuses_private_target_without_retry(sqlite_db: Path) -> None:
    from fastapi_app.db.session import sync_session_factory
    from fastapi_app.services.webhook_service import create_delivery

    # Accepted when saved (or the name resolved elsewhere then); the worker checks again.
    with Receiver() as receiver:
        owner_id, document_id = _document(callback_url=receiver.url)
        with sync_session_factory()() as session:
            delivery_id = create_delivery(session, _event(document_id, owner_id))
        assert delivery_id is not None
        task = _run_until_done(delivery_id, Settings(WEBHOOK_ALLOW_PRIVATE_TARGETS=False))
    assert task.countdowns == [] and receiver.requests == []
    delivery = _delivery(delivery_id)
    assert delivery.state == "failed" and delivery.attempts[0].error.startswith("refused target (loopback)")


def test_send_connects_to_the_checked_address() -> None:
    from fastapi_app.services.webhook_service import Target
    from fastapi_app.tasks.webhook_tasks import _pinned, _post

    assert _pinned(Target("https://h.example.com/a?b=1", "https", "h.example.com", 443, ("93.184.216.34",))) == (
        "https://93.184.216.34/a?b=1",
        "h.example.com",
    )
    assert _pinned(Target("http://h.example.com:8080", "http", "h.example.com", 8080, ("2606:2800::1",))) == (
        "http://[2606:2800::1]:8080/",
        "h.example.com:8080",
    )
    # A name that "resolved" to the receiver's address: the request goes there, named as the host.
    with Receiver() as receiver:
        port = receiver.server.server_address[1]
        target = Target(f"http://hooks.invalid:{port}/hook", "http", "hooks.invalid", port, ("127.0.0.1",))
        delivery = SimpleNamespace(
            id=uuid.uuid4(), url=target.url, event_type="document_completed", payload={"type": "x"}
        )
        status, excerpt = _post(target, delivery, "secret", Settings(WEBHOOK_ALLOW_PRIVATE_TARGETS=False))  # type: ignore[arg-type]
    assert status == 200 and excerpt == '{"ok": true}'
    headers = {k.lower(): v for k, v in receiver.requests[0]["headers"].items()}
    assert headers["host"] == f"hooks.invalid:{port}" and receiver.requests[0]["path"] == "/hook"


async def test_profile_and_upload_refuse_loopback_in_process(sqlite_db: Path) -> None:
    from tests.conftest import signed_in_app_client

    async with signed_in_app_client() as client:
        auth = {"Authorization": client.headers["Authorization"]}

        r = await client.put("/api/users/profile", json={"webhook_url": "http://127.0.0.1:9/x"}, headers=auth)
        assert r.status_code == 400 and r.json()["error_code"] == "INVALID_CALLBACK_URL"
        assert r.json()["details"] == {"field": "webhook_url", "reason": "loopback"}
        r = await client.put("/api/users/profile", json={"webhook_url": "https://8.8.8.8/hook"}, headers=auth)
        assert r.status_code == 200 and r.json()["data"]["webhook_url"] == "https://8.8.8.8/hook"
        r = await client.put("/api/users/profile", json={"webhook_url": ""}, headers=auth)
        assert r.status_code == 200 and r.json()["data"]["webhook_url"] is None

        r = await client.post(
            "/api/documents/upload",
            files={"file": ("a.pdf", b"%PDF-1.4\n%%EOF\n")},
            data={"callback_url": "http://2130706433:8000/hook"},
            headers=auth,
        )
        assert r.status_code == 400, r.text
        assert r.json()["error_code"] == "INVALID_CALLBACK_URL" and r.json()["details"]["reason"] == "loopback"

        first = (await client.get("/api/webhooks/secret", headers=auth)).json()["data"]["secret"]
        assert (
            len(first) >= 40
            and (await client.get("/api/webhooks/secret", headers=auth)).json()["data"]["secret"] == first
        )
        rotated = (await client.post("/api/webhooks/secret/rotate", headers=auth)).json()
        assert rotated["success"] and rotated["data"]["secret"] != first
        assert (await client.get("/api/webhooks/secret", headers=auth)).json()["data"]["secret"] == rotated["data"][
            "secret"
        ]
        r = await client.get(f"/api/documents/{uuid.uuid4()}/webhooks", headers=auth)
        assert r.status_code == 404 and r.json()["error_code"] == "DOCUMENT_NOT_FOUND"


class DripReceiver:
    """A raw-socket receiver that reads the request, then answers one byte per second for 30 s: the
    status line and headers at once (`stage="body"`) or even those a byte at a time (`stage="headers"`)."""

    def __init__(self, stage: str) -> None:
        self.stage = stage
        self.stop = threading.Event()
        self.requests = 0
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/hook"

    def _serve(self) -> None:
        with contextlib.suppress(OSError):
            conn, _ = self.sock.accept()
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    data += conn.recv(65536)
                self.requests += 1
                head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 30\r\n\r\n"
                drip = head if self.stage == "headers" else b"x" * 30
                if self.stage == "body":
                    conn.sendall(head)
                for byte in drip[:30]:
                    if self.stop.wait(1.0):
                        return
                    conn.sendall(bytes([byte]))

    def __enter__(self) -> DripReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.sock.close()
        self.thread.join(5)


@pytest.mark.parametrize("stage", ["body", "headers"])
def test_a_trickling_receiver_is_cut_off_at_the_deadline_and_retried(sqlite_db: Path, stage: str) -> None:
    from fastapi_app.db.session import sync_session_factory
    from fastapi_app.services.webhook_service import create_delivery
    from fastapi_app.tasks.webhook_tasks import _deliver

    settings = Settings(WEBHOOK_ALLOW_PRIVATE_TARGETS=True, WEBHOOK_TIMEOUT_SECONDS=2)
    with DripReceiver(stage) as receiver:
        owner_id, document_id = _document(callback_url=receiver.url)
        with sync_session_factory()() as session:
            delivery_id = create_delivery(session, _event(document_id, owner_id))
        assert delivery_id is not None
        task = _Task()
        started = time.monotonic()
        with pytest.raises(_Retry):
            _deliver(task, delivery_id, settings)
        elapsed = time.monotonic() - started
    # The receiver would keep the attempt going for 30 s; the deadline (2 s) ends it, plus slack for
    # the database writes around the send.
    assert elapsed < 2 + 3, elapsed
    assert receiver.requests == 1 and len(task.countdowns) == 1
    delivery = _delivery(delivery_id)
    assert delivery.state == "pending" and delivery.attempt_count == 1
    (attempt,) = delivery.attempts
    assert attempt.status_code is None and attempt.response_excerpt is None
    assert attempt.error == "WebhookTimedOut: no complete answer within 2 s (connect, request and response together)"
    assert 2000 <= attempt.duration_ms < 5000
    assert delivery.last_error == attempt.error


def test_webhook_deliveries_go_to_their_own_queue(redis_url: str) -> None:
    """The in-process app's broker is a real Redis (tests/conftest.py): the message lands in the
    webhook queue's list, not the documents queue's, so a worker started with -Q <documents> never
    takes it."""
    import redis

    from fastapi_app.core.config import get_settings
    from fastapi_app.services.webhook_service import enqueue_delivery
    from fastapi_app.tasks.celery_app import celery_app

    settings = get_settings()
    assert settings.CELERY_WEBHOOK_QUEUE != settings.CELERY_QUEUE
    broker = redis.Redis.from_url(celery_app.conf.broker_url)
    queues = (settings.CELERY_QUEUE, settings.CELERY_WEBHOOK_QUEUE)
    broker.delete(*queues)
    delivery_id = uuid.uuid4()
    try:
        enqueue_delivery(delivery_id)
        assert broker.llen(settings.CELERY_QUEUE) == 0
        (raw,) = broker.lrange(settings.CELERY_WEBHOOK_QUEUE, 0, -1)
        message = json.loads(raw)
        assert message["headers"]["task"] == "webhooks.deliver" and str(delivery_id) in message["headers"]["argsrepr"]
    finally:
        broker.delete(*queues)
    # A worker without -Q consumes both queues.
    assert {queue.name for queue in celery_app.conf.task_queues} == set(queues)
