"""`make run`: the whole platform on one machine until Ctrl-C.

moto in server mode (its state kept in `.local/state/` across runs; `--fresh` starts empty), the stack
provisioned from `infra/`, the API (Chalice's local server, through `chalicelib/local/api_server.py`)
and the event pump. Each child runs in a process group of its own, so a Ctrl-C or a SIGTERM reaches
this process alone, which stops them in order: the pump finishes what it holds, then the API stops, then
moto saves its state and stops. A child also stops if this process dies without cleaning up.

    python -m chalicelib.local [--fresh]
"""

from __future__ import annotations

import argparse
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

from chalicelib.settings import PROJECT_DIR, moto_log_file, ports_file, state_dir, use_stage

HOST = "127.0.0.1"
READY_TIMEOUT_SECONDS = 60
RESTORE_TIMEOUT_SECONDS = 600  # moto reads a saved state before it answers
PUMP_STOP_SECONDS = 30
SAVE_TIMEOUT_SECONDS = 600
_PR_SET_PDEATHSIG = 1
_LOG_TAIL_BYTES = 65536


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chalicelib.local")
    parser.add_argument("--fresh", action="store_true", help="discard the saved state and the outboxes")
    fresh = parser.parse_args(argv).fresh
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
    moto_log = moto_log_file(os.environ)
    moto_log.parent.mkdir(parents=True, exist_ok=True)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, lambda *_: stop.set())
    children: list[subprocess.Popen] = []
    pump_thread: threading.Thread | None = None
    try:
        children.append(_spawn(_moto_command(moto_port, fresh), log=moto_log))
        _wait_for(f"http://{HOST}:{moto_port}/moto-api/", stop, children, RESTORE_TIMEOUT_SECONDS)
        print(_last_line(moto_log), flush=True)
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
        return 0
    except _Stopped:
        return 0
    except RuntimeError as error:
        print(f"Colony could not start: {error}", file=sys.stderr)
        if children and children[0].poll() is not None:
            print(_last_line(moto_log), file=sys.stderr)
        return 1
    finally:
        stop.set()
        if pump_thread is not None:
            pump_thread.join(timeout=PUMP_STOP_SECONDS)
        _stop_all(children)
        ports.unlink(missing_ok=True)
        if children and children[0].returncode == 0:
            print(_last_line(moto_log), flush=True)


def _moto_command(port: int, fresh: bool) -> list[str]:
    command = [sys.executable, "-m", "chalicelib.local.moto_server", "-H", HOST, "-p", str(port)]
    command += ["--state", str(state_dir(os.environ))]
    if os.environ.get("COLONY_SNAPSHOT_SECONDS"):
        command += ["--every", os.environ["COLONY_SNAPSHOT_SECONDS"]]
    return [*command, "--fresh"] if fresh else command


def _last_line(log: Path) -> str:
    """The last line moto's log holds about the state (where it lives, how it was kept)."""
    try:
        with log.open("rb") as text:
            text.seek(max(0, log.stat().st_size - _LOG_TAIL_BYTES))
            lines = text.read().decode("utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    return next((line for line in reversed(lines) if line.startswith("embedded AWS:")), "")


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
        process_group=0,
        preexec_fn=_die_with_parent,
    )


def _die_with_parent() -> None:
    """Ask Linux to stop the child if this process dies without cleaning up (kill -9)."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _wait_for(
    url: str, stop: threading.Event, children: list[subprocess.Popen], timeout: float = READY_TIMEOUT_SECONDS
) -> None:
    deadline = time.monotonic() + timeout
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
    raise RuntimeError(f"{url} did not answer within {timeout:.0f}s")


def _stop_all(children: list[subprocess.Popen]) -> None:
    """Stop the last started first: the API before moto, which saves its state as it stops."""
    for child in reversed(children):
        if child.poll() is None:
            child.terminate()
        try:
            child.wait(timeout=SAVE_TIMEOUT_SECONDS if child is children[0] else 10)
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
