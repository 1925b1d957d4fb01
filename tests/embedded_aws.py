"""One in-process embedded AWS per test process: provisioned from infra/ once, then put back to exactly that
freshly provisioned state before each test, which costs a few milliseconds where provisioning costs a
few hundred."""

from __future__ import annotations

import copy
import copyreg
import threading
from typing import Any

import moto
from moto.core.base_backend import BackendDict

# moto's SQS queues hold a Condition and S3's keys a Lock: a copy of the state gets fresh ones.
copyreg.pickle(type(threading.Lock()), lambda lock: (threading.Lock, ()))
copyreg.pickle(type(threading.RLock()), lambda lock: (threading.RLock, ()))
threading.Condition.__deepcopy__ = lambda condition, memo: threading.Condition()  # type: ignore[attr-defined]


class EmbeddedAws:
    """`with embedded:` runs a block under moto, starting from the provisioned stack and nothing else."""

    def __init__(self) -> None:
        from chalicelib.local import stack

        self._mock = moto.mock_aws()
        self._mock.start()
        try:
            stack.provision()
            self._provisioned = copy.deepcopy(_state())
        finally:
            self._mock.stop(remove_data=False)

    def __enter__(self) -> EmbeddedAws:
        self._mock.start(reset=False)
        fresh = copy.deepcopy(self._provisioned)
        for key, backend in _backends().items():
            if key in fresh:
                backend.__dict__ = fresh[key]
            else:
                backend.reset()
        return self

    def __exit__(self, *exc: object) -> None:
        self._mock.stop(remove_data=False)


def _backends() -> dict[tuple[int, str, str], Any]:
    """Every regional backend moto has made so far, by (service, account, region)."""
    return {
        (id(backends), account, region): backend
        for backends in list(BackendDict._instances)
        for account, regional in list(backends.items())
        for region, backend in list(regional.items())
    }


def _state() -> dict[tuple[int, str, str], dict[str, Any]]:
    return {key: backend.__dict__ for key, backend in _backends().items()}
