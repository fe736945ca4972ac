"""GraphQL at /api/v1/graphql on the real stack (uvicorn + Celery, PostgreSQL, Redis): the REST API's
values and ownership rules, its limits, subscriptions over graphql-transport-ws and offline GraphiQL."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any

import pytest
import websockets

from tests.support.client import ApiClient
from tests.support.documents import korean_invoice_pdf, small_text_pdf
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e

GRAPHQL = "/api/v1/graphql"
NUMBER, SUPPLIER, TOTAL = "INV-2026-0315", "주식회사 한빛상사", 1_210_000
WS_PROTOCOL = websockets.Subprotocol("graphql-transport-ws")

DOCUMENT_DETAILS = """
query Details($id: ID!) {
  document(id: $id) {
    id originalFilename status fileType
    extraction { run result }
    reports { id version title content }
    events { type status stage progress }
    webhookDeliveries { id state }
  }
}
"""


def gql(api: ApiClient, query: str, **variables: Any) -> dict[str, Any]:
    r = api.post(GRAPHQL, json={"query": query, "variables": variables})
    assert r.status_code == 200, r.text
    return r.json()


def error_codes(body: dict[str, Any]) -> list[str]:
    return [e["extensions"]["error_code"] for e in body.get("errors", [])]


@pytest.fixture(scope="module")
def alice(live_stack: Stack) -> ApiClient:
    api = ApiClient(live_stack.base_url)
    api.register_and_login()
    return api


@pytest.fixture(scope="module")
def bob(live_stack: Stack) -> ApiClient:
    api = ApiClient(live_stack.base_url)
    api.register_and_login()
    return api


@pytest.fixture(scope="module")
def invoice(alice: ApiClient) -> str:
    """Alice's Korean invoice, processed."""
    document_id = alice.upload_bytes(korean_invoice_pdf(), "거래명세서.pdf").json()["data"]["id"]
    assert alice.wait_for(document_id)["status"] == "completed"
    return document_id


@pytest.fixture(scope="module")
def introspective(live_stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One more API process on the same database and Redis with GRAPHQL_INTROSPECTION=true (the live
    stack runs ENVIRONMENT=test, where it is off by default)."""
    workdir = tmp_path_factory.mktemp("graphiql")
    api = Stack(env={**live_stack.env, "GRAPHQL_INTROSPECTION": "true"}, workdir=workdir)
    api.start_api()
    try:
        api.wait_ready()
        yield api.base_url
    finally:
        api.stop()


def test_alice_reads_her_invoice_with_the_values_rest_gives(alice: ApiClient, invoice: str) -> None:
    body = gql(alice, DOCUMENT_DETAILS, id=invoice)
    assert "errors" not in body, body
    document = body["data"]["document"]
    assert document["id"] == invoice and document["status"] == "completed" and document["fileType"] == "pdf"
    assert document["originalFilename"] == "거래명세서.pdf"
    rest_result = alice.extracted(invoice)
    assert document["extraction"]["result"] == rest_result
    assert NUMBER in document["extraction"]["result"]["text"]
    (report,) = document["reports"]
    assert report["version"] == 1 and NUMBER in report["title"]
    headline = report["content"]["headline"]
    assert headline["total"]["amount"] == TOTAL and headline["counterparty"] == SUPPLIER
    assert document["events"][-1]["type"] == "document_completed"
    assert document["events"][0]["stage"] == "queued"
    assert document["webhookDeliveries"] == []

    # The nested report by id, and the same numbers as REST's stats.
    nested = gql(
        alice,
        "query($id: ID!, $r: ID!) { document(id: $id) { report(id: $r) { version content } } }",
        id=invoice,
        r=report["id"],
    )
    assert nested["data"]["document"]["report"]["content"]["headline"]["total"]["amount"] == TOTAL
    stats = gql(
        alice,
        "{ stats { totalDocuments byStatus byType totalSizeBytes successRate last24h recent { id } "
        'timeseries(days: 2, tz: "UTC") } }',
    )["data"]["stats"]
    rest = alice.get("/api/documents/stats/summary").json()["data"]
    assert stats["totalDocuments"] == rest["total_documents"] >= 1
    assert stats["byStatus"] == rest["by_status"] and stats["byType"] == rest["by_type"]
    assert stats["totalSizeBytes"] == rest["total_size_bytes"] and stats["successRate"] == rest["success_rate"]
    assert stats["last24h"] == rest["last_24h"]
    assert [d["id"] for d in stats["recent"]] == [d["id"] for d in rest["recent"]]
    assert sum(day["total"] for day in stats["timeseries"]["days"]) >= 1
    me = gql(alice, "{ me { id username isActive } }")["data"]["me"]
    assert me == {
        "id": alice.get("/api/users/me").json()["data"]["id"],
        "username": alice.get("/api/users/me").json()["data"]["username"],
        "isActive": True,
    }


def test_documents_list_has_the_rest_filters_sort_and_paging(alice: ApiClient, invoice: str) -> None:
    other = alice.upload_bytes(small_text_pdf(), "zz-second.pdf").json()["data"]["id"]
    alice.wait_for(other)
    query = """query($search: String, $sort: String!, $status: DocumentStatus, $type: FileFamily) {
      documents(page: 1, pageSize: 1, search: $search, sort: $sort, status: $status, fileType: $type) {
        total page pageSize totalPages items { id originalFilename } } }"""
    page = gql(alice, query, sort="original_filename")["data"]["documents"]
    rest = alice.get("/api/documents/", params={"page_size": 1, "sort": "original_filename"}).json()
    assert page["total"] == rest["total"] >= 2 and page["totalPages"] == rest["total_pages"]
    assert [d["id"] for d in page["items"]] == [d["id"] for d in rest["data"]]
    searched = gql(alice, query, search="zz-second", sort="-created_at", status="COMPLETED", type="PDF")
    assert searched["data"]["documents"]["items"] == [{"id": other, "originalFilename": "zz-second.pdf"}]
    assert searched["data"]["documents"]["total"] == 1
    wrong_sort = gql(alice, query, sort="password")
    assert error_codes(wrong_sort) == ["VALIDATION_ERROR"] and wrong_sort["data"] is None
    too_big = gql(alice, "{ documents(pageSize: 101) { total } }")
    assert error_codes(too_big) == ["VALIDATION_ERROR"]


def test_bob_gets_not_found_for_every_id_of_alice(alice: ApiClient, bob: ApiClient, invoice: str) -> None:
    def assert_not_found(body: dict[str, Any], code: str = "DOCUMENT_NOT_FOUND") -> None:
        assert body["data"] is None, body
        (error,) = body["errors"]
        assert error["extensions"]["error_code"] == code and error["extensions"]["code"] == "NOT_FOUND"
        assert error["extensions"]["status"] == 404
        text = json.dumps(body, ensure_ascii=False)
        assert "거래명세서" not in text and NUMBER not in text and invoice not in text

    rest = bob.get(f"/api/documents/{invoice}")
    assert rest.status_code == 404 and rest.json()["error_code"] == "DOCUMENT_NOT_FOUND"
    assert rest.json()["message"] == "Document not found."
    for query in (
        DOCUMENT_DETAILS,
        "query($id: ID!) { document(id: $id) { id } }",
        "query($id: ID!) { document(id: $id) { extraction { result } } }",
        "mutation($id: ID!) { reprocessDocument(id: $id) { id status } }",
        "mutation($id: ID!) { deleteDocument(id: $id) }",
    ):
        body = gql(bob, query, id=invoice)
        assert_not_found(body)
        assert body["errors"][0]["message"] == rest.json()["message"]
    assert_not_found(gql(bob, '{ document(id: "not-a-uuid") { id } }'))

    # The nested report id: Alice's report under Bob's own document is not found either.
    report_id = alice.get(f"/api/documents/{invoice}/reports").json()["data"][0]["id"]
    own = bob.upload_bytes(small_text_pdf(), "bob.pdf").json()["data"]["id"]
    bob.wait_for(own)
    body = gql(
        bob, "query($id: ID!, $r: ID!) { document(id: $id) { id report(id: $r) { content } } }", id=own, r=report_id
    )
    assert body["data"] is None and error_codes(body) == ["REPORT_NOT_FOUND"]
    assert NUMBER not in json.dumps(body, ensure_ascii=False)
    # Nothing of Alice's in Bob's list, and her document is untouched by his mutations.
    listed = gql(bob, "{ documents(pageSize: 100) { total items { id } } }")["data"]["documents"]
    assert invoice not in [d["id"] for d in listed["items"]]
    mine = alice.get(f"/api/documents/{invoice}").json()["data"]
    assert mine["status"] == "completed" and mine["current_run"] == 1


def test_reprocess_and_delete_do_what_rest_does(alice: ApiClient) -> None:
    document_id = alice.upload_bytes(small_text_pdf(), "redo.pdf").json()["data"]["id"]
    alice.wait_for(document_id)
    body = gql(alice, "mutation($id: ID!) { reprocessDocument(id: $id) { id status currentRun } }", id=document_id)
    assert body["data"]["reprocessDocument"] == {"id": document_id, "status": "pending", "currentRun": 2}
    # Enqueued after the commit: the worker picks run 2 up and completes it.
    assert alice.wait_for(document_id)["current_run"] == 2
    assert alice.get(f"/api/documents/{document_id}").json()["data"]["status"] == "completed"
    assert gql(alice, "mutation($id: ID!) { deleteDocument(id: $id) }", id=document_id)["data"] == {
        "deleteDocument": True
    }
    assert alice.get(f"/api/documents/{document_id}").status_code == 404
    gone = gql(alice, "mutation($id: ID!) { deleteDocument(id: $id) }", id=document_id)
    assert error_codes(gone) == ["DOCUMENT_NOT_FOUND"]


def test_tokens_are_checked_as_rest_checks_them(live_stack: Stack) -> None:
    api = ApiClient(live_stack.base_url)
    account = api.register_and_login()
    assert error_codes(gql(ApiClient(live_stack.base_url), "{ me { id } }")) == ["NOT_AUTHENTICATED"]
    assert error_codes(gql(ApiClient(live_stack.base_url, "not-a-jwt"), "{ me { id } }")) == ["INVALID_TOKEN"]
    refresh_as_access = ApiClient(live_stack.base_url, account["refresh_token"])
    assert error_codes(gql(refresh_as_access, "{ documents { total } }")) == ["INVALID_TOKEN"]
    assert api.post("/api/auth/logout-all").status_code == 200
    for query in (
        "{ me { id } }",
        "{ documents { total } }",
        '{ document(id: "6f1c8f6e-0d5c-4a51-9a0e-3c1b2f7d9e10") { id } }',
        "{ stats { totalDocuments } }",
    ):
        assert error_codes(gql(api, query)) == ["TOKEN_REVOKED"], query
    # As REST answers the same revoked token (a malformed id would be 404 first, there as here).
    assert api.get("/api/documents/6f1c8f6e-0d5c-4a51-9a0e-3c1b2f7d9e10").json()["error_code"] == "TOKEN_REVOKED"


def test_limits_are_refused_with_their_codes_before_anything_runs(alice: ApiClient) -> None:
    deep = '{ document(id: "x") { ' + "reports { " * 10 + "id" + " }" * 10 + " } }"
    assert "GRAPHQL_QUERY_TOO_DEEP" in error_codes(gql(alice, deep))
    aliases = "{ " + " ".join(f"a{n}: me {{ id }}" for n in range(16)) + " }"
    body = gql(alice, aliases)
    assert error_codes(body) == ["GRAPHQL_TOO_MANY_ALIASES"] and body["data"] is None
    tokens = "{ me { " + "id " * 2100 + "} }"
    assert error_codes(gql(alice, tokens)) == ["GRAPHQL_TOO_MANY_TOKENS"]
    batch = alice.post(GRAPHQL, json=[{"query": "{ me { id } }"}, {"query": "{ me { id } }"}])
    assert batch.status_code == 400 and error_codes(batch.json()) == ["GRAPHQL_BATCH_NOT_ALLOWED"]
    assert error_codes(gql(alice, "{ me { password } }")) == ["GRAPHQL_VALIDATION_FAILED"]


def test_introspection_and_graphiql_follow_the_setting(alice: ApiClient, introspective: str) -> None:
    # ENVIRONMENT=test, GRAPHQL_INTROSPECTION=auto: off.
    body = gql(alice, "{ __schema { queryType { name } } }")
    assert set(error_codes(body)) == {"GRAPHQL_INTROSPECTION_DISABLED"} and body["data"] is None
    page = alice.get(GRAPHQL, headers={"Accept": "text/html"})
    assert page.status_code == 404 and error_codes(page.json()) == ["NOT_FOUND"]

    on = ApiClient(introspective, alice.token)
    schema = gql(on, "{ __schema { queryType { name } subscriptionType { fields { name } } } }")["data"]["__schema"]
    assert schema["queryType"]["name"] == "Query"
    assert [f["name"] for f in schema["subscriptionType"]["fields"]] == ["documentEvents"]


class _Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts = 0
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        for name in ("src", "href"):
            if found.get(name):
                self.urls.append(str(found[name]))
        self._in_script = tag == "script" and not found.get("src")

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_scripts += 1

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False


def test_graphiql_is_served_offline_under_a_strict_csp(introspective: str) -> None:
    browser = ApiClient(introspective)
    page = browser.get(GRAPHQL, headers={"Accept": "text/html,application/xhtml+xml"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self';" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    # Whatever a bundle might try, the browser may load nothing from another origin.
    assert "connect-src 'self'" in csp and "http" not in csp and "default-src 'none'" in csp
    assets = _Assets()
    assets.feed(page.text)
    assert assets.inline_scripts == 0
    assert not re.search(r"https?://", page.text)
    expected = {
        "/static/vendor/react.production.min.js",
        "/static/vendor/react-dom.production.min.js",
        "/static/vendor/graphiql.min.js",
        "/static/vendor/graphiql.min.css",
        "/static/app/graphiql.js",
    }
    assert expected <= set(assets.urls)
    for url in assets.urls:
        assert url.startswith("/static/"), url
        asset = browser.get(url)
        assert asset.status_code == 200 and asset.content, url
        text = asset.text
        # Nothing loaded from elsewhere: no remote stylesheet, font, image or script.
        assert not re.search(r"url\(\s*['\"]?(https?:)?//", text), url
        assert not re.search(r"@import\s+(url\()?['\"]?(https?:)?//", text), url
    bootstrap = browser.get("/static/app/graphiql.js").text
    assert "createFetcher" in bootstrap and "/api/v1/graphql" in bootstrap


# --- subscriptions -------------------------------------------------------------------------------


def _socket_url(base_url: str) -> str:
    return base_url.replace("http://", "ws://") + GRAPHQL


async def _open(base_url: str, payload: dict[str, Any]) -> Any:
    ws = await websockets.connect(_socket_url(base_url), subprotocols=[WS_PROTOCOL])
    await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
    return ws


SUBSCRIPTION = "subscription($id: ID) { documentEvents(documentId: $id) { type documentId status stage progress } }"


async def _subscribe(ws: Any, op_id: str, document_id: str | None = None) -> None:
    await ws.send(
        json.dumps(
            {"id": op_id, "type": "subscribe", "payload": {"query": SUBSCRIPTION, "variables": {"id": document_id}}}
        )
    )


async def _next_messages(ws: Any, until: float) -> list[dict[str, Any]]:
    received: list[dict[str, Any]] = []
    while time.monotonic() < until:
        try:
            received.append(json.loads(await asyncio.wait_for(ws.recv(), until - time.monotonic())))
        except TimeoutError:
            break
    return received


def test_subscription_streams_only_the_owners_events(live_stack: Stack, alice: ApiClient, bob: ApiClient) -> None:
    async def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
        alice_ws = await _open(live_stack.base_url, {"token": alice.token})
        bob_ws = await _open(live_stack.url("uvicorn-b"), {"Authorization": f"Bearer {bob.token}"})
        try:
            for ws in (alice_ws, bob_ws):
                assert json.loads(await ws.recv())["type"] == "connection_ack"
            await _subscribe(alice_ws, "all")
            await _subscribe(bob_ws, "all")
            await asyncio.sleep(0.5)  # registered with the hub before the upload
            document_id = (await asyncio.to_thread(alice.upload_bytes, small_text_pdf(), "live.pdf")).json()["data"][
                "id"
            ]
            alice_events: list[dict[str, Any]] = []
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                message = json.loads(await asyncio.wait_for(alice_ws.recv(), deadline - time.monotonic()))
                assert message["type"] == "next" and message["id"] == "all", message
                event = message["payload"]["data"]["documentEvents"]
                alice_events.append(event)
                if event["type"] == "document_completed":
                    break
            # Bob following Alice's document by id: refused, with nothing of hers.
            await _subscribe(bob_ws, "hers", document_id)
            bob_got = await _next_messages(bob_ws, time.monotonic() + 2)
            return alice_events, bob_got, [{"document_id": document_id}]
        finally:
            await alice_ws.close()
            await bob_ws.close()

    alice_events, bob_got, (meta,) = asyncio.run(scenario())
    assert {e["documentId"] for e in alice_events} == {meta["document_id"]}
    assert alice_events[0]["stage"] == "queued" and alice_events[-1]["status"] == "completed"
    assert alice_events[-1]["progress"] == 100
    # Bob saw no event of Alice's document on his "all" subscription, and "hers" was an error.
    assert [m for m in bob_got if m.get("id") == "all"] == []
    # strawberry answers a subscription that fails before its first event with one result of errors.
    refused, complete = [m for m in bob_got if m.get("id") == "hers"]
    assert refused["type"] == "next" and refused["payload"]["data"] is None and complete["type"] == "complete"
    assert [e["extensions"]["error_code"] for e in refused["payload"]["errors"]] == ["DOCUMENT_NOT_FOUND"]
    assert meta["document_id"] not in json.dumps(refused["payload"])


def test_subscription_to_one_document_and_its_end_with_the_session(live_stack: Stack) -> None:
    carol = ApiClient(live_stack.base_url)
    carol.register_and_login()
    first = carol.upload_bytes(small_text_pdf(), "first.pdf").json()["data"]["id"]
    carol.wait_for(first)

    async def scenario() -> tuple[list[str], int | None]:
        ws = await _open(live_stack.base_url, {"token": carol.token})
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await _subscribe(ws, "one", first)
        await asyncio.sleep(0.5)
        other = (await asyncio.to_thread(carol.upload_bytes, small_text_pdf(), "other.pdf")).json()["data"]["id"]
        await asyncio.to_thread(carol.wait_for, other)
        await asyncio.to_thread(carol.post, f"/api/documents/{first}/reprocess")
        seen: list[str] = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            event = json.loads(await asyncio.wait_for(ws.recv(), deadline - time.monotonic()))
            seen.append(event["payload"]["data"]["documentEvents"]["documentId"])
            if event["payload"]["data"]["documentEvents"]["type"] == "document_completed":
                break
        # Ending the account's sessions closes the socket as /ws does (4401).
        await asyncio.to_thread(carol.post, "/api/auth/logout-all")
        try:
            while True:
                await asyncio.wait_for(ws.recv(), 15)
        except websockets.ConnectionClosed as closed:
            return seen, closed.rcvd.code if closed.rcvd else None

    seen, code = asyncio.run(scenario())
    assert set(seen) == {first}
    assert code == 4401


def test_bad_tokens_cannot_open_a_subscription(live_stack: Stack) -> None:
    api = ApiClient(live_stack.base_url)
    account = api.register_and_login()
    revoked = account["access_token"]
    assert api.post("/api/auth/logout-all").status_code == 200

    async def attempt(payload: dict[str, Any]) -> tuple[int | None, list[str]]:
        ws = await _open(live_stack.base_url, payload)
        received: list[str] = []
        try:
            while True:
                received.append(await asyncio.wait_for(ws.recv(), 10))
        except websockets.ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None, received

    for payload in (
        {},
        {"token": "not-a-jwt"},
        {"token": account["refresh_token"]},
        {"token": revoked},
        {"Authorization": f"Bearer {revoked}"},
    ):
        code, received = asyncio.run(attempt(payload))
        assert code == 4403 and received == [], payload
