"""The real application plus one route that fails with the caller's text in its exception message:
lets the log tests make the API write a traceback quoting user input, as a real bug would."""

from __future__ import annotations

from typing import Any

from starlette.routing import BaseRoute, Match, NoMatchFound
from starlette.types import Receive, Scope, Send

from fastapi_app.main import create_app

PREFIX = "/probe/crash/"


class CrashRoute(BaseRoute):
    """Any path under PREFIX, control characters included (a path-parameter route matches with
    `.*`, which stops at a newline)."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http" and scope["path"].startswith(PREFIX):
            return Match.FULL, {}
        return Match.NONE, {}

    def url_path_for(self, name: str, /, **path_params: Any) -> Any:
        raise NoMatchFound(name, path_params)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise RuntimeError(f"cannot handle {scope['path'].removeprefix(PREFIX)}")


app = create_app()
app.router.routes.insert(0, CrashRoute())
