"""The API under `make run`: Chalice's local server, except that a path no route matches answers
Colony's 404 (Chalice mimics API Gateway's 403 there, whose body repeats the caller's Authorization
header, API key and all; in AWS, `infra/` sets the same 404 as a gateway response), and a method the
server has no handler for (TRACE, CONNECT ...) Colony's 405, not the base server's HTML 501; a burst
of parallel connections is queued, not reset; and a request's `sourceIp` is its connection's peer, as
API Gateway gives it (an API key's `allowed_ips` are checked against it).

    python -m chalicelib.local.api_server HOST PORT
"""

from __future__ import annotations

import json
import logging
import os
import sys
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import Any

from chalice import local
from chalice.cli.factory import CLIFactory

from chalicelib.api.errors import error_body
from chalicelib.settings import PROJECT_DIR

NOT_FOUND = error_body("not_found", "No such route.")  # as `infra/` words it for API Gateway


class ColonyGateway(local.LocalGateway):
    def __init__(self, app_object: Any, config: Any, peer: str | None = None) -> None:
        super().__init__(app_object, config)
        self.peer = peer

    def _generate_lambda_event(self, method: str, path: str, headers: Any, body: bytes | None) -> Any:
        """The event as Chalice makes it, with the connection's real peer as its `sourceIp` (Chalice
        says 127.0.0.1 for every caller)."""
        event = super()._generate_lambda_event(method, path, headers, body)
        if self.peer is not None:
            event["requestContext"]["identity"]["sourceIp"] = self.peer
        return event

    def handle_request(self, method: str, path: str, headers: Any, body: bytes | None) -> dict[str, Any]:
        try:
            self._generate_lambda_event(method, path, headers, body)
        except ValueError:
            return {
                "statusCode": 404,
                "headers": {"Content-Type": "application/json"},
                "multiValueHeaders": {},
                "body": json.dumps(NOT_FOUND).encode(),
            }
        return super().handle_request(method, path, headers, body)


class ColonyRequestHandler(local.ChaliceRequestHandler):
    def __init__(self, request: Any, client_address: Any, server: Any, app_object: Any, config: Any) -> None:
        self.local_gateway = ColonyGateway(app_object, config, peer=str(client_address[0]))
        BaseHTTPRequestHandler.__init__(self, request, client_address, server)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("do_"):
            return self._method_not_allowed
        raise AttributeError(name)

    def _method_not_allowed(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))  # or it would open the next request
        self._answer(405, "method_not_allowed", f"{self.command} is not a method of this API.")

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """What the HTTP server refuses itself (a malformed request line, headers too long) is answered in
        Colony's error format too, without echoing the request (its path may hold a webhook token), and
        the connection closed, as nothing more of it can be trusted."""
        self.close_connection = True
        self.request_version = "HTTP/1.0"  # a line it could not read set none; answer with a status line
        reason = HTTPStatus(code).phrase if code in HTTPStatus._value2member_map_ else "Refused"
        self._answer(code, "bad_request" if code < 500 else "internal_error", f"{reason}.")

    def _answer(self, status: int, code: str, message: str) -> None:
        body = json.dumps(error_body(code, message)).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class ColonyHTTPServer(local.ThreadedHTTPServer):
    """A thread per request, with room for a burst of connections (the base's backlog of 5 resets the
    sixth of thirty parallel sends, where API Gateway would serve them all)."""

    request_queue_size = 128
    daemon_threads = True


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(message)s")
    factory = CLIFactory(project_dir=str(PROJECT_DIR), environ=os.environ)
    config = factory.create_config_obj(chalice_stage_name="local")
    for name, value in config.environment_variables.items():
        os.environ.setdefault(name, value)
    app = config.chalice_app
    local.CustomLocalChalice.__bases__ = (local.LocalChalice, app.__class__)
    app.__class__ = local.CustomLocalChalice
    local.LocalDevServer(
        app, config, host, port, handler_cls=ColonyRequestHandler, server_cls=ColonyHTTPServer
    ).serve_forever()


if __name__ == "__main__":
    main()
