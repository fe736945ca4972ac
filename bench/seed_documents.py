"""Seed N documents (default 10,000) for one user directly in PostgreSQL: `.venv/bin/python -m
bench.seed_documents --database-url postgresql://... --owner USERNAME [--count 10000]`.

Batched multi-row INSERTs through the app's own table (so the columns stay the model's). A realistic
mix: 80 % completed, 10 % failed, 6 % pending, 4 % processing; PDFs, workbooks, images and HWP with
their MIME types and plausible sizes; uploaded over the last 90 days, more of them recently. No files
are written (the reads measured never open one) and no extraction rows (neither the list nor the
statistics read them).
"""

from __future__ import annotations

import argparse
import hashlib
import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import create_engine, insert, select

from fastapi_app.models import Document, User

STATUSES = [("completed", 80), ("failed", 10), ("pending", 6), ("processing", 4)]
FILE_TYPES = {
    "pdf": ("application/pdf", "pdf", 60, (20_000, 8_000_000)),
    "excel": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx", 20, (8_000, 3_000_000)),
    "image": ("image/jpeg", "jpg", 15, (50_000, 6_000_000)),
    "hwp": ("application/x-hwp", "hwp", 5, (15_000, 2_000_000)),
}
STAGES = {"completed": "done", "failed": "extracting", "pending": "queued", "processing": "extracting"}
NAMES = ["거래명세서", "세금계산서", "invoice", "견적서", "receipt", "영수증", "statement", "report"]


def _sync_url(url: str) -> str:
    # The app's URLs may name the async driver; the seeder is synchronous.
    return url.replace("+asyncpg", "+psycopg").replace("postgresql://", "postgresql+psycopg://", 1)


def document_rows(
    owner_id: uuid.UUID, count: int, *, seed: int = 16, now: datetime | None = None
) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    now = now or datetime.now(UTC)
    statuses, status_weights = zip(*STATUSES, strict=True)
    families = list(FILE_TYPES)
    family_weights = [FILE_TYPES[f][2] for f in families]
    rows = []
    for index in range(count):
        status = rng.choices(statuses, status_weights)[0]
        family = rng.choices(families, family_weights)[0]
        mime, extension, _, (low, high) = FILE_TYPES[family]
        # Skewed towards recent days, as uploads of a growing account are.
        created = now - timedelta(days=90 * rng.random() ** 1.5, seconds=rng.randrange(86_400))
        started = created + timedelta(seconds=rng.uniform(0.1, 30))
        processing_ms = rng.randint(150, 45_000) if status in ("completed", "failed") else None
        finished = started + timedelta(milliseconds=processing_ms) if processing_ms is not None else None
        document_id = uuid.UUID(int=rng.getrandbits(128), version=4)
        rows.append(
            {
                "id": document_id,
                "owner_id": owner_id,
                "original_filename": f"{rng.choice(NAMES)}_{index:05d}.{extension}",
                "stored_name": f"{document_id.hex}.{extension}",
                "file_type": family,
                "mime_type": mime,
                "size_bytes": int(rng.lognormvariate(0, 1) * (low + high) / 8) % high + low,
                "sha256": hashlib.sha256(document_id.bytes).hexdigest(),
                "status": status,
                "stage": STAGES[status],
                "progress": 100 if status == "completed" else rng.randint(0, 90),
                "error_code": "EXTRACTION_FAILED" if status == "failed" else None,
                "error_message": "The file could not be read." if status == "failed" else None,
                "upload_warnings": [],
                "current_run": 1,
                "attempts": 0 if status == "pending" else 1,
                "queued_at": created,
                "processing_started_at": None if status == "pending" else started,
                "completed_at": finished if status == "completed" else None,
                "processing_ms": processing_ms,
                "created_at": created,
                "updated_at": finished or started,
            }
        )
    return rows


def seed(database_url: str, owner: str, count: int) -> uuid.UUID:
    """Insert `count` documents for the user named `owner` (a username or id); returns the user's id."""
    engine = create_engine(_sync_url(database_url))
    try:
        with engine.begin() as connection:
            users = User.__table__
            column = users.c.username
            try:
                owner_key: Any = uuid.UUID(owner)
                column = users.c.id
            except ValueError:
                owner_key = owner
            owner_id = connection.scalar(select(users.c.id).where(column == owner_key))
            if owner_id is None:
                raise SystemExit(f"no user {owner!r}")
            # An executemany: SQLAlchemy batches it into multi-row INSERTs itself ("insertmanyvalues"),
            # without compiling one statement of 23,000 parameters per batch.
            connection.execute(insert(Document.__table__), document_rows(owner_id, count))
            connection.exec_driver_sql("ANALYZE documents")
        return owner_id
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--owner", required=True, help="username or user id")
    parser.add_argument("--count", type=int, default=10_000)
    args = parser.parse_args()
    started = datetime.now(UTC)
    owner_id = seed(args.database_url, args.owner, args.count)
    elapsed = (datetime.now(UTC) - started).total_seconds()
    print(f"{args.count} documents for {owner_id} in {elapsed:.1f} s")


if __name__ == "__main__":
    main()
