"""Import benchmark: rows per second, DynamoDB requests per 1,000 rows and peak memory.

    .venv/bin/python -m bench.import --rows 100000
    .venv/bin/python -m bench.import --rows 100000 --formats mixed

`--formats mixed` writes numbers as a real export does: 30% `+27 82 123 4567` or `082 123 4567`, the
rest international digits (`national`, the default, writes `0821234567` with a few duplicates and typos).

The embedded AWS (moto server) runs in its own process and the file is generated and uploaded by
another, so the peak memory printed is the importer's own. `core_rows_per_s` is reading,
normalising and deduplicating alone (the same functions the importer calls, storage left out).
The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import resource
import tempfile
import time
from pathlib import Path

from bench.embedded import embedded_aws

MOBILE_PREFIXES = ("60", "61", "62", "63", "71", "72", "73", "74", "76", "78", "79", "81", "82", "83", "84")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--formats", choices=("national", "mixed"), default="national")
    arguments = parser.parse_args()
    rows, formats = arguments.rows, arguments.formats
    with embedded_aws("colony-bench"), tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "contacts.csv"
        ctx = multiprocessing.get_context("spawn")
        prepare = ctx.Process(target=_prepare, args=(path, rows, formats))
        prepare.start()
        prepare.join()
        assert prepare.exitcode == 0, "preparing the file failed"
        result = {"formats": formats, **_measure(path, rows)}
    print(
        f"{result['rows']} rows: {result['rows_per_s']:.0f} rows/s end to end, "
        f"{result['dynamodb_requests_per_1000_rows']:.1f} DynamoDB requests per 1,000 rows, "
        f"peak RSS {result['peak_rss_mb']:.0f} MB, core {result['core_rows_per_s']:.0f} rows/s"
    )
    print(json.dumps(result))


def _prepare(path: Path, rows: int, formats: str) -> None:
    """In a child process: write a realistic export, provision the stack, upload the file."""
    rng = random.Random(rows)
    spell = _mixed if formats == "mixed" else _national
    earlier: list[str] = []
    cities = ["Johannesburg", "Cape Town", "Durban", "Pretoria", "Gqeberha", "Bloemfontein"]
    with path.open("w", newline="") as out:
        out.write("Mobile Number,First Name,Last Name,Email,City\r\n")
        for n in range(rows):
            roll = rng.random()
            if roll < 0.01:
                number = "12345"
            elif roll < 0.03 and earlier:
                number = "+27 " + rng.choice(earlier)  # a duplicate, written another way
            else:
                nsn = f"{rng.choice(MOBILE_PREFIXES)}{rng.randrange(10**7):07d}"
                number = spell(rng, nsn)
                if len(earlier) < 10_000:
                    earlier.append(nsn)
            out.write(f"{number},Name{n},Surname{n},person{n}@example.com,{rng.choice(cities)}\r\n")
    from chalicelib import aws
    from chalicelib.local import stack
    from chalicelib.settings import get_settings

    stack.provision()
    aws.client("s3").upload_file(str(path), get_settings().bucket, "bench/contacts.csv")


def _national(rng: random.Random, nsn: str) -> str:
    return "0" + nsn


def _mixed(rng: random.Random, nsn: str) -> str:
    roll = rng.random()
    if roll < 0.15:
        return f"+27 {nsn[:2]} {nsn[2:5]} {nsn[5:]}"
    if roll < 0.30:
        return f"0{nsn[:2]} {nsn[2:5]} {nsn[5:]}"
    return "27" + nsn


def _measure(path: Path, rows: int) -> dict:
    from bench.counting import count_aws_calls
    from chalicelib import aws
    from chalicelib.domain import clock
    from chalicelib.domain.accounts import companies
    from chalicelib.domain.accounts.auth import Caller
    from chalicelib.domain.contacts import contact_lists
    from chalicelib.domain.imports import importer
    from chalicelib.models.counters import allocate_ids
    from chalicelib.models.imports import Import
    from chalicelib.settings import get_settings

    new = companies.create_company("Bench", "bench@example.com")
    caller = Caller.operator(new.company.id)
    contact_list = contact_lists.create_list(caller, "Bench")
    import_id = allocate_ids("import")[0]
    key = f"uploads/{caller.company}/{import_id}/contacts.csv"
    s3 = aws.client("s3")
    s3.copy_object(
        Bucket=get_settings().bucket,
        Key=key,
        CopySource={"Bucket": get_settings().bucket, "Key": "bench/contacts.csv"},
    )
    etag = s3.head_object(Bucket=get_settings().bucket, Key=key)["ETag"].strip('"')
    Import(
        company=caller.company,
        id=import_id,
        kind="contacts",
        user=0,
        contact_list=contact_list.id,
        merge=0,
        status="pending",
        filename="contacts.csv",
        source_key=key,
        date_created=clock.now(),
        date_updated=clock.now(),
    ).save()
    started = time.perf_counter()
    with count_aws_calls() as calls:
        outcome = importer.run(caller.company, import_id, should_pause=lambda done: False, etag=etag)
    elapsed = time.perf_counter() - started
    assert outcome == "completed", outcome
    job = Import.get(caller.company, import_id)
    dynamodb = sum(n for name, n in calls.items() if name.startswith("dynamodb."))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "rows": job.rows,
        "imported": job.imported,
        "duplicates": job.duplicates,
        "rejected": job.rejected,
        "seconds": round(elapsed, 2),
        "rows_per_s": round(job.rows / elapsed),
        "dynamodb_requests": dynamodb,
        "dynamodb_requests_per_1000_rows": round(dynamodb * 1000 / job.rows, 2),
        "aws_requests_by_operation": dict(sorted(calls.items())),
        "peak_rss_mb": round(peak, 1),
        "core_rows_per_s": round(_core_rate(path)),
    }


def _core_rate(path: Path) -> float:
    """Reading, normalising and deduplicating the file from disk, as the importer does, without storage."""
    from chalicelib.domain.imports.csvfiles import contact_row, rows, sniff
    from chalicelib.domain.imports.seen import SeenNumbers
    from chalicelib.domain.rules.phones import InvalidPhoneNumber, normalise

    size = path.stat().st_size
    with path.open("rb") as source:
        layout = sniff(source.read(65536), "ZA", whole_file=size <= 65536)
    seen = SeenNumbers(SeenNumbers.bits_for_rows(size // 10))
    count = 0
    started = time.perf_counter()
    with path.open("rb") as source:
        source.seek(layout.data_start)
        chunks = iter(lambda: source.read(1 << 20), b"")
        for row in rows(chunks, layout, layout.data_start, layout.first_row):
            count += 1
            contact = contact_row(row, layout)
            try:
                number = int(normalise(contact.phone, "ZA"))
            except InvalidPhoneNumber:
                continue
            if not seen.might_contain(number):
                seen.add(number)
    return count / (time.perf_counter() - started)


if __name__ == "__main__":
    main()
