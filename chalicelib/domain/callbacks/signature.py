"""The `Colony-Signature` header: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` (Stripe's
scheme), one v1 per secret in use (the previous one too, for a day after a rotation)."""

from __future__ import annotations

import hashlib
import hmac

HEADER = "Colony-Signature"
TOLERANCE_SECONDS = 300


def sign(body: bytes, timestamp: int, secrets: list[str]) -> str:
    """The header's value for `body` sent at `timestamp`, signed under each of `secrets`."""
    parts = [f"t={timestamp}"] + [f"v1={_mac(secret, timestamp, body)}" for secret in secrets]
    return ",".join(parts)


def verify(body: bytes, header: str, secret: str, now: int, tolerance: int = TOLERANCE_SECONDS) -> bool:
    """Whether `header` signs `body` under `secret` and is at most `tolerance` seconds old (as the
    receiver's snippet in docs/api.md checks it)."""
    fields = [part.split("=", 1) for part in header.split(",") if "=" in part]
    stamps = [value for name, value in fields if name == "t"]
    if len(stamps) != 1 or not stamps[0].isdigit() or abs(now - int(stamps[0])) > tolerance:
        return False
    expected = _mac(secret, int(stamps[0]), body)
    return any(hmac.compare_digest(expected, value) for name, value in fields if name == "v1")


def _mac(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
