"""`make run`: the whole platform on one machine until Ctrl-C.

moto in server mode, the stack provisioned from `infra/`, the API (Chalice's local server, through
`chalicelib/local/api_server.py`) and the event pump, in one foreground process group; stopping it
stops every process it started.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from chalicelib.settings import PROJECT_DIR, ports_file, use_stage

HOST = "127.0.0.1"
READY_TIMEOUT_SECONDS = 60
_PR_SET_PDEATHSIG = 1


def main() -> int:
    use_stage("local")
    moto_port = int(os.environ.setdefault("MOTO_PORT", "5000"))
    api_port = int(os.environ.get("PORT", "8000"))
    for name, port in (("MOTO_PORT", moto_port), ("PORT", api_port)):
        if not _port_is_free(port):
            print(f"Port {port} is in use; choose another with {name}=...", file=sys.stderr)
            return 2
    local_dir = PROJECT_DIR / ".local"
    local_dir.mkdir(exist_ok=True)
    ports = ports_file(os.environ)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    children: list[subprocess.Popen] = []
    try:
        children.append(
            _spawn(
                [sys.executable, "-m", "chalicelib.local.moto_server", "-H", HOST, "-p", str(moto_port)],
                log=local_dir / "moto.log",
            )
        )
        _wait_for(f"http://{HOST}:{moto_port}/moto-api/", stop, children)
        from chalicelib.local import stack

        stack.provision()
        children.append(_spawn([sys.executable, "-m", "chalicelib.local.api_server", HOST, str(api_port)]))
        _wait_for(f"http://{HOST}:{api_port}/health", stop, children)
        pump_thread = _start_pump(stop)
        ports.write_text(json.dumps({"MOTO_PORT": moto_port, "PORT": api_port, "pid": os.getpid()}))
        print(f"Colony is up: API http://{HOST}:{api_port}", flush=True)
        print(f"API reference: http://{HOST}:{api_port}/docs (its OpenAPI: /openapi.json)", flush=True)
        print(f"Web app: http://{HOST}:{api_port}/app/", flush=True)
        while not stop.wait(0.5):
            if any(child.poll() is not None for child in children):
                print("A part of the stack stopped; shutting down.", file=sys.stderr)
                return 1
        pump_thread.join(timeout=10)
        return 0
    except _Stopped:
        return 0
    except RuntimeError as error:
        print(f"Colony could not start: {error}", file=sys.stderr)
        return 1
    finally:
        stop.set()
        _stop_all(children)
        ports.unlink(missing_ok=True)


class _Stopped(Exception):
    """Ctrl-C arrived before the stack was up."""


def _start_pump(stop: threading.Event) -> threading.Thread:
    from app import app
    from chalicelib.local.pump import EventPump

    pump = EventPump(app)
    pump.connect()
    thread = threading.Thread(target=pump.run, args=(stop,), name="pump", daemon=True)
    thread.start()
    return thread


def _spawn(command: list[str], log: Path | None = None) -> subprocess.Popen:
    output = log.open("ab") if log else None
    return subprocess.Popen(
        command,
        cwd=PROJECT_DIR,
        stdout=output,
        stderr=subprocess.STDOUT if log else None,
        preexec_fn=_die_with_parent,
    )


def _die_with_parent() -> None:
    """Ask Linux to stop the child if this process dies without cleaning up (kill -9)."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _wait_for(url: str, stop: threading.Event, children: list[subprocess.Popen]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if stop.is_set():
            raise _Stopped
        if any(child.poll() is not None for child in children):
            raise RuntimeError(f"a process exited before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - a fixed local http URL
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {READY_TIMEOUT_SECONDS}s")


def _stop_all(children: list[subprocess.Popen]) -> None:
    for child in children:
        if child.poll() is None:
            child.terminate()
    for child in children:
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
    return True


if __name__ == "__main__":
    sys.exit(main())
