"""What one authenticated API call costs: AWS requests and time, against an in-process embedded AWS.

    .venv/bin/python -m bench.api [--calls N]

The last line is one JSON object. Time is the app's own work plus moto's; in AWS, DynamoDB adds
single-digit milliseconds per request, so the request count is the figure that carries over.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

os.environ.update(
    COLONY_STAGE="test",
    AWS_ACCESS_KEY_ID="bench",
    AWS_SECRET_ACCESS_KEY="bench",
    AWS_DEFAULT_REGION="af-south-1",
    POWERTOOLS_LOG_LEVEL="WARNING",
)

import moto  # before any boto3 client exists


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=500)
    calls = parser.parse_args().calls
    from chalice.test import Client

    from app import app
    from bench.counting import count_aws_calls
    from chalicelib.domain.accounts import companies
    from chalicelib.local import stack
    from chalicelib.settings import PROJECT_DIR

    with moto.mock_aws():
        stack.provision()
        new = companies.create_company("Bench", "admin@bench.example", credits=10)
        headers = {"Authorization": f"Token {new.api_key}"}
        with Client(app, stage_name="test", project_dir=str(PROJECT_DIR)) as client:
            client.http.get("/company", headers=headers)
            timings = []
            with count_aws_calls() as aws_calls:
                for _ in range(calls):
                    started = time.perf_counter()
                    response = client.http.get("/company", headers=headers)
                    timings.append((time.perf_counter() - started) * 1000)
                    assert response.status_code == 200
    per_call = {op: n / calls for op, n in sorted(aws_calls.items())}
    result = {
        "calls": calls,
        "aws_requests_per_call": sum(aws_calls.values()) / calls,
        "aws_requests_by_operation": per_call,
        "p50_ms": round(statistics.median(timings), 2),
        "p95_ms": round(statistics.quantiles(timings, n=20)[18], 2),
    }
    print(
        f"GET /company x{calls}: {result['aws_requests_per_call']:.1f} AWS requests a call "
        f"({', '.join(f'{k} {v:g}' for k, v in per_call.items())}), p50 {result['p50_ms']} ms"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
