"""Opt-outs: the audit records (one per opt-out, never deleted) and the suppression index that says,
per company and number, which opt-out is active for every sender and for each single sender."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from chalicelib.models import batch
from chalicelib.models.base import BaseModel, table_meta
from chalicelib.models.expressions import Update, key, plain
from chalicelib.settings import get_settings

EVERY_SENDER = "all"
SENDER_SCOPE = "sender:"  # the prefix of a suppression item's attribute for one sender


class HistoryIndex(GlobalSecondaryIndex):
    class Meta:
        index_name = "originator-index"
        projection = AllProjection()

    history_key = UnicodeAttribute(hash_key=True)
    id = NumberAttribute(range_key=True)


class OptOut(BaseModel):
    """One opt-out of one number (for every sender when `sender` is None); lifting it keeps the record."""

    Meta = table_meta("optouts")

    company = NumberAttribute(hash_key=True)
    id = NumberAttribute(range_key=True)
    originator = UnicodeAttribute()
    sender = UnicodeAttribute(null=True)
    reason = UnicodeAttribute(null=True)
    source = UnicodeAttribute()
    created_by = NumberAttribute(null=True)
    date_opted_out = UTCDateTimeAttribute()
    date_overwritten = UTCDateTimeAttribute(null=True)
    overwritten_by = NumberAttribute(null=True)
    overwrite_source = UnicodeAttribute(null=True)
    overwrite_reason = UnicodeAttribute(null=True)
    import_id = NumberAttribute(null=True)
    import_row = NumberAttribute(null=True)
    history_key = UnicodeAttribute()
    channel = UnicodeAttribute(null=True)  # None: sms; for email, `originator` is the address
    scope = UnicodeAttribute(null=True)  # its suppression attribute (absent on older ones: see scope_of)

    by_originator = HistoryIndex()


def history_key(company: int, originator: str) -> str:
    return f"{company}#{originator}"


def scope_attribute(sender: str | None) -> str:
    """The suppression item's attribute that holds the active opt-out for this scope. A handset shows
    `ACME`, `Acme` and `acme` as one sender, so a name's scope is its upper case."""
    return EVERY_SENDER if sender is None else f"{SENDER_SCOPE}{sender.upper()}"


def scope_of(optout: OptOut) -> str:
    """The suppression attribute an opt-out holds: the one it was written under (an opt-out written before
    scopes were folded holds its sender exactly as stored)."""
    if optout.scope:
        return optout.scope
    return EVERY_SENDER if optout.sender is None else f"{SENDER_SCOPE}{optout.sender}"


def sender_scopes(sender: str, older: Iterable[str] = ()) -> list[str]:
    """The attributes that may hold an opt-out of `sender`: its scope now, and those of the `older`
    spellings opt-outs were written under before senders were normalised and folded."""
    return list(dict.fromkeys([scope_attribute(sender), *(f"{SENDER_SCOPE}{s}" for s in older)]))


def suppressions_table() -> str:
    return get_settings().table("suppressions")


def suppression_key(company: int, msisdn: str) -> dict[str, Any]:
    return key(key=f"{company}#{msisdn}")


def optout_key(company: int, optout_id: int) -> dict[str, Any]:
    return key(company=company, id=optout_id)


def suppressions(
    company: int, numbers: Sequence[str], scopes: Sequence[str] | None = None
) -> dict[str, dict[str, int]]:
    """For each of `numbers` with a suppression item: its active opt-out ids by scope attribute (only
    `scopes`, if given). One BatchGetItem per 100 numbers."""
    keys = [suppression_key(company, number) for number in numbers]
    projection = ("msisdn", *scopes) if scopes is not None else ()
    found = {}
    for item in batch.get_items(suppressions_table(), keys, projection=projection):
        values = plain(item)
        found[values.pop("msisdn")] = {
            name: optout_id
            for name, optout_id in values.items()
            if name == EVERY_SENDER or name.startswith(SENDER_SCOPE)
        }
    return found


def activation(optout: OptOut) -> list[dict[str, Any]]:
    """The two writes that make an opt-out exist: its record, and its scope in the suppression index
    (only if that scope holds no active opt-out: the condition is what stops duplicates)."""
    optout.scope = optout.scope or scope_attribute(optout.sender)
    record = {
        "Put": {
            "TableName": OptOut.Meta.table_name,
            "Item": optout.serialize(),
            "ConditionExpression": "attribute_not_exists(id)",
        }
    }
    scope = Update(suppressions_table(), suppression_key(optout.company, optout.originator))
    scope.set(scope_of(optout), optout.id)
    scope.set("company", optout.company).set("msisdn", optout.originator)
    return [record, scope.when("attribute_not_exists({scope})", names=_scope(optout)).action()]


def lifting(
    optout: OptOut, at: datetime, source: str, overwritten_by: int | None, reason: str | None = None
) -> list[dict[str, Any]]:
    """The two writes that lift an opt-out: its record marked overwritten (once), and its scope freed
    in the suppression index (only if the scope still names it)."""
    record = Update(OptOut.Meta.table_name, optout_key(optout.company, optout.id))
    record.set("date_overwritten", OptOut.date_overwritten.serialize(at)).set("overwrite_source", source)
    if overwritten_by is not None:
        record.set("overwritten_by", overwritten_by)
    if reason:
        record.set("overwrite_reason", reason)
    record.when("attribute_not_exists({date_overwritten})")
    scope = Update(suppressions_table(), suppression_key(optout.company, optout.originator))
    scope.remove(scope_of(optout)).when("{scope} = :id", names=_scope(optout), id=optout.id)
    return [record.action(), scope.action()]


def _scope(optout: OptOut) -> dict[str, str]:
    return {"scope": scope_of(optout)}
