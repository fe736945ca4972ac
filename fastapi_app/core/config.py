"""One typed settings object, read from the environment and `.env`."""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]

# Values shipped in .env.example and the seed README; refusing them outside development is the
# point of listing them.
EXAMPLE_SECRET_KEYS = frozenset(
    {
        "",
        "change-me",
        "changethis",
        "your-secret-key-change-in-production",
        "CHANGE-ME-generate-with-openssl-rand-hex-32",
    }
)
DEFAULT_FLOWER_CREDENTIALS = frozenset({"admin:password123", "admin:admin", ""})


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=PROJECT_ROOT / ".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=True,
    )

    APP_NAME: str = "Document Processing API"
    ENVIRONMENT: Literal["development", "test", "production"] = "development"
    DEBUG: bool = False

    DATABASE_URL: str = f"sqlite:///{PROJECT_ROOT / 'data' / 'app.sqlite3'}"
    DB_POOL_SIZE: int = 10
    DB_MAX_OVERFLOW: int = 20
    DB_READ_POOL_SIZE: int = Field(default=20, ge=1)
    DB_ECHO: bool = False

    SECRET_KEY: str = "change-me"
    JWT_ALGORITHM: Literal["HS256", "HS384", "HS512"] = "HS256"
    ACCESS_TOKEN_EXPIRE_MINUTES: int = 60
    REFRESH_TOKEN_EXPIRE_DAYS: int = 14
    JWT_LEEWAY_SECONDS: int = 10
    # Each API process re-reads the accounts of its open WebSockets this often, closing those whose
    # sessions ended without the process hearing of it (a Redis outage, the embedded mode's CLI).
    WS_SESSION_CHECK_SECONDS: float = Field(default=5.0, gt=0)

    # Empty broker means the embedded SQLite-backed broker: no server needed in development.
    CELERY_BROKER_URL: str = ""
    CELERY_RESULT_BACKEND: str = ""
    REDIS_URL: str = ""
    # Per-user cache of the document reads and statistics in that Redis (fastapi_app/core/cache.py).
    CACHE_ENABLED: bool = True
    CACHE_TTL_SECONDS: int = Field(default=300, ge=1, le=86_400)
    CELERY_QUEUE: str = "documents"
    # Webhook deliveries have a queue of their own, so slow receivers never wait in line with documents
    # (and a worker started with -Q can serve one kind only). A worker without -Q consumes both.
    CELERY_WEBHOOK_QUEUE: str = "webhooks"
    CELERY_TASK_SOFT_TIME_LIMIT: int = 300
    CELERY_TASK_TIME_LIMIT: int = 360
    CELERY_TASK_ALWAYS_EAGER: bool = False
    CELERY_TASK_SENT_EVENT: bool = False
    # A pool child is replaced after this many tasks: parsers and OCR fragment the heap.
    CELERY_MAX_TASKS_PER_CHILD: int = 200
    MAX_PROCESSING_ATTEMPTS: int = 3
    # PDFs with more pages than this are split into parts of PAGE_FANOUT_CHUNK pages that workers
    # extract in parallel, then merged into one extraction; 0 = never split.
    PAGE_FANOUT_THRESHOLD: int = Field(default=8, ge=0)
    PAGE_FANOUT_CHUNK: int = Field(default=4, ge=1)
    # Only PDFs with pages to OCR are split (judged from a sample of 8 pages): a text page costs ~10 ms
    # and a part ~100 ms, so splitting a text PDF made it slower (bench.page_fanout --pdf). True splits
    # text PDFs too.
    PAGE_FANOUT_TEXT_PDFS: bool = False
    # A float so drills and tests can use seconds-scale thresholds (0.1 = 6 s).
    STALE_PROCESSING_MINUTES: float = 15
    # Celery beat runs the recovery sweep (documents.recover_stale) this often; one beat per deployment.
    RECOVERY_SWEEP_SECONDS: float = 60
    # KiB of resident memory after which a worker child is replaced once its task ends; 0 = never.
    CELERY_WORKER_MAX_MEMORY_PER_CHILD: int = 750_000
    # Address space (RLIMIT_AS) of each worker pool child and the tesseract it runs, in MiB; 0 = no limit.
    # An allocation past it fails inside the task (MEMORY_LIMIT) instead of swapping or the OOM killer
    # picking a process; a native library that aborts on it costs the child (WORKER_LOST after retries).
    WORKER_MEMORY_LIMIT_MB: int = Field(default=2048, ge=0)

    MAX_UPLOAD_SIZE: int = 10 * 1024 * 1024
    UPLOAD_DIR: Path = PROJECT_ROOT / "media" / "documents"
    UPLOAD_CHUNK_SIZE: int = 1024 * 1024
    # A multipart body may carry this much besides the file (boundaries, part headers, form fields), and
    # this many parts; both hold with or without Content-Length (413 FILE_TOO_LARGE / TOO_MANY_PARTS).
    MAX_UPLOAD_OVERHEAD: int = Field(default=64 * 1024, ge=4096)
    MAX_UPLOAD_PARTS: int = Field(default=16, ge=1)
    # `upload-*` temp files untouched this long are left by a dead API process and swept (at API start
    # and by the recovery sweep). A live upload rewrites its file every UPLOAD_CHUNK_SIZE bytes.
    UPLOAD_TEMP_MAX_AGE_MINUTES: float = Field(default=60, gt=0)

    # Where originals live. local = UPLOAD_DIR (one host, or a shared mount); s3 = an S3-compatible
    # bucket, so workers on other hosts read the same uploads (UPLOAD_DIR then only holds temp files).
    STORAGE_BACKEND: Literal["local", "s3"] = "local"
    S3_BUCKET: str = ""
    S3_PREFIX: str = ""
    S3_ENDPOINT_URL: str = ""
    S3_REGION: str = ""
    # Empty = boto3's own chain (AWS_* variables, shared config, instance or task role).
    S3_ACCESS_KEY_ID: str = ""
    S3_SECRET_ACCESS_KEY: SecretStr = SecretStr("")

    MAX_PDF_PAGES: int = 500
    MAX_SPREADSHEET_CELLS: int = 2_000_000
    MAX_IMAGE_PIXELS: int = 89_478_485
    # A sheet's used range (rows x columns, empty cells included) above this is refused before a reader
    # allocates it as one grid (~32 bytes a cell in calamine): a 5 KB file can name cell XFD1048576.
    MAX_SHEET_GRID_CELLS: int = Field(default=10_000_000, ge=1)
    # Zip-based uploads (xlsx, xlsm, ods): caps on what one member and the whole archive may inflate
    # to, and on a member's inflated/compressed ratio; checked on the declared sizes at upload and on
    # the bytes actually inflated in the worker.
    ARCHIVE_MAX_MEMBER_SIZE: int = Field(default=512 * 1024 * 1024, ge=1)
    ARCHIVE_MAX_TOTAL_SIZE: int = Field(default=1024 * 1024 * 1024, ge=1)
    ARCHIVE_MAX_RATIO: int = Field(default=200, ge=1)
    # POST /api/documents/batch: files per batch (also entries of a batch ZIP) and the request body's
    # size (the files together, or the ZIP); each file is still held to MAX_UPLOAD_SIZE.
    BATCH_MAX_FILES: int = Field(default=100, ge=1, le=1000)
    BATCH_MAX_TOTAL_SIZE: int = Field(default=200 * 1024 * 1024, ge=1)
    # Idempotency-Key answers are remembered this long (in Redis when configured; else in the process).
    IDEMPOTENCY_TTL_SECONDS: int = Field(default=24 * 3600, ge=60)
    # A retry that arrives while the first request with its key is still running waits this long for its
    # answer, then gets 409 IDEMPOTENCY_REQUEST_IN_PROGRESS.
    IDEMPOTENCY_WAIT_SECONDS: float = Field(default=10.0, ge=0)
    OCR_LANGUAGES: str = "kor+eng"
    OCR_ENABLED: bool = True
    OCR_DPI: int = 300

    # Rendered report files (cached on first download; deleted with their document).
    REPORTS_DIR: Path = PROJECT_ROOT / "media" / "reports"
    # A TrueType font with Hangul for PDF reports; empty = NanumGothic from fonts-nanum when present.
    REPORT_FONT_PATH: str = ""

    # Webhooks: targets on private, loopback or link-local networks are refused unless allowed
    # (tests and closed company networks); checked at save time and again before each send.
    WEBHOOK_ALLOW_PRIVATE_TARGETS: bool = False
    # One deadline per attempt for connect, request and the whole response together, not per read.
    WEBHOOK_TIMEOUT_SECONDS: float = Field(default=10.0, gt=0)
    WEBHOOK_MAX_ATTEMPTS: int = 6
    WEBHOOK_RETRY_BASE_SECONDS: float = 2.0
    WEBHOOK_RETRY_MAX_SECONDS: float = 600.0

    CORS_ORIGINS: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Peers whose X-Forwarded-For / X-Forwarded-Proto are believed (addresses or CIDR networks).
    TRUSTED_PROXIES: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["127.0.0.1", "::1"])

    # Rate limits ("<count>/<second|minute|hour|day>", the `limits` library's notation).
    RATE_LIMITS_ENABLED: bool = True
    RATE_LIMIT_STRATEGY: Literal["moving-window", "fixed-window", "sliding-window-counter"] = "moving-window"
    RATE_LIMIT_LOGIN: str = "10/minute"
    # One account from one address: the limit that stops guessing a password. The account's own
    # ceiling, over all addresses, is higher, so failing from one address cannot lock its owner out.
    RATE_LIMIT_LOGIN_ACCOUNT_IP: str = "10/minute"
    RATE_LIMIT_LOGIN_ACCOUNT: str = "100/minute"
    RATE_LIMIT_REGISTER: str = "5/minute"
    RATE_LIMIT_UPLOAD: str = "60/minute"
    RATE_LIMIT_UPLOAD_IP: str = "120/minute"

    # Per-account upload quotas (an admin can override both per account); 0 = unlimited. Superusers
    # are unlimited unless an override is set on their own account.
    QUOTA_DOCUMENTS_PER_DAY: int = Field(default=0, ge=0)
    QUOTA_STORAGE_BYTES: int = Field(default=0, ge=0)
    # The IANA zone whose midnight starts a new quota day (and the Retry-After of a full day).
    QUOTA_TIMEZONE: str = "UTC"

    LOG_DIR: Path = PROJECT_ROOT / "logs"
    LOG_LEVEL: str = "INFO"
    LOG_FORMAT: Literal["text", "json"] = "text"
    LOG_RETENTION_DAYS: int = 14

    FLOWER_BASIC_AUTH: str = "admin:password123"
    # Where an operator's browser reaches Flower (e.g. https://ops.example.com/flower/); the admin
    # dashboard links to it. Empty = no link.
    FLOWER_PUBLIC_URL: str = ""

    # The web app's session cookies (refresh token, CSRF token): `auto` marks them Secure when the
    # request came over https (directly, or per X-Forwarded-Proto from a TRUSTED_PROXIES peer).
    SESSION_COOKIE_SECURE: Literal["auto", "true", "false"] = "auto"
    # Widest page preview rendered (GET /api/documents/{id}/pages/{n}/preview?width=), in pixels.
    PREVIEW_MAX_WIDTH: int = Field(default=2000, ge=200, le=4000)

    # GraphQL at /api/v1/graphql (fastapi_app/api/graphql): limits checked before anything runs.
    GRAPHQL_MAX_DEPTH: int = Field(default=8, ge=1)
    GRAPHQL_MAX_ALIASES: int = Field(default=15, ge=0)
    GRAPHQL_MAX_TOKENS: int = Field(default=2000, ge=10)
    # Introspection (and so the GraphiQL page, useless without the schema): `auto` = on only when
    # ENVIRONMENT is development.
    GRAPHQL_INTROSPECTION: Literal["auto", "true", "false"] = "auto"

    # Shared directory for prometheus_client's multiprocess mode (API workers and Celery children
    # on one host). Empty = per-process metrics. Must be emptied before the processes start.
    PROMETHEUS_MULTIPROC_DIR: str = ""
    # When set, each Celery worker also serves its host's metrics on this port (workers on other hosts).
    WORKER_METRICS_PORT: int = 0
    # When set, GET /metrics needs `Authorization: Bearer <token>` (Prometheus: `authorization:` in the
    # scrape config), on top of nginx serving it to internal networks only.
    METRICS_TOKEN: SecretStr = SecretStr("")

    FIRST_SUPERUSER_PASSWORD: str = ""

    @field_validator("CORS_ORIGINS", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("TRUSTED_PROXIES", mode="before")
    @classmethod
    def _split_proxies(cls, value: object) -> object:
        if isinstance(value, str):
            return [entry.strip() for entry in value.split(",") if entry.strip()]
        return value

    @field_validator("TRUSTED_PROXIES", mode="after")
    @classmethod
    def _valid_networks(cls, value: list[str]) -> list[str]:
        for entry in value:
            ipaddress.ip_network(entry, strict=False)  # ValueError names the bad entry at startup
        return value

    @field_validator(
        "RATE_LIMIT_LOGIN",
        "RATE_LIMIT_LOGIN_ACCOUNT",
        "RATE_LIMIT_LOGIN_ACCOUNT_IP",
        "RATE_LIMIT_REGISTER",
        "RATE_LIMIT_UPLOAD",
        "RATE_LIMIT_UPLOAD_IP",
    )
    @classmethod
    def _valid_rate(cls, value: str) -> str:
        from limits import parse

        parse(value)  # a typo must stop the service at startup, not surface on the first login
        return value

    @field_validator("QUOTA_DOCUMENTS_PER_DAY", "QUOTA_STORAGE_BYTES", mode="before")
    @classmethod
    def _empty_is_unlimited(cls, value: object) -> object:
        return 0 if isinstance(value, str) and not value.strip() else value

    @field_validator("QUOTA_TIMEZONE")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            # A KeyError would escape pydantic; a ValueError stops the service at startup, naming the field.
            raise ValueError(f"unknown IANA time zone {value!r}, e.g. UTC or Asia/Seoul") from None
        return value

    @field_validator("UPLOAD_DIR", "LOG_DIR", "REPORTS_DIR", mode="after")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value if value.is_absolute() else (PROJECT_ROOT / value).resolve()

    @model_validator(mode="after")
    def _storage_complete(self) -> Settings:
        if self.STORAGE_BACKEND == "s3" and not self.S3_BUCKET.strip():
            raise ValueError("STORAGE_BACKEND=s3 needs S3_BUCKET")
        if bool(self.S3_ACCESS_KEY_ID) != bool(self.S3_SECRET_ACCESS_KEY.get_secret_value()):
            raise ValueError("set both S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY, or neither")
        return self

    @model_validator(mode="after")
    def _refuse_example_secrets(self) -> Settings:
        # ENVIRONMENT alone decides: DEBUG is a verbosity switch, and an operator turning it on to chase
        # a production bug must not also start the service on a guessable signing key.
        if self.ENVIRONMENT != "production":
            return self
        if self.SECRET_KEY in EXAMPLE_SECRET_KEYS or len(self.SECRET_KEY) < 32:
            raise ValueError(
                "SECRET_KEY is an example value or shorter than 32 characters; "
                "generate one with: python -c 'import secrets; print(secrets.token_urlsafe(48))'"
            )
        if self.FLOWER_BASIC_AUTH in DEFAULT_FLOWER_CREDENTIALS:
            raise ValueError("FLOWER_BASIC_AUTH is the default; set user:strong-password")
        return self

    # --- derived values -----------------------------------------------------------------------

    @property
    def sync_database_url(self) -> str:
        return _with_driver(self.DATABASE_URL, asynchronous=False)

    @property
    def async_database_url(self) -> str:
        return _with_driver(self.DATABASE_URL, asynchronous=True)

    @property
    def graphql_introspection(self) -> bool:
        if self.GRAPHQL_INTROSPECTION == "auto":
            return self.ENVIRONMENT == "development"
        return self.GRAPHQL_INTROSPECTION == "true"

    @property
    def is_sqlite(self) -> bool:
        return self.DATABASE_URL.startswith("sqlite")

    @property
    def broker_url(self) -> str:
        if self.CELERY_BROKER_URL:
            return self.CELERY_BROKER_URL
        return f"sqla+sqlite:///{PROJECT_ROOT / 'data' / 'celery-broker.sqlite3'}"

    @property
    def broker_kind(self) -> str:
        url = self.broker_url
        if url.startswith(("redis://", "rediss://")):
            return "redis"
        if url.startswith("sqla+"):
            return "embedded"
        return url.split(":", 1)[0]

    @property
    def redis_url(self) -> str | None:
        """The Redis of live events, the cache, rate limits and idempotency keys: REDIS_URL, else the
        broker when it is Redis; None without either (the embedded broker)."""
        if self.REDIS_URL:
            return self.REDIS_URL
        return self.broker_url if self.broker_kind == "redis" else None


def _with_driver(url: str, *, asynchronous: bool) -> str:
    scheme, sep, rest = url.partition("://")
    base = scheme.split("+", 1)[0]
    if base in {"postgresql", "postgres"}:
        return f"postgresql+{'asyncpg' if asynchronous else 'psycopg'}{sep}{rest}"
    if base == "sqlite":
        # sqlite:///relative/path is resolved against the project, whatever the working directory.
        if rest.startswith("/") and not rest.startswith("//") and rest != "/:memory:":
            rest = "/" + str((PROJECT_ROOT / rest[1:]).resolve())
        return f"sqlite+{'aiosqlite' if asynchronous else 'pysqlite'}{sep}{rest}"
    return url


@lru_cache
def get_settings() -> Settings:
    return Settings()
