"""The every-minute schedule that starts due deployments and finishes done ones (never two runs at once)."""

from __future__ import annotations

from typing import Any

from chalicelib.domain.background import leases
from chalicelib.domain.deployments import launch


def handle(event: Any) -> dict:
    with leases.held("launcher", seconds=240) as mine:
        if not mine:
            return {"skipped": 1}
        return launch.launch_due()
