"""Cost benchmark: AWS dollars per 1,000,000 SMS, per 1,000,000 emails and per 1,000,000 imported
contacts, from the requests the import, send, receipt and rollup benchmarks count, beside a naive
design's.

    .venv/bin/python -m bench.cost
    .venv/bin/python -m bench.cost --recipients 10000 --rows 100000 --deployments 1000

Each part runs in a process of its own against its own embedded AWS (moto server): the import benchmark's
file, the send benchmark's deployment (SMS, then email), a delivery receipt for every SMS sent, and the
rollup benchmark's hour of 1,000 active deployments (`bench.rollup` shows a run's requests do not grow
with history). What each counted call is billed as (DynamoDB read
and write units by item size, SQS requests per 64 KiB) is estimated in `bench/counting.py`; the prices
and their sources are in `bench/prices.py` (us-east-1's: no af-south-1 figure was found).

Assumptions, each a named constant below: Lambda is billed for the measured seconds of the work against
moto (an upper bound: DynamoDB answers faster than moto) at the memory `.chalice/config.json` gives the
function; a deployment's messages are rolled up as part of one active deployment-hour per
MESSAGES_A_DEPLOYMENT_HOUR; every SMS gets one delivery receipt, through SNS to the `sms_events`
function. Carrier SMS fees are excluded and stated separately. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import collections
import importlib
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench import prices
from bench.embedded import embedded_aws

PROJECT_DIR = Path(__file__).resolve().parent.parent

MILLION = 1_000_000
MESSAGES_A_DEPLOYMENT_HOUR = 10_000
HOURS_A_MONTH = 730
NAIVE_INVOCATION_SECONDS = 0.1
NAIVE_ROUND_TRIP_SECONDS = 0.005
PARTS = ("import", "sms", "email", "rollup")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--recipients", type=int, default=2_000, help="SMS and emails sent to measure")
    parser.add_argument("--rows", type=int, default=20_000, help="contacts imported to measure")
    parser.add_argument("--deployments", type=int, default=1_000, help="active deployments rolled up")
    parser.add_argument("--part", choices=PARTS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.part:
        print(json.dumps(MEASURES[args.part](args)))
        return
    measured = {part: _measure_in_child(part, args) for part in PARTS}
    result = price(measured, memory_by_function())
    _print_table(result)
    print(json.dumps(result))


def _measure_in_child(part: str, args: argparse.Namespace) -> dict[str, Any]:
    command = [sys.executable, "-m", "bench.cost", "--part", part]
    command += ["--recipients", str(args.recipients), "--rows", str(args.rows)]
    command += ["--deployments", str(args.deployments)]
    done = subprocess.run(command, cwd=PROJECT_DIR, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"measuring {part} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def memory_by_function() -> dict[str, int]:
    """Each function's memory in MB, as `.chalice/config.json` configures it."""
    config = json.loads((PROJECT_DIR / ".chalice" / "config.json").read_text())
    default = config["lambda_memory_size"]
    functions = ("imports_worker", "send_worker", "sms_events", "roll_up_stats", "launch_deployments")
    listed = config.get("lambda_functions", {})
    return {name: listed.get(name, {}).get("lambda_memory_size", default) for name in functions}


def _units(log: list[collections.Counter]) -> dict[str, float]:
    total: collections.Counter = collections.Counter()
    for window in log:
        total.update(window)
    return dict(total)


def _measure_import(args: argparse.Namespace) -> dict[str, Any]:
    """The import benchmark's file and importer, with its counted calls' billed units."""
    import multiprocessing
    import tempfile

    from bench.counting import recording_units

    bench_import = importlib.import_module("bench.import")
    with embedded_aws("colony-bench-cost"), tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "contacts.csv"
        prepare = multiprocessing.get_context("spawn").Process(
            target=bench_import._prepare, args=(path, args.rows, "mixed")
        )
        prepare.start()
        prepare.join()
        assert prepare.exitcode == 0, "preparing the file failed"
        with recording_units() as log:
            result = bench_import._measure(path, args.rows)
    return {
        "items": result["imported"],
        "seconds": result["seconds"],
        "calls": result["aws_requests_by_operation"],
        "units": _units(log),
        "invocations": 1,
    }


SEND_RATE = 1000  # the product's highest send_rate: storage, not pacing, sets the seconds billed


def _measure_send(channel: str, args: argparse.Namespace) -> dict[str, Any]:
    """The send benchmark's deployment; for SMS, then a delivery receipt for every message."""
    from bench.counting import count_aws_calls, recording_units

    bench_send = importlib.import_module("bench.send")
    environment = {"COLONY_PROVIDER": "fake", "COLONY_EMAIL_PROVIDER": "fake"}
    with embedded_aws("colony-bench-cost", **environment), recording_units() as log:
        result = bench_send._run(
            args.recipients, marketing=True, channel=channel, rate=SEND_RATE, ceiling=False
        )
        unit = bench_send.UNITS[channel]
        polling = round(result[f"sqs_polling_per_1000_{unit}"] * args.recipients / 1000)
        measured = {
            "items": args.recipients,
            "seconds": result["seconds"],
            "calls": result["aws_requests_by_operation"],
            "units": _units(log),
            "invocations": max(1, (polling - 1) // 2),
            "sqs_polling": polling,
        }
        if channel == "sms":
            with recording_units() as receipt_log, count_aws_calls() as calls:
                started = time.perf_counter()
                applied = _deliver_every_sms()
                seconds = time.perf_counter() - started
            assert applied == args.recipients, applied
            measured["receipts"] = {
                "items": applied,
                "seconds": round(seconds, 2),
                "calls": dict(calls),
                "units": _units(receipt_log),
                "invocations": applied,
            }
    return measured


def _deliver_every_sms() -> int:
    """A final TEXT_DELIVERED event for each recipient of the one deployment, as SNS hands it over."""
    from chalicelib.models.deployments import Deployment, Recipient
    from chalicelib.workers import sms_events

    applied = 0
    for deployment in Deployment.scan():
        for recipient in Recipient.query(deployment.id):
            event = {
                "eventType": "TEXT_DELIVERED",
                "isFinal": True,
                "messageId": recipient.provider_id or f"bench-{recipient.msisdn}",
                "context": {"reference": f"d{deployment.id}:{recipient.msisdn}"},
            }
            if sms_events.handle_event(json.dumps(event)).get("result") == "applied":
                applied += 1
    return applied


def _measure_rollup(args: argparse.Namespace) -> dict[str, Any]:
    """The rollup benchmark's hour of active deployments (its history left out: a run reads no history
    beyond the day, month and year), then an idle rollup and an idle launch run."""
    from bench.counting import count_aws_calls, recording_units
    from chalicelib.domain.deployments import launch
    from chalicelib.domain.stats import rollup
    from chalicelib.local import stack

    bench_rollup = importlib.import_module("bench.rollup")
    with embedded_aws("colony-bench-cost"), recording_units() as log:
        stack.provision()
        moment = bench_rollup.NOW
        bench_rollup._write([(10 + n % 50, 1_000 + n, moment) for n in range(args.deployments)])
        started = time.perf_counter()
        with count_aws_calls():
            run = rollup.roll_up()
        seconds = time.perf_counter() - started
        assert not run.left and run.hours, run
        active = log[-1]
        idle = {}
        for name, run in (("roll_up_stats", rollup.roll_up), ("launch_deployments", launch.launch_due)):
            started = time.perf_counter()
            with count_aws_calls() as calls:
                run()
            idle[name] = {
                "seconds": round(time.perf_counter() - started, 3),
                "calls": dict(calls),
                "units": dict(log[-1]),
            }
    return {
        "items": args.deployments,
        "seconds": round(seconds, 2),
        "units": dict(active),
        "calls": {},
        "invocations": 1,
        "idle": idle,
    }


MEASURES = {
    "import": _measure_import,
    "sms": lambda args: _measure_send("sms", args),
    "email": lambda args: _measure_send("email", args),
    "rollup": _measure_rollup,
}


def usage_of(part: dict[str, Any], memory_mb: int, extra: dict[str, float] | None = None) -> dict[str, float]:
    """Billed usage of one measured part: Lambda, DynamoDB and SQS units, S3 requests."""
    usage: dict[str, float] = collections.Counter()
    usage.update({k: v for k, v in part["units"].items() if k.startswith(("dynamodb.", "sqs."))})
    usage.update(prices.s3_requests(part["calls"]))
    usage["lambda_gb_seconds"] += prices.gb_seconds(part["seconds"], memory_mb)
    usage["lambda_invocations"] += part["invocations"]
    usage.update(extra or {})
    return dict(usage)


def naive_usage(items: int, memory_mb: int, queued: bool) -> dict[str, float]:
    """The naive design: per item one Lambda invocation of NAIVE_INVOCATION_SECONDS, one strongly
    consistent GetItem and one PutItem (items under 1 KiB), and, when `queued`, one SQS message of its
    own (sent, received, deleted). No batching anywhere."""
    return {
        "lambda_gb_seconds": prices.gb_seconds(items * NAIVE_INVOCATION_SECONDS, memory_mb),
        "lambda_invocations": items,
        "dynamodb.read_units": items,
        "dynamodb.write_units": items,
        "sqs.requests": 3 * items if queued else 0,
    }


def price(measured: dict[str, dict[str, Any]], memory: dict[str, int]) -> dict[str, Any]:
    """Dollars per million for each line, Colony's and the naive design's."""
    rollup = measured["rollup"]
    deployment_hours = MILLION / MESSAGES_A_DEPLOYMENT_HOUR
    rollup_usage = prices.scaled(usage_of(rollup, memory["roll_up_stats"]), rollup["items"], 1)
    rollup_usage = {k: v * deployment_hours for k, v in rollup_usage.items()}
    lines: dict[str, Any] = {}
    for channel in ("sms", "email"):
        part = measured[channel]
        extra = {"sqs.requests": part["sqs_polling"]}
        if channel == "email":
            extra["ses.emails"] = part["items"]
        usage = prices.scaled(usage_of(part, memory["send_worker"], extra), part["items"], MILLION)
        naive = naive_usage(MILLION, memory["send_worker"], queued=True)
        if channel == "email":
            naive["ses.emails"] = MILLION
        if channel == "sms":
            receipts = part["receipts"]
            extra = {"sns.publishes": receipts["items"]}
            receipt_usage = usage_of(receipts, memory["sms_events"], extra)
            receipt_usage = prices.scaled(receipt_usage, receipts["items"], MILLION)
            lines["receipts_per_1m_sms"] = _line(receipt_usage, _naive_receipts(memory["sms_events"]))
            usage = _sum(usage, receipt_usage)
            naive = _sum(naive, _naive_receipts(memory["sms_events"]))
        usage = _sum(usage, rollup_usage)
        naive = _sum(naive, rollup_usage)
        lines[f"per_1m_{'sms' if channel == 'sms' else 'emails'}"] = _line(usage, naive)
    lines["per_1m_imported_contacts"] = _import_line(measured["import"], memory["imports_worker"])
    lines["rollup_per_1m_messages"] = _line(rollup_usage, rollup_usage)
    return {
        **lines,
        "fixed_per_month": _fixed_per_month(rollup["idle"], memory),
        "carrier_sms_fees": prices.CARRIER_SMS_NOTE,
        "prices": {"region": prices.PRICE_REGION, "read_on": prices.PRICES_READ_ON},
        "lambda_memory_mb": memory,
        "measured": {name: {k: part[k] for k in ("items", "seconds")} for name, part in measured.items()},
        "assumptions": {
            "lambda_seconds": "measured against moto (an upper bound)",
            "messages_a_deployment_hour": MESSAGES_A_DEPLOYMENT_HOUR,
            "naive_design": (
                "per message (and per receipt) one Lambda invocation of naive_invocation_seconds, one "
                "GetItem and one PutItem, and one SQS message of its own (sent, received, deleted); per "
                "imported contact one GetItem and one PutItem, one round trip after another"
            ),
            "naive_invocation_seconds": NAIVE_INVOCATION_SECONDS,
            "naive_round_trip_seconds": NAIVE_ROUND_TRIP_SECONDS,
        },
    }


def _naive_receipts(memory_mb: int) -> dict[str, float]:
    return {**naive_usage(MILLION, memory_mb, queued=False), "sns.publishes": MILLION}


def _import_line(part: dict[str, Any], memory_mb: int) -> dict[str, Any]:
    """The importer's; the naive importer reads and writes each contact alone (a GetItem for repeats,
    a PutItem), one round trip after another in the same function."""
    usage = usage_of(part, memory_mb, {"s3.writes": 1})
    usage = prices.scaled(usage, part["items"], MILLION)
    waiting = prices.gb_seconds(MILLION * 2 * NAIVE_ROUND_TRIP_SECONDS, memory_mb)
    naive = {
        **usage,
        "dynamodb.read_units": MILLION,
        "dynamodb.write_units": MILLION,
        "lambda_gb_seconds": usage["lambda_gb_seconds"] + waiting,
    }
    return _line(usage, naive)


def _fixed_per_month(idle: dict[str, Any], memory: dict[str, int]) -> dict[str, float]:
    """The schedules' cost with nothing to do: a launch run a minute, a rollup every five minutes."""
    runs = {"launch_deployments": HOURS_A_MONTH * 60, "roll_up_stats": HOURS_A_MONTH * 12}
    total: dict[str, float] = {}
    for name, count in runs.items():
        run = {**idle[name], "invocations": 1}
        usage = prices.scaled(usage_of(run, memory[name]), 1, count)
        total[name] = prices.dollars(usage)["total"]
    return {**total, "total": round(sum(total.values()), 4)}


def _line(usage: dict[str, float], naive: dict[str, float]) -> dict[str, Any]:
    return {
        "dollars": prices.dollars(usage),
        "naive_dollars": prices.dollars(naive),
        "usage": {k: round(v, 1) for k, v in sorted(usage.items())},
    }


def _sum(*usages: dict[str, float]) -> dict[str, float]:
    total: collections.Counter = collections.Counter()
    for usage in usages:
        total.update(usage)
    return dict(total)


def _print_table(result: dict[str, Any]) -> None:
    print(f"AWS dollars per 1,000,000 (prices {result['prices']['region']}, read {prices.PRICES_READ_ON})")
    print(f"{'':28}{'Colony':>10}{'naive':>10}   Colony by service")
    labels = {
        "per_1m_sms": "1M SMS (receipts included)",
        "per_1m_emails": "1M emails",
        "per_1m_imported_contacts": "1M imported contacts",
        "receipts_per_1m_sms": "  of which 1M SMS receipts",
    }
    for name, label in labels.items():
        line = result[name]
        services = ", ".join(f"{k} {v:.2f}" for k, v in line["dollars"].items() if k != "total" and v)
        print(
            f"{label:28}{line['dollars']['total']:>10.2f}{line['naive_dollars']['total']:>10.2f}   {services}"
        )
    print(f"schedules with nothing to do: ${result['fixed_per_month']['total']:.2f} a month")
    print(f"carrier SMS fees: {result['carrier_sms_fees']}")


if __name__ == "__main__":
    main()
