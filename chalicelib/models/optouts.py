"""Opt-outs: the audit records (one per opt-out, never deleted) and the suppression index that says,
per company and number, which opt-out is active for every sender and for each single sender."""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from chalicelib.models.base import BaseModel, table_meta
from chalicelib.settings import get_settings

EVERY_SENDER = "all"


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
    import_id = NumberAttribute(null=True)
    import_row = NumberAttribute(null=True)
    history_key = UnicodeAttribute()

    by_originator = HistoryIndex()


def history_key(company: int, originator: str) -> str:
    return f"{company}#{originator}"


def scope_attribute(sender: str | None) -> str:
    """The suppression item's attribute that holds the active opt-out for this scope."""
    return EVERY_SENDER if sender is None else f"sender:{sender}"


def suppressions_table() -> str:
    return get_settings().table("suppressions")


def suppression_key(company: int, msisdn: str) -> dict[str, Any]:
    return {"key": {"S": f"{company}#{msisdn}"}}
