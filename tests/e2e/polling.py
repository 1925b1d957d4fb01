"""Waiting on a running stack: poll until a check holds."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def eventually(check: Callable[[], Any], seconds: float = 30) -> Any:
    """What `check` returns once it is truthy, polled every 0.3 s; an AssertionError after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.3)
    raise AssertionError("the stack did not get there in time")
