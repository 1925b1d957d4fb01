"""The raw transaction items of sending and receipts, on recipients, messages and deployments: claims,
outcomes, gateway receipts and a deployment's counters. Which write is conditional on what is the
sender's rule (see `domain/sending`); how it is spelled for DynamoDB is here."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.domain.rules.lifecycle import Delivery
from chalicelib.models import dynamodb
from chalicelib.models.deployments import Deployment, Message, Recipient
from chalicelib.models.expressions import Update, key, plain

TEXT_LENGTH = 500  # an error's or a gateway id's longest stored text
RECOUNT = "recount"  # the launch index's queue of settled deployments whose counts a late status moved
PROVIDER_ID_LENGTH = 200
SEQUENCE = "seq"  # added in every write that changes a status, so callbacks can be put in order


def message_key(company: int, message_id: int) -> dict[str, Any]:
    return key(company=company, id=message_id)


def recipient_table() -> str:
    return Recipient.Meta.table_name


def message_table() -> str:
    return Message.Meta.table_name


def reference(item_key: dict[str, Any]) -> str:
    """The reference the sender attaches to an SMS: `d<deployment>:<number>` or `m<company>:<id>`."""
    if "msisdn" in item_key:
        return f"d{item_key['deployment']['N']}:{item_key['msisdn']['S']}"
    return f"m{item_key['company']['N']}:{item_key['id']['N']}"


def item_name(action: dict[str, Any]) -> str:
    """A transaction item's table and key, as one string (to match a status with what it counted)."""
    update = action["Update"]
    return update["TableName"] + ":" + ":".join(f"{k}={v}" for k, v in sorted(update["Key"].items()))


def claim_name(action: dict[str, Any]) -> str:
    """The number a recipient claim or status is for, or `m#<id>` for an API message."""
    item_key = action["Update"]["Key"]
    return item_key["msisdn"]["S"] if "msisdn" in item_key else f"m#{item_key['id']['N']}"


def read(table: str, item_key: dict[str, Any]) -> dict[str, Any] | None:
    """A recipient or message as plain values, read consistently; None if there is none."""
    item = dynamodb.get(table, item_key)
    return plain(item) if item else None


def status_now(action: dict[str, Any]) -> str | None:
    """The status of a transaction item's recipient or message now (read consistently); None if none."""
    item = read(action["Update"]["TableName"], action["Update"]["Key"])
    return item["status"] if item else None


def move(table: str, item_key: dict[str, Any], to: str, expect: str) -> Update:
    """A status change that happens only from `expect`."""
    return Update(table, item_key).set("status", to).when("{status} = :expect", expect=expect)


def claim(table: str, item_key: dict[str, Any], claimed_at: int, round_: int | None) -> dict[str, Any]:
    """queued → sending, stamped with the epoch second (and the deployment's round) it was claimed in.
    A deployment's recipient is claimed only if an approval quoted it (nothing unpaid is ever sent)."""
    update = move(table, item_key, Delivery.SENDING, expect=Delivery.QUEUED).set("claimed_at", claimed_at)
    if round_ is not None:
        update.set("claim_round", round_)
        update.when("{status} = :expect AND attribute_exists({quoted})", expect=Delivery.QUEUED)
    return update.action()


def fail_queued(table: str, item_key: dict[str, Any], error: str, claimed_at: int) -> dict[str, Any]:
    """queued → failed with its reason, stamped as if claimed then (the hour it is counted in)."""
    update = move(table, item_key, Delivery.FAILED, expect=Delivery.QUEUED).add(SEQUENCE, 1)
    return update.set("error", error[:TEXT_LENGTH]).set("claimed_at", claimed_at).action()


def give_back(table: str, item_key: dict[str, Any]) -> dict[str, Any]:
    """sending → queued: a claim released unsent, for a retry to send."""
    return move(table, item_key, Delivery.QUEUED, expect=Delivery.SENDING).action()


def unsent_over_unknown(given_back: dict[str, Any], error: str) -> dict[str, Any]:
    """A `give_back` turned into unknown → failed, costing nothing: a claim a settlement took for
    `unknown` that its sender gave back unsent (no receipt and no send time say otherwise)."""
    table, item_key = given_back["Update"]["TableName"], given_back["Update"]["Key"]
    update = move(table, item_key, Delivery.FAILED, expect=Delivery.UNKNOWN)
    update.set("error", error[:TEXT_LENGTH]).remove("segments").add(SEQUENCE, 1)
    condition = "{status} = :expect AND attribute_not_exists({receipt}) AND attribute_not_exists({date_sent})"
    return update.when(condition, expect=Delivery.UNKNOWN).action()


def deployment_of(action: dict[str, Any]) -> int | None:
    """The deployment a transaction item's recipient belongs to (None for an API message)."""
    item_key = action["Update"]["Key"]
    return int(item_key["deployment"]["N"]) if "deployment" in item_key else None


def message_company_of(action: dict[str, Any]) -> int | None:
    """The company a transaction item's API message belongs to (None for a deployment's recipient)."""
    item_key = action["Update"]["Key"]
    return int(item_key["company"]["N"]) if "msisdn" not in item_key else None


def outcome(
    table: str,
    item_key: dict[str, Any],
    status: str,
    sent_at: datetime,
    segments: int = 0,
    provider_id: str | None = None,
    error: str | None = None,
) -> dict[str, Any]:
    """What became of a claim; a receipt already held keeps its status. Conditional on the claim still
    being ours to settle: `sending` (or a receipt beat us) and no `date_sent` written by a settlement."""
    update = Update(table, item_key).set_from("status", "receipt", status)
    update.set("date_sent", Recipient.date_sent.serialize(sent_at)).add(SEQUENCE, 1)
    if segments:
        update.set("segments", segments)
    if provider_id:
        update.set("provider_id", provider_id[:TEXT_LENGTH])
    if error:
        update.set("error", error[:TEXT_LENGTH])
    condition = "({status} = :sending OR attribute_exists({receipt})) AND attribute_not_exists({date_sent})"
    return update.when(condition, sending=Delivery.SENDING).action()


def outcome_over_unknown(action: dict[str, Any]) -> None:
    """Turn an `outcome` into one that replaces the `unknown` a settlement wrote while we sent."""
    update = action["Update"]
    update["ConditionExpression"] = "#status = :unknown AND attribute_not_exists(#date_sent)"
    update["ExpressionAttributeValues"].pop(":sending")
    update["ExpressionAttributeValues"][":unknown"] = {"S": Delivery.UNKNOWN.value}


def receipt(
    table: str,
    item_key: dict[str, Any],
    outcome_status: str,
    was: str,
    held: str | None,
    at: datetime,
    error: str | None = None,
    provider_id: str | None = None,
) -> dict[str, Any]:
    """A gateway receipt's outcome, as status and as the receipt held, if the SMS is still `was`
    holding `held`. A delivery stamps `date_delivered` and clears an earlier error; over `unknown` it
    stamps `date_sent` too, so neither a late sender outcome nor a settlement counts it again."""
    update = Update(table, item_key).set("status", outcome_status).set("receipt", outcome_status)
    update.add(SEQUENCE, 1)
    if outcome_status == Delivery.DELIVERED:
        update.set("date_delivered", Recipient.date_delivered.serialize(at)).remove("error")
    elif outcome_status == Delivery.FAILED and error:
        update.set("error", error[:TEXT_LENGTH])
    if provider_id:
        update.set_once("provider_id", provider_id[:PROVIDER_ID_LENGTH])
    if was == Delivery.UNKNOWN:
        update.set_once("date_sent", Recipient.date_sent.serialize(at))
    if held is None:
        return update.when("{status} = :was AND attribute_not_exists({receipt})", was=was).action()
    return update.when("{status} = :was AND {receipt} = :held", was=was, held=held).action()


def deployment_counts(
    company: int,
    deployment: int,
    counts: dict[str, int],
    progress_at: int,
    statuses: tuple[int, ...],
    round_: int | None = None,
) -> dict[str, Any]:
    """Add `counts` to a deployment and stamp its progress, if its status is one of `statuses` (and,
    given `round_`, it is still in that round)."""
    update = Update(Deployment.Meta.table_name, key(company=company, id=deployment))
    for name, n in counts.items():
        update.add(name, n)
    update.set("last_progress", progress_at)
    labels = {f"status_{i}": status for i, status in enumerate(statuses)}
    among = "{status} IN (" + ", ".join(f":{label}" for label in labels) + ")"
    if len(labels) == 1:
        among = "{status} = :status_0"
    if round_ is None:
        return update.when(among, **labels).action()
    return update.when("{round} = :round AND " + among, round=round_, **labels).action()


def recount_due(company: int, deployment: int, at: str, final: tuple[int, ...]) -> dict[str, Any]:
    """Mark a settled deployment (status among `final`) for a recount of its counts: it joins the launch
    index's `recount` queue, which the launcher reads every minute, in the transaction of the late
    statuses that made it due (so a worker that dies before recounting leaves the mark behind)."""
    update = Update(Deployment.Meta.table_name, key(company=company, id=deployment))
    update.set("launch_queue", RECOUNT).set("launch_at", at).add("recount_marks", 1)
    labels = {f"final_{i}": status for i, status in enumerate(final)}
    among = "{status} IN (" + ", ".join(f":{label}" for label in labels) + ")"
    return update.when(among, **labels).action()


def deployment_receipt_counts(company: int, deployment: int, outcome: str, was: str) -> dict[str, Any] | None:
    """What a receipt that moves a deployment's recipient from `was` to `outcome` changes in the
    deployment's counts, riding in the receipt's own transaction so it counts once: a delivery adds to
    `delivered`; a recipient already counted (sent, failed or unknown) moves between `sent` and `failed`
    (which holds the unknown ones); one still being sent is counted by its sender."""
    moves: dict[str, int] = {}
    if outcome == Delivery.DELIVERED and was != Delivery.DELIVERED:
        moves["delivered_count"] = 1
    if was == Delivery.UNKNOWN:
        moves["unknown_count"] = -1
    was_failed = was in (Delivery.FAILED, Delivery.UNKNOWN)
    now_failed = outcome == Delivery.FAILED
    if was in (Delivery.SENT, Delivery.FAILED, Delivery.UNKNOWN) and was_failed != now_failed:
        moves["sent_count"], moves["failed_count"] = (-1, 1) if now_failed else (1, -1)
    if not moves:
        return None
    update = Update(Deployment.Meta.table_name, key(company=company, id=deployment))
    for name, n in moves.items():
        update.add(name, n)
    return update.when("attribute_exists({id})").action()
