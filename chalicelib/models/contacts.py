from datetime import datetime
from typing import Any

from pynamodb.attributes import MapAttribute, NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.indexes import GlobalSecondaryIndex, KeysOnlyProjection

from chalicelib.models.base import BaseModel, table_meta
from chalicelib.models.expressions import Update, key

SAVED = "saved"


class SavedQueryListIndex(GlobalSecondaryIndex):
    """Every list defined by a saved query, of every company (sparse: only those carry `defined_by`)."""

    class Meta:
        index_name = "saved-query-index"
        projection = KeysOnlyProjection()

    defined_by = UnicodeAttribute(hash_key=True)
    company = NumberAttribute(range_key=True)


class ContactList(BaseModel):
    """A company's audience; `contact_count` moves with every contact created or deleted. A list with a
    `saved_query` is filled by refreshing it (`defined_by` is then SAVED, for the nightly refresh)."""

    Meta = table_meta("contact-lists")

    company = NumberAttribute(hash_key=True)
    id = NumberAttribute(range_key=True)
    title = UnicodeAttribute()
    saved_query = NumberAttribute(null=True)
    defined_by = UnicodeAttribute(null=True)
    contact_count = NumberAttribute(default=0)
    date_refreshed = UTCDateTimeAttribute(null=True)
    date_created = UTCDateTimeAttribute()
    date_updated = UTCDateTimeAttribute()

    by_saved_query = SavedQueryListIndex()


class ContactIdIndex(GlobalSecondaryIndex):
    class Meta:
        index_name = "id-index"
        projection = KeysOnlyProjection()

    contact_list = NumberAttribute(hash_key=True)
    id = NumberAttribute(range_key=True)


class Contact(BaseModel):
    """One person on one list: a number is in a list at most once (it is the sort key)."""

    Meta = table_meta("contacts")

    contact_list = NumberAttribute(hash_key=True)
    msisdn = UnicodeAttribute(range_key=True)
    id = NumberAttribute()
    company = NumberAttribute()
    first_name = UnicodeAttribute(null=True)
    last_name = UnicodeAttribute(null=True)
    email = UnicodeAttribute(null=True)
    fields = MapAttribute(default=dict)
    date_created = UTCDateTimeAttribute()
    date_updated = UTCDateTimeAttribute()
    # Which import wrote this contact last, from which row, and whether that write created it:
    # how a resumed import recognises its own earlier work.
    import_id = NumberAttribute(null=True)
    import_row = NumberAttribute(null=True)
    import_created = NumberAttribute(null=True)

    by_id = ContactIdIndex()


def contact_item(
    *,
    contact_list: int,
    msisdn: str,
    contact_id: int,
    company: int,
    first_name: str | None,
    last_name: str | None,
    email: str | None,
    fields: dict[str, str],
    created: str,
    updated: str,
    import_id: int | None = None,
    import_row: int | None = None,
    import_created: bool = False,
) -> dict[str, Any]:
    """A Contact as DynamoDB stores it, built directly: the importer writes millions of these, and a
    model object per row would cost more than everything else it does. A test holds it to the model."""
    item: dict[str, Any] = {
        "contact_list": {"N": str(contact_list)},
        "msisdn": {"S": msisdn},
        "id": {"N": str(contact_id)},
        "company": {"N": str(company)},
        "fields": {"M": {name: {"S": value} for name, value in fields.items()}},
        "date_created": {"S": created},
        "date_updated": {"S": updated},
    }
    if import_id is not None:
        item["import_id"] = {"N": str(import_id)}
        item["import_row"] = {"N": str(import_row)}
        item["import_created"] = {"N": "1" if import_created else "0"}
    for name, value in (("first_name", first_name), ("last_name", last_name), ("email", email)):
        if value is not None:
            item[name] = {"S": value}
    return item


def stored_datetime(moment: datetime) -> str:
    """A datetime in the form the models store it (PynamoDB's own serialiser)."""
    return Contact.date_created.serialize(moment)


def contact_key(contact_list: int, msisdn: str) -> dict[str, Any]:
    return key(contact_list=contact_list, msisdn=msisdn)


def name_contains(term: str) -> Any:
    """Contacts whose first or last name contains `term`, as typed or capitalised (DynamoDB's `contains` is
    case-sensitive)."""
    condition = None
    for variant in dict.fromkeys((term, term.capitalize(), term.lower())):
        either = Contact.first_name.contains(variant) | Contact.last_name.contains(variant)
        condition = either if condition is None else condition | either
    return condition


def put_action(item: dict[str, Any], *, new: bool) -> dict[str, Any]:
    """A contact's Put as a transaction item: a new contact only while its number is free on the list,
    an update only while the contact is still there, so the list's count stays true."""
    condition = "attribute_not_exists(#key)" if new else "attribute_exists(#key)"
    put = {"TableName": Contact.Meta.table_name, "Item": item, "ConditionExpression": condition}
    return {"Put": {**put, "ExpressionAttributeNames": {"#key": "msisdn"}}}


def delete_action(contact_list: int, msisdn: str) -> dict[str, Any]:
    """A contact's Delete as a transaction item, only while it is there."""
    delete = {"TableName": Contact.Meta.table_name, "Key": contact_key(contact_list, msisdn)}
    condition = {
        "ConditionExpression": "attribute_exists(#key)",
        "ExpressionAttributeNames": {"#key": "msisdn"},
    }
    return {"Delete": {**delete, **condition}}


def count_action(company: int, list_id: int, change: int, now: str) -> dict[str, Any]:
    """The list's `contact_count` moved by `change`, as a transaction item, only while the list exists."""
    update = Update(ContactList.Meta.table_name, key(company=company, id=list_id))
    return (
        update.add("contact_count", change).set("date_updated", now).when("attribute_exists({id})").action()
    )
