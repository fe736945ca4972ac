"""Static checks of the deployment files: compose scales, nginx parses, limits agree."""

from __future__ import annotations

import ipaddress
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.nginx import loopback_nginx_conf

ROOT = Path(__file__).resolve().parents[2]
MIB = 1024 * 1024


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _size(value: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([kKmMgG]?)", value).groups()  # type: ignore[union-attr]
    return int(number) * {"": 1, "k": 1024, "m": MIB, "g": 1024 * MIB}[unit.lower()]


def _dotenv(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line and not line.startswith("#"))
    return {k.strip(): v.strip() for k, v in pairs}


def test_services_and_images(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"db", "redis", "web", "worker", "beat", "flower", "nginx"} <= set(services)
    assert services["db"]["image"] == "postgres:15"
    assert services["redis"]["image"] == "redis:7-alpine"
    assert services["nginx"]["image"] == "nginx:alpine"
    for name in ("web", "worker", "beat", "flower"):
        assert services[name]["build"] == "."
    assert "healthcheck" in services["db"] and "healthcheck" in services["redis"]


def test_only_nginx_publishes_a_port_and_replicas_can_scale(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, service in services.items():
        assert "container_name" not in service, name
        if name == "grafana":  # the monitoring profile's UI: the Docker host's loopback only
            assert all(str(port).startswith("127.0.0.1:") for port in service["ports"])
        elif name != "nginx":
            assert "ports" not in service, f"{name} publishes a host port"
    assert [str(p).rsplit(":", 1)[-1] for p in services["nginx"]["ports"]] == ["80"]
    assert "./nginx.conf:/etc/nginx/nginx.conf:ro" in services["nginx"]["volumes"]


def test_app_services_share_media_and_wait_for_healthy_dependencies(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert "postgres_data" in compose["volumes"] and "media" in compose["volumes"]
    assert "postgres_data:/var/lib/postgresql/data" in services["db"]["volumes"]
    for name in ("web", "worker", "beat", "flower"):
        service = services[name]
        assert "media:/app/media" in service["volumes"], name
        assert service["depends_on"]["db"]["condition"] == "service_healthy"
        assert service["depends_on"]["redis"]["condition"] == "service_healthy"
        env = service["environment"]
        assert env["DATABASE_URL"].startswith("postgresql://") and "@db:5432/" in env["DATABASE_URL"]
        assert env["CELERY_BROKER_URL"] == env["REDIS_URL"] == "redis://redis:6379/0"
        # Secrets have no default: compose stops with a message when they are missing.
        for secret in ("SECRET_KEY", "FLOWER_BASIC_AUTH"):
            assert re.fullmatch(rf"\$\{{{secret}:\?.+\}}", env[secret]), secret
    assert "8001" in " ".join(map(str, services["web"]["command"]))
    assert "--concurrency=2" in services["worker"]["command"]
    # Documents and webhook deliveries are consumed by separate services, each from its own queue.
    for name, queue in (("worker", "CELERY_QUEUE"), ("webhooks", "CELERY_WEBHOOK_QUEUE")):
        command = services[name]["command"]
        assert command[command.index("-Q") + 1] == services[name]["environment"][queue], name
        assert "media:/app/media" in services[name]["volumes"]
    assert services["webhooks"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert "beat" in services["beat"]["command"]
    assert "--basic_auth" in " ".join(services["flower"]["command"])


def test_upload_limit_agrees_between_compose_env_example_and_nginx(compose: dict[str, Any]) -> None:
    from fastapi_app.core.config import Settings

    limit = int(compose["services"]["web"]["environment"]["MAX_UPLOAD_SIZE"])
    assert (
        limit
        == int(_dotenv(ROOT / ".env.example")["MAX_UPLOAD_SIZE"])
        == Settings.model_fields["MAX_UPLOAD_SIZE"].default
    )
    nginx = (ROOT / "nginx.conf").read_text()
    body = _size(re.search(r"^\s*client_max_body_size\s+(\S+);", nginx, re.M).group(1))  # type: ignore[union-attr]
    # The file limit is the API's; nginx allows it plus at most 1 MiB of multipart overhead.
    assert limit <= body <= limit + MIB


def test_batch_limit_agrees_between_settings_env_example_nginx_and_the_loopback_copy(tmp_path: Path) -> None:
    from fastapi_app.core.config import Settings

    limit = int(_dotenv(ROOT / ".env.example")["BATCH_MAX_TOTAL_SIZE"])
    assert limit == Settings.model_fields["BATCH_MAX_TOTAL_SIZE"].default
    batch_location = re.compile(r"location ~ \^/api\(/v1\)\?/documents/batch\$ \{\{?(.*?)\}", re.S)
    for text in ((ROOT / "nginx.conf").read_text(), loopback_nginx_conf(tmp_path, listen=8080, upstreams=[8001])):
        block = batch_location.search(text).group(1)  # type: ignore[union-attr]
        body = _size(re.search(r"client_max_body_size\s+(\S+);", block).group(1))  # type: ignore[union-attr]
        assert limit <= body <= limit + MIB


def test_nginx_retries_only_connection_failures_and_upgrades_websockets() -> None:
    nginx = (ROOT / "nginx.conf").read_text()
    directives = re.findall(r"^\s*proxy_next_upstream\s+([^;]+);", nginx, re.M)
    assert directives == ["error timeout"]
    assert "non_idempotent" not in "".join(directives)
    ws = re.search(r"location ~ \^/\(ws\|api/v1/ws\|api/v1/graphql\)\$ \{(.*?)\}", nginx, re.S).group(1)  # type: ignore[union-attr]
    assert "proxy_set_header Upgrade $http_upgrade;" in ws and "proxy_http_version 1.1;" in ws
    assert "X-Request-ID" in nginx and "X-Forwarded-Proto" in nginx and "gzip_types application/json" in nginx
    assert "resolver 127.0.0.11" in nginx


@pytest.mark.parametrize("name", ["nginx.conf", "loopback"])
def test_nginx_config_is_valid(name: str, tmp_path: Path) -> None:
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(binary).exists():
        pytest.fail("nginx is required (apt-get install nginx; .ci/run installs it)")
    if name == "nginx.conf":
        text = (ROOT / "nginx.conf").read_text().replace("web:8001", "127.0.0.1:8001")
        text = text.replace("pid /tmp/nginx.pid;", f"pid {tmp_path / 'nginx.pid'};")
        text = text.replace("http {", f"http {{\n    client_body_temp_path {tmp_path};", 1)
    else:
        text = loopback_nginx_conf(tmp_path, listen=8080, upstreams=[8001, 8002])
    conf = tmp_path / "nginx.conf"
    conf.write_text(text)
    result = subprocess.run(
        [binary, "-t", "-p", str(tmp_path), "-c", str(conf), "-g", f"error_log {tmp_path / 'error.log'};"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


def test_start_production_refuses_example_secrets() -> None:
    env = {"PATH": "/usr/bin:/bin", "SECRET_KEY": "CHANGE-ME-generate-with-openssl-rand-hex-32", "DEBUG": "false"}
    result = subprocess.run([str(ROOT / "start_production.sh")], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "refusing to start" in result.stderr and "SECRET_KEY" in result.stderr
    env = {**env, "SECRET_KEY": "x" * 40, "FLOWER_BASIC_AUTH": "admin:password123"}
    result = subprocess.run([str(ROOT / "start_production.sh")], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "FLOWER_BASIC_AUTH" in result.stderr


@pytest.mark.parametrize("name", ["nginx.conf", "loopback"])
def test_nginx_replaces_forwarded_for_logs_no_query_and_guards_internal_endpoints(name: str, tmp_path: Path) -> None:
    if name == "nginx.conf":
        nginx = (ROOT / "nginx.conf").read_text()
    else:
        nginx = loopback_nginx_conf(tmp_path, listen=8080, upstreams=[8001])
    # One proxy layer: the client's own X-Forwarded-For is replaced, never appended to.
    forwarded = re.findall(r"proxy_set_header\s+X-Forwarded-For\s+([^;]+);", nginx)
    assert forwarded and set(forwarded) == {"$remote_addr"}, forwarded
    assert "$proxy_add_x_forwarded_for" not in nginx
    # Query strings (tokens) never reach the access log: $uri, not $request or $request_uri.
    log_format = re.search(r"log_format\s+main\s+(.*?);", nginx, re.S).group(1)  # type: ignore[union-attr]
    assert "$uri" in log_format and "$request " not in log_format and '$request"' not in log_format
    assert "$request_uri" not in log_format and "$args" not in log_format and "$query_string" not in log_format
    assert re.search(r"access_log\s+\S+\s+main;", nginx)
    for path in ("/metrics", "/health/ready"):
        block = re.search(rf"location = {re.escape(path)} \{{(.*?)\n\s*\}}", nginx, re.S).group(1)  # type: ignore[union-attr]
        assert "if ($internal_client = 0)" in block and "return 403;" in block, path
    geo = re.search(r"geo \$internal_client \{(.*?)\}", nginx, re.S).group(1)  # type: ignore[union-attr]
    assert re.search(r"default\s+0;", geo) and "0.0.0.0/0" not in geo and "::/0" not in geo


def test_compose_believes_forwarded_for_only_from_its_own_network(compose: dict[str, Any]) -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    assert "forwarded-allow-ips" not in text and "FORWARDED_ALLOW_IPS" not in text
    web = compose["services"]["web"]
    command = [str(part) for part in web["command"]]
    assert "*" not in command
    # The server's own X-Forwarded-* handling is off; the app applies TRUSTED_PROXIES.
    assert command[command.index("-k") + 1] == "fastapi_app.gunicorn_worker.UvicornWorker"
    (subnet,) = [entry["subnet"] for entry in compose["networks"]["default"]["ipam"]["config"]]
    assert web["environment"]["TRUSTED_PROXIES"] == subnet
    default = re.fullmatch(r"\$\{COMPOSE_SUBNET:-(.+)\}", subnet).group(1)  # type: ignore[union-attr]
    assert ipaddress.ip_network(default).is_private
    for path in ("Dockerfile", "start_dev.sh"):
        assert "--no-proxy-headers" in (ROOT / path).read_text(), path
    assert "fastapi_app.gunicorn_worker.UvicornWorker" in (ROOT / "start_production.sh").read_text()
