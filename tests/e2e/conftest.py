"""The real embedded stack (moto server + API + pump), started as `make run` starts it, on free ports."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from chalicelib.settings import PROJECT_DIR

READY = "Colony is up: API "
START_TIMEOUT_SECONDS = 90


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Stack:
    api: str
    moto_port: int
    env: dict[str, str]
    process: subprocess.Popen

    @property
    def outbox(self) -> list[dict[str, Any]]:
        path = self.env["COLONY_OUTBOX"]
        if not os.path.exists(path):
            return []
        with open(path, encoding="utf-8") as lines:
            return [json.loads(line) for line in lines]

    def cli(self, *args: str, stdin: str | None = None) -> dict[str, Any]:
        done = subprocess.run(
            [sys.executable, "-m", "chalicelib.cli", *args],
            cwd=PROJECT_DIR,
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return json.loads(done.stdout)


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[Stack]:
    moto_port, api_port = free_port(), free_port()
    outbox = tmp_path_factory.mktemp("outbox") / "outbox.jsonl"
    mail = tmp_path_factory.mktemp("mail")
    env = {
        **os.environ,
        "COLONY_STAGE": "local",
        "MOTO_PORT": str(moto_port),
        "PORT": str(api_port),
        "PYTHONUNBUFFERED": "1",
        "COLONY_OUTBOX": str(outbox),
        "COLONY_MAIL_DIR": str(mail / "eml"),
        "COLONY_EMAIL_OUTBOX": str(mail / "outbox-email.jsonl"),
        "COLONY_PORTS_FILE": str(mail / "ports.json"),
    }
    for name in (
        "COLONY_PREFIX",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "COLONY_PROVIDER",
        "COLONY_EMAIL_PROVIDER",
    ):
        env.pop(name, None)
    process = subprocess.Popen(
        [sys.executable, "-m", "chalicelib.local"],
        cwd=PROJECT_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    api = _wait_until_up(process)
    yield Stack(api=api, moto_port=moto_port, env=env, process=process)
    _stop(process)


def _wait_until_up(process: subprocess.Popen) -> str:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    seen = []
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            break
        seen.append(line)
        if line.startswith(READY):
            _drain(process)
            return line[len(READY) :].strip()
    _stop(process)
    raise AssertionError("the stack did not come up:\n" + "".join(seen[-40:]))


def _drain(process: subprocess.Popen) -> None:
    """Keep reading the stack's output so its pipe never fills and blocks it."""
    import threading

    threading.Thread(target=lambda: [None for _ in process.stdout], daemon=True).start()


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def group_members(pgid: int) -> list[int]:
    """Processes still alive in a process group (read from /proc)."""
    alive = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                alive.append(int(entry))
    return alive
