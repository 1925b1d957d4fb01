"""The nightly retention run: sent messages' texts past each company's `message_retention_days`."""

from __future__ import annotations

from typing import Any

from chalicelib.domain.privacy import message_retention


def handle(event: Any) -> dict[str, int]:
    return message_retention.drop_old_bodies()
