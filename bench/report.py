"""Report benchmark: peak memory and speed of a deployment report, the real task writing into the real
(embedded) S3 in parts, for a deployment of N recipients.

    .venv/bin/python -m bench.report --recipients 200000

The embedded AWS (moto server) runs in its own process and a second process stores the recipients, so
the peak RSS is the report's own (with the interpreter and the app loaded). Run it at two sizes: the
memory must not grow with the deployment. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

from bench.embedded import embedded_aws


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--recipients", type=int, default=200_000)
    parser.add_argument("--seed-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.seed_only:
        _seed(args.recipients)
        return
    with embedded_aws("colony-bench-report"):
        subprocess.run(
            [sys.executable, "-m", "bench.report", "--seed-only", "--recipients", str(args.recipients)],
            check=True,
        )
        result = _measure(args.recipients)
    print(
        f"report of {result['recipients']:,} recipients: {result['megabytes']:.0f} MB CSV in "
        f"{result['seconds']:.1f} s ({result['rows_per_s']:,} rows/s), "
        f"peak RSS {result['peak_rss_mb']:.0f} MB"
    )
    print(json.dumps(result))


def _seed(count: int) -> None:
    """A company, a deployment, and `count` recipients in every status, written straight to the table."""
    from datetime import UTC, datetime, timedelta

    from chalicelib.domain.accounts import companies
    from chalicelib.local import stack
    from chalicelib.models.batch import ConcurrentWriter
    from chalicelib.models.deployments import Deployment, Recipient

    stack.provision()
    new = companies.create_company("Bench", "bench@example.com", credits=0)
    now = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
    Deployment(
        company=new.company.id,
        id=1,
        title="Bench",
        status=4,
        message="Hi {{first_name}}, our sale starts today",
        created_by=new.admin.id,
        date_created=now,
        date_updated=now,
    ).save()
    writer = ConcurrentWriter(Recipient.Meta.table_name, threads=8)
    statuses = ("sent", "delivered", "delivered", "failed", "opted_out")
    page = []
    for n in range(count):
        status = statuses[n % len(statuses)]
        page.append(
            Recipient(
                deployment=1,
                msisdn=f"2782{n:07d}",
                company=new.company.id,
                first_name=f"Name{n}",
                last_name="Surname",
                status=status,
                segments=None if status == "opted_out" else 1,
                provider_id=None if status == "opted_out" else f"01J{n:020d}",
                error="no route to the handset" if status == "failed" else None,
                date_sent=None if status == "opted_out" else now + timedelta(seconds=n // 100),
                date_delivered=now + timedelta(seconds=n // 100 + 3) if status == "delivered" else None,
            ).serialize()
        )
        if len(page) == 1000:
            writer.submit(page)
            page = []
    writer.submit(page)
    writer.wait()
    writer.close()


def _measure(count: int) -> dict:
    from chalicelib.domain.accounts.auth import Caller
    from chalicelib.domain.background import tasks
    from chalicelib.domain.files import reports
    from chalicelib.models.files import File

    task = tasks.start(Caller(company=1, user=1, role="member"), "deployment_report", {"deployment": 1})
    started = time.perf_counter()
    result = reports.write_report(task)
    elapsed = time.perf_counter() - started
    assert result["recipients"] == count, result
    size = File.get(1, result["file"]).size
    return {
        "recipients": count,
        "seconds": round(elapsed, 1),
        "rows_per_s": round(count / elapsed),
        "megabytes": round(size / 2**20, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


if __name__ == "__main__":
    main()
