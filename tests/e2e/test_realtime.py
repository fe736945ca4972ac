"""Live progress over WebSocket, across two API instances, on real Redis (and without it)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import websockets

from tests.support.client import ApiClient
from tests.support.documents import corrupt_pdf, small_text_pdf
from tests.support.services import free_port
from tests.support.stack import Stack, stack_env

pytestmark = pytest.mark.e2e

FINAL = {"document_completed", "document_failed"}


def ws_url(base_url: str, token: str) -> str:
    return base_url.replace("http://", "ws://") + f"/ws?token={token}"


async def _collect(ws: Any, document_id: str, timeout: float = 60) -> list[dict[str, Any]]:
    """Events of one document until its final event."""
    events: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = json.loads(await asyncio.wait_for(ws.recv(), timeout=deadline - time.monotonic()))
        if message.get("document_id") == document_id and message["type"] != "snapshot":
            events.append(message)
            if message["type"] in FINAL:
                return events
    raise TimeoutError(f"no final event for {document_id}: {events}")


def test_bad_tokens_are_refused_with_1008_and_nothing_sent(live_stack: Stack) -> None:
    async def attempt(token: str) -> tuple[int | None, list[str]]:
        received: list[str] = []
        async with websockets.connect(ws_url(live_stack.base_url, token)) as ws:
            try:
                while True:
                    received.append(await asyncio.wait_for(ws.recv(), 5))
            except websockets.ConnectionClosed as closed:
                return closed.rcvd.code if closed.rcvd else None, received
        return None, received

    api = ApiClient(live_stack.base_url)
    account = api.register_and_login()
    for token in ("not-a-jwt", account["refresh_token"], account["access_token"][:-4] + "AAAA"):
        code, received = asyncio.run(attempt(token))
        assert code == 1008 and received == []


def test_events_cross_instances_in_order_and_only_to_their_owner(live_stack: Stack) -> None:
    alice = ApiClient(live_stack.base_url)  # uploads through instance A
    alice.register_and_login()
    bob = ApiClient(live_stack.url("uvicorn-b"))
    bob.register_and_login()

    async def scenario() -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
        # Alice listens on instance B; Bob listens on instance A.
        async with websockets.connect(ws_url(live_stack.url("uvicorn-b"), alice.token or "")) as alice_ws, \
                websockets.connect(ws_url(live_stack.base_url, bob.token or "")) as bob_ws:  # fmt: skip
            snapshot = json.loads(await alice_ws.recv())
            assert json.loads(await bob_ws.recv())["type"] == "snapshot"
            document_id = (await asyncio.to_thread(alice.upload_bytes, small_text_pdf(), "live.pdf")).json()["data"][
                "id"
            ]
            events = await _collect(alice_ws, document_id)
            bob_saw: list[dict[str, Any]] = []
            try:
                while True:
                    bob_saw.append(json.loads(await asyncio.wait_for(bob_ws.recv(), 1.0)))
            except TimeoutError:
                pass
            return snapshot, events, bob_saw

    snapshot, events, bob_saw = asyncio.run(scenario())
    assert snapshot["type"] == "snapshot" and snapshot["documents"] == []
    # A step that ran over a second (a busy host) may have sent heartbeats: repeats of the last event,
    # without an id and not stored (tasks/heartbeat.py). The rest are the stored events.
    beats = [e for e in events if e.get("heartbeat")]
    assert all(e["event_id"] is None and e["type"] == "document_processing" for e in beats)
    events = [e for e in events if not e.get("heartbeat")]
    assert [e["type"] for e in events][-1] == "document_completed"
    assert all(e["type"] == "document_processing" for e in events[:-1])
    stages = [e["stage"] for e in events]
    assert stages[0] == "queued" and "extracting" in stages and stages[-1] == "done"
    progress = [e["progress"] for e in events]
    assert progress == sorted(progress) and progress[-1] == 100
    ids = [e["event_id"] for e in events]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    for event in events:
        assert {"type", "document_id", "status", "stage", "progress", "message", "timestamp"} <= set(event)
    page_events = [e for e in events if "total_pages" in e]
    assert page_events and page_events[-1]["current_page"] == page_events[-1]["total_pages"] == 1
    assert bob_saw == []

    # The same events make the stored timeline.
    timeline = alice.get(f"/api/documents/{events[0]['document_id']}/events").json()["data"]
    assert [e["event_id"] for e in timeline] == ids


def test_snapshot_subscription_ping_and_failure_events(live_stack: Stack) -> None:
    api = ApiClient(live_stack.base_url)
    api.register_and_login()
    pending = api.upload_bytes(small_text_pdf(), "first.pdf").json()["data"]["id"]

    async def scenario() -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any], list[str]]:
        async with websockets.connect(ws_url(live_stack.url("uvicorn-b"), api.token or "")) as ws:
            snapshot = json.loads(await ws.recv())
            await ws.send(json.dumps({"type": "ping"}))
            pong = {}
            while pong.get("type") != "pong":
                pong = json.loads(await ws.recv())
            bad = await asyncio.to_thread(api.upload_bytes, corrupt_pdf(), "broken.pdf")
            bad_id = bad.json()["data"]["id"]
            await ws.send(json.dumps({"type": "subscribe", "document_id": bad_id}))
            failed_events = await _collect(ws, bad_id)
            other = await asyncio.to_thread(api.upload_bytes, small_text_pdf(), "ignored.pdf")
            other_id = other.json()["data"]["id"]
            await asyncio.to_thread(api.wait_for, other_id)
            seen: list[str] = []
            try:
                while True:
                    seen.append(json.loads(await asyncio.wait_for(ws.recv(), 1.0)).get("document_id", ""))
            except TimeoutError:
                pass
            return snapshot, failed_events, pong, [s for s in seen if s == other_id]

    snapshot, failed_events, pong, leaked = asyncio.run(scenario())
    assert snapshot["type"] == "snapshot"
    assert pending in [d["id"] for d in snapshot["documents"]] or api.get(f"/api/documents/{pending}").json()["data"][
        "status"
    ] in ("completed", "processing")
    assert pong["type"] == "pong"
    final = failed_events[-1]
    assert (final["type"], final["status"], final["error_code"]) == ("document_failed", "failed", "CORRUPT_FILE")
    assert final["message"]
    assert leaked == []  # subscribed to one document: the other one's events are not sent


def test_events_without_redis_on_the_embedded_defaults(embedded_stack: Stack) -> None:
    api = ApiClient(embedded_stack.base_url)
    api.register_and_login()

    async def scenario() -> list[dict[str, Any]]:
        async with websockets.connect(ws_url(embedded_stack.base_url, api.token or "")) as ws:
            assert json.loads(await ws.recv())["type"] == "snapshot"
            document_id = (await asyncio.to_thread(api.upload_bytes, small_text_pdf(), "e.pdf")).json()["data"]["id"]
            return await _collect(ws, document_id)

    events = asyncio.run(scenario())
    assert events[-1]["type"] == "document_completed" and events[-1]["progress"] == 100


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[tuple[int, Any]]:
    """A Redis server of this test's own, so restarting it disturbs nobody else."""
    binary = shutil.which("redis-server")
    assert binary, "redis-server is needed for the restart test"
    port = free_port()

    def start() -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        import redis

        while time.monotonic() < deadline:
            try:
                if redis.Redis(port=port, socket_connect_timeout=0.2).ping():
                    return process
            except redis.RedisError:
                time.sleep(0.05)
        raise TimeoutError("private redis did not start")

    state = {"process": start()}

    def restart(down_seconds: float = 2.0) -> None:
        state["process"].terminate()
        state["process"].wait(10)
        time.sleep(down_seconds)
        state["process"] = start()

    yield port, restart
    state["process"].terminate()
    state["process"].wait(10)


def test_subscription_survives_a_redis_restart(
    postgres_url: str, private_redis: tuple[int, Any], tmp_path: Path
) -> None:
    port, restart = private_redis
    redis_url = f"redis://127.0.0.1:{port}/0"
    stack = Stack(
        env=stack_env(tmp_path, DATABASE_URL=postgres_url, CELERY_BROKER_URL=redis_url, REDIS_URL=redis_url),
        workdir=tmp_path,
    )
    stack.migrate()
    stack.start_api()
    stack.start_worker(concurrency=1)
    try:
        stack.wait_ready()
        api = ApiClient(stack.base_url)
        api.register_and_login()

        async def scenario() -> list[dict[str, Any]]:
            async with websockets.connect(ws_url(stack.base_url, api.token or "")) as ws:
                assert json.loads(await ws.recv())["type"] == "snapshot"
                await asyncio.to_thread(restart)
                # The same connection, after Redis came back: the next upload's events arrive.
                for _ in range(100):
                    response = await asyncio.to_thread(api.upload_bytes, small_text_pdf(), "after-restart.pdf")
                    if response.status_code == 202:
                        break
                    await asyncio.sleep(0.2)
                return await _collect(ws, response.json()["data"]["id"], timeout=90)

        events = asyncio.run(scenario())
        assert events[-1]["type"] == "document_completed"
    finally:
        stack.stop()
        if os.environ.get("DEBUG_STACK"):
            print(stack.output("uvicorn"), stack.output("worker"))
