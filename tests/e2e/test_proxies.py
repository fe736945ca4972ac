"""X-Forwarded-For is believed only from TRUSTED_PROXIES: the real servers, started as start_dev.sh
(uvicorn) and start_production.sh (gunicorn) start them, and clients bound to different loopback
source addresses (127.0.0.1 and 127.0.0.2)."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.support.client import bound_client, wait_for_single_line
from tests.support.stack import Stack, stack_env

pytestmark = pytest.mark.e2e

FORGED = "1.2.3.4"
REGISTER_LIMIT = 3


@pytest.fixture(scope="module")
def stacks_by_trusted_proxy(
    postgres_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Stack]]:
    """One API per TRUSTED_PROXIES value: 127.0.0.1 under uvicorn, and 127.0.0.2 under gunicorn, so
    127.0.0.1, which both servers trust by default (FORWARDED_ALLOW_IPS), must not be believed."""
    stacks: dict[str, Stack] = {}
    try:
        for trusted in ("127.0.0.1", "127.0.0.2"):
            workdir = tmp_path_factory.mktemp(f"proxy-{trusted}")
            env = stack_env(
                workdir,
                DATABASE_URL=postgres_url,
                CELERY_BROKER_URL=redis_url,
                REDIS_URL=redis_url,
                TRUSTED_PROXIES=trusted,
                RATE_LIMIT_REGISTER=f"{REGISTER_LIMIT}/minute",
            )
            stack = stacks[trusted] = Stack(env=env, workdir=workdir)
            stack.migrate()
            if trusted == "127.0.0.1":
                stack.start_api()
            else:
                _start_gunicorn(stack)
        for stack in stacks.values():
            stack.wait_ready()
        yield stacks
    finally:
        for stack in stacks.values():
            stack.stop()


def _start_gunicorn(stack: Stack) -> None:
    """As start_production.sh runs the API (one worker)."""
    stack.spawn(
        "uvicorn",
        [
            *(sys.executable, "-m", "gunicorn", "fastapi_app.main:app", "--workers", "1"),
            *("-k", "fastapi_app.gunicorn_worker.UvicornWorker", "--bind", f"127.0.0.1:{stack.port}"),
        ],
    )
    stack.api_ports["uvicorn"] = stack.port


def _access_line(stack: Stack, path: str) -> str:
    return wait_for_single_line(stack.workdir / "logs" / "access.log", path)


def _register(client: httpx.Client, forwarded_for: str) -> httpx.Response:
    name = f"px_{uuid.uuid4().hex[:10]}"
    return client.post(
        "/api/auth/register",
        json={"username": name, "email": f"{name}@example.com", "password": "password123"},
        headers={"X-Forwarded-For": forwarded_for},
    )


@pytest.mark.parametrize(("trusted", "untrusted"), [("127.0.0.1", "127.0.0.2"), ("127.0.0.2", "127.0.0.1")])
def test_forwarded_for_is_logged_only_from_a_trusted_proxy(
    stacks_by_trusted_proxy: dict[str, Stack], trusted: str, untrusted: str
) -> None:
    stack = stacks_by_trusted_proxy[trusted]
    forged_path = f"/api/no-such-{uuid.uuid4().hex}"
    with bound_client(stack.base_url, untrusted) as client:
        r = client.get(forged_path, headers={"X-Forwarded-For": FORGED})
    assert r.status_code == 404
    line = _access_line(stack, forged_path)
    assert f" {untrusted} " in line and FORGED not in line, line

    proxied_path = f"/api/no-such-{uuid.uuid4().hex}"
    with bound_client(stack.base_url, trusted) as proxy:
        r = proxy.get(proxied_path, headers={"X-Forwarded-For": f"{FORGED}, 203.0.113.9"})
    assert r.status_code == 404
    # From the proxy: the nearest hop it reports is the client (what the proxy itself saw).
    line = _access_line(stack, proxied_path)
    assert " 203.0.113.9 " in line and f" {trusted} " not in line, line


@pytest.mark.parametrize(("trusted", "untrusted"), [("127.0.0.1", "127.0.0.2"), ("127.0.0.2", "127.0.0.1")])
def test_a_client_cannot_dodge_the_per_address_limit_with_forwarded_for(
    stacks_by_trusted_proxy: dict[str, Stack], trusted: str, untrusted: str
) -> None:
    stack = stacks_by_trusted_proxy[trusted]
    with bound_client(stack.base_url, untrusted) as client:
        answers = [_register(client, f"198.51.100.{n}") for n in range(REGISTER_LIMIT + 1)]
    assert [r.status_code == 429 for r in answers] == [False] * REGISTER_LIMIT + [True], [r.text for r in answers]
    refused = answers[-1].json()
    assert refused["error_code"] == "RATE_LIMITED" and refused["details"]["limit"] == f"{REGISTER_LIMIT}/minute"

    # Behind the trusted proxy every client address has a budget of its own...
    with bound_client(stack.base_url, trusted) as proxy:
        spread = [_register(proxy, f"192.0.2.{n}") for n in range(REGISTER_LIMIT + 2)]
        assert not [r.text for r in spread if r.status_code == 429]
        # ...and one address behind it is limited like any other.
        same = [_register(proxy, "192.0.2.200") for _ in range(REGISTER_LIMIT + 1)]
    assert [r.status_code == 429 for r in same] == [False] * REGISTER_LIMIT + [True], [r.text for r in same]
