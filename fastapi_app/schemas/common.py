"""The response envelope of SPEC §2, as typed models so /openapi.json documents every shape."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")


class ApiResponse(BaseModel, Generic[T]):
    success: bool = True
    message: str = "OK"
    data: T


class PagedResponse(BaseModel, Generic[T]):
    success: bool = True
    message: str = "OK"
    data: list[T]
    total: int
    page: int
    page_size: int
    total_pages: int


class ErrorResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "success": False,
                "message": "Document not found.",
                "error_code": "DOCUMENT_NOT_FOUND",
                "details": None,
            }
        }
    )

    success: bool = False
    message: str
    error_code: str = Field(description="Stable UPPER_SNAKE code; see the README's list.")
    details: dict[str, Any] | None = None


def ok(data: Any, message: str = "OK") -> dict[str, Any]:
    return {"success": True, "message": message, "data": data}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries documenting the error envelope for the given statuses."""
    descriptions = {
        400: "Bad request",
        401: "Missing, invalid or expired token",
        403: "Forbidden",
        404: "Not found (also for another user's objects)",
        409: "Conflict",
        413: "File too large",
        415: "Unsupported or mislabelled file type",
        422: "Validation error",
        429: "Rate limited",
        503: "A backing service is unavailable",
    }
    return {s: {"model": ErrorResponse, "description": descriptions.get(s, "Error")} for s in statuses}
