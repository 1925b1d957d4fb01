"""How long a person stays signed in: 12 hours idle, 7 days at most. Times are epoch seconds."""

IDLE_SECONDS = 12 * 3600
LIFETIME_SECONDS = 7 * 86400
TOUCH_AFTER_SECONDS = 300  # `last_seen` is written at most once in this long, not on every request


def session_alive(last_seen: int, expires_at: int, now: int) -> bool:
    return now < expires_at and now < last_seen + IDLE_SECONDS


def needs_touch(last_seen: int, now: int) -> bool:
    return now - last_seen >= TOUCH_AFTER_SECONDS
