"""`make run` keeps its data across a restart: a company, its list and contacts, a file in the filebox, a
sent deployment and its stats come back; the outbox goes on without repeating a reference; a Ctrl-C and a
SIGTERM stop it with no traceback in its output or moto's log."""

import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from chalicelib.settings import moto_log_file
from tests.e2e.conftest import Stack, _stop, stack_env, start_stack
from tests.e2e.polling import eventually

pytestmark = pytest.mark.e2e


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Token {key}", "Content-Type": "application/json"}


def test_data_survives_a_restart_and_the_outbox_never_repeats_a_reference(tmp_path_factory):
    env = stack_env(tmp_path_factory)
    first = _start(env)
    try:
        made = _seed(first.stack)
    finally:
        _stop_cleanly(first, signal.SIGINT)

    second = _start(env)
    stack = second.stack
    try:
        assert any(line.startswith("embedded AWS: state restored") for line in second.output)
        _read_back(stack, made)
        again = _deploy(stack, made["headers"], made["list"], "Second")
        assert again != made["deployment"]
        references = [line["reference"] for line in stack.outbox]
        assert len(references) == 4 and len(set(references)) == 4
    finally:
        _stop_cleanly(second, signal.SIGTERM)


@dataclass
class Run:
    stack: Stack
    output: list[str]  # what it printed, still growing while it runs
    moto_log: Path  # this stack's own
    log_from: int  # where moto's log stood when it started


def _start(env: dict[str, str]) -> Run:
    moto_log = moto_log_file(env)
    log_from = moto_log.stat().st_size if moto_log.exists() else 0
    output: list[str] = []
    return Run(start_stack(env, lines=output), output, moto_log, log_from)


def _stop_cleanly(run: Run, signum: int) -> None:
    """Stop the stack with `signum` to its whole process group: it exits 0 having saved its state, and
    neither its output nor what moto logged meanwhile holds a traceback."""
    os.killpg(run.stack.process.pid, signum)
    try:
        assert run.stack.process.wait(timeout=60) == 0
    finally:
        _stop(run.stack.process)
    time.sleep(0.2)  # the reader thread takes the last lines
    text = "".join(run.output)
    with run.moto_log.open(encoding="utf-8", errors="replace") as log:
        log.seek(run.log_from)
        moto_text = log.read()
    assert "Traceback" not in text and "Traceback" not in moto_text, text[-3000:]
    assert "embedded AWS: state saved" in text


def _seed(stack: Stack) -> dict:
    company = stack.cli("company", "create", "--name", "Keeps", "--credits", "100")
    headers = auth(company["api_key"])
    settings = {"quiet_hours": False, "require_second_approver": False, "send_rate": 200}
    assert requests.patch(f"{stack.api}/company", headers=headers, json=settings, timeout=10).ok
    started = requests.post(
        f"{stack.api}/contact-lists/import",
        headers={"Authorization": headers["Authorization"]},
        files={
            "file": ("people.csv", b"Mobile,First Name\r\n0821110001,Ann\r\n0821110002,Bob\r\n12,Bad\r\n")
        },
        data={"title": "People"},
        timeout=10,
    )
    assert started.status_code == 202, started.text
    job = eventually(lambda: _finished(stack, headers, started.json()["id"]))
    assert (job["imported"], job["rejected"]) == (2, 1)
    deployment = _deploy(stack, headers, job["contact_list"], "First")
    return {
        "company": company["company"]["id"],
        "headers": headers,
        "list": job["contact_list"],
        "errors_file": job["errors_file"],
        "deployment": deployment,
        "credits": 98,
    }


def _deploy(stack: Stack, headers: dict[str, str], contact_list: int, title: str) -> int:
    """A deployment to the list, approved and sent: its id."""
    draft = requests.post(
        f"{stack.api}/deployments",
        headers=headers,
        json={"title": title, "message": "Hi {{first_name}}", "contact_lists": [contact_list]},
        timeout=10,
    ).json()
    for step in ("submit", "approve"):
        answer = requests.post(f"{stack.api}/deployments/{draft['id']}/{step}", headers=headers, timeout=10)
        assert answer.ok, answer.text
    eventually(lambda: _status(stack, headers, draft["id"]) == "sent", seconds=60)
    return draft["id"]


def _read_back(stack: Stack, made: dict) -> None:
    headers = made["headers"]
    company = requests.get(f"{stack.api}/company", headers=headers, timeout=10).json()
    assert (company["id"], company["name"], company["credits"]) == (made["company"], "Keeps", made["credits"])
    contacts = requests.get(f"{stack.api}/contact-lists/{made['list']}/contacts", headers=headers, timeout=10)
    assert [c["first_name"] for c in contacts.json()["results"]] == ["Ann", "Bob"]
    errors = requests.get(f"{stack.api}/filebox/{made['errors_file']}", headers=headers, timeout=10).json()
    assert requests.get(errors["url"], timeout=10).text.splitlines()[1] == "4,12,invalid_number,"
    assert _status(stack, headers, made["deployment"]) == "sent"
    hourly = requests.get(
        f"{stack.api}/deployments/{made['deployment']}/stats/hourly", headers=headers, timeout=10
    ).json()["results"]
    assert sum(row["sms_sent_count"] for row in hourly) == 2


def _finished(stack: Stack, headers: dict[str, str], import_id: int) -> dict | None:
    job = requests.get(f"{stack.api}/imports/{import_id}", headers=headers, timeout=10).json()
    return job if job["status"] in ("completed", "failed") else None


def _status(stack: Stack, headers: dict[str, str], deployment: int) -> str:
    return requests.get(f"{stack.api}/deployments/{deployment}", headers=headers, timeout=10).json()[
        "status_name"
    ]
