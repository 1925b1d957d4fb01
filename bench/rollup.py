"""Rollup benchmark: DynamoDB requests of one rollup run after one new hour of activity, on a deployment
with 10 and with 10,000 hours of history (they must be equal), and the time of a run after 1,000
deployments were active in the same hour.

    .venv/bin/python -m bench.rollup

The embedded AWS (moto server) runs in its own process. History is put as the hour rows the sender's
updates leave behind (moto parses each update expression slowly, so 20,000 of them would take minutes)
and rolled up by the real rollup before anything is measured; the measured activity goes through the
sender's own updates. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import datetime, timedelta

from bench.embedded import embedded_aws

TZ = "Africa/Johannesburg"
NOW = datetime.fromisoformat("2026-11-27T10:30:00+02:00")
ACTIONS_A_TRANSACTION = 100


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--deployments", type=int, default=1_000)
    args = parser.parse_args()
    with embedded_aws("colony-bench-rollup"):
        result = _run(args.deployments)
    print(
        f"one new hour: {result['requests_history_10']} DynamoDB requests after 10 hours of history, "
        f"{result['requests_history_10000']} after 10,000; "
        f"{args.deployments} active deployments rolled up in {result['seconds_1000_deployments']:.1f} s "
        f"({result['requests_1000_deployments']} requests)"
    )
    print(json.dumps(result))


def _run(deployments: int) -> dict:
    from bench.counting import count_aws_calls
    from chalicelib.domain.stats import rollup
    from chalicelib.local import stack

    stack.provision()
    result: dict = {}
    for company, history in ((1, 10), (2, 10_000)):
        deployment = 100 + company
        _put_history(company, deployment, history)
        _roll_up_everything(rollup)
        _write([(company, deployment, NOW)])
        with count_aws_calls() as calls:
            run = rollup.roll_up()
        assert run.hours == 2 and not run.left, run
        result[f"requests_history_{history}"] = sum(calls.values())
        result[f"requests_by_operation_history_{history}"] = dict(sorted(calls.items()))

    _write([(10 + n % 50, 1_000 + n, NOW) for n in range(deployments)])
    started = time.perf_counter()
    with count_aws_calls() as calls:
        run = rollup.roll_up()
    result["seconds_1000_deployments"] = round(time.perf_counter() - started, 2)
    result["requests_1000_deployments"] = sum(calls.values())
    result["hours_1000_deployments"] = run.hours
    result["rows_1000_deployments"] = run.rows
    assert not run.left and rollup.roll_up().hours == 0
    return result


def _write(activity: list[tuple[int, int, datetime]]) -> None:
    """Hour-row updates as the sender makes them: a deployment's and its company's, in transactions."""
    from chalicelib import aws
    from chalicelib.domain.stats.tally import Tally

    client = aws.client("dynamodb")
    per_transaction = ACTIONS_A_TRANSACTION // 2
    for start in range(0, len(activity), per_transaction):
        tally = Tally()
        for company, deployment, moment in activity[start : start + per_transaction]:
            tally.add(company, deployment, moment, TZ, "sent", 90)
            tally.add(company, deployment, moment, TZ, "unsent", 7)
            tally.add(company, deployment, moment, TZ, "optout", 3)
        client.transact_write_items(TransactItems=tally.updates())


def _put_history(company: int, deployment: int, hours: int) -> None:
    """`hours` hour rows before NOW for a deployment and its company, waiting to be rolled up."""
    from chalicelib.domain.stats import periods
    from chalicelib.domain.stats.tally import dirty_shard
    from chalicelib.models import batch
    from chalicelib.models.stats import Stat, company_scope, deployment_scope

    rows = []
    for back in range(hours, 0, -1):
        hour = periods.hour_of(NOW - timedelta(hours=back), TZ)
        for scope, owner in ((deployment_scope(deployment), deployment), (company_scope(company), None)):
            row = Stat(
                scope=scope,
                period=hour.key,
                company=company,
                deployment=owner,
                period_type=hour.type,
                period_start=periods.iso(hour.start),
                period_end=periods.iso(hour.end),
                tz=TZ,
                sent=90,
                unsent=7,
                optout=3,
                version=1,
                dirty=dirty_shard(company, owner),
            )
            rows.append(row.serialize())
    batch.write_items(Stat.Meta.table_name, rows)


def _roll_up_everything(rollup) -> None:
    while rollup.roll_up().left:
        pass
    assert rollup.roll_up().hours == 0


if __name__ == "__main__":
    main()
