"""The README's integration examples, run exactly as written against the stack `make run` starts, through
a proxy that makes the first answer arrive after the client gave up (the send happened; the client does
not know)."""

from __future__ import annotations

import http.server
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from tests.e2e.conftest import free_port
from tests.e2e.polling import eventually

pytestmark = pytest.mark.e2e
README = Path(__file__).resolve().parents[2] / "README.md"
TIMEOUT = 2  # the examples' COLONY_TIMEOUT; the proxy holds a first answer back longer


def example(name: str) -> str:
    """The code block that follows `<!-- example: name -->` in the README."""
    found = re.search(rf"<!-- example: {name} -->\n```\w+\n(.*?)\n```", README.read_text(), re.S)
    assert found, f"the README has no example {name}"
    return found.group(1)


@dataclass
class LateProxy:
    """Forwards every request to the API; holds back the answer to the first request of each key."""

    target: str
    seen: list[tuple[str, int, str]] = field(default_factory=list)  # key, status, Idempotent-Replayed
    _held: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def serve(self) -> tuple[http.server.ThreadingHTTPServer, str]:
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {
                    k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")
                }
                answer = requests.post(f"{proxy.target}{self.path}", data=body, headers=headers, timeout=30)
                key = self.headers.get("Idempotency-Key", "")
                with proxy._lock:
                    proxy.seen.append(
                        (key, answer.status_code, answer.headers.get("Idempotent-Replayed", ""))
                    )
                    first = key not in proxy._held
                    proxy._held.add(key)
                if first:
                    time.sleep(TIMEOUT + 1)  # the client has given up by now
                try:
                    self.send_response(answer.status_code)
                    for name in ("Content-Type", "Idempotent-Replayed", "Retry-After"):
                        if name in answer.headers:
                            self.send_header(name, answer.headers[name])
                    self.send_header("Content-Length", str(len(answer.content)))
                    self.end_headers()
                    self.wfile.write(answer.content)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args: object) -> None:
                return

        server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server, f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture(scope="module")
def company(stack):
    return stack.cli("company", "create", "--name", "Shop", "--credits", "100")


@pytest.fixture
def proxied(stack, company) -> Iterator[tuple[LateProxy, dict[str, str]]]:
    proxy = LateProxy(stack.api)
    server, url = proxy.serve()
    env = {**stack.env, "COLONY_URL": url, "COLONY_KEY": company["api_key"], "COLONY_TIMEOUT": str(TIMEOUT)}
    yield proxy, env
    server.shutdown()


def sent_to(stack, number: str) -> list[dict]:
    return [line for line in stack.outbox if line["to"] == number]


def balance(stack, company) -> int:
    headers = {"Authorization": f"Token {company['api_key']}"}
    return requests.get(f"{stack.api}/company", headers=headers, timeout=10).json()["credits"]


def test_the_curl_retry_sends_once_after_a_timeout(stack, company, proxied):
    proxy, env = proxied
    before = balance(stack, company)
    done = subprocess.run(
        ["bash", "-c", example("retry-with-curl")], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert '"destination":"27815854565"' in done.stdout.replace(" ", "")
    assert "timed out" in done.stderr.lower() or "operation timed out" in done.stderr.lower()
    keys = {key for key, _, _ in proxy.seen}
    assert len(keys) == 1 and len(proxy.seen) >= 2
    assert proxy.seen[0][1:] == (201, "") and proxy.seen[-1][1:] == (201, "true")
    eventually(lambda: sent_to(stack, "27815854565"))
    time.sleep(1)  # a second SMS, were there one, would be in the outbox by now
    assert len(sent_to(stack, "27815854565")) == 1
    assert balance(stack, company) == before - 1


def test_the_requests_retry_sends_once_after_a_timeout(stack, company, proxied):
    proxy, env = proxied
    before = balance(stack, company)
    done = subprocess.run(
        [sys.executable, "-c", example("retry-with-requests")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().isdigit()
    assert len({key for key, _, _ in proxy.seen}) == 1 and len(proxy.seen) >= 2
    assert proxy.seen[-1][1:] == (201, "true")
    eventually(lambda: sent_to(stack, "27815854566"))
    time.sleep(1)
    assert len(sent_to(stack, "27815854566")) == 1
    assert balance(stack, company) == before - 1


def test_the_callback_receiver_verifies_signatures_and_keeps_the_latest_status(stack, company):
    port = free_port()
    headers = {"Authorization": f"Token {company['api_key']}"}
    answer = requests.patch(
        f"{stack.api}/company",
        json={"callback_url": f"http://127.0.0.1:{port}/colony"},
        headers=headers,
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    env = {**stack.env, "COLONY_CALLBACK_SECRET": answer.json()["callback_secret"], "PORT": str(port)}
    receiver = subprocess.Popen(
        [sys.executable, "-c", example("callback-receiver")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(receiver.stdout), daemon=True).start()
    try:
        (forged,) = eventually(lambda: _post_quietly(f"http://127.0.0.1:{port}/colony"))
        assert forged.status_code == 400  # not signed with the company's secret
        sent = requests.post(
            f"{stack.api}/messages/send",
            json={"destination": "27815854567", "message": "Order 1003 has shipped"},
            headers=headers,
            timeout=10,
        )
        assert sent.status_code == 201, sent.text
        reference = f"m{company['company']['id']}:{sent.json()['id']}"
        eventually(lambda: f"message.status {reference} is sent\n" in lines)
    finally:
        receiver.terminate()
        receiver.wait(timeout=10)


def _post_quietly(url: str) -> list[requests.Response]:
    """A forged callback (no valid signature) once the receiver listens, as a list (a 4xx answer is falsy)."""
    try:
        return [
            requests.post(url, data=b'{"data": {}}', headers={"Colony-Signature": "t=1,v1=00"}, timeout=5)
        ]
    except requests.ConnectionError:
        return []
