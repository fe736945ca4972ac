"""The document filters, written once: the WHERE clauses of the documents list (Core statements on the
raw pool, fastapi_app/db/direct.py) and of the batch summary (the ORM) alike.

Each filter is a clause with a named bind parameter, so a statement's shape depends only on which
filters are set (the list compiles each shape once) and the values are bound at execution.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, bindparam

from fastapi_app.models import Document

_DOCUMENTS = Document.__table__


@dataclass(frozen=True, slots=True)
class DocumentFilter:
    """What a caller narrows the owner's documents to; None (or empty) means not filtered."""

    status: str | None = None
    file_type: str | None = None
    search: str | None = None  # part of the file name, matched literally
    date_from: datetime | None = None  # uploaded at or after
    date_to: datetime | None = None  # uploaded at or before
    document_ids: tuple[uuid.UUID, ...] = ()


_CLAUSES: dict[str, Callable[[], ColumnElement[bool]]] = {
    "document_ids": lambda: _DOCUMENTS.c.id.in_(bindparam("document_ids", expanding=True)),
    "status": lambda: _DOCUMENTS.c.status == bindparam("status"),
    "file_type": lambda: _DOCUMENTS.c.file_type == bindparam("file_type"),
    "search": lambda: _DOCUMENTS.c.original_filename.ilike(bindparam("search"), escape="\\"),
    "date_from": lambda: _DOCUMENTS.c.created_at >= bindparam("date_from"),
    "date_to": lambda: _DOCUMENTS.c.created_at <= bindparam("date_to"),
}


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def filter_params(document_filter: DocumentFilter) -> dict[str, Any]:
    """The bind values of the filters that are set, by name (in the order of `filter_clauses`)."""
    params: dict[str, Any] = {}
    if document_filter.document_ids:
        params["document_ids"] = list(document_filter.document_ids)
    if document_filter.status:
        params["status"] = document_filter.status
    if document_filter.file_type:
        params["file_type"] = document_filter.file_type
    if document_filter.search:
        params["search"] = f"%{_escape_like(document_filter.search)}%"
    if document_filter.date_from:
        params["date_from"] = document_filter.date_from
    if document_filter.date_to:
        params["date_to"] = document_filter.date_to
    return params


def set_filters(params: Iterable[str]) -> tuple[str, ...]:
    """The names of the filters among `params` (which may hold other bind values): a statement's shape."""
    present = set(params)
    return tuple(name for name in _CLAUSES if name in present)


def filter_clauses(names: Iterable[str]) -> list[ColumnElement[bool]]:
    """The WHERE clauses of the filters `names` (from `set_filters`), bound by name."""
    return [_CLAUSES[name]() for name in names]
