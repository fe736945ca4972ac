"""Reading a library's error for what it means about the file."""

from __future__ import annotations


def mentions_encryption(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "password" in text or "encrypt" in text
