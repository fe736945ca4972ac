"""WS /ws?token=JWT: the token's user's processing events, live, from any API instance.

On connect: a snapshot of the user's unfinished documents. Then every event of theirs, in order.
Client messages: {"type": "ping"} -> {"type": "pong"}; {"type": "subscribe", "document_id": ...}
limits the stream to one document; {"type": "unsubscribe"} lifts it.

A socket lives as long as its token: it is closed with 4401 when the token expires, and at once when
the account's sessions end (password change, logout-all, account disabled). The client reconnects
with a fresh access token.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from fastapi_app.core.security import TokenClaims
from fastapi_app.realtime.hub import Connection, get_hub
from fastapi_app.schemas.document import DocumentOut
from fastapi_app.services import access_service, document_service

router = APIRouter()
logger = logging.getLogger("fastapi_app.realtime")

POLICY_VIOLATION = 1008
TRY_AGAIN_LATER = 1013
# The application range's "401": the token expired or its session ended; reconnect with a fresh one.
SESSION_ENDED = 4401
SNAPSHOT_LIMIT = 200


async def _end_with_session(websocket: WebSocket, connection: Connection, expires_at: datetime) -> None:
    """Close with 4401 when the token expires or the account's sessions end, whichever comes first."""
    remaining = (expires_at - datetime.now(UTC)).total_seconds()
    try:
        await asyncio.wait_for(connection.ended.wait(), timeout=max(remaining, 0.0))
        reason = connection.end_reason
    except TimeoutError:
        reason = "token expired"
    await websocket.close(code=SESSION_ENDED, reason=reason)


async def _snapshot(claims: TokenClaims) -> dict[str, Any]:
    documents = await document_service.unfinished_documents(claims.subject, SNAPSHOT_LIMIT)
    items = [DocumentOut.model_validate(d).model_dump(mode="json") for d in documents]
    return {"type": "snapshot", "documents": items, "timestamp": datetime.now(UTC).isoformat()}


async def _subscribe(websocket: WebSocket, claims: TokenClaims, connection: Connection, document_id: str) -> None:
    """Follow one document, as the REST read of it would allow: owned by the token's account, which still
    accepts the token. An account that refuses it ends the socket (4401), as the hub's session check would."""
    try:
        parsed: uuid.UUID | None = uuid.UUID(document_id)
    except (ValueError, TypeError):
        parsed = None
    if parsed is not None:
        if await document_service.find_for_active_owner(claims.subject, claims.version, parsed) is not None:
            connection.document_id = document_id
            await websocket.send_json({"type": "subscribed", "document_id": document_id})
            return
        refused = await access_service.refusal(claims.subject, claims.version)
        if refused is not None:
            connection.end(refused.value)  # the watchdog closes the socket
            return
    await websocket.send_json({"type": "error", "error_code": "DOCUMENT_NOT_FOUND", "message": "Document not found."})


async def _receive(websocket: WebSocket, claims: TokenClaims, connection: Connection) -> None:
    while True:
        raw = await websocket.receive_text()
        try:
            message = json.loads(raw)
            kind = message.get("type") if isinstance(message, dict) else None
        except ValueError:
            kind, message = None, {}
        if kind == "ping":
            await websocket.send_json({"type": "pong", "timestamp": datetime.now(UTC).isoformat()})
        elif kind == "subscribe":
            await _subscribe(websocket, claims, connection, str(message.get("document_id", "")))
        elif kind == "unsubscribe":
            connection.document_id = None
            await websocket.send_json({"type": "unsubscribed"})
        else:
            await websocket.send_json(
                {"type": "error", "error_code": "BAD_MESSAGE", "message": "Send ping, subscribe or unsubscribe."}
            )


async def _send(websocket: WebSocket, connection: Connection) -> None:
    while True:
        message = await connection.queue.get()
        if connection.overflowed:
            await websocket.close(code=TRY_AGAIN_LATER, reason="too many unread events; reconnect")
            return
        await websocket.send_json(message)


@router.websocket("/ws")
async def events_socket(websocket: WebSocket, token: str | None = None) -> None:
    claims = await access_service.socket_claims(token or websocket.query_params.get("token"))
    await websocket.accept()
    if claims is None:
        # Accepted only to give the client a close code it can act on; nothing else is sent.
        await websocket.close(code=POLICY_VIOLATION, reason="invalid or expired token")
        return
    hub = get_hub()
    connection = Connection(user_id=claims.subject, token_version=claims.version)
    hub.register(connection)  # before the snapshot, so nothing falls between the two
    try:
        # Sessions ended between the check above and the registration would have been missed.
        if not await access_service.accepts(claims.subject, claims.version):
            await websocket.close(code=SESSION_ENDED, reason="session ended")
            return
        await websocket.send_json(await _snapshot(claims))
        receiver = asyncio.create_task(_receive(websocket, claims, connection))
        sender = asyncio.create_task(_send(websocket, connection))
        watchdog = asyncio.create_task(_end_with_session(websocket, connection, claims.expires_at))
        done, pending = await asyncio.wait({receiver, sender, watchdog}, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
                await task
        for task in done:
            exc = task.exception()
            if exc is not None and not isinstance(exc, (WebSocketDisconnect, RuntimeError)):
                logger.warning("websocket for user %s ended: %s", claims.subject, type(exc).__name__)
    except WebSocketDisconnect:
        pass
    finally:
        hub.unregister(connection)
