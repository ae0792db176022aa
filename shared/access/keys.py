"""API key format and hashing. Keys are 256-bit random tokens, so a keyed HMAC-SHA256 (pepper from the
settings) is the right scheme: a slow password hash would add latency to every request and no security."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

_PREFIX_LEN = 8


@dataclass(frozen=True)
class NewKey:
    plaintext: str  # shown to the operator once, never stored
    prefix: str
    key_hash: str


def generate(pepper: str) -> NewKey:
    prefix = secrets.token_hex(_PREFIX_LEN // 2)
    plaintext = f"sc_{prefix}_{secrets.token_urlsafe(32)}"
    return NewKey(plaintext=plaintext, prefix=prefix, key_hash=hash_key(plaintext, pepper))


def hash_key(plaintext: str, pepper: str) -> str:
    return hmac.new(pepper.encode(), plaintext.encode(), hashlib.sha256).hexdigest()


def prefix_of(plaintext: str) -> str | None:
    parts = plaintext.split("_")
    if len(parts) < 3 or parts[0] != "sc" or len(parts[1]) != _PREFIX_LEN:
        return None
    return parts[1]


def matches(plaintext: str, key_hash: str, pepper: str) -> bool:
    return hmac.compare_digest(hash_key(plaintext, pepper), key_hash)
