"""Shared fixtures: an in-process embedded AWS, the Chalice test client, two companies, a network guard."""

from __future__ import annotations

import os
import re
import socket

# moto must be imported, and the stage set, before anything creates a boto3 client.
os.environ.update(
    COLONY_STAGE="test",
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_DEFAULT_REGION="af-south-1",
    POWERTOOLS_LOG_LEVEL="WARNING",
)
os.environ.pop("COLONY_PREFIX", None)
os.environ.pop("AWS_ENDPOINT_URL", None)

import moto
import pytest

from chalicelib.local.moto_speedups import install

install()

from tests.factories import Tenant, create_tenant  # noqa: E402  (after moto and its speed-up)


class NetworkBlocked(BaseException):
    """A test tried to reach beyond this machine; BaseException so `except Exception` cannot hide it."""


_real_connect = socket.socket.connect


def _guarded_connect(self: socket.socket, address: object) -> None:
    host = address[0] if isinstance(address, tuple) else address
    if self.family == socket.AF_UNIX or host in ("127.0.0.1", "::1", "localhost"):
        return _real_connect(self, address)
    raise NetworkBlocked(f"test tried to connect to {address!r}")


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)


@pytest.fixture(autouse=True)
def unused_expression_names_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """DynamoDB refuses a transaction with an expression name or value that no expression uses; moto
    checks that for single writes only. Refuse it here too, so such a bug cannot pass in tests."""
    from botocore.client import BaseClient
    from botocore.exceptions import ClientError

    real = BaseClient._make_api_call

    def checked(client: BaseClient, operation: str, params: dict) -> object:
        if operation == "TransactWriteItems":
            for item in params.get("TransactItems", []):
                for action in item.values():
                    text = " ".join(action.get(k, "") for k in ("UpdateExpression", "ConditionExpression"))
                    used = set(re.findall(r"[:#][A-Za-z0-9_]+", text))
                    for group in ("ExpressionAttributeNames", "ExpressionAttributeValues"):
                        unused = set(action.get(group) or {}) - used
                        if unused:
                            error = {
                                "Code": "ValidationException",
                                "Message": f"unused in expressions: {unused}",
                            }
                            raise ClientError({"Error": error}, operation)
        return real(client, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", checked)


@pytest.fixture
def aws():
    """A fresh embedded AWS for one test, provisioned from infra/ like the real stack."""
    from chalicelib.local import stack

    with moto.mock_aws():
        stack.provision()
        yield


@pytest.fixture
def client(aws):
    from chalice.test import Client

    from app import app
    from chalicelib.settings import PROJECT_DIR

    with Client(app, stage_name="test", project_dir=str(PROJECT_DIR)) as test_client:
        yield test_client


@pytest.fixture
def tenants(aws) -> tuple[Tenant, Tenant]:
    """Two companies, each with an admin, an approver and a member; B's data must never reach A."""
    # Sending at the default 20 a second would make every sending test slow; pacing has its own tests.
    return create_tenant("Acme", send_rate=1000), create_tenant("Bravo", send_rate=1000)


@pytest.fixture
def api(client):
    from tests.api_client import Api

    return Api(client)


@pytest.fixture
def pump(aws):
    """The event pump over the in-process embedded AWS: `pump.drain()` runs every queued message."""
    from tests.queues import TestPump

    return TestPump()


@pytest.fixture
def captured(monkeypatch):
    """Messages the code under test would queue, held for the test to deliver by hand."""
    from tests.sqs_events import Captured

    return Captured(monkeypatch)


@pytest.fixture
def gateway():
    """The fake SMS gateway the test stage sends through: it records every SMS and fails on script."""
    from chalicelib.providers import provider

    fake = provider()
    fake.reset()
    yield fake
    fake.reset()


@pytest.fixture
def at_time(monkeypatch):
    """Set Colony's clock: `at_time("2026-11-26T10:00:00+02:00")` (a Thursday morning in Johannesburg)."""
    from datetime import datetime

    from chalicelib.domain import clock

    def set_to(text: str) -> None:
        moment = datetime.fromisoformat(text)
        monkeypatch.setattr(clock, "now", lambda: moment)

    set_to("2026-11-26T10:00:00+02:00")
    return set_to
