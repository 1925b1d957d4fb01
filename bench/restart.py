"""Restart benchmark: how long `make run` takes to stop and to come back up holding N contacts.

    .venv/bin/python -m bench.restart --contacts 100000

Starts `python -m chalicelib.local` on free ports with its state, outboxes and ports file in a temporary
folder, imports a list of N contacts through a presigned upload (as the web app does), stops it with
SIGINT (moto saves its state), starts it again and counts the list back. `empty_start_s` is the first
start, with nothing saved; `restart_s` the second, to "Colony is up"; `restore_s` and `save_s` moto's
own figures (from its log lines). The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

from chalicelib.settings import PROJECT_DIR

READY = "Colony is up: API "


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contacts", type=int, default=100_000)
    contacts = parser.parse_args().contacts
    with tempfile.TemporaryDirectory() as folder:
        env = _environment(Path(folder))
        began = time.perf_counter()
        first, api, printed = _start(env)
        empty_start = time.perf_counter() - began
        try:
            key = _company(env)
            contact_list = _import(api, key, contacts)
        finally:
            stopped = time.perf_counter()
            saved = _stop(first, printed)
            stop_seconds = time.perf_counter() - stopped
        began = time.perf_counter()
        second, api, restored = _start(env)
        restart = time.perf_counter() - began
        try:
            counted = _count(api, key, contact_list)
        finally:
            _stop(second, restored)
        state_mb = (Path(folder) / "state" / "moto.pickle").stat().st_size / 1e6
    assert counted == contacts, f"{counted} contacts came back of {contacts}"
    result = {
        "contacts": contacts,
        "empty_start_s": round(empty_start, 1),
        "restart_s": round(restart, 1),
        "restore_s": _seconds(restored, r"restored from \S+ in ([\d.]+)s"),
        "stop_s": round(stop_seconds, 1),
        "save_s": _seconds(saved, r"requests held ([\d.]+)s"),
        "state_mb": round(state_mb, 1),
    }
    print(
        f"{contacts} contacts: restart {restart:.1f} s (empty start {empty_start:.1f} s), moto restores in "
        f"{result['restore_s']} s; stop {stop_seconds:.1f} s (snapshot {result['save_s']} s), "
        f"{state_mb:.0f} MB saved"
    )
    print(json.dumps(result))


def _environment(folder: Path) -> dict[str, str]:
    env = {**os.environ, "COLONY_STAGE": "local", "PYTHONUNBUFFERED": "1", "POWERTOOLS_LOG_LEVEL": "WARNING"}
    for name in ("COLONY_PREFIX", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "COLONY_PROVIDER"):
        env.pop(name, None)
    env.update(
        MOTO_PORT=str(_free_port()),
        PORT=str(_free_port()),
        COLONY_STATE_DIR=str(folder / "state"),
        COLONY_OUTBOX=str(folder / "outbox.jsonl"),
        COLONY_EMAIL_OUTBOX=str(folder / "outbox-email.jsonl"),
        COLONY_MAIL_DIR=str(folder / "mail"),
        COLONY_PORTS_FILE=str(folder / "ports.json"),
    )
    return env


def _start(env: dict[str, str]) -> tuple[subprocess.Popen, str, list[str]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "chalicelib.local"],
        cwd=PROJECT_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    seen = []
    assert process.stdout is not None
    for line in process.stdout:
        seen.append(line)
        if line.startswith(READY):
            threading.Thread(target=lambda: seen.extend(process.stdout), daemon=True).start()
            return process, line[len(READY) :].strip(), seen
    raise RuntimeError("the stack did not come up:\n" + "".join(seen[-20:]))


def _stop(process: subprocess.Popen, printed: list[str]) -> list[str]:
    """SIGINT, as a Ctrl-C sends it; what the stack printed."""
    os.killpg(process.pid, signal.SIGINT)
    process.wait(timeout=900)
    time.sleep(0.5)  # the reader takes the last lines
    return printed


def _company(env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "chalicelib.cli", "company", "create", "--name", "Bench"],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)["api_key"]


def _import(api: str, key: str, contacts: int) -> int:
    headers = {"Authorization": f"Token {key}"}
    csv = "Mobile,First Name,City\r\n" + "".join(
        f"0{820000000 + n},Name{n},Durban\r\n" for n in range(contacts)
    )
    upload = requests.post(
        f"{api}/uploads", headers=headers, json={"kind": "contacts", "filename": "bench.csv"}, timeout=30
    ).json()
    sent = requests.post(
        upload["url"], data=upload["fields"], files={"file": ("bench.csv", csv)}, timeout=120
    )
    sent.raise_for_status()
    while True:
        job = requests.get(f"{api}/imports/{upload['import']['id']}", headers=headers, timeout=30).json()
        if job["status"] in ("completed", "failed"):
            assert job["imported"] == contacts, job
            return job["contact_list"]
        time.sleep(1)


def _count(api: str, key: str, contact_list: int) -> int:
    answer = requests.get(
        f"{api}/contact-lists/{contact_list}", headers={"Authorization": f"Token {key}"}, timeout=30
    )
    return answer.json()["contact_count"]


def _seconds(lines: list[str], pattern: str) -> float | None:
    found = [re.search(pattern, line) for line in lines]
    return next((float(match.group(1)) for match in found if match), None)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


if __name__ == "__main__":
    main()
