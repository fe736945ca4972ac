"""Private PostgreSQL and Redis servers on free loopback ports, started from the Debian binaries.

The cluster drills use them to stop a server without touching the machine's shared one;
./run_tests.sh uses them when no server answers at TEST_DATABASE_URL / TEST_REDIS_URL:

    python -m tests.support.servers missing-packages   # apt packages the private servers would need
    python -m tests.support.servers run -- CMD ARGS...  # CMD with TEST_*_URL pointing at answering servers
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from urllib.parse import urlsplit, urlunsplit

from tests.support.services import configured_database_url, configured_redis_url, free_port

# The database number run_tests.sh hands a private Redis, as the default TEST_REDIS_URL's.
REDIS_TEST_DB = 13


def wait_for(check: Callable[[], object], timeout: float, message: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise TimeoutError(message)


def postgres_binary(name: str) -> str | None:
    """The newest Debian PostgreSQL server binary (initdb, pg_ctl: not on PATH on Debian)."""
    found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), key=lambda p: int(p.parts[-3]))
    return str(found[-1]) if found else shutil.which(name)


def redis_answers(url: str) -> str | None:
    """None when a Redis answers PING at url, else why not."""
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2).ping()
    except redis.RedisError as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def postgres_answers(url: str) -> str | None:
    """None when PostgreSQL accepts a connection at url, else why not."""
    import psycopg

    plain = url.replace("postgresql+psycopg", "postgresql").replace("postgresql+asyncpg", "postgresql")
    try:
        psycopg.connect(plain, connect_timeout=3).close()
    except psycopg.Error as exc:
        return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
    return None


@dataclass
class PrivateRedis:
    """A redis-server of its own that keeps nothing on disk, so restarting it disturbs no other test session."""

    workdir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is required (apt-get install redis-server)"
        args = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        args += ["--dir", str(self.workdir)]
        # Its own session: a Ctrl-C meant for pytest must not take the server away under its teardown.
        self.process = subprocess.Popen(
            args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        wait_for(lambda: redis_answers(self.url) is None, 10, "private redis did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


@dataclass
class PrivatePostgres:
    """A PostgreSQL server of its own (initdb + pg_ctl as the postgres user: initdb refuses root), so a
    drill can stop it without touching the machine's shared server."""

    port: int = field(default_factory=free_port)
    datadir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="dp-pg-")))

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _bin(self, name: str) -> str:
        found = postgres_binary(name)
        assert found, f"{name} not found under /usr/lib/postgresql (apt-get install postgresql)"
        return found

    def _as_postgres(self, *args: str) -> None:
        prefix = [] if os.geteuid() != 0 else ["runuser", "-u", "postgres", "--"]
        subprocess.run([*prefix, *args], check=True, capture_output=True, timeout=60)

    def init(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.datadir, "postgres", "postgres")
        self._as_postgres(self._bin("initdb"), "-D", str(self.datadir / "data"), "-U", "postgres", "--auth=trust")
        self.start()

    def start(self) -> None:
        options = f"-p {self.port} -k {self.datadir} -c listen_addresses=127.0.0.1 -c fsync=off"
        data = str(self.datadir / "data")
        self._as_postgres(
            self._bin("pg_ctl"), "-D", data, "-o", options, "-l", str(self.datadir / "log"), "-w", "start"
        )

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._as_postgres(self._bin("pg_ctl"), "-D", str(self.datadir / "data"), "-m", "fast", "-w", "stop")

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.datadir, ignore_errors=True)

    def log_tail(self) -> str:
        log = self.datadir / "log"
        return log.read_text(errors="replace")[-2000:] if log.exists() else ""


def missing_packages() -> list[str]:
    """The Debian packages a private server would need, for each service that does not answer."""
    needed = []
    if postgres_answers(configured_database_url()) and not (postgres_binary("initdb") and postgres_binary("pg_ctl")):
        needed.append("postgresql")
    if redis_answers(configured_redis_url()) and not shutil.which("redis-server"):
        needed.append("redis-server")
    return needed


def _say(message: str) -> None:
    print(f"[test servers] {message}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def answering_servers(workdir: Path) -> Iterator[dict[str, str]]:
    """TEST_DATABASE_URL / TEST_REDIS_URL of servers that answer: the configured ones, or private ones
    started here (and stopped on exit) for those that do not. A server that cannot be started is left
    out, with the reason: the tests that need it then skip, or fail with CI=true."""
    env: dict[str, str] = {}
    with contextlib.ExitStack() as stack:
        url = configured_database_url()
        if why := postgres_answers(url):
            _say(f"no PostgreSQL answers at {url} ({why}): starting a private one")
            pg = PrivatePostgres()  # its own temp dir: the postgres user cannot enter workdir (0700, root's)
            try:
                pg.init()
            except (AssertionError, OSError, subprocess.SubprocessError) as exc:
                stderr = getattr(exc, "stderr", b"") or b""
                _say(f"could not start PostgreSQL: {exc} {stderr.decode(errors='replace')}{pg.log_tail()}")
            else:
                stack.callback(pg.destroy)
                env["TEST_DATABASE_URL"] = pg.url
                _say(f"PostgreSQL {pg.url} (data in {pg.datadir}; removed on exit)")
        url = configured_redis_url()
        if why := redis_answers(url):
            _say(f"no Redis answers at {url} ({why}): starting a private one")
            server = PrivateRedis(workdir)
            try:
                server.start()
            except (AssertionError, OSError, TimeoutError) as exc:
                server.stop()
                _say(f"could not start Redis: {exc}")
            else:
                stack.callback(server.stop)
                parts = urlsplit(server.url)
                env["TEST_REDIS_URL"] = urlunsplit(parts._replace(path=f"/{REDIS_TEST_DB}"))
                _say(f"Redis {env['TEST_REDIS_URL']} (stopped on exit)")
        yield env


def run_with_servers(command: Sequence[str]) -> int:
    """Run command with answering servers in its environment; the private ones stop when it ends, also
    on SIGTERM/SIGHUP (forwarded to it) and Ctrl-C (which the command's process group gets itself)."""
    workdir = Path(tempfile.mkdtemp(prefix="dp-test-servers-"))
    child: subprocess.Popen[bytes] | None = None

    def forward(signum: int, _frame: FrameType | None) -> None:
        if child is not None and child.poll() is None:
            child.send_signal(signum)

    try:
        with answering_servers(workdir) as env:
            child = subprocess.Popen(list(command), env={**os.environ, **env})
            # Set after the spawn: an ignored SIGINT would be inherited, and Python then never raises
            # KeyboardInterrupt, so pytest could not be stopped with Ctrl-C.
            previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGTERM, signal.SIGHUP)}
            previous[signal.SIGINT] = signal.signal(signal.SIGINT, signal.SIG_IGN)
            try:
                return child.wait()
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.support.servers", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="action", required=True)
    sub.add_parser("missing-packages", help="print the apt packages the private servers would need")
    run = sub.add_parser("run", help="run a command with TEST_DATABASE_URL / TEST_REDIS_URL of answering servers")
    run.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    if args.action == "missing-packages":
        print(" ".join(missing_packages()))
        return 0
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("run needs a command")
    return run_with_servers(command)


if __name__ == "__main__":
    sys.exit(main())
