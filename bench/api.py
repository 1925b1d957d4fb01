"""What one authenticated API call costs: AWS requests and time, against an in-process embedded AWS.

    .venv/bin/python -m bench.api [--calls N]

Measured for a read (`GET /company`), a write (`POST /contact-lists`) and a list (`GET /contact-lists`)
with an API key, and the list with a person's session in test mode. The last line is one JSON object.
Time is the app's own work plus moto's; in AWS, DynamoDB adds single-digit milliseconds per request, so
the request count is the figure that carries over.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from typing import Any

os.environ.update(
    COLONY_STAGE="test",
    AWS_ACCESS_KEY_ID="bench",
    AWS_SECRET_ACCESS_KEY="bench",
    AWS_DEFAULT_REGION="af-south-1",
    POWERTOOLS_LOG_LEVEL="WARNING",
)

import moto  # before any boto3 client exists

PASSWORD = "bench-password-long-enough"


def _measure(client: Any, method: str, path: str, headers: dict[str, str], calls: int) -> dict[str, Any]:
    """`calls` requests of one route: AWS requests a call (by operation), p50 and p95 in milliseconds."""
    from bench.counting import count_aws_calls

    body = json.dumps({"title": "Bench"}) if method == "POST" else None
    headers = {**headers, "Content-Type": "application/json"}
    client.http.request(method, path, headers=headers, body=body)
    timings = []
    with count_aws_calls() as aws_calls:
        for _ in range(calls):
            started = time.perf_counter()
            response = client.http.request(method, path, headers=headers, body=body)
            timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code in (200, 201), response.body
    return {
        "aws_requests_per_call": sum(aws_calls.values()) / calls,
        "aws_requests_by_operation": {op: n / calls for op, n in sorted(aws_calls.items())},
        "p50_ms": round(statistics.median(timings), 2),
        "p95_ms": round(statistics.quantiles(timings, n=20)[18], 2),
    }


def _session_token(company: int) -> str:
    """A session of the company's first user, signed in with a password set for the bench."""
    from chalicelib.domain.accounts import passwords, sessions
    from chalicelib.domain.accounts.auth import Caller
    from chalicelib.models.users import User

    user = next(iter(User.query(company)))
    passwords.set_password(user, PASSWORD, Caller.operator(company))
    return sessions.sign_in(user.email, PASSWORD).token


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=300)
    calls = parser.parse_args().calls
    from chalice.test import Client

    from app import app
    from chalicelib.domain.accounts import companies
    from chalicelib.local import stack
    from chalicelib.settings import PROJECT_DIR

    with moto.mock_aws():
        stack.provision()
        new = companies.create_company("Bench", "admin@bench.example", credits=10)
        key = {"Authorization": f"Token {new.api_key}"}
        session = {"Authorization": f"Bearer {_session_token(new.company.id)}", "Colony-Mode": "test"}
        routes = {
            "read GET /company (key)": ("GET", "/company", key),
            "write POST /contact-lists (key)": ("POST", "/contact-lists", key),
            "list GET /contact-lists (key)": ("GET", "/contact-lists", key),
            "list GET /contact-lists (test-mode session)": ("GET", "/contact-lists", session),
        }
        with Client(app, stage_name="test", project_dir=str(PROJECT_DIR)) as client:
            results = {name: _measure(client, *route, calls) for name, route in routes.items()}
    for name, result in results.items():
        by_operation = ", ".join(f"{k} {v:g}" for k, v in result["aws_requests_by_operation"].items())
        print(
            f"{name} x{calls}: {result['aws_requests_per_call']:.1f} AWS requests a call ({by_operation}), "
            f"p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms"
        )
    print(json.dumps({"calls": calls, "routes": results}))


if __name__ == "__main__":
    main()
