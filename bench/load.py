"""API load test: simulated integrators mixing reads, list pages, single sends and quotes against the
local platform (`make run`), with locust as a library (no web UI), headless and bounded in users, rate
and time, against 127.0.0.1 only.

    .venv/bin/python -m bench.load
    .venv/bin/python -m bench.load --users 50 --rate 25 --seconds 60

It starts `python -m chalicelib.local --fresh` itself on free ports, with its saved state and outboxes
in a temporary folder (never the developer's `.local/`) and `COLONY_REQUEST_LIMIT` raised to 1,000,000
a minute so the per-company limit (3,000 a minute) does not answer the test's own calls with 429s. It
makes a company with credits (the operator's CLI) and a list of 200 contacts (the API), calls each route
once to warm the server, runs the users for
`--seconds`, stops the platform, and prints requests per second, p50/p95/p99 latency and errors; the
last line is one JSON object. `--rate` bounds the requests a second of all users together.
"""

from __future__ import annotations

from locust import HttpUser, constant_throughput, task  # first: locust patches the standard library
from locust.env import Environment

# isort: split
import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import gevent
import requests

PROJECT_DIR = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
READY = "Colony is up: API "
START_TIMEOUT_SECONDS = 120
CONTACTS = 200
REQUEST_LIMIT = "1000000"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--rate", type=float, default=25.0, help="requests a second, all users together")
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    if not (1 <= args.users <= 200 and 0 < args.rate <= 500 and 0 < args.seconds <= 600):
        parser.error("bounded: 1-200 users, a rate up to 500 a second, up to 600 seconds")
    with local_platform() as (api, env):
        integrator = _set_up(api, env)
        result = run_load(api, integrator, args.users, args.rate, args.seconds)
    print(
        f"{result['users']} integrators for {result['seconds']:.0f} s: {result['requests_per_s']:.1f} "
        f"requests/s, p50 {result['p50_ms']:.0f} ms, p95 {result['p95_ms']:.0f} ms, "
        f"p99 {result['p99_ms']:.0f} ms, {result['errors']} errors of {result['requests']}"
    )
    print(json.dumps(result))


@contextmanager
def local_platform() -> Iterator[tuple[str, dict[str, str]]]:
    """`python -m chalicelib.local --fresh` on free ports with its state in a temporary folder: its API
    URL and its environment (which the operator's CLI takes to reach the same embedded AWS)."""
    with tempfile.TemporaryDirectory(prefix="colony-load-") as folder:
        env = _platform_env(Path(folder))
        process = subprocess.Popen(
            [sys.executable, "-m", "chalicelib.local", "--fresh"],
            cwd=PROJECT_DIR,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        try:
            api = _wait_until_up(process)
            if not api.startswith(f"http://{HOST}:"):
                raise RuntimeError(f"the platform is not on {HOST}: {api}")
            yield api, env
        finally:
            _stop(process)


def _platform_env(folder: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "COLONY_STAGE": "local",
        "MOTO_PORT": str(_free_port()),
        "PORT": str(_free_port()),
        "PYTHONUNBUFFERED": "1",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "COLONY_REQUEST_LIMIT": REQUEST_LIMIT,
        "COLONY_OUTBOX": str(folder / "outbox.jsonl"),
        "COLONY_MAIL_DIR": str(folder / "eml"),
        "COLONY_EMAIL_OUTBOX": str(folder / "outbox-email.jsonl"),
        "COLONY_PORTS_FILE": str(folder / "ports.json"),
        "COLONY_STATE_DIR": str(folder / "state"),
        "COLONY_MOTO_LOG": str(folder / "moto.log"),
    }
    for name in ("COLONY_PREFIX", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "COLONY_PROVIDER"):
        env.pop(name, None)
    return env


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def _wait_until_up(process: subprocess.Popen) -> str:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    seen: list[str] = []
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            break
        seen.append(line)
        if line.startswith(READY):
            gevent.spawn(lambda: [None for _ in process.stdout])  # keep the pipe from filling
            return line[len(READY) :].strip()
    raise RuntimeError("the platform did not come up:\n" + "".join(seen[-40:]))


def _stop(process: subprocess.Popen) -> None:
    """Ctrl-C for the platform's whole session, as `make run` is stopped; a kill if it hangs."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _set_up(api: str, env: dict[str, str]) -> dict[str, object]:
    """A company with credits (the operator's CLI, as its admin's key) and a list of contacts."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "chalicelib.cli",
            "company",
            "create",
            "--name",
            "Load",
            "--credits",
            "10000000",
        ],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    key = json.loads(done.stdout)["api_key"]
    headers = {"Authorization": f"Token {key}"}
    made = requests.post(f"{api}/contact-lists", headers=headers, json={"title": "Integrators"}, timeout=30)
    made.raise_for_status()
    list_id = made.json()["id"]
    rows = [{"msisdn": f"2782{n:07d}", "first_name": f"Name{n}"} for n in range(CONTACTS)]
    added = requests.post(f"{api}/contact-lists/{list_id}/contacts", headers=headers, json=rows, timeout=60)
    added.raise_for_status()
    if added.json().get("created") != CONTACTS:
        raise RuntimeError(f"contacts not created: {added.text[:500]}")
    _warm_up(api, headers, list_id)
    return {"key": key, "contact_list": list_id}


def _warm_up(api: str, headers: dict[str, str], list_id: int) -> None:
    """Each route once before the clock starts (a fresh server's first call of a route loads its code)."""
    calls = [
        ("get", "/company", None),
        ("get", f"/contact-lists/{list_id}/contacts?page_size=50", None),
        ("post", "/messages/quote", {"message": "Warm up"}),
        ("post", "/messages/send", {"message": "Warm up", "destination": "27839999999"}),
    ]
    for method, path, body in calls:
        requests.request(method, f"{api}{path}", headers=headers, json=body, timeout=60).raise_for_status()


class Integrator(HttpUser):
    """One integrator's mix: reads of its company and its messages, list pages, quotes, single sends."""

    abstract = True
    key = ""
    contact_list = 0

    def on_start(self) -> None:
        self.client.headers["Authorization"] = f"Token {self.key}"
        self.sent: list[int] = []

    @task(4)
    def read_company(self) -> None:
        self.client.get("/company", name="GET /company")

    @task(2)
    def read_message(self) -> None:
        if self.sent:
            self.client.get(f"/messages/{self.sent[-1]}", name="GET /messages/{id}")

    @task(3)
    def list_page(self) -> None:
        path = f"/contact-lists/{self.contact_list}/contacts?page_size=50"
        self.client.get(path, name="GET /contact-lists/{id}/contacts")

    @task(2)
    def quote(self) -> None:
        body = {"message": "Your order is ready for collection at our Sandton store", "marketing": False}
        self.client.post("/messages/quote", json=body, name="POST /messages/quote")

    @task(1)
    def send(self) -> None:
        body = {"message": "Your code is 4821", "destination": f"2783{len(self.sent) % 10_000:07d}"}
        answer = self.client.post("/messages/send", json=body, name="POST /messages/send")
        if answer.status_code == 201:
            self.sent.append(answer.json()["id"])


def run_load(api: str, integrator: dict[str, object], users: int, rate: float, seconds: float) -> dict:
    """`users` integrators, `rate` requests a second between them, for `seconds`; the figures."""
    user_class = type(
        "BenchIntegrator",
        (Integrator,),
        {
            "abstract": False,
            "host": api,
            "key": integrator["key"],
            "contact_list": integrator["contact_list"],
            "wait_time": constant_throughput(rate / users),
        },
    )
    environment = Environment(user_classes=[user_class], host=api)
    runner = environment.create_local_runner()
    started = time.monotonic()
    runner.start(users, spawn_rate=rate)  # over one user's period, so their calls are spread, not in step
    gevent.spawn_later(seconds, runner.quit)
    runner.greenlet.join()
    elapsed = time.monotonic() - started
    total = environment.stats.total
    return {
        "users": users,
        "rate_bound_per_s": rate,
        "seconds": round(elapsed, 1),
        "requests": total.num_requests,
        "errors": total.num_failures,
        "requests_per_s": round(total.num_requests / elapsed, 1),
        "p50_ms": total.get_response_time_percentile(0.5),
        "p95_ms": total.get_response_time_percentile(0.95),
        "p99_ms": total.get_response_time_percentile(0.99),
        "by_route": {
            name: {
                "requests": entry.num_requests,
                "errors": entry.num_failures,
                "p50_ms": entry.get_response_time_percentile(0.5),
                "p95_ms": entry.get_response_time_percentile(0.95),
            }
            for (name, _method), entry in sorted(environment.stats.entries.items())
        },
        "error_kinds": {str(e.error)[:200]: e.occurrences for e in environment.stats.errors.values()},
    }


if __name__ == "__main__":
    main()
