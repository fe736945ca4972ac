"""Bad input over real HTTP: each gets a clear envelope and a stable error_code, nothing is
half-written, and processing failures end `failed` with a code instead of crashing the worker."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.client import ApiClient
from tests.support.corpus import corpus_path
from tests.support.documents import corrupt_pdf, decompression_bomb_png, small_text_pdf
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e


def _upload_area(stack: Stack) -> list[Path]:
    return [p for p in Path(stack.env["UPLOAD_DIR"]).rglob("*") if p.is_file()]


def _assert_error(response, status: int, code: str) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False
    assert body["error_code"] == code
    assert body["message"]
    assert "Traceback" not in response.text
    return body


@pytest.mark.parametrize(
    ("content", "filename", "fields", "status", "code"),
    [
        (b"", "empty.pdf", {}, 400, "EMPTY_FILE"),
        (b"just some words, not a document\n", "notes.txt", {}, 415, "UNSUPPORTED_FILE_TYPE"),
        (b"MZ\x90\x00" + b"\x00" * 200, "setup.exe", {}, 415, "UNSUPPORTED_FILE_TYPE"),
        (None, "looks-like-a-workbook.xlsx", {}, 415, "FILE_TYPE_MISMATCH"),
        (None, "claimed-image.pdf", {"file_type": "image"}, 415, "FILE_TYPE_MISMATCH"),
        (None, "bad-claim.pdf", {"file_type": "spreadsheet"}, 422, "VALIDATION_ERROR"),
    ],
    ids=["empty", "plain-text", "executable", "pdf-named-xlsx", "claimed-image", "unknown-file-type"],
)
def test_rejected_uploads_leave_nothing_behind(
    client: ApiClient, live_stack: Stack, content: bytes | None, filename: str, fields: dict, status: int, code: str
) -> None:
    before_files = _upload_area(live_stack)
    before_total = client.get("/api/documents/").json()["total"]
    response = client.upload_bytes(small_text_pdf() if content is None else content, filename, **fields)
    _assert_error(response, status, code)
    assert _upload_area(live_stack) == before_files
    assert client.get("/api/documents/").json()["total"] == before_total


def test_oversized_upload_is_413_while_streaming(client: ApiClient, live_stack: Stack) -> None:
    before_files = _upload_area(live_stack)
    limit = 10 * 1024 * 1024
    big = b"%PDF-1.7\n" + b"0" * limit
    body = _assert_error(client.upload_bytes(big, "huge.pdf"), 413, "FILE_TOO_LARGE")
    assert body["details"]["max_upload_size"] == limit
    assert _upload_area(live_stack) == before_files

    # Without Content-Length (chunked), the limit still holds as bytes arrive.
    def chunks():  # type: ignore[no-untyped-def]
        boundary = b"--bnd\r\n"
        yield boundary + b'Content-Disposition: form-data; name="file"; filename="huge.pdf"\r\n\r\n'
        for _ in range(11):
            yield b"%PDF" + b"1" * (1024 * 1024 - 4)
        yield b"\r\n--bnd--\r\n"

    response = client.post(
        "/api/documents/upload", content=chunks(), headers={"Content-Type": "multipart/form-data; boundary=bnd"}
    )
    _assert_error(response, 413, "FILE_TOO_LARGE")
    assert _upload_area(live_stack) == before_files


def _chunked_upload(client: ApiClient, parts):  # type: ignore[no-untyped-def]
    # A generator as content: httpx sends it with Transfer-Encoding: chunked and no Content-Length.
    return client.post(
        "/api/documents/upload", content=parts, headers={"Content-Type": "multipart/form-data; boundary=bnd"}
    )


def _file_part() -> bytes:
    return (
        b'--bnd\r\nContent-Disposition: form-data; name="file"; filename="small.pdf"\r\n'
        b"Content-Type: application/pdf\r\n\r\n" + small_text_pdf() + b"\r\n"
    )


def test_chunked_body_over_the_total_cap_is_413_and_stores_nothing(client: ApiClient, live_stack: Stack) -> None:
    """A small, valid file, then more bytes after the closing boundary than the body may have: the
    parser skips an epilogue, so only the count of the body's bytes stops it."""
    before_files = _upload_area(live_stack)
    before_total = client.get("/api/documents/").json()["total"]
    max_upload, overhead = 10 * 1024 * 1024, 64 * 1024  # the stack's defaults

    def parts():  # type: ignore[no-untyped-def]
        yield _file_part() + b"--bnd--\r\n"
        for _ in range(12):
            yield b"e" * (1024 * 1024)

    body = _assert_error(_chunked_upload(client, parts()), 413, "FILE_TOO_LARGE")
    assert body["details"] == {"max_upload_size": max_upload, "max_body_size": max_upload + overhead}
    assert _upload_area(live_stack) == before_files
    assert client.get("/api/documents/").json()["total"] == before_total


def test_thousands_of_tiny_fields_are_413_and_store_nothing(client: ApiClient, live_stack: Stack) -> None:
    before_files = _upload_area(live_stack)
    before_total = client.get("/api/documents/").json()["total"]

    def parts():  # type: ignore[no-untyped-def]
        yield _file_part()
        for n in range(5000):
            yield f'--bnd\r\nContent-Disposition: form-data; name="f{n}"\r\n\r\nx\r\n'.encode()
        yield b"--bnd--\r\n"

    body = _assert_error(_chunked_upload(client, parts()), 413, "TOO_MANY_PARTS")
    assert body["details"] == {"max_parts": 16} and "16 parts" in body["message"]
    assert _upload_area(live_stack) == before_files
    assert client.get("/api/documents/").json()["total"] == before_total


def test_missing_file_field_is_422(client: ApiClient) -> None:
    response = client.post("/api/documents/upload", data={"file_type": "pdf"}, files={"other": ("x.txt", b"x")})
    _assert_error(response, 422, "VALIDATION_ERROR")
    response = client.post("/api/documents/upload", json={"file": "nope"})
    _assert_error(response, 422, "VALIDATION_ERROR")


@pytest.mark.parametrize(
    ("raw_name", "expected"),
    [
        ("../../../../etc/passwd.pdf", "passwd.pdf"),
        ("..\\..\\windows\\system32\\evil.pdf", "evil.pdf"),
        ("invoice\x00.exe.pdf", "invoice.exe.pdf"),
        ("report\u202egnp.pdf", "reportgnp.pdf"),
        ("CON.pdf", "_CON.pdf"),
        ("가" * 300 + ".pdf", "가" * 251 + ".pdf"),
    ],
    ids=["dotdot", "backslashes", "nul", "rtl-override", "windows-reserved", "300-chars"],
)
def test_hostile_filenames_are_stored_and_served_safely(
    client: ApiClient, live_stack: Stack, raw_name: str, expected: str
) -> None:
    response = client.upload_raw_filename(small_text_pdf(), raw_name)
    assert response.status_code == 202, response.text
    document = response.json()["data"]
    assert document["original_filename"] == expected
    stored = [p.name for p in _upload_area(live_stack)]
    assert stored and all(re.fullmatch(r"[0-9a-f]{32}\.[a-z]{3,4}", name) for name in stored)
    download = client.get(f"/api/documents/{document['id']}/download")
    assert download.status_code == 200
    disposition = download.headers["content-disposition"]
    assert "/" not in disposition.split("filename=")[1].split(";")[0]
    assert "\x00" not in disposition and "\u202e" not in disposition


def _process(client: ApiClient, content: bytes | Path, filename: str, **fields: str) -> dict:  # type: ignore[type-arg]
    data = content.read_bytes() if isinstance(content, Path) else content
    response = client.upload_bytes(data, filename, **fields)
    assert response.status_code == 202, response.text
    return client.wait_for(response.json()["data"]["id"])


def test_corrupt_pdf_fails_with_code(client: ApiClient) -> None:
    done = _process(client, corrupt_pdf(), "broken.pdf")
    assert done["status"] == "failed"
    assert done["error_code"] == "CORRUPT_FILE"
    assert done["error_message"] and "Traceback" not in done["error_message"]
    error = client.get(f"/api/documents/{done['id']}/extracted-data")
    _assert_error(error, 409, "DOCUMENT_NOT_READY")


def test_encrypted_pdf_needs_the_right_password(client: ApiClient) -> None:
    encrypted = corpus_path("encrypted_openpassword.pdf")
    no_password = _process(client, encrypted, "secret.pdf")
    assert (no_password["status"], no_password["error_code"]) == ("failed", "ENCRYPTED_FILE")
    wrong = _process(client, encrypted, "secret.pdf", password="not-it")
    assert (wrong["status"], wrong["error_code"]) == ("failed", "PASSWORD_INCORRECT")
    right = _process(client, encrypted, "secret.pdf", password="openpassword")
    assert right["status"] == "completed", right
    result = client.extracted(right["id"])
    assert result["text"].strip().startswith("Lorem ipsum dolor sit amet")
    assert result["pdf"]["encrypted"] is True
    # The password is never echoed back.
    assert "openpassword" not in client.get(f"/api/documents/{right['id']}").text


def test_decompression_bomb_is_refused(client: ApiClient) -> None:
    done = _process(client, decompression_bomb_png(), "bomb.png")
    assert (done["status"], done["error_code"]) == ("failed", "IMAGE_TOO_LARGE")


def test_truncated_image_fails_cleanly_or_warns(client: ApiClient) -> None:
    done = _process(client, corpus_path("truncated_image.png"), "truncated.png")
    if done["status"] == "failed":
        assert done["error_code"] == "CORRUPT_FILE"
    else:
        warnings = [w["code"] for w in client.extracted(done["id"])["warnings"]]
        assert "TRUNCATED_IMAGE" in warnings


def test_mislabelled_workbooks_are_processed_by_content(client: ApiClient) -> None:
    xlsx_as_xls = _process(client, corpus_path("xlsx_content_named.xls"), "export.xls")
    assert xlsx_as_xls["status"] == "completed", xlsx_as_xls
    assert xlsx_as_xls["mime_type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert [w["code"] for w in xlsx_as_xls["upload_warnings"]] == ["EXTENSION_MISMATCH"]

    ods_as_xlsx = _process(client, corpus_path("ods_content_named.xlsx"), "export.xlsx")
    assert ods_as_xlsx["mime_type"] == "application/vnd.oasis.opendocument.spreadsheet"
    assert ods_as_xlsx["status"] == "completed", ods_as_xlsx


def test_corrupt_workbook_never_5xx(client: ApiClient) -> None:
    done = _process(client, corpus_path("workbook_corruption.xls"), "corrupt.xls")
    assert done["status"] in ("completed", "failed")
    if done["status"] == "failed":
        assert done["error_code"] == "CORRUPT_FILE"


def test_duplicate_upload_is_flagged(client: ApiClient) -> None:
    first = client.upload_bytes(small_text_pdf(), "a.pdf").json()["data"]
    second = client.upload_bytes(small_text_pdf(), "b.pdf").json()["data"]
    assert second["duplicate_of_id"] == first["id"]
    assert "DUPLICATE_UPLOAD" in [w["code"] for w in second["upload_warnings"]]


def test_auth_errors_are_envelopes(live_stack: Stack) -> None:
    anonymous = ApiClient(live_stack.base_url)
    _assert_error(anonymous.get("/api/documents/"), 401, "NOT_AUTHENTICATED")
    _assert_error(anonymous.get("/api/users/me", headers={"Authorization": "Bearer abc.def.ghi"}), 401, "INVALID_TOKEN")
    account = anonymous.register_and_login()
    refresh_as_access = anonymous.get("/api/users/me", headers={"Authorization": f"Bearer {account['refresh_token']}"})
    _assert_error(refresh_as_access, 401, "INVALID_TOKEN")
    _assert_error(
        anonymous.http.post("/api/auth/login", data={"username": account["username"], "password": "wrong-pass"}),
        401,
        "INVALID_CREDENTIALS",
    )
    _assert_error(anonymous.get("/api/documents/not-an-id"), 404, "DOCUMENT_NOT_FOUND")
    _assert_error(anonymous.get("/no/such/route"), 404, "NOT_FOUND")
    _assert_error(anonymous.request("PATCH", "/api/documents/"), 405, "METHOD_NOT_ALLOWED")
    _assert_error(anonymous.get("/api/documents/", params={"page": 0}), 422, "VALIDATION_ERROR")


def test_worker_is_still_up_after_every_bad_file(client: ApiClient, live_stack: Stack) -> None:
    """Runs after the bad files above (same worker process): it is alive and still processing."""
    assert live_stack.processes["worker"].poll() is None
    done = _process(client, small_text_pdf(), "after-the-storm.pdf")
    assert done["status"] == "completed"
