"""The one place that creates AWS clients: lazily, once per service and settings, safe across threads."""

from __future__ import annotations

import threading
from typing import Any

import boto3
from botocore.config import Config

from chalicelib.settings import Settings, get_settings

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=30)
_clients: dict[tuple[str, Settings], Any] = {}
_sessions: dict[Settings, boto3.session.Session] = {}
# Creating clients is not thread-safe, and each new session loads botocore's endpoint data again
# (megabytes): the importer's writer threads must share one session and one client per service.
_lock = threading.Lock()


def client(service: str) -> Any:
    """A boto3 client for `service`, pointed at the embedded AWS when the stage has one."""
    settings = get_settings()
    key = (service, settings)
    found = _clients.get(key)
    if found is None:
        with _lock:
            found = _clients.get(key)
            if found is None:
                found = _clients[key] = _session(settings).client(
                    service, endpoint_url=settings.aws_endpoint_url, config=_CONFIG
                )
    return found


def _session(settings: Settings) -> boto3.session.Session:
    session = _sessions.get(settings)
    if session is None:
        credentials = settings.credentials
        session = _sessions[settings] = boto3.session.Session(
            aws_access_key_id=credentials[0] if credentials else None,
            aws_secret_access_key=credentials[1] if credentials else None,
            region_name=settings.region,
        )
    return session
