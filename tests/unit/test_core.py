"""Pure logic: settings, tokens, file names, type detection, log redaction."""

from __future__ import annotations

import base64
import hashlib
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
from cryptography.fernet import Fernet
from cryptography.fernet import InvalidToken as InvalidFernetToken
from pydantic import ValidationError

from fastapi_app.api.documents import content_disposition
from fastapi_app.core.config import Settings, _with_driver
from fastapi_app.core.errors import FileTypeMismatch, InvalidToken, TokenExpired, UnsupportedFileType
from fastapi_app.core.logging import redact
from fastapi_app.core.security import (
    create_token,
    decode_token,
    decrypt_secret,
    encrypt_secret,
    fernet_key,
    jwt_signing_key,
    legacy_fernet_key,
)
from fastapi_app.extractors.text_analysis import detect_language
from fastapi_app.files.filetypes import detect_type, sanitize_filename
from tests.support.corpus import corpus_path
from tests.support.documents import korean_invoice_xlsx, small_text_pdf

# --- settings ---------------------------------------------------------------------------------


def test_driver_urls_for_both_engines() -> None:
    assert _with_driver("postgresql://u:p@db:5432/app", asynchronous=True) == "postgresql+asyncpg://u:p@db:5432/app"
    assert _with_driver("postgresql://u:p@db:5432/app", asynchronous=False) == "postgresql+psycopg://u:p@db:5432/app"
    assert _with_driver("sqlite:////tmp/x.db", asynchronous=True) == "sqlite+aiosqlite:////tmp/x.db"
    relative = _with_driver("sqlite:///./data/app.sqlite3", asynchronous=False)
    assert relative.startswith("sqlite+pysqlite:////") and relative.endswith("/data/app.sqlite3")


def test_production_refuses_example_secrets() -> None:
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        Settings(ENVIRONMENT="production", DEBUG=False, SECRET_KEY="CHANGE-ME-generate-with-openssl-rand-hex-32")
    with pytest.raises(ValidationError, match="FLOWER_BASIC_AUTH"):
        Settings(ENVIRONMENT="production", SECRET_KEY="x" * 48, FLOWER_BASIC_AUTH="admin:password123")
    ok = Settings(ENVIRONMENT="production", SECRET_KEY="x" * 48, FLOWER_BASIC_AUTH="ops:s3cret-long-pass")
    assert ok.broker_kind in {"embedded", "redis"}
    # Development is allowed to start on the defaults.
    assert Settings(ENVIRONMENT="development", SECRET_KEY="change-me").SECRET_KEY == "change-me"


def test_debug_does_not_switch_off_the_production_secret_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    # As an operator would set it: DEBUG=true in the environment of a production deployment.
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("DEBUG", "true")
    monkeypatch.setenv("FLOWER_BASIC_AUTH", "ops:s3cret-long-pass")
    for weak in ("change-me", "CHANGE-ME-generate-with-openssl-rand-hex-32", "short-but-not-an-example"):
        monkeypatch.setenv("SECRET_KEY", weak)
        with pytest.raises(ValidationError, match="SECRET_KEY is an example value or shorter than 32"):
            Settings()
    monkeypatch.setenv("SECRET_KEY", "x" * 48)
    monkeypatch.setenv("FLOWER_BASIC_AUTH", "admin:password123")
    with pytest.raises(ValidationError, match="FLOWER_BASIC_AUTH is the default"):
        Settings()
    monkeypatch.setenv("FLOWER_BASIC_AUTH", "ops:s3cret-long-pass")
    assert Settings().DEBUG is True  # strong secrets: DEBUG itself is still the operator's choice


def test_cors_origins_from_a_comma_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORS_ORIGINS", "https://a.example.com, https://b.example.com")
    assert Settings().CORS_ORIGINS == ["https://a.example.com", "https://b.example.com"]


def test_embedded_broker_when_none_configured() -> None:
    settings = Settings(CELERY_BROKER_URL="")
    assert settings.broker_kind == "embedded" and settings.broker_url.startswith("sqla+sqlite:///")
    assert Settings(CELERY_BROKER_URL="redis://h:6379/0").broker_kind == "redis"


# --- tokens -----------------------------------------------------------------------------------


def test_access_and_refresh_tokens_are_not_interchangeable() -> None:
    user_id = uuid.uuid4()
    access, _ = create_token(user_id, "access", version=3)
    refresh, claims = create_token(user_id, "refresh", version=3, family="f1")
    assert decode_token(access, "access").subject == user_id
    assert decode_token(access, "access").version == 3 == decode_token(refresh, "refresh").version
    assert decode_token(refresh, "refresh").family == "f1" == claims.family
    with pytest.raises(InvalidToken):
        decode_token(refresh, "access")
    with pytest.raises(InvalidToken):
        decode_token(access, "refresh")


TEST_SECRET_KEY = "test-secret-key-that-is-long-enough-0123456789"  # tests/conftest.py's


def _forge(payload: dict, key: str | bytes | None = None, alg: str = "HS256") -> str:  # type: ignore[type-arg]
    return jwt.encode(payload, jwt_signing_key(TEST_SECRET_KEY) if key is None else key, algorithm=alg)


def test_expired_tampered_and_unsigned_tokens_are_refused() -> None:
    now = datetime.now(UTC)
    base = {"sub": str(uuid.uuid4()), "type": "access", "jti": "j", "iat": now, "ver": 0}
    with pytest.raises(TokenExpired):
        decode_token(_forge({**base, "exp": now - timedelta(minutes=5)}), "access")
    # Within the leeway of a few seconds: still accepted (clock skew between hosts).
    assert decode_token(_forge({**base, "exp": now - timedelta(seconds=3)}), "access")
    with pytest.raises(InvalidToken):
        decode_token(
            _forge({**base, "exp": now + timedelta(minutes=5)}, key="another-key-another-key-another-key"), "access"
        )
    unsigned = jwt.encode({**base, "exp": now + timedelta(minutes=5)}, key=None, algorithm="none")  # type: ignore[arg-type]
    with pytest.raises(InvalidToken):
        decode_token(unsigned, "access")
    token = _forge({**base, "exp": now + timedelta(minutes=5)})
    header, payload, signature = token.split(".")
    tampered = f"{header}.{payload[:-2]}AA.{signature}"
    with pytest.raises(InvalidToken):
        decode_token(tampered, "access")
    with pytest.raises(InvalidToken):
        decode_token(_forge({"sub": "x", "type": "access", "exp": now + timedelta(minutes=5)}), "access")
    # No token version: it could never be checked against the account's, so it is not a token of ours.
    unversioned = {key: value for key, value in base.items() if key != "ver"}
    with pytest.raises(InvalidToken):
        decode_token(_forge({**unversioned, "exp": now + timedelta(minutes=5)}), "access")
    with pytest.raises(InvalidToken):
        decode_token(_forge({**base, "ver": "0", "exp": now + timedelta(minutes=5)}), "access")


def test_tokens_are_signed_with_a_key_derived_from_secret_key_not_with_secret_key_itself() -> None:
    now = datetime.now(UTC)
    payload = {"sub": str(uuid.uuid4()), "type": "access", "jti": "j", "iat": now, "ver": 0}
    payload["exp"] = now + timedelta(minutes=5)
    # Signed with SECRET_KEY as it stands (the derivation before HKDF): refused.
    with pytest.raises(InvalidToken):
        decode_token(_forge(payload, key=TEST_SECRET_KEY), "access")
    token, _ = create_token(uuid.uuid4(), "access", version=0)
    jwt.decode(token, jwt_signing_key(TEST_SECRET_KEY), algorithms=["HS256"])  # raises if signed otherwise
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, TEST_SECRET_KEY, algorithms=["HS256"])


def test_each_use_of_secret_key_has_its_own_derived_key() -> None:
    keys = [
        jwt_signing_key(TEST_SECRET_KEY)[:32],
        base64.urlsafe_b64decode(fernet_key(TEST_SECRET_KEY, "document-password")),
        base64.urlsafe_b64decode(fernet_key(TEST_SECRET_KEY, "webhook-secret")),
        base64.urlsafe_b64decode(legacy_fernet_key(TEST_SECRET_KEY)),
        TEST_SECRET_KEY.encode()[:32],
    ]
    assert len(set(keys)) == len(keys)
    # Deterministic: every API process and worker derives the same keys from the same SECRET_KEY.
    assert fernet_key(TEST_SECRET_KEY, "webhook-secret") == fernet_key(TEST_SECRET_KEY, "webhook-secret")
    assert fernet_key("another-secret-key-that-is-long-enough-0", "webhook-secret") != fernet_key(
        TEST_SECRET_KEY, "webhook-secret"
    )


def test_document_passwords_are_encrypted_at_rest() -> None:
    sealed = encrypt_secret("openpassword")
    assert "openpassword" not in sealed
    assert decrypt_secret(sealed) == "openpassword"
    assert decrypt_secret("not-a-token") is None


def test_secrets_encrypted_under_the_old_derivation_still_decrypt() -> None:
    # Values stored before the HKDF labels were sealed with sha256("document-password:" + SECRET_KEY),
    # for document passwords and webhook secrets alike.
    old_key = base64.urlsafe_b64encode(hashlib.sha256(b"document-password:" + TEST_SECRET_KEY.encode()).digest())
    stored_before = Fernet(old_key).encrypt(b"pdf-password").decode()
    assert decrypt_secret(stored_before) == "pdf-password"
    assert decrypt_secret(stored_before, "webhook-secret") == "pdf-password"
    # New values are sealed with the purpose's own key: the old key and the other purpose cannot open them.
    sealed = encrypt_secret("whsec-value", "webhook-secret")
    assert decrypt_secret(sealed, "webhook-secret") == "whsec-value"
    assert decrypt_secret(sealed, "document-password") is None
    with pytest.raises(InvalidFernetToken):
        Fernet(old_key).decrypt(sealed.encode())
    assert Fernet(fernet_key(TEST_SECRET_KEY, "webhook-secret")).decrypt(sealed.encode()) == b"whsec-value"


# --- file names and content types -----------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("견적서 2026.xlsx", "견적서 2026.xlsx"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\kim\\송장.pdf", "송장.pdf"),
        ("a\x00b\x1f.pdf", "ab.pdf"),
        ("invoice\u202efdp.exe", "invoicefdp.exe"),
        ("NUL.pdf", "_NUL.pdf"),
        ("", "upload"),
        ("...", "upload"),
        (None, "upload"),
        ("x" * 400 + ".pdf", "x" * 251 + ".pdf"),
        ("한" * 300, "한" * 255),
    ],
)
def test_sanitize_filename(raw: str | None, clean: str) -> None:
    assert sanitize_filename(raw) == clean


def test_content_disposition_keeps_korean_names_exact() -> None:
    header = content_disposition("견적서 (최종).pdf")
    assert header.startswith('attachment; filename="')
    assert "filename*=UTF-8''%EA%B2%AC%EC%A0%81%EC%84%9C%20%28%EC%B5%9C%EC%A2%85%29.pdf" in header
    assert content_disposition('a"b\\c.pdf').split(";")[1] == ' filename="a_b_c.pdf"'


def test_type_detection_trusts_bytes_over_names(tmp_path: Path) -> None:
    pdf = tmp_path / "upload"
    pdf.write_bytes(small_text_pdf())
    assert detect_type(pdf, "report.pdf", None).family == "pdf"
    assert detect_type(pdf, "no-extension", "pdf").mime_type == "application/pdf"
    with pytest.raises(FileTypeMismatch):
        detect_type(pdf, "report.xlsx", None)
    with pytest.raises(FileTypeMismatch):
        detect_type(pdf, "report.pdf", "excel")

    xlsx = korean_invoice_xlsx(tmp_path / "book.bin")
    detected = detect_type(xlsx, "book.xls", "excel")
    assert detected.mime_type.endswith("spreadsheetml.sheet")
    assert [w["code"] for w in detected.warnings] == ["EXTENSION_MISMATCH"]

    text = tmp_path / "notes"
    text.write_text("품목,금액\n사과,1000\n", encoding="cp949")
    assert detect_type(text, "notes.csv", None).mime_type == "text/csv"
    with pytest.raises(UnsupportedFileType):
        detect_type(text, "notes.txt", None)


@pytest.mark.parametrize(
    ("name", "family", "mime"),
    [
        ("xlsx_content_named.xls", "excel", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ("ods_content_named.xlsx", "excel", "application/vnd.oasis.opendocument.spreadsheet"),
        ("vba_defined_names_multisheet.xls", "excel", "application/vnd.ms-excel"),
        ("semicolon_decimal_comma.csv", "excel", "text/csv"),
        ("flir_gps.tiff", "image", "image/tiff"),
        ("transparent_rgba.webp", "image", "image/webp"),
        ("scanned_image_only.pdf", "pdf", "application/pdf"),
    ],
)
def test_corpus_types_are_detected_from_content(name: str, family: str, mime: str) -> None:
    detected = detect_type(corpus_path(name), name, None)
    assert (detected.family, detected.mime_type) == (family, mime)


# --- text and logs ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("송장번호: INV-1 합계 금액 1,100,000원 공급자 주식회사 한빛상사", "ko"),
        ("Invoice Number 42183017 Total due 1,100,000 KRW", "en"),
        ("송장 Invoice 번호 Number 합계 Total amount due", "mixed"),
        ("12345 67890", None),
    ],
)
def test_language_detection(text: str, language: str | None) -> None:
    assert detect_language(text) == language


def test_secrets_never_reach_log_lines() -> None:
    token = jwt.encode({"sub": "1", "exp": int(time.time()) + 60}, "k" * 32, algorithm="HS256")
    line = redact(f'Authorization: Bearer {token} password=hunter2 {{"refresh_token": "{token}"}}')
    assert token not in line and "hunter2" not in line
    assert "Bearer ***" in line


def test_env_example_documents_every_setting() -> None:
    from tests.support.stack import ROOT

    documented = {
        line.split("=", 1)[0]
        for line in (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#") and "=" in line
    }
    assert set(Settings.model_fields) == documented


def test_celery_is_configured_for_safe_redelivery() -> None:
    from fastapi_app.tasks.celery_app import celery_app

    conf = celery_app.conf
    assert conf.task_acks_late and conf.task_reject_on_worker_lost
    assert conf.worker_prefetch_multiplier == 1
    assert conf.task_serializer == "json" and conf.accept_content == ["json"]
    assert conf.task_soft_time_limit < conf.task_time_limit
    # Workers' events feed Flower; the enqueue-time task-sent event is opt-in (a second publish per upload).
    assert conf.worker_send_task_events and not conf.task_send_sent_event


def test_only_infrastructure_errors_are_retried() -> None:
    from redis.exceptions import ConnectionError as RedisConnectionError
    from sqlalchemy.exc import IntegrityError, OperationalError

    from fastapi_app.extractors.base import CorruptFileError
    from fastapi_app.tasks.document_tasks import _is_transient

    assert _is_transient(OperationalError("SELECT 1", {}, Exception("server closed the connection")))
    assert _is_transient(RedisConnectionError("connection refused"))
    assert not _is_transient(IntegrityError("INSERT", {}, Exception("duplicate key")))
    assert not _is_transient(CorruptFileError("bad file"))
    assert not _is_transient(ValueError("bug"))
    from fastapi_app.files.storage import StorageError, StoredFileMissing

    assert _is_transient(StorageError("S3 unreachable"))
    assert not _is_transient(StoredFileMissing("abc.pdf"))


def test_json_log_lines_carry_the_request_id_and_no_secrets(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json
    import logging

    from fastapi_app.core.logging import ContextFilter, JsonFormatter, request_id_var

    record = logging.LogRecord("fastapi_app.test", logging.INFO, __file__, 1, "login password=hunter2 ok", None, None)
    token = request_id_var.set("req-123")
    try:
        ContextFilter().filter(record)
    finally:
        request_id_var.reset(token)
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == "req-123" and line["level"] == "INFO" and line["logger"] == "fastapi_app.test"
    assert "hunter2" not in line["message"]


def test_access_log_batches_are_written_and_overflow_is_counted(tmp_path: Path) -> None:
    import logging

    from fastapi_app.core.logging import ACCESS_LOGGER, AccessFileHandler, BatchingHandler

    target = AccessFileHandler(tmp_path / "access.log", when="midnight", delay=True)
    target.setFormatter(logging.Formatter("%(message)s"))
    handler = BatchingHandler(target, interval=3600, capacity=2)  # the writer never wakes on its own here
    for number in range(3):
        handler.handle(logging.makeLogRecord({"name": ACCESS_LOGGER, "msg": "line %d", "args": (number,)}))
    assert not (tmp_path / "access.log").exists() or (tmp_path / "access.log").read_text() == ""
    handler.drain()
    assert (tmp_path / "access.log").read_text().splitlines() == [
        "line 0",
        "line 1",
        "1 access lines dropped: the log writer fell behind",
    ]
    handler.handle(logging.makeLogRecord({"name": ACCESS_LOGGER, "msg": "at exit"}))
    handler.close()  # what is pending reaches the file on close
    assert (tmp_path / "access.log").read_text().splitlines()[-1] == "at exit"
