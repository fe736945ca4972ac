"""Password hashing (argon2 via pwdlib), typed JWTs (PyJWT) and the keys derived from SECRET_KEY (HKDF)."""

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
from cryptography.fernet import Fernet, MultiFernet
from cryptography.fernet import InvalidToken as FernetInvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pwdlib import PasswordHash

from fastapi_app.core.config import get_settings
from fastapi_app.core.errors import InvalidToken, TokenExpired

TokenType = Literal["access", "refresh"]
# What a Fernet key protects: each purpose has a key of its own.
SecretPurpose = Literal["document-password", "webhook-secret"]


# --- keys derived from SECRET_KEY -------------------------------------------------------------
# One secret in the configuration, one independent key per use: a key that leaks through one use (a
# JWT signing key brute-forced from a token, say) says nothing about the others. HKDF's `info` label
# separates them; the labels are versioned so a use can move to a new key without touching the rest.
JWT_SIGNING_LABEL = b"docproc/jwt-signing/v1"
FERNET_LABELS: dict[SecretPurpose, bytes] = {
    "document-password": b"docproc/fernet/document-password/v1",
    "webhook-secret": b"docproc/fernet/webhook-secret/v1",
}


def derive_key(secret_key: str, label: bytes, length: int = 32) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=label).derive(secret_key.encode("utf-8"))


def jwt_signing_key(secret_key: str) -> bytes:
    # 64 bytes: as long as the block of SHA-512, so the key is never the weak part of HS256/384/512.
    return derive_key(secret_key, JWT_SIGNING_LABEL, 64)


@lru_cache(maxsize=4)
def _jwt_key(secret_key: str) -> bytes:
    return jwt_signing_key(secret_key)


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
    # The account's token_version when the token was issued: a password change, a logout-all or a
    # disabled account raises the account's, and every token carrying an older one is refused.
    version: int
    family: str | None = None


def create_token(
    user_id: uuid.UUID, token_type: TokenType, *, version: int, family: str | None = None
) -> tuple[str, TokenClaims]:
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
        version=version,
        family=family,
    )
    payload: dict[str, object] = {
        "sub": str(user_id),
        "type": token_type,
        "jti": claims.jti,
        "iat": now,
        "exp": claims.expires_at,
        "ver": version,
    }
    if family:
        payload["fam"] = family
    token = jwt.encode(payload, _jwt_key(settings.SECRET_KEY), algorithm=settings.JWT_ALGORITHM)
    return token, claims


def _decode_token_uncached(token: str, expected_type: TokenType) -> TokenClaims:
    settings = get_settings()
    try:
        payload = jwt.decode(
            token,
            _jwt_key(settings.SECRET_KEY),
            algorithms=[settings.JWT_ALGORITHM],
            leeway=settings.JWT_LEEWAY_SECONDS,
            options={"require": ["exp", "iat", "sub", "type", "jti", "ver"]},
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
    version = payload["ver"]
    if type(version) is not int:
        raise InvalidToken()
    return TokenClaims(
        subject=subject,
        token_type=expected_type,
        jti=str(payload["jti"]),
        expires_at=datetime.fromtimestamp(int(payload["exp"]), UTC),
        version=version,
        family=payload.get("fam"),
    )


_VERIFIED: OrderedDict[tuple[str, str], TokenClaims] = OrderedDict()
_VERIFIED_MAX = 10_000


def decode_token(token: str, expected_type: TokenType) -> TokenClaims:
    """Verify a token, remembering the result: a client sends the same token on every request, and
    the signature of an unchanged string stays valid. Expiry is re-checked on every call.

    Only the signature is remembered, never the account's verdict: whether the token was revoked
    (its `version` against the account's token_version) is asked of the database on every request by
    the caller's account check, so a revocation made through any API process applies at once in all."""
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


# --- secrets at rest (document passwords, webhook signing secrets) ----------------------------


def legacy_fernet_key(secret_key: str) -> bytes:
    """The single key every secret was encrypted with before the HKDF labels: still read, never written."""
    return base64.urlsafe_b64encode(hashlib.sha256(b"document-password:" + secret_key.encode()).digest())


def fernet_key(secret_key: str, purpose: SecretPurpose) -> bytes:
    return base64.urlsafe_b64encode(derive_key(secret_key, FERNET_LABELS[purpose]))


@lru_cache(maxsize=8)
def _fernet(secret_key: str, purpose: SecretPurpose) -> MultiFernet:
    # MultiFernet encrypts with the first key and decrypts with any, so values written before the
    # derivation changed still open.
    return MultiFernet([Fernet(fernet_key(secret_key, purpose)), Fernet(legacy_fernet_key(secret_key))])


def encrypt_secret(value: str, purpose: SecretPurpose = "document-password") -> str:
    return _fernet(get_settings().SECRET_KEY, purpose).encrypt(value.encode()).decode()


def decrypt_secret(token: str, purpose: SecretPurpose = "document-password") -> str | None:
    try:
        return _fernet(get_settings().SECRET_KEY, purpose).decrypt(token.encode()).decode()
    except FernetInvalidToken:
        return None
