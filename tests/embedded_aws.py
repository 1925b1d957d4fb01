"""One in-process embedded AWS per test process: provisioned from infra/ once, then put back to exactly that
freshly provisioned state before each test, which costs a few milliseconds where provisioning costs a
few hundred."""

from __future__ import annotations

import contextlib
import copy
import copyreg
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import moto
from moto.core.base_backend import BackendDict
from moto.core.custom_responses_mock import reset_responses_mock
from moto.core.model_instances import reset_model_data
from moto.core.models import responses_mock
from moto.s3.models import s3_backends

# moto's SQS queues hold a Condition and S3's keys a Lock: a copy of the state gets fresh ones.
copyreg.pickle(type(threading.Lock()), lambda lock: (threading.Lock, ()))
copyreg.pickle(type(threading.RLock()), lambda lock: (threading.RLock, ()))
threading.Condition.__deepcopy__ = lambda condition, memo: threading.Condition()  # type: ignore[attr-defined]

Key = tuple[BackendDict, str, str]


class EmbeddedAws:
    """`with embedded.started(state):` runs a block under moto, starting from `state` (by default the
    provisioned stack and nothing else); `capture()` inside such a block takes a state to start from."""

    def __init__(self) -> None:
        from chalicelib.local import stack

        self._mock = moto.mock_aws()
        self._mock.start()
        try:
            stack.provision()
            self.provisioned = self.capture()
        finally:
            self._stop()

    def capture(self) -> State:
        return State(
            _copy({key: b.__dict__ for key, b in _backends().items()}), dict(s3_backends.bucket_accounts)
        )

    @contextlib.contextmanager
    def started(self, state: State | None = None) -> Iterator[None]:
        state = state or self.provisioned
        self._mock.start(reset=False)
        try:
            fresh = _copy(state.backends)
            for (backends, account, region), backend_state in fresh.items():
                backends[account][region].__dict__ = backend_state  # anew if another mock reset moto
            for key, backend in _backends().items():
                if key not in fresh:
                    backend.reset()
            s3_backends.bucket_accounts.clear()
            s3_backends.bucket_accounts.update(state.buckets)
            yield
        finally:
            self._stop()

    def _stop(self) -> None:
        """Stop mocking, close what S3 keeps in temporary files, and drop what moto tracks per start."""
        for (backends, _, _), backend in _backends().items():
            if backends is s3_backends:
                for bucket in backend.buckets.values():
                    for item in [*bucket.keys.values(), *bucket.multiparts.values()]:
                        getattr(item, "dispose", lambda: None)()
        self._mock.stop(remove_data=False)
        reset_responses_mock(responses_mock)
        reset_model_data()


@dataclass(frozen=True)
class State:
    """Every moto backend's state, and S3's registry of bucket names (which lives outside them)."""

    backends: dict[Key, dict[str, Any]]
    buckets: dict[str, Any]


def _backends() -> dict[Key, Any]:
    """Every regional backend moto has made so far, by (its service's backends, account, region)."""
    return {
        (backends, account, region): backend
        for backends in list(BackendDict._instances)
        for account, regional in list(backends.items())
        for region, backend in list(regional.items())
    }


def _copy(states: dict[Key, dict[str, Any]]) -> dict[Key, dict[str, Any]]:
    """A deep copy of backends' states in which references to a backend stay the live backend."""
    memo: dict[int, Any] = {id(backend): backend for backend in _backends().values()}
    memo.update({id(key[0]): key[0] for key in states})
    return {key: copy.deepcopy(state, memo) for key, state in states.items()}
