"""The API under `make run`: Chalice's local server, except that a path no route matches answers
Colony's 404 (Chalice mimics API Gateway's 403 there, whose body repeats the caller's Authorization
header, API key and all; in AWS, `infra/` sets the same 404 as a gateway response), and a method the
server has no handler for (TRACE, CONNECT ...) Colony's 405, not the base server's HTML 501.

    python -m chalicelib.local.api_server HOST PORT
"""

from __future__ import annotations

import json
import logging
import os
import sys
from http.server import BaseHTTPRequestHandler
from typing import Any

from chalice import local
from chalice.cli.factory import CLIFactory

from chalicelib.api.errors import error_body
from chalicelib.settings import PROJECT_DIR

NOT_FOUND = error_body("not_found", "No such route.")  # as `infra/` words it for API Gateway


class ColonyGateway(local.LocalGateway):
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
        self.local_gateway = ColonyGateway(app_object, config)
        BaseHTTPRequestHandler.__init__(self, request, client_address, server)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("do_"):
            return self._method_not_allowed
        raise AttributeError(name)

    def _method_not_allowed(self) -> None:
        body = json.dumps(error_body("method_not_allowed", f"{self.command} is not a method of this API."))
        self.send_response(405)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body.encode())))
        self.end_headers()
        self.wfile.write(body.encode())


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
    local.LocalDevServer(app, config, host, port, handler_cls=ColonyRequestHandler).serve_forever()


if __name__ == "__main__":
    main()
