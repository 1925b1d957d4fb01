"""The per-company request limit: at most `request_limit` authenticated calls in each fixed window of
`request_window_seconds`, counted in one atomic write per call (a counter item per company and window,
which DynamoDB's TTL removes); a call past it is a 429 with Retry-After, the seconds to the window's end."""

from __future__ import annotations

from chalicelib.domain import clock
from chalicelib.domain.errors import RateLimited
from chalicelib.models.counters import count_one
from chalicelib.settings import get_settings

KEPT_SECONDS = 3600  # how long a window's count outlives it, for whoever looks


def admit(company: int) -> None:
    """Count one call of `company` in the current window; past the limit, a 429."""
    settings = get_settings()
    window = max(settings.request_window_seconds, 1)
    now = int(clock.now().timestamp())
    start = now - now % window
    count = count_one(f"requests#{company}#{start}", start + window + KEPT_SECONDS)
    if count > settings.request_limit:
        error = RateLimited(
            f"This company made more than {settings.request_limit:,} requests in {window} seconds; "
            "retry after the time Retry-After says.",
            code="too_many_requests",
        )
        error.retry_after = max(start + window - now, 1)
        raise error
