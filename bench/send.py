"""Sending benchmark: AWS requests (SQS and DynamoDB; gateway calls excluded) per 1,000 SMS (or emails),
and messages per second through the real workers with a gateway that does nothing.

    .venv/bin/python -m bench.send --recipients 10000
    .venv/bin/python -m bench.send --channel email --recipients 10000
    .venv/bin/python -m bench.send --recipients 50

The embedded AWS (moto server) runs in its own process. Counted: the launch, the fan-out, the sender
and the settlement, as the app makes them; not counted: the SQS polling that Lambda's event source
does for the workers (shown separately). For SMS, the same run then writes the sender's
TransactWriteItems pattern raw (`bench/send_ceiling.py`) for as many recipients: `ceiling_sms_per_s`,
and `ratio_to_ceiling` (the sender's rate over it). `pace_ratio` is messages a second over the
company's `send_rate`: `--send-rate`, by default the product's 20 for a deployment that fits in one
chunk and 1000 for a larger one (so storage, not pacing, is measured). The bench runs one send worker at
a time; pacing goes through the sender's shared timeline as in production. The last line is one JSON
object.
"""

from __future__ import annotations

import argparse
import json
import time

from bench.embedded import embedded_aws


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument(
        "--transactional", action="store_true", help="no opt-out checks (marketing by default)"
    )
    parser.add_argument("--channel", choices=("sms", "email"), default="sms")
    parser.add_argument("--send-rate", type=int, help="the company's send_rate (and email_send_rate)")
    args = parser.parse_args()
    small = args.recipients <= 100  # one chunk (fanout.CHUNK, read once the embedded AWS is set)
    with embedded_aws(
        "colony-bench-send",
        COLONY_PROVIDER="fake",
        COLONY_EMAIL_PROVIDER="fake",
    ):
        from chalicelib.domain.deployments.fanout import CHUNK
        from chalicelib.domain.sending.pacing import DEFAULT_RATE

        assert small == (args.recipients <= CHUNK)
        rate = args.send_rate or (DEFAULT_RATE if small else 1000)
        result = _run(args.recipients, marketing=not args.transactional, channel=args.channel, rate=rate)
    unit = UNITS[args.channel]
    print(
        f"{result['recipients']} {unit} ({'marketing' if result['marketing'] else 'transactional'}): "
        f"{result[f'aws_requests_per_1000_{unit}']:.1f} AWS requests per 1,000 {unit}, "
        f"{result[f'{unit}_per_s']:.0f} {unit}/s; "
        f"Lambda's SQS polling adds {result[f'sqs_polling_per_1000_{unit}']:.1f}; "
        f"{result['pace_ratio']:.2f} of a send_rate of {rate}"
        + (
            f"; the raw pattern makes {result['ceiling_sms_per_s']:.0f} sms/s "
            f"(ratio {result['ratio_to_ceiling']:.2f})"
            if "ceiling_sms_per_s" in result
            else ""
        )
    )
    print(json.dumps(result))


UNITS = {"sms": "sms", "email": "emails"}


def _run(count: int, marketing: bool, channel: str, rate: int, ceiling: bool = True) -> dict:
    from app import app
    from bench.counting import count_aws_calls
    from chalicelib import aws, providers
    from chalicelib.domain import clock
    from chalicelib.domain.accounts import companies
    from chalicelib.domain.accounts.auth import Caller
    from chalicelib.domain.contacts import contact_lists
    from chalicelib.domain.deployments import approvals, drafts, launch
    from chalicelib.local import stack
    from chalicelib.local.pump import LambdaContext
    from chalicelib.models import batch
    from chalicelib.models.contacts import Contact, contact_item, stored_datetime
    from chalicelib.models.deployments import Deployment
    from chalicelib.providers.base import Outgoing, Provider
    from chalicelib.providers.mail import EmailProvider, OutgoingEmail
    from chalicelib.settings import get_settings

    class NoGateway(Provider):
        name = "none"

        def _send(self, sms: Outgoing) -> str:
            return "none"

    class NoMailGateway(EmailProvider):
        name = "none"

        def _send(self, outgoing: OutgoingEmail) -> str:
            return "none"

    providers._instances["fake"] = NoGateway()
    providers._email_instances["fake"] = NoMailGateway()
    stack.provision()
    new = companies.create_company(
        "Bench",
        "bench@example.com",
        credits=10 * count,
        quiet_hours=False,
        send_rate=rate,
        email_send_rate=rate,
        email_from="Bench <news@bench.example>",
    )
    email = channel == "email"
    writer = Caller(company=new.company.id, user=new.admin.id, role="admin")
    contact_list = contact_lists.create_list(writer, "Everyone")
    now = stored_datetime(clock.now())
    batch.write_items(
        Contact.Meta.table_name,
        [
            contact_item(
                contact_list=contact_list.id,
                msisdn=f"2782{n:07d}",
                contact_id=n + 1,
                company=new.company.id,
                first_name=f"Name{n}",
                last_name=None,
                email=f"reader{n}@example.com" if email else None,
                fields={},
                created=now,
                updated=now,
            )
            for n in range(count)
        ],
    )
    contact_lists.add_to_count(contact_list, count)
    draft = drafts.create(
        writer,
        {
            "title": "Bench",
            "message": "Hi {{first_name}}, sale today",
            "contact_lists": [contact_list.id],
            "marketing": marketing,
            "send_date": "2099-01-01T00:00:00Z",
            "dispatch": 2 if email else 1,
            "subject": "Sale today, {{first_name}}",
        },
    )
    drafts.submit(writer, draft.id)
    approver = Caller(company=new.company.id, user=0, role="approver")
    approvals.approve_now(approver, Deployment.get(new.company.id, draft.id), new.company)
    Deployment(company=new.company.id, id=draft.id).update(
        actions=[Deployment.launch_at.set(clock.iso(clock.now()))]
    )

    sqs = aws.client("sqs")
    url = sqs.get_queue_url(QueueName=get_settings().queue("send"))["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    handler = app.handler_map["send_worker"]
    polling = 0
    started = time.perf_counter()
    with count_aws_calls() as calls:
        launch.launch_due()
    while True:
        received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get(
            "Messages", []
        )
        polling += 1
        if not received:
            break
        event = {
            "Records": [
                {
                    "messageId": m["MessageId"],
                    "receiptHandle": m["ReceiptHandle"],
                    "body": m["Body"],
                    "attributes": {"ApproximateReceiveCount": "1"},
                    "messageAttributes": {},
                    "eventSource": "aws:sqs",
                    "eventSourceARN": arn,
                    "awsRegion": "af-south-1",
                }
                for m in received
            ]
        }
        with count_aws_calls() as more:
            handler(event, LambdaContext("send_worker", 900))
        calls.update(more)
        sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(received)],
        )
        polling += 1
    elapsed = time.perf_counter() - started
    deployment = Deployment.get(new.company.id, draft.id)
    assert deployment.status == 4 and deployment.sent_count == count, (
        deployment.status,
        deployment.sent_count,
        deployment.processed,
        deployment.expected,
        deployment.fanout_done,
        deployment.last_progress,
    )
    total = sum(calls.values())
    unit = UNITS[channel]
    per_s = count / elapsed
    raw_pattern = {}
    if channel == "sms" and ceiling:
        from bench.send_ceiling import ceiling_sms_per_s

        raw = ceiling_sms_per_s(new.company.id, draft.id, count)
        raw_pattern = {"ceiling_sms_per_s": round(raw), "ratio_to_ceiling": round(per_s / raw, 2)}
    return {
        "channel": channel,
        "recipients": count,
        "marketing": marketing,
        "aws_requests": total,
        f"aws_requests_per_1000_{unit}": round(total * 1000 / count, 2),
        "aws_requests_by_operation": dict(sorted(calls.items())),
        f"sqs_polling_per_1000_{unit}": round(polling * 1000 / count, 2),
        "seconds": round(elapsed, 2),
        f"{unit}_per_s": round(per_s),
        "send_rate": rate,
        "pace_ratio": round(per_s / rate, 2),
        **raw_pattern,
    }


if __name__ == "__main__":
    main()
