"""nginx.conf's proxy behaviour for loopback instances, shared by the cluster tests and bench.http."""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
# nginx.conf's `geo $internal_client` list: who may read /metrics and /health/ready through nginx.
INTERNAL_NETWORKS = ("127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "::1", "fc00::/7")
TOO_LARGE_BODY = (
    '{"success": false, "message": "The request body is too large.", "error_code": "FILE_TOO_LARGE", "details": null}'
)
FORBIDDEN_BODY = (
    '{"success": false, "message": "Not available from this network.", "error_code": "PERMISSION_DENIED", '
    '"details": null}'
)


def loopback_nginx_conf(
    workdir: Path, listen: int, upstreams: list[int], internal_networks: Sequence[str] = INTERNAL_NETWORKS
) -> str:
    """nginx.conf's proxy behaviour for loopback instances: a static upstream (no Docker DNS here)
    with max_fails=1 fail_timeout=5s so a dead instance is skipped after its first refused connection,
    and every path (pid, temp, logs) inside workdir so it runs without root and beside other runs.
    `internal_networks` replaces nginx.conf's internal list, so a test can leave 127.0.0.1 out of it."""
    servers = "\n".join(f"        server 127.0.0.1:{port} max_fails=1 fail_timeout=5s;" for port in upstreams)
    internal = "\n".join(f"        {network} 1;" for network in internal_networks)
    temp = "\n".join(
        f"    {kind}_temp_path {workdir / ('nginx-' + kind)};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    # As root, nginx's workers would run as nobody and could not write the body temp files under the
    # (0700) pytest directory: uploads would fail with nginx's own 500.
    user = "user root;" if os.geteuid() == 0 else ""
    return f"""daemon off;
{user}
worker_processes 1;
pid {workdir / "nginx.pid"};
error_log {workdir / "nginx-error.log"} warn;
events {{ worker_connections 1024; }}
http {{
{temp}
    log_format main '$remote_addr "$request_method $uri $server_protocol" $status $body_bytes_sent $request_time '
                    'upstream=$upstream_addr/$upstream_status rid=$req_id';
    access_log {workdir / "nginx-access.log"} main;
    geo $internal_client {{
        default 0;
{internal}
    }}
    map $http_x_request_id $req_id {{ default $http_x_request_id; "" $request_id; }}
    map $http_upgrade $connection_upgrade {{ default upgrade; "" close; }}
    upstream web {{
{servers}
        keepalive 16;
    }}
    server {{
        listen 127.0.0.1:{listen};
        client_max_body_size 11m;
        proxy_http_version 1.1;
        proxy_set_header Host $host;
        proxy_set_header X-Forwarded-For $remote_addr;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_set_header X-Request-ID $req_id;
        proxy_set_header Connection "";
        proxy_connect_timeout 2s;
        proxy_read_timeout 60s;
        proxy_next_upstream error timeout;
        proxy_next_upstream_tries 3;
        location ~ ^/(ws|api/v1/ws|api/v1/graphql)$ {{
            proxy_pass http://web;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_read_timeout 3600s;
        }}
        location / {{ proxy_pass http://web; }}
        location ~ ^/api(/v1)?/documents/batch$ {{
            client_max_body_size 201m;
            proxy_pass http://web;
        }}
        location = /metrics {{
            if ($internal_client = 0) {{ return 403; }}
            proxy_pass http://web;
        }}
        location = /health/ready {{
            if ($internal_client = 0) {{ return 403; }}
            proxy_pass http://web;
        }}
        error_page 403 = @forbidden;
        error_page 413 = @too_large;
        location @forbidden {{
            default_type application/json;
            return 403 '{FORBIDDEN_BODY}';
        }}
        location @too_large {{
            default_type application/json;
            return 413 '{TOO_LARGE_BODY}';
        }}
    }}
}}
"""
