"""JSON logs through the Powertools logger (functional API: its decorators do not fit Chalice handlers).

Logs carry ids as structured keys; they never carry API keys or message bodies.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from aws_lambda_powertools import Logger

logger = Logger(service="colony")


@contextlib.contextmanager
def log_context(**keys: object) -> Iterator[None]:
    """Attach `keys` to every log line of this thread until the block ends."""
    logger.thread_safe_append_keys(**keys)
    try:
        yield
    finally:
        logger.thread_safe_clear_keys()
