"""./run_tests.sh on a machine where no PostgreSQL or Redis answers: tests/support/servers.py starts
private ones on free ports for the command it runs, and removes them when the command ends."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.servers import postgres_answers, postgres_binary, redis_answers
from tests.support.services import free_port, unavailable

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]

# What the wrapped command sees and does: a database created, written and read; a Redis key set and read.
PROBE = """
import json, os, psycopg, redis
db, cache = os.environ["TEST_DATABASE_URL"], os.environ["TEST_REDIS_URL"]
with psycopg.connect(db, autocommit=True) as conn:
    conn.execute("CREATE DATABASE probe")
with psycopg.connect(db.rsplit("/", 1)[0] + "/probe") as conn:
    conn.execute("CREATE TABLE t (v text)")
    conn.execute("INSERT INTO t VALUES ('stored')")
    row = conn.execute("SELECT v FROM t").fetchone()[0]
client = redis.Redis.from_url(cache)
client.set("probe", "kept")
datadir = psycopg.connect(db).execute("SHOW data_directory").fetchone()[0]
print(json.dumps({"db": db, "redis": cache, "row": row, "key": client.get("probe").decode(), "datadir": datadir}))
"""


def test_private_servers_start_when_none_answers_and_stop_afterwards() -> None:
    if not (postgres_binary("initdb") and shutil.which("redis-server")):
        unavailable("initdb and redis-server", "apt-get install postgresql redis-server (run_tests.sh does)")
    closed_db = f"postgresql://postgres@127.0.0.1:{free_port()}/test"
    closed_redis = f"redis://127.0.0.1:{free_port()}/13"
    assert postgres_answers(closed_db) and redis_answers(closed_redis)
    env = {**os.environ, "TEST_DATABASE_URL": closed_db, "TEST_REDIS_URL": closed_redis}
    result = subprocess.run(
        [sys.executable, "-m", "tests.support.servers", "run", "--", sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["row"] == "stored" and seen["key"] == "kept"
    assert seen["db"] != closed_db and seen["db"].startswith("postgresql://postgres@127.0.0.1:")
    assert seen["redis"] != closed_redis and seen["redis"].endswith("/13")
    assert (
        f"no PostgreSQL answers at {closed_db}" in result.stderr
        and f"no Redis answers at {closed_redis}" in result.stderr
    )
    # Both gone once the command ended: nothing listens there any more and the data directory is removed.
    assert postgres_answers(seen["db"]) is not None
    assert redis_answers(seen["redis"]) is not None
    assert not Path(seen["datadir"]).exists()


def test_answering_servers_are_used_as_they_are(postgres_url: str, redis_url: str) -> None:
    env = {**os.environ, "TEST_DATABASE_URL": postgres_url, "TEST_REDIS_URL": redis_url}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.support.servers",
            "run",
            "--",
            sys.executable,
            "-c",
            "import os, sys;sys.stdout.write(os.environ['TEST_DATABASE_URL'] + ' ' + os.environ['TEST_REDIS_URL'])",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{postgres_url} {redis_url}" and "starting a private one" not in result.stderr


def test_wrapped_command_exit_status_is_kept() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tests.support.servers", "run", "--", sys.executable, "-c", "raise SystemExit(7)"],
        cwd=ROOT,
        capture_output=True,
        timeout=120,
    )
    assert result.returncode == 7
