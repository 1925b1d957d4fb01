"""moto in server mode for the embedded stack: with the speed-ups (`moto_speedups`) and, given a state
folder, its state kept across restarts: restored at start, saved every `--every` seconds while requests
change it and once more on SIGTERM or SIGINT, each time with no request in progress (`gate`).

    python -m chalicelib.local.moto_server -H HOST -p PORT [--state DIR [--fresh] [--every SECONDS]]
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from pathlib import Path

from chalicelib.local import outboxes, state
from chalicelib.local.gate import Gate, GatedApp
from chalicelib.local.moto_speedups import install

SNAPSHOT_EVERY_SECONDS = 30.0


class StateKeeper:
    """Restores and saves the embedded AWS's state in `folder`, with the outboxes in step."""

    def __init__(self, folder: Path, gated: GatedApp) -> None:
        self.folder = folder
        self.gated = gated
        self._saving = threading.Lock()

    def start(self, fresh: bool) -> str:
        """Restore the saved state (or, fresh or with none saved, start empty); says which it did."""
        if fresh:
            state.snapshot_path(self.folder).unlink(missing_ok=True)
        began = time.perf_counter()
        header = state.restore(self.folder)
        if header is None:
            outboxes.clear()
            return f"embedded AWS: starting empty (state in {self.folder})"
        outboxes.cut_to(header["outboxes"])
        return f"embedded AWS: state restored from {self.folder} in {time.perf_counter() - began:.2f}s"

    def save(self) -> str:
        with self._saving:
            began = time.perf_counter()
            with self.gated.gate.exclusive():
                self.gated.changed = False
                snapshot = state.capture(outboxes.sizes())
            held = time.perf_counter() - began
            path = state.write(self.folder, snapshot)
        mb = len(snapshot.body) / 1e6
        return f"embedded AWS: state saved to {path} ({mb:.1f} MB; requests held {held:.2f}s)"

    def save_while_changing(self, stop: threading.Event, every: float) -> None:
        while not stop.wait(every):
            if self.gated.changed:
                _say(self.save())


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    os.environ.setdefault("MOTO_PORT", str(args.port))
    from moto.moto_server import werkzeug_app
    from werkzeug.serving import make_server

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    gated = GatedApp(werkzeug_app.DomainDispatcherApplication(werkzeug_app.create_backend_app), Gate())
    keeper = StateKeeper(Path(args.state), gated) if args.state else None
    try:
        if keeper:
            _say(keeper.start(args.fresh))
    except state.StateError as error:
        _say(f"embedded AWS: {error}; `make run FRESH=1` starts empty (and discards it)")
        return 3
    install()  # patches classes only, so restored objects get the speed-ups too
    server = make_server(
        args.host, args.port, gated, threaded=True, request_handler=werkzeug_app.MotoRequestHandler
    )
    threading.Thread(target=lambda: (stop.wait(), server.shutdown()), name="shutdown", daemon=True).start()
    if keeper:
        threading.Thread(
            target=keeper.save_while_changing, args=(stop, args.every), name="snapshots", daemon=True
        ).start()
    server.serve_forever()
    if keeper:
        _say(keeper.save())
    gated.gate.close()
    return 0


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="moto_server")
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=int(os.environ.get("MOTO_PORT", "5000")))
    parser.add_argument("--state", help="the folder that keeps the state across restarts")
    parser.add_argument("--fresh", action="store_true", help="discard the saved state and start empty")
    parser.add_argument("--every", type=float, default=SNAPSHOT_EVERY_SECONDS, help="seconds between saves")
    return parser.parse_args(argv)


def _say(line: str) -> None:
    print(line, flush=True)


if __name__ == "__main__":
    sys.exit(main())
