"""The embedded AWS's state on disk, so `make run` keeps its data across restarts.

A snapshot is one file: a JSON header line (format, moto's version, the outboxes' sizes at that moment),
then a pickle of the backends of the services Colony uses and S3's registry of bucket names. A backend
that one of them refers to is pickled as a reference and found again among the live backends on load,
so identities between services (a stack's resources are the tables and queues themselves) survive.
Run inside the moto server process; the caller holds the gate while `capture` runs.
"""

from __future__ import annotations

import copyreg
import io
import json
import os
import pickle
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import moto
from moto.backends import get_backend
from moto.core.base_backend import BackendDict
from moto.dynamodb.models.dynamo_type import LimitedSizeDict

SERVICES = ("cloudformation", "dynamodb", "s3", "sns", "sqs")
FORMAT = 1
SNAPSHOT_NAME = "moto.pickle"
Key = tuple[str, str, str]


class StateError(Exception):
    """A saved state this embedded AWS cannot read."""


@dataclass(frozen=True)
class Snapshot:
    header: dict[str, Any]
    body: bytes


def snapshot_path(folder: Path) -> Path:
    return folder / SNAPSHOT_NAME


def capture(outbox_sizes: dict[str, int]) -> Snapshot:
    """The state of every backend of `SERVICES` as it is now (call with no request in progress)."""
    states = {key: backend.__dict__ for key, backend in _backends().items() if key[0] in SERVICES}
    s3 = get_backend("s3")
    buffer = io.BytesIO()
    _Pickler(buffer).dump({"backends": states, "buckets": dict(s3.bucket_accounts)})
    header = {"format": FORMAT, "moto": moto.__version__, "outboxes": outbox_sizes}
    return Snapshot(header, buffer.getvalue())


def write(folder: Path, snapshot: Snapshot) -> Path:
    """Replace the saved state in one step: a crash mid-write leaves the previous snapshot whole."""
    folder.mkdir(parents=True, exist_ok=True)
    path = snapshot_path(folder)
    partial = path.with_suffix(".partial")
    with partial.open("wb") as out:
        out.write(json.dumps(snapshot.header).encode() + b"\n")
        out.write(snapshot.body)
        out.flush()
        os.fsync(out.fileno())
    os.replace(partial, path)
    return path


def read_header(folder: Path) -> dict[str, Any] | None:
    """The saved state's header, or None when there is no saved state."""
    path = snapshot_path(folder)
    if not path.exists():
        return None
    with path.open("rb") as saved:
        return _header(saved.readline(), path)


def restore(folder: Path) -> dict[str, Any] | None:
    """Put the saved state into moto's backends; returns its header (None: nothing was saved)."""
    path = snapshot_path(folder)
    if not path.exists():
        return None
    with path.open("rb") as saved:
        header = _header(saved.readline(), path)
        try:
            loaded = _Unpickler(saved).load()
        except Exception as error:
            raise StateError(f"{path} could not be read ({type(error).__name__}: {error})") from error
    for (service, account, region), state in loaded["backends"].items():
        get_backend(service)[account][region].__dict__ = state
    get_backend("s3").bucket_accounts.update(loaded["buckets"])
    return header


def _header(line: bytes, path: Path) -> dict[str, Any]:
    try:
        header = json.loads(line)
    except ValueError as error:
        raise StateError(f"{path} is not a saved state of the embedded AWS") from error
    if header.get("format") != FORMAT or header.get("moto") != moto.__version__:
        raise StateError(
            f"{path} was saved by moto {header.get('moto')} (format {header.get('format')}); "
            f"this is moto {moto.__version__} (format {FORMAT})"
        )
    return header


def _backends() -> dict[Key, Any]:
    """Every regional backend moto has made so far, by (service, account, region)."""
    return {
        (backends.service_name, account, region): backend
        for backends in list(BackendDict._instances)
        for account, regional in list(backends.items())
        for region, backend in list(regional.items())
    }


def _limited_size_dict(items: dict[str, Any]) -> LimitedSizeDict:
    """An item's attributes as they were: their size was checked when written, not again per key."""
    attributes = LimitedSizeDict.__new__(LimitedSizeDict)
    dict.update(attributes, items)
    return attributes


_REDUCERS = {
    **copyreg.dispatch_table,
    type(threading.Lock()): lambda _: (threading.Lock, ()),
    type(threading.RLock()): lambda _: (threading.RLock, ()),
    threading.Condition: lambda _: (threading.Condition, ()),
    LimitedSizeDict: lambda attributes: (_limited_size_dict, (dict(attributes),)),
}


class _Pickler(pickle.Pickler):
    dispatch_table = _REDUCERS

    def __init__(self, file: io.BytesIO) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self._live: dict[int, tuple[str, ...]] = {id(b): ("backend", *k) for k, b in _backends().items()}
        self._live.update({id(b): ("backends", b.service_name) for b in BackendDict._instances})

    def persistent_id(self, obj: Any) -> tuple[str, ...] | None:
        return self._live.get(id(obj))


class _Unpickler(pickle.Unpickler):
    def persistent_load(self, pid: tuple[str, ...]) -> Any:
        kind, service, *where = pid
        backends = get_backend(service)  # type: ignore[call-overload]
        if kind == "backends":
            return backends
        account, region = where
        return backends[account][region]
