"""Through the real nginx of the cluster harness: a client's X-Forwarded-For is replaced by its real
address, nginx logs no query string, and /metrics and /health/ready are for internal clients only.

The harness's internal list is narrowed to 127.0.0.2, so a client from 127.0.0.1 plays the outsider.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cluster.harness import Cluster, running_cluster
from tests.support.client import bound_client, wait_for_single_line
from tests.support.servers import PrivateRedis

INSIDER, OUTSIDER = "127.0.0.2", "127.0.0.1"
REGISTER_LIMIT = 3


@pytest.fixture(scope="module")
def proxied(
    cluster_database: str, private_redis: PrivateRedis, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    workdir: Path = tmp_path_factory.mktemp("nginx-proxy")
    with running_cluster(
        workdir,
        cluster_database,
        private_redis.url,
        n_api=1,
        n_workers=0,
        internal_networks=(INSIDER,),
        RATE_LIMITS_ENABLED="true",
        RATE_LIMIT_REGISTER=f"{REGISTER_LIMIT}/minute",
    ) as cluster:
        yield cluster


@pytest.mark.parametrize("source", [OUTSIDER, INSIDER])
def test_forged_forwarded_for_is_replaced_and_no_query_string_is_logged(proxied: Cluster, source: str) -> None:
    path = f"/api/no-such-{uuid.uuid4().hex}"
    token = f"secret-token-{uuid.uuid4().hex}"
    with bound_client(proxied.base_url, source) as client:
        r = client.get(path, params={"token": token}, headers={"X-Forwarded-For": "1.2.3.4"})
    assert r.status_code == 404 and r.json()["error_code"] == "NOT_FOUND"

    # The API saw the client's real address, not the one it sent.
    api_line = wait_for_single_line(proxied.workdir / "logs" / "access.log", path)
    assert f" {source} " in api_line and "1.2.3.4" not in api_line, api_line
    # nginx logged the path and its own view of the client, never the query string with the token.
    nginx_line = wait_for_single_line(proxied.workdir / "nginx-access.log", path)
    assert nginx_line.startswith(f"{source} ") and f'"GET {path} HTTP/1.1" 404' in nginx_line, nginx_line
    nginx_log = (proxied.workdir / "nginx-access.log").read_text()
    assert token not in nginx_log and "token=" not in nginx_log


def test_per_address_limit_holds_through_nginx_whatever_the_client_forwards(proxied: Cluster) -> None:
    answers = []
    with bound_client(proxied.base_url, INSIDER) as client:
        for n in range(REGISTER_LIMIT + 1):
            name = f"nx_{uuid.uuid4().hex[:10]}"
            answers.append(
                client.post(
                    "/api/auth/register",
                    json={"username": name, "email": f"{name}@example.com", "password": "password123"},
                    headers={"X-Forwarded-For": f"198.51.100.{n}"},
                )
            )
    assert [r.status_code == 429 for r in answers] == [False] * REGISTER_LIMIT + [True], [r.text for r in answers]
    assert answers[-1].json()["error_code"] == "RATE_LIMITED"


@pytest.mark.parametrize("path", ["/metrics", "/health/ready"])
def test_internal_endpoints_are_refused_to_other_networks(proxied: Cluster, path: str) -> None:
    with bound_client(proxied.base_url, OUTSIDER) as outsider:
        refused = outsider.get(path)
        # Spoofing an internal address in the header changes nothing: nginx judges the socket peer.
        spoofed = outsider.get(path, headers={"X-Forwarded-For": INSIDER, "X-Real-IP": INSIDER})
        assert outsider.get("/health").status_code == 200  # liveness stays public
    for r in (refused, spoofed):
        assert r.status_code == 403, r.text
        assert r.json() == {
            "success": False,
            "message": "Not available from this network.",
            "error_code": "PERMISSION_DENIED",
            "details": None,
        }
    with bound_client(proxied.base_url, INSIDER) as insider:
        allowed = insider.get(path)
    assert allowed.status_code == 200, allowed.text
    if path == "/metrics":
        assert "# TYPE http_requests_total counter" in allowed.text
    else:
        assert allowed.json()["data"]["status"] == "ok"


def test_a_batch_larger_than_one_upload_passes_nginx_and_a_single_upload_that_large_does_not(
    proxied: Cluster,
) -> None:
    """nginx lets a batch body reach BATCH_MAX_TOTAL_SIZE, while single uploads stay at MAX_UPLOAD_SIZE
    + 1 MiB (nginx's own 413 speaks the API's envelope)."""
    rows = "".join(
        f"2026-11-{1 + n % 28:02d},주식회사 한빛상사,품목 {n},{n % 90 + 1},{(n % 90 + 1) * 1200}\n"
        for n in range(200_000)
    )
    sheet = ("날짜,거래처,품목,수량,금액\n" + rows).encode()[: 7 * 1024 * 1024 - 64].rsplit(b"\n", 1)[0] + b"\n"
    assert 6 * 1024 * 1024 < len(sheet) < 7 * 1024 * 1024
    with bound_client(proxied.base_url, OUTSIDER) as client:
        name = f"nb_{uuid.uuid4().hex[:10]}"
        password = "password123"
        registered = client.post(
            "/api/v1/auth/register", json={"username": name, "email": f"{name}@example.com", "password": password}
        )
        assert registered.status_code == 201, registered.text
        token = client.post("/api/v1/auth/login", data={"username": name, "password": password}).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        batch = client.post(
            "/api/v1/documents/batch",
            files=[("files", ("1월.csv", sheet, "text/csv")), ("files", ("2월.csv", sheet + b"\n", "text/csv"))],
            headers=headers,
            timeout=60,
        )
        too_large = client.post(
            "/api/v1/documents/upload",
            files={"file": ("both.csv", sheet + sheet, "text/csv")},
            headers=headers,
            timeout=60,
        )
    assert batch.status_code == 202, batch.text
    items = batch.json()["data"]["items"]
    assert [(item["status"], item["document"]["original_filename"]) for item in items] == [
        ("accepted", "1월.csv"),
        ("accepted", "2월.csv"),
    ]
    assert [item["document"]["size_bytes"] for item in items] == [len(sheet), len(sheet) + 1]
    assert too_large.status_code == 413, too_large.text
    assert too_large.json()["error_code"] == "FILE_TOO_LARGE"
