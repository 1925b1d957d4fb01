"""AWS list prices the cost benchmark uses, in US dollars, and the arithmetic that turns billed units into
dollars. Pure: no I/O.

Region: Colony deploys to af-south-1 (Africa, Cape Town). No af-south-1 figure for these services was
found in the stored pricing pages searched on 2026-12-04 (AWS's own pages are per region and were not
held for Cape Town), so every price below is the documented US East (N. Virginia, us-east-1) price, the
region AWS's pages and the guides quote. Cape Town's list prices are generally above us-east-1's: read the
figures as a lower bound, and replace the constants from the af-south-1 pages before budgeting on them.
Free tiers are left out (they do not scale with volume).
"""

from __future__ import annotations

from collections.abc import Mapping

PRICE_REGION = "us-east-1 (af-south-1 not found; see the module docstring)"
PRICES_READ_ON = "2026-12-04"

# Lambda, x86, first tier. Read 2026-12-04 at https://aws.amazon.com/lambda/pricing/ ("$0.00001667 per
# GB-s", "$0.20 per 1 million requests", US East) and https://cloudchipr.com/blog/aws-lambda-pricing
# ("$0.0000166667 per GB-second", US East).
LAMBDA_PER_GB_SECOND_US_EAST_1 = 0.0000166667
LAMBDA_PER_REQUEST_US_EAST_1 = 0.20 / 1_000_000

# DynamoDB on demand, Standard table class, after the November 2024 reduction. Read 2026-12-04 at
# https://airbyte.com/data-engineering-resources/dynamodb-pricing ("$0.625 per million write request
# units", "$0.125 per million read request units", US East).
DYNAMODB_PER_WRITE_UNIT_US_EAST_1 = 0.625 / 1_000_000
DYNAMODB_PER_READ_UNIT_US_EAST_1 = 0.125 / 1_000_000

# SQS standard queue, first 100 billion requests a month, each 64 KiB of payload a request. Read
# 2026-12-04 at https://www.factualminds.com/blog/amazon-sqs-pricing-64kb-rule-fifo-vs-standard/
# ("$0.40 per million standard requests", us-east-1, June 2026).
SQS_PER_REQUEST_US_EAST_1 = 0.40 / 1_000_000

# S3 Standard requests. Read 2026-12-04 at https://c3x.dev/blog/s3-request-fees-explained ("PUT, COPY,
# POST, LIST (Tier 1): $0.005 per 1,000 requests", "GET, HEAD, SELECT (Tier 2): $0.0004 per 1,000").
S3_PER_WRITE_REQUEST_US_EAST_1 = 0.005 / 1_000
S3_PER_READ_REQUEST_US_EAST_1 = 0.0004 / 1_000

# SNS standard topic publishes (delivery receipts reach Colony as SNS messages; deliveries to Lambda
# are not charged). Read 2026-12-04 at
# https://www.factualminds.com/blog/amazon-sns-pricing-publishes-fanout-protocols/ ("$0.50 per million
# publishes for Standard topics", June 2026).
SNS_PER_PUBLISH_US_EAST_1 = 0.50 / 1_000_000

# SES outbound email. Read 2026-12-04 at https://www.acecloudinterviews.com/tutorials/aws/ses/
# ("starting at $0.10 per thousand emails").
SES_PER_EMAIL_US_EAST_1 = 0.10 / 1_000

CARRIER_SMS_NOTE = (
    "excluded: the per-SMS delivery fee (AWS End User Messaging / SNS SMS, or the gateway's own price) "
    "depends on the destination country and carrier and dwarfs every figure here"
)

S3_WRITES = frozenset({"PutObject", "CopyObject", "CreateMultipartUpload", "UploadPart", "ListObjectsV2"})
S3_WRITES |= {"CompleteMultipartUpload", "ListObjects", "UploadPartCopy"}
S3_READS = frozenset({"GetObject", "HeadObject", "SelectObjectContent"})


def dollars(usage: Mapping[str, float]) -> dict[str, float]:
    """Dollars by service for billed usage: `lambda_gb_seconds`, `lambda_invocations`,
    `dynamodb.read_units`, `dynamodb.write_units`, `sqs.requests`, `s3.writes`, `s3.reads`,
    `sns.publishes`, `ses.emails`."""
    cost = {
        "lambda": usage.get("lambda_gb_seconds", 0) * LAMBDA_PER_GB_SECOND_US_EAST_1
        + usage.get("lambda_invocations", 0) * LAMBDA_PER_REQUEST_US_EAST_1,
        "dynamodb": usage.get("dynamodb.read_units", 0) * DYNAMODB_PER_READ_UNIT_US_EAST_1
        + usage.get("dynamodb.write_units", 0) * DYNAMODB_PER_WRITE_UNIT_US_EAST_1,
        "sqs": usage.get("sqs.requests", 0) * SQS_PER_REQUEST_US_EAST_1,
        "s3": usage.get("s3.writes", 0) * S3_PER_WRITE_REQUEST_US_EAST_1
        + usage.get("s3.reads", 0) * S3_PER_READ_REQUEST_US_EAST_1,
        "sns": usage.get("sns.publishes", 0) * SNS_PER_PUBLISH_US_EAST_1,
        "ses": usage.get("ses.emails", 0) * SES_PER_EMAIL_US_EAST_1,
    }
    return {**{k: round(v, 4) for k, v in cost.items()}, "total": round(sum(cost.values()), 4)}


def s3_requests(calls: Mapping[str, int]) -> dict[str, int]:
    """`s3.writes` and `s3.reads` from counted calls (`s3.GetObject`: n, ...)."""
    writes = sum(n for name, n in calls.items() if name.startswith("s3.") and name[3:] in S3_WRITES)
    reads = sum(n for name, n in calls.items() if name.startswith("s3.") and name[3:] in S3_READS)
    return {"s3.writes": writes, "s3.reads": reads}


def scaled(usage: Mapping[str, float], measured: int, target: int) -> dict[str, float]:
    """Usage measured over `measured` items, as for `target` items."""
    return {name: value * target / measured for name, value in usage.items()}


def gb_seconds(seconds: float, memory_mb: int) -> float:
    return seconds * memory_mb / 1024
