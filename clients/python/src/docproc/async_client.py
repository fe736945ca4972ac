"""The asynchronous client: the same methods as `Client`, awaited (`AsyncClient(server)`, `await login(...)`)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from typing import Any, cast

import httpx

from docproc import _common as c
from docproc.errors import (
    AuthenticationError,
    DocprocError,
    ProcessingTimeoutError,
    TransportError,
    error_body,
    error_from_response,
)
from docproc.models import (
    BatchCreatedOut,
    DocumentOut,
    ExtractedDataOut,
    PagedResponse_DocumentOut_,
    ReportOut,
    ReportSummaryOut,
    TokenResponse,
    UserOut,
)


class AsyncClient:
    """Talks to one server under /api/v1. Tokens: give `access_token`/`refresh_token`, or call
    `login()`. An expired access token is refreshed once and the request retried (refresh tokens
    rotate: `on_tokens` is told every new pair, e.g. to save it); with no refresh token but
    `username`/`password` known, it logs in again instead."""

    def __init__(
        self,
        base_url: str,
        *,
        access_token: str | None = None,
        refresh_token: str | None = None,
        username: str | None = None,
        password: str | None = None,
        on_tokens: c.TokensCallback | None = None,
        retry: c.RetryPolicy | None = None,
        timeout: float = 60.0,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Any = asyncio.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.access_token = access_token
        self.refresh_token = refresh_token
        self.username = username
        self.password = password
        self.on_tokens = on_tokens
        self.retry = retry or c.RetryPolicy()
        self._sleep = sleep
        self._auth_lock = asyncio.Lock()
        self._http = httpx.AsyncClient(base_url=self.base_url, timeout=timeout, transport=transport)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # --- transport: retries, Retry-After, refresh -------------------------------------------------

    async def _request(
        self,
        method: str,
        path: str,
        *,
        authenticated: bool = True,
        upload: bool = False,
        retry_transport: bool | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """Send with the bearer token; retry 429/503 (and transport errors of requests that are safe to
        repeat) within the policy; refresh once on an expired or invalid token. `kwargs` may hold a
        zero-argument `build` returning fresh request arguments per attempt (uploads reopen their file)."""
        build = kwargs.pop("build", None)
        extra_headers = kwargs.pop("headers", {})
        if retry_transport is None:
            retry_transport = method in ("GET", "HEAD") or "Idempotency-Key" in extra_headers
        attempt = 0
        reauthenticated = False
        while True:
            arguments = dict(kwargs, **(build() if build else {}))
            headers = dict(extra_headers)
            sent_token = self.access_token
            if authenticated:
                if sent_token is None and self.username and self.password:
                    await self.login(self.username, self.password)
                    sent_token = self.access_token
                if sent_token:
                    headers["Authorization"] = f"Bearer {sent_token}"
            try:
                response = await self._http.request(method, path, headers=headers, **arguments)
            except httpx.TransportError as exc:
                delay = self.retry.transport_delay(attempt) if retry_transport else None
                if delay is None:
                    raise TransportError(f"{self.base_url}: {exc}", error_code="CONNECTION_FAILED") from exc
                await self._sleep(delay)
                attempt += 1
                continue
            if (
                response.status_code == 401
                and authenticated
                and not reauthenticated
                and error_body(response).get("error_code") in c.REFRESHABLE_CODES
                and await self._reauthenticate(sent_token)
            ):
                reauthenticated = True
                continue
            delay = self.retry.delay(response, attempt)
            if delay is not None:
                await self._sleep(delay)
                attempt += 1
                continue
            if response.is_error:
                raise error_from_response(response, upload=upload)
            return response

    async def _reauthenticate(self, stale_token: str | None) -> bool:
        """A new access token, once for everyone whose request was refused with `stale_token`."""
        async with self._auth_lock:
            if self.access_token != stale_token:
                return True  # another thread refreshed meanwhile
            if self.refresh_token:
                try:
                    self._store(await self._post_tokens("/auth/refresh", json={"refresh_token": self.refresh_token}))
                    return True
                except AuthenticationError:
                    self.refresh_token = None
            if self.username and self.password:
                await self.login(self.username, self.password)
                return True
            return False

    async def _post_tokens(self, path: str, **kwargs: Any) -> TokenResponse:
        response = await self._request("POST", c.API + path, authenticated=False, retry_transport=False, **kwargs)
        return cast(TokenResponse, response.json())

    def _store(self, tokens: TokenResponse) -> None:
        self.access_token = tokens["access_token"]
        self.refresh_token = tokens.get("refresh_token") or self.refresh_token
        if self.on_tokens is not None:
            self.on_tokens(self.access_token, self.refresh_token)

    async def _data(self, method: str, path: str, **kwargs: Any) -> Any:
        return (await self._request(method, c.API + path, **kwargs)).json()["data"]

    # --- accounts ---------------------------------------------------------------------------------

    async def login(self, username: str, password: str) -> TokenResponse:
        """Log in with the username or the email; keeps the token pair for every later call."""
        tokens = await self._post_tokens("/auth/login", data={"username": username, "password": password})
        self._store(tokens)
        return tokens

    async def refresh(self) -> TokenResponse:
        if not self.refresh_token:
            raise AuthenticationError("No refresh token: log in.", error_code="NOT_AUTHENTICATED")
        tokens = await self._post_tokens("/auth/refresh", json={"refresh_token": self.refresh_token})
        self._store(tokens)
        return tokens

    async def logout(self) -> None:
        if self.refresh_token:
            await self._request("POST", c.API + "/auth/logout", json={"refresh_token": self.refresh_token})
        self.access_token = self.refresh_token = None

    async def me(self) -> UserOut:
        return cast(UserOut, await self._data("GET", "/users/me"))

    # --- uploads ----------------------------------------------------------------------------------

    async def upload(
        self,
        file: str | os.PathLike[str] | bytes,
        *,
        filename: str | None = None,
        password: str | None = None,
        file_type: str | None = None,
        callback_url: str | None = None,
        progress: c.ProgressCallback | None = None,
        idempotency_key: str | None = None,
    ) -> DocumentOut:
        """Stream one file (a path, or bytes with `filename`) as multipart; `progress(sent, total)` follows
        the bytes. Every attempt carries the same Idempotency-Key, so a retry never makes a second document."""
        source = c.UploadSource.of(file, filename)
        key = idempotency_key or c.new_idempotency_key()
        opened: list[c.ProgressReader] = []

        def build() -> dict[str, Any]:
            for reader in opened:
                reader.close()
            reader = source.open(progress)
            opened.append(reader)
            return {"files": {"file": (source.filename, reader)}}

        try:
            response = await self._request(
                "POST",
                c.API + "/documents/upload",
                upload=True,
                headers={"Idempotency-Key": key},
                data=c.upload_form(file_type, password, callback_url),
                build=build,
            )
        finally:
            for reader in opened:
                reader.close()
        return cast(DocumentOut, response.json()["data"])

    async def upload_batch(
        self,
        files: list[str | os.PathLike[str]],
        *,
        callback_url: str | None = None,
        idempotency_key: str | None = None,
    ) -> BatchCreatedOut:
        """Many files in one request (POST /documents/batch); refused files are items with an error_code."""
        sources = [c.UploadSource.of(file, None) for file in files]
        opened: list[c.ProgressReader] = []

        def build() -> dict[str, Any]:
            for reader in opened:
                reader.close()
            opened.clear()
            opened.extend(source.open(None) for source in sources)
            return {"files": [("files", (s.filename, r)) for s, r in zip(sources, opened, strict=True)]}

        try:
            response = await self._request(
                "POST",
                c.API + "/documents/batch",
                upload=True,
                headers={"Idempotency-Key": idempotency_key or c.new_idempotency_key()},
                data=c.upload_form(None, None, callback_url),
                build=build,
            )
        finally:
            for reader in opened:
                reader.close()
        return cast(BatchCreatedOut, response.json()["data"])

    # --- documents --------------------------------------------------------------------------------

    async def get(self, document_id: str) -> DocumentOut:
        return cast(DocumentOut, await self._data("GET", f"/documents/{document_id}"))

    async def list(
        self,
        *,
        page: int = 1,
        page_size: int = 20,
        status: str | None = None,
        file_type: str | None = None,
        search: str | None = None,
        date_from: str | None = None,
        date_to: str | None = None,
        sort: str | None = None,
    ) -> PagedResponse_DocumentOut_:
        params = c.list_params(
            page=page, page_size=page_size, status=status, file_type=file_type, search=search,
            date_from=date_from, date_to=date_to, sort=sort,
        )  # fmt: skip
        return cast(
            PagedResponse_DocumentOut_, (await self._request("GET", c.API + "/documents/", params=params)).json()
        )

    async def extracted_data(self, document_id: str) -> ExtractedDataOut:
        return cast(ExtractedDataOut, await self._data("GET", f"/documents/{document_id}/extracted-data"))

    async def reports(self, document_id: str) -> list[ReportSummaryOut]:
        return cast(list[ReportSummaryOut], await self._data("GET", f"/documents/{document_id}/reports"))

    async def report(self, document_id: str, report_id: str) -> ReportOut:
        return cast(ReportOut, await self._data("GET", f"/documents/{document_id}/reports/{report_id}"))

    async def download_report(
        self, document_id: str, format: str = "pdf", *, report_id: str | None = None
    ) -> tuple[str, bytes]:
        """(server's file name, bytes) of a report version, the newest unless `report_id` is given."""
        c.check_format(format)
        if report_id is None:
            versions = await self.reports(document_id)
            if not versions:
                raise DocprocError("The document has no report yet.", error_code="REPORT_NOT_FOUND", status_code=404)
            report_id = str(versions[0]["id"])
        response = await self._request(
            "GET", f"{c.API}/documents/{document_id}/reports/{report_id}/download", params={"format": format}
        )
        return c.filename_from(response, f"{document_id}.{format}"), response.content

    async def summary(
        self,
        *,
        document_ids: list[str] | None = None,
        file_type: str | None = None,
        status: str | None = None,
        date_from: str | None = None,
        date_to: str | None = None,
        title: str | None = None,
    ) -> dict[str, Any]:
        """One report across documents, as JSON (the report model)."""
        body = c.summary_body(document_ids, file_type, status, date_from, date_to, title)
        return cast(dict[str, Any], await self._data("POST", "/reports/summary", json=body))

    async def download_summary(
        self,
        format: str,
        *,
        document_ids: list[str] | None = None,
        file_type: str | None = None,
        status: str | None = None,
        date_from: str | None = None,
        date_to: str | None = None,
        title: str | None = None,
    ) -> tuple[str, bytes]:
        c.check_format(format)
        body = c.summary_body(document_ids, file_type, status, date_from, date_to, title)
        response = await self._request("POST", c.API + "/reports/summary", params={"format": format}, json=body)
        return c.filename_from(response, f"summary.{format}"), response.content

    # --- waiting ----------------------------------------------------------------------------------

    async def wait(
        self,
        document_id: str,
        *,
        on_event: c.EventCallback | None = None,
        timeout: float | None = 600.0,  # noqa: ASYNC109 - the same signature as Client.wait
        poll_interval: float = 1.0,
        use_websocket: bool = True,
    ) -> DocumentOut:
        """Until the document is completed or failed; `on_event` gets each WebSocket event (stage,
        progress, current_page/total_pages). Falls back to polling GET /documents/{id} when the socket
        cannot be used. Returns the final document (check `status` and `error_code`)."""
        return await self.wait_many([document_id], on_event=on_event, timeout=timeout, poll_interval=poll_interval,
                              use_websocket=use_websocket)[document_id]  # fmt: skip

    async def wait_many(
        self,
        document_ids: list[str],
        *,
        on_event: c.EventCallback | None = None,
        timeout: float | None = 600.0,  # noqa: ASYNC109 - the same signature as Client.wait
        poll_interval: float = 1.0,
        use_websocket: bool = True,
    ) -> dict[str, DocumentOut]:
        """`wait()` for several documents over one WebSocket."""
        deadline = None if timeout is None else time.monotonic() + timeout
        done: dict[str, DocumentOut] = {}
        pending = set(map(str, document_ids))
        if use_websocket:
            with contextlib.suppress(Exception):  # ExceptionGroups of anyio included
                # Any socket trouble (no httpx-ws, refused upgrade, dropped connection) ends here;
                # polling below finishes whatever is left.
                await self._wait_socket(pending, done, on_event, deadline, poll_interval)
        while pending:
            for document_id in sorted(pending):
                document = await self.get(document_id)
                if on_event is not None:
                    on_event({"type": "poll", "document_id": document_id, **document})
                if document["status"] in c.TERMINAL_STATUSES:
                    done[document_id] = document
                    pending.discard(document_id)
            if not pending:
                break
            if deadline is not None and time.monotonic() > deadline:
                raise ProcessingTimeoutError(
                    f"Still processing after {timeout} s: {', '.join(sorted(pending))}",
                    error_code="WAIT_TIMEOUT",
                    details={"pending": sorted(pending)},
                )
            await self._sleep(poll_interval)
        return {document_id: done[document_id] for document_id in map(str, document_ids)}

    async def _wait_socket(
        self,
        pending: set[str],
        done: dict[str, DocumentOut],
        on_event: c.EventCallback | None,
        deadline: float | None,
        recheck_interval: float,
    ) -> None:
        from httpx_ws import aconnect_ws

        if self.access_token is None:
            await self.me()  # logs in when only credentials were given
        assert self.access_token is not None
        async with aconnect_ws(c.ws_url(self._http.base_url, self.access_token), self._http) as socket:
            if len(pending) == 1:
                await socket.send_json({"type": "subscribe", "document_id": next(iter(pending))})
            # Events that happened before the socket was open are not replayed: read the state once now.
            await self._check(pending, done, on_event)
            while pending:
                if deadline is not None and time.monotonic() > deadline:
                    return
                try:
                    message = await socket.receive_json(timeout=max(recheck_interval * 5, 2.0))
                except TimeoutError:
                    await self._check(pending, done, on_event)  # a quiet socket: make sure nothing was missed
                    continue
                if not isinstance(message, dict):
                    continue
                document_id = str(message.get("document_id", ""))
                if document_id not in pending or not str(message.get("type", "")).startswith("document_"):
                    continue
                if on_event is not None:
                    on_event(message)
                if message.get("type") in ("document_completed", "document_failed"):
                    done[document_id] = await self.get(document_id)
                    pending.discard(document_id)

    async def _check(self, pending: set[str], done: dict[str, DocumentOut], on_event: c.EventCallback | None) -> None:
        for document_id in sorted(pending):
            document = await self.get(document_id)
            if on_event is not None:
                on_event({"type": "poll", "document_id": document_id, **document})
            if document["status"] in c.TERMINAL_STATUSES:
                done[document_id] = document
                pending.discard(document_id)
