"""How long a company keeps what it no longer needs: filebox files (a few allowed spans, one S3 lifecycle
rule each in `infra/`) and the bodies of sent messages (any span in a range). Pure."""

from __future__ import annotations

from datetime import datetime, timedelta

FILE_RETENTION_DAYS = (7, 14, 30, 60, 90, 180, 365)  # infra/ has a lifecycle rule (by tag) for each
DEFAULT_FILE_RETENTION_DAYS = 30
MESSAGE_RETENTION_DAYS = range(7, 3651)
DEFAULT_MESSAGE_RETENTION_DAYS = 90
RETENTION_TAG = "retention-days"  # the object tag the lifecycle rules select on


def check_file_retention(value: int) -> int:
    if value not in FILE_RETENTION_DAYS:
        raise ValueError(f"must be one of {', '.join(map(str, FILE_RETENTION_DAYS))} days")
    return value


def check_message_retention(value: int) -> int:
    if value not in MESSAGE_RETENTION_DAYS:
        raise ValueError(f"must be {MESSAGE_RETENTION_DAYS[0]} to {MESSAGE_RETENTION_DAYS[-1]} days")
    return value


def expiry(created: datetime, days: int) -> datetime:
    return created + timedelta(days=days)


def kept_since(now: datetime, days: int) -> datetime:
    """What was made before this moment is past its retention."""
    return now - timedelta(days=days)
