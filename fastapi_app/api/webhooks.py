"""Webhook secret (read, rotate) and each document's deliveries with their attempts."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from fastapi_app.api.deps import CurrentUser, OwnedDocument, SessionDep
from fastapi_app.schemas.common import ApiResponse, error_responses, ok
from fastapi_app.services import webhook_service

router = APIRouter(tags=["webhooks"])


class WebhookSecretOut(BaseModel):
    secret: str = Field(description="HMAC-SHA256 key for X-Webhook-Signature; keep it private")
    signature_header: str = webhook_service.SIGNATURE_HEADER
    algorithm: str = "HMAC-SHA256 over '<X-Webhook-Timestamp>.<raw body>', hex, prefixed 'sha256='"


class WebhookAttemptOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    attempt_number: int
    started_at: datetime
    duration_ms: int | None
    status_code: int | None
    error: str | None
    response_excerpt: str | None = Field(description="First 500 characters of the receiver's answer")


class WebhookDeliveryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID = Field(description="Sent as X-Webhook-Id; the same on every retry")
    document_id: uuid.UUID
    run: int
    event_type: str
    url: str
    state: str = Field(description="pending, succeeded or failed")
    attempt_count: int
    last_status_code: int | None
    last_error: str | None
    payload: dict[str, Any]
    created_at: datetime
    completed_at: datetime | None
    attempts: list[WebhookAttemptOut]


@router.get("/webhooks/secret", response_model=ApiResponse[WebhookSecretOut], responses=error_responses(401))
async def get_secret(user: CurrentUser, session: SessionDep) -> dict[str, Any]:
    """Your signing secret (created on first request)."""
    secret = await webhook_service.get_secret(session, user)
    return ok(WebhookSecretOut(secret=secret))


@router.post("/webhooks/secret/rotate", response_model=ApiResponse[WebhookSecretOut], responses=error_responses(401))
async def rotate_secret(user: CurrentUser, session: SessionDep) -> dict[str, Any]:
    """A new signing secret; every send from now on, retries included, is signed with it."""
    secret = await webhook_service.rotate_secret(session, user)
    return ok(WebhookSecretOut(secret=secret), "Webhook secret rotated")


@router.get(
    "/documents/{document_id}/webhooks",
    response_model=ApiResponse[list[WebhookDeliveryOut]],
    responses=error_responses(401, 404),
)
async def list_deliveries(document: OwnedDocument, session: SessionDep) -> dict[str, Any]:
    """Webhook deliveries of a document, newest first, each with every attempt."""
    deliveries = await webhook_service.list_deliveries(session, document.id)
    return ok([WebhookDeliveryOut.model_validate(d) for d in deliveries])
