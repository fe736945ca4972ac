"""Where the CLI keeps the server URL and the tokens: $XDG_CONFIG_HOME/docproc (else ~/.config/docproc),
the directory 0700 and the token file 0600. DOCPROC_SERVER, DOCPROC_USERNAME, DOCPROC_PASSWORD and
DOCPROC_TOKEN override what the files hold."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_SERVER = "http://localhost:8001"


def config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "docproc"


def config_file() -> Path:
    return config_dir() / "config.json"


def token_file() -> Path:
    return config_dir() / "tokens.json"


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_private(path: Path, data: dict[str, Any]) -> None:
    directory = path.parent
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    directory.chmod(0o700)
    temporary = path.with_suffix(".tmp")
    # Created 0600 from the start: the tokens are never readable by others, not even for a moment.
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        os.fchmod(handle.fileno(), 0o600)
        json.dump(data, handle, ensure_ascii=False, indent=2)
    temporary.replace(path)


@dataclass(slots=True)
class Settings:
    server: str
    username: str | None
    password: str | None
    access_token: str | None
    refresh_token: str | None
    from_environment: bool
    """The credentials came from DOCPROC_TOKEN or DOCPROC_USERNAME/PASSWORD: never written to the file."""


def load(server_option: str | None = None) -> Settings:
    saved_tokens = _read(token_file())
    server = (
        server_option
        or os.environ.get("DOCPROC_SERVER")
        or _read(config_file()).get("server")
        or saved_tokens.get("server")
        or DEFAULT_SERVER
    ).rstrip("/")
    env_token = os.environ.get("DOCPROC_TOKEN")
    env_user, env_password = os.environ.get("DOCPROC_USERNAME"), os.environ.get("DOCPROC_PASSWORD")
    if env_token or (env_user and env_password):
        return Settings(server, env_user, env_password, env_token, None, from_environment=True)
    if saved_tokens.get("server", server).rstrip("/") != server:
        saved_tokens = {}  # tokens of another server are no use here
    return Settings(
        server,
        saved_tokens.get("username"),
        None,
        saved_tokens.get("access_token"),
        saved_tokens.get("refresh_token"),
        from_environment=False,
    )


def save_server(server: str) -> None:
    _write_private(config_file(), {**_read(config_file()), "server": server})


def save_tokens(server: str, username: str | None, access_token: str, refresh_token: str | None) -> None:
    data = {"server": server, "username": username, "access_token": access_token, "refresh_token": refresh_token}
    _write_private(token_file(), data)


def forget_tokens() -> None:
    token_file().unlink(missing_ok=True)
