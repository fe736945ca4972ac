"""quotas: per-user overrides of the upload quotas (null = the settings' default) and the day's upload count

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("quota_documents_per_day", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("quota_storage_bytes", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("uploads_day", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("uploads_today", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("uploads_today")
        batch_op.drop_column("uploads_day")
        batch_op.drop_column("quota_storage_bytes")
        batch_op.drop_column("quota_documents_per_day")
