#!/usr/bin/env python
"""Create or upgrade the database schema: `python init_db.py`. Safe to run any number of times.

`python init_db.py --create-superuser USERNAME EMAIL` creates (or promotes) a superuser; the
password is read from FIRST_SUPERUSER_PASSWORD or asked for interactively.

`python init_db.py --wait-for-schema SECONDS` migrates nothing: it waits until the database is at
this code's head revision (exit 0) or the time is up (exit 1). Kubernetes runs it as the init
container of every API and worker pod, so they start only after the migration Job (deploy/k8s).
"""

from __future__ import annotations

import argparse
import getpass
import sys
import time
from pathlib import Path

from alembic import command
from alembic.config import Config

ROOT = Path(__file__).resolve().parent


def upgrade_database(database_url: str | None = None) -> None:
    from fastapi_app.core.config import get_settings

    settings = get_settings()
    if settings.is_sqlite:
        db_path = settings.sync_database_url.split("///", 1)[-1]
        if db_path and db_path != ":memory:":
            Path(db_path).parent.mkdir(parents=True, exist_ok=True)
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["skip_logging_config"] = True
    if database_url:
        config.attributes["database_url"] = database_url
    command.upgrade(config, "head")


def schema_is_current() -> bool:
    """True when the database's revisions are this code's Alembic heads."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from sqlalchemy import create_engine

    from fastapi_app.core.config import get_settings

    settings = get_settings()
    heads = set(ScriptDirectory.from_config(Config(str(ROOT / "alembic.ini"))).get_heads())
    # A server that drops packets must not hold a check past the next attempt.
    connect_args = {} if settings.is_sqlite else {"connect_timeout": 5}
    engine = create_engine(settings.sync_database_url, connect_args=connect_args)
    try:
        with engine.connect() as connection:
            return set(MigrationContext.configure(connection).get_current_heads()) == heads
    finally:
        engine.dispose()


def wait_for_schema(seconds: float, interval: float = 2.0) -> bool:
    deadline = time.monotonic() + seconds
    while True:
        try:
            if schema_is_current():
                return True
            reason = "the database is not at this code's revision yet"
        except Exception as exc:  # the database may not answer yet: keep waiting
            reason = f"the database does not answer ({type(exc).__name__})"
        if time.monotonic() >= deadline:
            print(f"Gave up after {seconds:g} s: {reason}; has the migration Job run?", file=sys.stderr)
            return False
        print(f"Waiting: {reason}.", file=sys.stderr)
        time.sleep(interval)


def create_superuser(username: str, email: str, password: str) -> str:
    from sqlalchemy import or_, select

    from fastapi_app.core.security import hash_password
    from fastapi_app.db.session import sync_session_factory
    from fastapi_app.models import User

    with sync_session_factory().begin() as session:
        user = session.scalar(select(User).where(or_(User.username == username, User.email == email.lower())))
        if user is None:
            user = User(username=username, email=email.lower(), hashed_password=hash_password(password))
            session.add(user)
            action = "created"
        else:
            user.hashed_password = hash_password(password)
            action = "updated"
        user.is_superuser = True
        user.is_active = True
    return action


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--create-superuser", nargs=2, metavar=("USERNAME", "EMAIL"))
    parser.add_argument("--wait-for-schema", type=float, metavar="SECONDS")
    args = parser.parse_args(argv)
    from fastapi_app.core.config import get_settings

    if args.wait_for_schema is not None:
        if not wait_for_schema(args.wait_for_schema):
            return 1
        print("Database schema is current.")
        return 0

    upgrade_database()
    print("Database schema is up to date.")
    if args.create_superuser:
        username, email = args.create_superuser
        password = get_settings().FIRST_SUPERUSER_PASSWORD or getpass.getpass("Superuser password: ")
        if len(password) < 8:
            print("The password must have at least 8 characters.", file=sys.stderr)
            return 2
        print(f"Superuser {username} {create_superuser(username, email, password)}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
