from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cluster.harness import Cluster, running_cluster
from tests.support.servers import PrivateRedis
from tests.support.services import create_postgres_database, drop_postgres_database


@pytest.fixture(scope="module")
def private_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def cluster_database() -> Iterator[str]:
    url = create_postgres_database()
    yield url
    drop_postgres_database(url)


@pytest.fixture(scope="module")
def cluster(
    cluster_database: str, private_redis: PrivateRedis, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    """3 uvicorn instances behind nginx, 3 workers (concurrency 1), beat; a fresh database on the
    shared PostgreSQL and a Redis of the cluster's own (drill (c) restarts it)."""
    workdir: Path = tmp_path_factory.mktemp("cluster")
    with running_cluster(workdir, cluster_database, private_redis.url) as running:
        yield running
