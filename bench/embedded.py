"""The embedded AWS the benchmarks run against: moto in server mode in its own process, so the measuring
process holds only the app (and its memory is the app's)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

HOST = "127.0.0.1"


@contextlib.contextmanager
def embedded_aws(prefix: str, **environment: str) -> Iterator[int]:
    """Start moto server on a free port and point this process (and its children) at it."""
    port = _free_port()
    os.environ.update(
        COLONY_STAGE="local",
        MOTO_PORT=str(port),
        COLONY_PREFIX=prefix,
        POWERTOOLS_LOG_LEVEL="WARNING",
        **environment,
    )
    moto = subprocess.Popen(
        [sys.executable, "-m", "chalicelib.local.moto_server", "-H", HOST, "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait(port)
        yield port
    finally:
        moto.terminate()
        moto.wait()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def _wait(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((HOST, port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("moto server did not start")
