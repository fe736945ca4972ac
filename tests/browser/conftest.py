"""Real-browser tests: Debian's chromium (Playwright, executable_path) against the real stack.

One browser for the session, one live_stack (tests/conftest.py) shared with the e2e tests. Every
context a test opens is watched: any console error (CSP refusals appear there), uncaught page error or
5xx response fails the test at teardown."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests.support.browser import ConsoleWatch, chromium_executable, launch_chromium, make_superuser, new_context
from tests.support.browser import register as register_account
from tests.support.services import unavailable
from tests.support.stack import Stack

PageFactory = Callable[..., Page]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # They start real uvicorn and Celery processes, as the e2e tests do.
    for item in items:
        if "tests/browser/" in item.nodeid:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One chromium per test module. Not per session: while the sync API is open its event loop
    counts as running in this thread, and every async test after it (pytest-asyncio) would fail
    with "Runner.run() cannot be called from a running event loop"."""
    if chromium_executable() is None:
        unavailable("chromium", "no chromium on PATH nor /usr/bin/chromium (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        yield browser
        browser.close()


@pytest.fixture
def console() -> Iterator[ConsoleWatch]:
    watch = ConsoleWatch()
    yield watch
    if watch.problems:
        pytest.fail("the browser reported errors:\n  " + "\n  ".join(watch.problems), pytrace=False)


@pytest.fixture
def new_page(browser: Browser, live_stack: Stack, console: ConsoleWatch) -> Iterator[PageFactory]:
    """Opens a page in a context of its own (its own cookies: another user, another device)."""
    contexts: list[BrowserContext] = []

    def open_page(**options: Any) -> Page:
        context = console.watch(new_context(browser, live_stack.base_url, **options))
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page: PageFactory) -> Page:
    return new_page()


@pytest.fixture
def account(live_stack: Stack) -> dict[str, str]:
    return register_account(live_stack.base_url)


@pytest.fixture(scope="session")
def superuser(live_stack: Stack) -> dict[str, str]:
    """One for the session (made as an operator does, through init_db.py: seconds); no test changes it."""
    admin = register_account(live_stack.base_url, prefix="admin")
    make_superuser(live_stack.env, admin)
    return admin
