"""The audit log: one entry per change an admin (or the operator) made, keyed by company and sorted by
time (`<iso time>#<id>`, unique), findable by actor, by object and by object type."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pynamodb.attributes import JSONAttribute, NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.transactions import TransactWrite

from chalicelib.models.base import BaseModel, table_meta
from chalicelib.models.counters import allocate_ids

ID_DIGITS = 18


class ActorIndex(GlobalSecondaryIndex):
    class Meta:
        index_name = "actor-index"
        projection = AllProjection()

    actor_key = UnicodeAttribute(hash_key=True)
    sort = UnicodeAttribute(range_key=True)


class ObjectIndex(GlobalSecondaryIndex):
    class Meta:
        index_name = "object-index"
        projection = AllProjection()

    object_key = UnicodeAttribute(hash_key=True)
    sort = UnicodeAttribute(range_key=True)


class TypeIndex(GlobalSecondaryIndex):
    class Meta:
        index_name = "type-index"
        projection = AllProjection()

    type_key = UnicodeAttribute(hash_key=True)
    sort = UnicodeAttribute(range_key=True)


class AuditEntry(BaseModel):
    """Who changed what, when, with which key, and each field's value before and after."""

    Meta = table_meta("audit")

    company = NumberAttribute(hash_key=True)
    sort = UnicodeAttribute(range_key=True)
    id = NumberAttribute()
    at = UTCDateTimeAttribute()
    actor = UnicodeAttribute()  # a user id, or `operator`
    key = UnicodeAttribute(null=True)  # `api_key:<id>` or `session:<id>`; None for the operator
    action = UnicodeAttribute()
    object_type = UnicodeAttribute()
    object_id = UnicodeAttribute()
    changes = JSONAttribute(default=dict)
    actor_key = UnicodeAttribute()
    object_key = UnicodeAttribute()
    type_key = UnicodeAttribute()

    by_actor = ActorIndex()
    by_object = ObjectIndex()
    by_type = TypeIndex()


def sort_key(at: str, entry_id: int) -> str:
    """`at` (ISO, UTC) then the id, zero-padded: entries of the same second stay apart and in order."""
    return f"{at}#{entry_id:0{ID_DIGITS}d}"


def actor_key(company: int, actor: str) -> str:
    return f"{company}#{actor}"


def object_key(company: int, object_type: str, object_id: str) -> str:
    return f"{company}#{object_type}:{object_id}"


def type_key(company: int, object_type: str) -> str:
    return f"{company}#{object_type}"


def new_entry(
    company: int,
    at: datetime,
    at_text: str,
    actor: str,
    key: str | None,
    action: str,
    object_type: str,
    object_id: str,
    changes: dict[str, Any],
) -> AuditEntry:
    """An entry with its own id, ready to be written in the change's transaction."""
    entry_id = allocate_ids("audit")[0]
    return AuditEntry(
        company=company,
        sort=sort_key(at_text, entry_id),
        id=entry_id,
        at=at,
        actor=actor,
        key=key,
        action=action,
        object_type=object_type,
        object_id=object_id,
        changes=changes,
        actor_key=actor_key(company, actor),
        object_key=object_key(company, object_type, object_id),
        type_key=type_key(company, object_type),
    )


def add_to(write: TransactWrite, entry: AuditEntry) -> None:
    """Add the entry to a PynamoDB transaction as an update of a new item: PynamoDB sends puts before
    updates, so an update keeps the entry after the change's own items, whose positions the callers
    read when a transaction is cancelled."""
    keys = (AuditEntry._hash_keyname, AuditEntry._range_keyname)
    actions = [
        attribute.set(getattr(entry, name))
        for name, attribute in AuditEntry.get_attributes().items()
        if name not in keys and getattr(entry, name) is not None
    ]
    write.update(entry, actions=actions, condition=AuditEntry.sort.does_not_exist())


def put_item(entry: AuditEntry) -> dict[str, Any]:
    """The entry as a raw transaction item (for the transactions built of raw items)."""
    return {
        "Put": {
            "TableName": AuditEntry.Meta.table_name,
            "Item": entry.serialize(),
            "ConditionExpression": "attribute_not_exists(#sort)",
            "ExpressionAttributeNames": {"#sort": "sort"},
        }
    }
