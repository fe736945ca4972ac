"""GraphiQL at /api/v1/graphql in a real chromium: it starts from our vendored files under its CSP (any
refusal is a console error, which fails the test), runs a query with the token from its Headers tab, and
receives a subscription's events over graphql-transport-ws."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page

from tests.support.browser import ConsoleWatch, api_token, new_context
from tests.support.browser import register as register_account
from tests.support.documents import small_text_pdf
from tests.support.stack import Stack


@pytest.fixture(scope="module")
def introspective(live_stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An API process with GRAPHQL_INTROSPECTION=true (the live stack's ENVIRONMENT=test turns it off)."""
    api = Stack(env={**live_stack.env, "GRAPHQL_INTROSPECTION": "true"}, workdir=tmp_path_factory.mktemp("graphiql"))
    api.start_api()
    try:
        api.wait_ready()
        yield api.base_url
    finally:
        api.stop()


def _graphiql(browser: Browser, console: ConsoleWatch, base_url: str, token: str, query: str) -> Page:
    context = console.watch(new_context(browser, base_url))
    context.set_default_timeout(20_000)
    # GraphiQL keeps its tabs in localStorage: a test starts it on its query and headers as a user's
    # earlier visit would.
    headers = json.dumps({"Authorization": f"Bearer {token}"})
    state = {"query": query, "headers": headers}
    context.add_init_script(
        "if (location.pathname === '/api/v1/graphql') for (const [k, v] of Object.entries("
        + json.dumps(state)
        + ")) localStorage.setItem('graphiql:' + k, v);"
    )
    page = context.new_page()
    page.goto("/api/v1/graphql")
    page.locator(".graphiql-container").wait_for()
    return page


def test_graphiql_runs_a_query_with_the_token_of_its_headers_tab(
    browser: Browser, console: ConsoleWatch, introspective: str
) -> None:
    account = register_account(introspective)
    token = api_token(introspective, account)
    page = _graphiql(browser, console, introspective, token, "{ me { username } }")
    page.locator(".graphiql-execute-button").click()
    response = page.locator(".graphiql-response")
    response.get_by_text(account["username"]).wait_for()
    assert '"username"' in response.inner_text()
    page.context.close()


def test_graphiql_subscription_receives_the_users_events(
    browser: Browser, console: ConsoleWatch, introspective: str
) -> None:
    account = register_account(introspective)
    token = api_token(introspective, account)
    page = _graphiql(
        browser, console, introspective, token, "subscription { documentEvents { type documentId status } }"
    )
    page.locator(".graphiql-execute-button").click()
    page.wait_for_timeout(1000)  # subscribed (connection_init with the Headers tab's token) first
    upload = httpx.post(
        f"{introspective}/api/documents/upload",
        headers={"Authorization": f"Bearer {token}"},
        files={"file": ("live.pdf", small_text_pdf())},
        timeout=30,
    )
    document_id = upload.json()["data"]["id"]
    response = page.locator(".graphiql-response")
    response.get_by_text("document_completed").wait_for(timeout=60_000)
    assert document_id in response.inner_text()
    page.context.close()
