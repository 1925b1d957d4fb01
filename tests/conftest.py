"""Shared fixtures: an in-process embedded AWS, the Chalice test client, two companies, a network guard."""

from __future__ import annotations

import copy
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

import moto  # noqa: F401  (imported first: it must patch botocore before any client exists)
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


@pytest.fixture(scope="session")
def provisioned_aws():
    """The embedded AWS of this test process, provisioned from infra/ once."""
    from tests.embedded_aws import EmbeddedAws

    return EmbeddedAws()


@pytest.fixture(scope="session")
def made_tenants(provisioned_aws):
    """Acme and Bravo, made once per test process, and the embedded AWS just after they were made."""
    from datetime import UTC, datetime

    from chalicelib.domain import clock

    pinned = datetime.fromisoformat(PINNED_MOMENT).astimezone(UTC)
    with provisioned_aws.started(), pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setattr(clock, "now", lambda: pinned)  # made at the moment every test starts at
        # Sending at the default 20 a second would make every sending test slow; pacing has its own tests.
        made = create_tenant("Acme", send_rate=1000), create_tenant("Bravo", send_rate=1000)
        return made, provisioned_aws.capture()


@pytest.fixture
def aws(request, provisioned_aws):
    """A fresh embedded AWS for one test: the stack as infra/ provisions it, holding nothing else (but
    the two companies, when the test asks for `tenants`)."""
    state = request.getfixturevalue("made_tenants")[1] if "tenants" in request.fixturenames else None
    with provisioned_aws.started(state):
        yield


@pytest.fixture
def client(aws):
    from chalice.test import Client

    from app import app
    from chalicelib.settings import PROJECT_DIR

    with Client(app, stage_name="test", project_dir=str(PROJECT_DIR)) as test_client:
        yield test_client


@pytest.fixture
def tenants(aws, made_tenants) -> tuple[Tenant, Tenant]:
    """Two companies, each with an admin, an approver and a member; B's data must never reach A."""
    return copy.deepcopy(made_tenants[0])


@pytest.fixture
def api(client):
    from tests.api_client import Api

    return Api(client)


@pytest.fixture
def pump(aws):
    """The event pump over the in-process embedded AWS: `pump.drain()` runs every queued message."""
    from tests.queues import TestPump

    return TestPump()


@pytest.fixture(autouse=True)
def sender_state_by_claims_only(monkeypatch):
    """The sender re-reads a deployment's state when its last sight of it is over 0.8 s old; on the real
    clock that would make a test's outcome depend on how fast the machine is. Tests see the state only
    through the claims' transactions, and those of the bound set it back on a virtual clock."""
    from chalicelib.domain.sending import sender

    monkeypatch.setattr(sender, "STATE_FRESH_SECONDS", float("inf"))


@pytest.fixture
def virtual_time(monkeypatch):
    """One virtual clock, from 0, for the sender's waits (monotonic time and sleeps, which move it on)
    and the moments of the senders' shared timelines: `virtual_time["t"]` is its reading in seconds."""
    from chalicelib.domain import clock
    from chalicelib.domain.sending import pacing

    state = {"t": 0.0}
    monkeypatch.setattr(pacing.time, "monotonic", lambda: state["t"])
    monkeypatch.setattr(pacing.time, "sleep", lambda seconds: state.update(t=state["t"] + seconds))
    monkeypatch.setattr(clock, "epoch_ms", lambda: 1_800_000_000_000 + round(state["t"] * 1000))
    return state


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
def queue_delays(monkeypatch):
    """The delays messages were queued with; they are delivered at once, so a test need not wait."""
    from chalicelib import queue_messages

    delays: list[int] = []
    real = queue_messages.enqueue_many
    monkeypatch.setattr(
        queue_messages,
        "enqueue_many",
        lambda batch, delay_seconds=0: (delays.append(delay_seconds), real(batch, 0)),
    )
    return delays


SMALL_CHUNK, SMALL_GROUP = 20, 5


@pytest.fixture
def small_chunks(monkeypatch):
    """The send path at a fifth of its production size: fan-out chunks and API-message sends of
    SMALL_CHUNK (20, not 100) recipients, claimed in groups of SMALL_GROUP (5, not 40; API messages not 25):
    two chunks of 100 and 50 become 20 and 10, for a fifth of the work.
    Those modules read the sizes at call time (tests/unit/test_layout.py holds every module to that);
    at least one test of each path runs with the production sizes."""
    from chalicelib.domain.deployments import fanout
    from chalicelib.domain.sending import api_messages, sender

    monkeypatch.setattr(fanout, "CHUNK", SMALL_CHUNK)
    monkeypatch.setattr(api_messages, "CHUNK", SMALL_CHUNK)
    monkeypatch.setattr(sender, "GROUP", SMALL_GROUP)
    monkeypatch.setattr(sender, "MESSAGE_GROUP", SMALL_GROUP)
    return SMALL_CHUNK


@pytest.fixture
def groups_of_25(monkeypatch):
    """Deployment groups of 25 (production claims 40): the crash scenarios written on 30 recipients, one
    full group and five, keep that shape."""
    from chalicelib.domain.sending import sender

    monkeypatch.setattr(sender, "GROUP", 25)


@pytest.fixture
def mail_gateway():
    """The fake email gateway the test stage sends through: it records every email and fails on script."""
    from chalicelib.providers import email_provider

    fake = email_provider()
    fake.reset()
    yield fake
    fake.reset()


PINNED_MOMENT = "2026-11-26T10:00:00+02:00"


@pytest.fixture(autouse=True)
def at_time(monkeypatch):
    """Colony's clock for every test, pinned to Thursday 26 November 2026, 10:00 in Johannesburg (08:00
    UTC): a weekday inside South African marketing hours, no public holiday. A test that needs another
    moment asks for this fixture and calls it: `at_time("2026-11-29T23:00:00+02:00")`."""
    from datetime import UTC, datetime

    from chalicelib.domain import clock

    def set_to(text: str) -> None:
        moment = datetime.fromisoformat(text).astimezone(UTC)
        monkeypatch.setattr(clock, "now", lambda: moment)

    set_to(PINNED_MOMENT)
    return set_to


def pytest_xdist_make_scheduler(config, log):
    """With `--dist loadscope`: each e2e module runs on one worker, so its stack (or package) is built
    once; every other test is a unit of its own, so the two workers stay evenly loaded."""
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class E2eModulesTogether(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return nodeid.split("::", 1)[0] if nodeid.startswith("tests/e2e/") else nodeid

    return E2eModulesTogether(config, log)


@pytest.fixture
def environment_kept():
    """The CLI applies its stage to the process environment, as in its own process; undo that here."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture
def dynamodb_calls(monkeypatch):
    """Every DynamoDB operation made from now on, with its table."""
    from botocore.client import BaseClient

    made: list[tuple[str, str | None]] = []
    original = BaseClient._make_api_call

    def recorded(self, operation, params):
        made.append((operation, params.get("TableName")))
        return original(self, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", recorded)
    return made
