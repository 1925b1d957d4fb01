"""The one place that creates AWS clients: lazily, once per service and settings."""

from __future__ import annotations

import functools
from typing import Any

import boto3
from botocore.config import Config

from chalicelib.settings import Settings, get_settings

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=30)


def client(service: str) -> Any:
    """A boto3 client for `service`, pointed at the embedded AWS when the stage has one."""
    return _client(service, get_settings())


@functools.lru_cache(maxsize=64)
def _client(service: str, settings: Settings) -> Any:
    credentials = settings.credentials
    session = boto3.session.Session(
        aws_access_key_id=credentials[0] if credentials else None,
        aws_secret_access_key=credentials[1] if credentials else None,
        region_name=settings.region,
    )
    return session.client(service, endpoint_url=settings.aws_endpoint_url, config=_CONFIG)
