"""Password hashing (argon2 via pwdlib) and typed JWTs (PyJWT)."""

from __future__ import annotations

import base64
import hashlib
import secrets
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Literal

import jwt
from cryptography.fernet import Fernet
from cryptography.fernet import InvalidToken as FernetInvalidToken
from pwdlib import PasswordHash

from fastapi_app.core.config import get_settings
from fastapi_app.core.errors import InvalidToken, TokenExpired

TokenType = Literal["access", "refresh"]


@lru_cache
def _password_hash() -> PasswordHash:
    return PasswordHash.recommended()  # argon2id with pwdlib's maintained parameters


def hash_password(password: str) -> str:
    return _password_hash().hash(password)


def verify_password(password: str, hashed: str) -> bool:
    return _password_hash().verify(password, hashed)


# A hash of a random password, so a login for an unknown user costs as much as for a known one.
@lru_cache
def dummy_password_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


@dataclass(frozen=True, slots=True)
class TokenClaims:
    subject: uuid.UUID
    token_type: TokenType
    jti: str
    expires_at: datetime
    family: str | None = None


def create_token(user_id: uuid.UUID, token_type: TokenType, *, family: str | None = None) -> tuple[str, TokenClaims]:
    settings = get_settings()
    now = datetime.now(UTC)
    lifetime = (
        timedelta(minutes=settings.ACCESS_TOKEN_EXPIRE_MINUTES)
        if token_type == "access"
        else timedelta(days=settings.REFRESH_TOKEN_EXPIRE_DAYS)
    )
    claims = TokenClaims(
        subject=user_id,
        token_type=token_type,
        jti=secrets.token_hex(16),
        expires_at=now + lifetime,
        family=family,
    )
    payload: dict[str, object] = {
        "sub": str(user_id),
        "type": token_type,
        "jti": claims.jti,
        "iat": now,
        "exp": claims.expires_at,
    }
    if family:
        payload["fam"] = family
    token = jwt.encode(payload, settings.SECRET_KEY, algorithm=settings.JWT_ALGORITHM)
    return token, claims


def _decode_token_uncached(token: str, expected_type: TokenType) -> TokenClaims:
    settings = get_settings()
    try:
        payload = jwt.decode(
            token,
            settings.SECRET_KEY,
            algorithms=[settings.JWT_ALGORITHM],
            leeway=settings.JWT_LEEWAY_SECONDS,
            options={"require": ["exp", "iat", "sub", "type", "jti"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise TokenExpired() from exc
    except jwt.PyJWTError as exc:
        raise InvalidToken() from exc
    if payload.get("type") != expected_type:
        raise InvalidToken(f"An {expected_type} token is required.")
    try:
        subject = uuid.UUID(str(payload["sub"]))
    except ValueError as exc:
        raise InvalidToken() from exc
    return TokenClaims(
        subject=subject,
        token_type=expected_type,
        jti=str(payload["jti"]),
        expires_at=datetime.fromtimestamp(int(payload["exp"]), UTC),
        family=payload.get("fam"),
    )


_VERIFIED: OrderedDict[tuple[str, str], TokenClaims] = OrderedDict()
_VERIFIED_MAX = 10_000


def decode_token(token: str, expected_type: TokenType) -> TokenClaims:
    """Verify a token, remembering the result: a client sends the same token on every request, and
    the signature of an unchanged string stays valid. Expiry is re-checked on every call."""
    key = (token, expected_type)
    claims = _VERIFIED.get(key)
    if claims is not None:
        leeway = timedelta(seconds=get_settings().JWT_LEEWAY_SECONDS)
        if claims.expires_at + leeway > datetime.now(UTC):
            _VERIFIED.move_to_end(key)
            return claims
        _VERIFIED.pop(key, None)
    claims = _decode_token_uncached(token, expected_type)  # raises for anything invalid: never cached
    _VERIFIED[key] = claims
    if len(_VERIFIED) > _VERIFIED_MAX:
        _VERIFIED.popitem(last=False)
    return claims


# --- secrets at rest (document passwords) ---------------------------------------------------


@lru_cache
def _fernet() -> Fernet:
    digest = hashlib.sha256(b"document-password:" + get_settings().SECRET_KEY.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def encrypt_secret(value: str) -> str:
    return _fernet().encrypt(value.encode()).decode()


def decrypt_secret(token: str) -> str | None:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except FernetInvalidToken:
        return None
