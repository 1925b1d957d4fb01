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


def stack_env(tmp_path_factory) -> dict[str, str]:
    """The environment of a stack of its own: free ports, and outboxes and saved state in temporary
    folders (never the developer's `.local/`)."""
    outbox = tmp_path_factory.mktemp("outbox") / "outbox.jsonl"
    mail = tmp_path_factory.mktemp("mail")
    env = {
        **os.environ,
        "COLONY_STAGE": "local",
        "MOTO_PORT": str(free_port()),
        "PORT": str(free_port()),
        "PYTHONUNBUFFERED": "1",
        "COLONY_OUTBOX": str(outbox),
        "COLONY_MAIL_DIR": str(mail / "eml"),
        "COLONY_EMAIL_OUTBOX": str(mail / "outbox-email.jsonl"),
        "COLONY_PORTS_FILE": str(mail / "ports.json"),
        "COLONY_STATE_DIR": str(tmp_path_factory.mktemp("state")),
        "COLONY_MOTO_LOG": str(mail / "moto.log"),
    }
    for name in (
        "COLONY_PREFIX",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "COLONY_PROVIDER",
        "COLONY_EMAIL_PROVIDER",
    ):
        env.pop(name, None)
    return env


def start_stack(env: dict[str, str], *args: str, lines: list[str] | None = None) -> Stack:
    """`python -m chalicelib.local` in a session of its own, once it says it is up; its output goes on
    into `lines` when given."""
    process = subprocess.Popen(
        [sys.executable, "-m", "chalicelib.local", *args],
        cwd=PROJECT_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    api = _wait_until_up(process, lines)
    return Stack(api=api, moto_port=int(env["MOTO_PORT"]), env=env, process=process)


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[Stack]:
    started = start_stack(stack_env(tmp_path_factory))
    yield started
    _stop(started.process)


def _wait_until_up(process: subprocess.Popen, lines: list[str] | None = None) -> str:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    seen = [] if lines is None else lines
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            break
        seen.append(line)
        if line.startswith(READY):
            _drain(process, seen)
            return line[len(READY) :].strip()
    _stop(process)
    raise AssertionError("the stack did not come up:\n" + "".join(seen[-40:]))


def _drain(process: subprocess.Popen, lines: list[str]) -> None:
    """Keep reading the stack's output (into `lines`) so its pipe never fills and blocks it."""
    import threading

    threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True).start()


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def children_of(pid: int) -> list[int]:
    """The processes `pid` started that are still alive (read from /proc)."""
    return [member for member, fields in _processes() if int(fields[1]) == pid]


def group_members(pgid: int) -> list[int]:
    """Processes still alive in a process group (read from /proc)."""
    return [member for member, fields in _processes() if int(fields[2]) == pgid]


def _processes() -> Iterator[tuple[int, list[str]]]:
    """Each live process's id and the fields of its /proc stat after the name (state, ppid, pgrp …)."""
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] != "Z":
                yield int(entry), fields
