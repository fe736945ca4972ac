"""Webhooks from the live stack (uvicorn + Celery worker) to a real HTTP receiver on 127.0.0.1.

The stack allows private targets (stack_env); refusal of loopback targets is covered in-process
in tests/unit/test_webhooks.py, where the setting is off.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis

from fastapi_app.services.webhook_service import verify
from tests.support.client import ApiClient
from tests.support.documents import corrupt_pdf, small_text_pdf
from tests.support.services import create_postgres_database, drop_postgres_database
from tests.support.stack import Stack, stack_env
from tests.unit.test_webhooks import Receiver

pytestmark = pytest.mark.e2e


def _eventually(check: Callable[[], Any], timeout: float = 30, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise TimeoutError(f"timed out waiting for {what}")


def _headers(request: dict[str, Any]) -> dict[str, str]:
    return {k.lower(): v for k, v in request["headers"].items()}


def _deliveries(client: ApiClient, document_id: str) -> list[dict[str, Any]]:
    r = client.get(f"/api/documents/{document_id}/webhooks")
    assert r.status_code == 200, r.text
    return r.json()["data"]


def _finished_delivery(client: ApiClient, document_id: str, timeout: float = 30) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        items = _deliveries(client, document_id)
        return items[0] if items and items[0]["state"] != "pending" else None

    return _eventually(done, timeout, "the webhook delivery to finish")


def _upload(client: ApiClient, content: bytes, filename: str, **fields: str) -> str:
    r = client.upload_bytes(content, filename, **fields)
    assert r.status_code == 202, r.text
    return r.json()["data"]["id"]


def test_callback_url_receives_one_signed_completed_event(client: ApiClient) -> None:
    secret = client.get("/api/webhooks/secret").json()["data"]["secret"]
    with Receiver() as receiver:
        document_id = _upload(client, small_text_pdf(), "견적서.pdf", callback_url=receiver.url)
        assert client.wait_for(document_id)["status"] == "completed"
        _eventually(lambda: receiver.requests, what="the webhook")
        delivery = _finished_delivery(client, document_id)
        time.sleep(1.0)  # anything sent twice would have arrived by now
    assert len(receiver.requests) == 1
    request = receiver.requests[0]
    headers = _headers(request)
    timestamp = int(headers["x-webhook-timestamp"])
    assert abs(time.time() - timestamp) < 120
    assert verify(secret, timestamp, request["body"], headers["x-webhook-signature"])
    assert headers["content-type"] == "application/json"
    assert headers["x-webhook-event"] == "document_completed" and headers["x-webhook-id"] == delivery["id"]
    event = json.loads(request["body"])
    assert event["type"] == "document_completed" and event["document_id"] == document_id
    assert event["status"] == "completed" and event["progress"] == 100 and event["run"] == 1
    assert event["error_code"] is None and "owner_id" not in event
    assert set(event) == {"type", "document_id", "run", "status", "stage", "progress", "message", "error_code"} | {
        "timestamp"
    }

    assert delivery["state"] == "succeeded" and delivery["url"] == receiver.url and delivery["attempt_count"] == 1
    assert [a["status_code"] for a in delivery["attempts"]] == [200]


def test_receiver_failing_twice_gets_three_attempts(client: ApiClient) -> None:
    with Receiver(fail_first=2) as receiver:
        document_id = _upload(client, small_text_pdf(), "retry.pdf", callback_url=receiver.url)
        assert client.wait_for(document_id)["status"] == "completed"
        delivery = _finished_delivery(client, document_id)
    assert delivery["state"] == "succeeded" and delivery["attempt_count"] == 3
    attempts = delivery["attempts"]
    assert [(a["attempt_number"], a["status_code"]) for a in attempts] == [(1, 500), (2, 500), (3, 200)]
    assert attempts[0]["error"] == "HTTP 500" and "try later" in attempts[0]["response_excerpt"]
    assert all(a["duration_ms"] is not None and a["started_at"] for a in attempts)
    # One delivery: the same id on every retry, so receivers can de-duplicate.
    assert len(receiver.requests) == 3
    assert {_headers(r)["x-webhook-id"] for r in receiver.requests} == {delivery["id"]}


def test_user_default_webhook_url(client: ApiClient) -> None:
    with Receiver() as receiver:
        r = client.request("PUT", "/api/users/profile", json={"webhook_url": receiver.url})
        assert r.status_code == 200 and r.json()["data"]["webhook_url"] == receiver.url, r.text
        document_id = _upload(client, small_text_pdf(), "default.pdf")
        assert client.wait_for(document_id)["status"] == "completed"
        delivery = _finished_delivery(client, document_id)
    assert delivery["state"] == "succeeded" and delivery["url"] == receiver.url
    assert len(receiver.requests) == 1 and json.loads(receiver.requests[0]["body"])["document_id"] == document_id


def test_failed_document_sends_document_failed(client: ApiClient) -> None:
    secret = client.get("/api/webhooks/secret").json()["data"]["secret"]
    with Receiver() as receiver:
        document_id = _upload(client, corrupt_pdf(), "broken.pdf", callback_url=receiver.url)
        assert client.wait_for(document_id)["status"] == "failed"
        delivery = _finished_delivery(client, document_id)
    assert delivery["state"] == "succeeded" and len(receiver.requests) == 1
    request = receiver.requests[0]
    headers = _headers(request)
    assert verify(secret, int(headers["x-webhook-timestamp"]), request["body"], headers["x-webhook-signature"])
    event = json.loads(request["body"])
    assert event["type"] == "document_failed" and headers["x-webhook-event"] == "document_failed"
    assert event["status"] == "failed" and event["error_code"] == "CORRUPT_FILE"


def test_deliveries_are_owner_only_and_bad_urls_refused(client: ApiClient, live_stack: Any) -> None:
    document_id = _upload(client, small_text_pdf(), "mine.pdf")
    assert _deliveries(client, document_id) == []  # no target anywhere: nothing recorded
    other = ApiClient(live_stack.base_url)
    other.register_and_login()
    r = other.get(f"/api/documents/{document_id}/webhooks")
    assert r.status_code == 404 and r.json()["error_code"] == "DOCUMENT_NOT_FOUND"
    for url, reason in [("ftp://127.0.0.1/x", "scheme"), ("http://u:p@127.0.0.1/x", "credentials")]:
        r = client.upload_bytes(small_text_pdf(), "bad.pdf", callback_url=url)
        assert r.status_code == 400 and r.json()["error_code"] == "INVALID_CALLBACK_URL", r.text
        assert r.json()["details"]["reason"] == reason
    client.wait_for(document_id)


@pytest.fixture(scope="module")
def split_stack(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """An API and a worker that consumes the documents queue only (`-Q`), as compose's `worker`. A
    database of its own: the worker's start-up recovery sweep must not take other stacks' documents."""
    workdir = tmp_path_factory.mktemp("stack-split-queues")
    database_url = create_postgres_database()
    stack = Stack(
        env=stack_env(workdir, DATABASE_URL=database_url, CELERY_BROKER_URL=redis_url, REDIS_URL=redis_url),
        workdir=workdir,
    )
    stack.migrate()
    stack.start_api()
    stack.start_worker("documents-worker", extra=["-Q", stack.env["CELERY_QUEUE"]])
    try:
        stack.wait_ready()
        yield stack
    finally:
        stack.stop()
        drop_postgres_database(database_url)


def test_webhooks_wait_for_a_worker_of_their_own_queue(split_stack: Stack, redis_url: str) -> None:
    webhook_queue = split_stack.env["CELERY_WEBHOOK_QUEUE"]
    broker = redis.Redis.from_url(redis_url)
    client = ApiClient(split_stack.base_url)
    client.register_and_login()
    with Receiver() as receiver:
        document_id = _upload(client, small_text_pdf(), "queued.pdf", callback_url=receiver.url)
        # The documents-only worker processes the document...
        assert client.wait_for(document_id)["status"] == "completed"
        # ...but leaves its webhook in the webhook queue.
        _eventually(lambda: broker.llen(webhook_queue) == 1, what="the delivery in the webhook queue")
        time.sleep(2.0)
        (pending,) = _deliveries(client, document_id)
        assert pending["state"] == "pending" and pending["attempt_count"] == 0 and receiver.requests == []
        assert broker.llen(webhook_queue) == 1

        split_stack.start_worker("webhook-worker", extra=["-Q", webhook_queue])
        delivery = _finished_delivery(client, document_id, timeout=60)
    assert delivery["state"] == "succeeded" and delivery["attempt_count"] == 1 and len(receiver.requests) == 1
    assert broker.llen(webhook_queue) == 0
    # Celery logs "Task <name>[<id>] received" for each task a worker takes.
    webhook_log, documents_log = (
        (split_stack.workdir / f"{name}.out").read_text() for name in ("webhook-worker", "documents-worker")
    )
    assert "webhooks.deliver[" in webhook_log and "documents.process[" not in webhook_log
    assert "documents.process[" in documents_log and "webhooks.deliver[" not in documents_log
