from typing import Any, NotRequired

from chalice import Blueprint, Response
from typing_extensions import TypedDict

from chalicelib.api.errors import ErrorDetail, error_body, status_of
from chalicelib.api.http import Call, endpoint, object_id
from chalicelib.api.operations import PAGED, Param
from chalicelib.api.schema import Field, Many, Schema
from chalicelib.api.shapes import Page, Timestamp
from chalicelib.domain.clock import iso
from chalicelib.domain.contacts import contacts
from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.rules.destinations import number_in
from chalicelib.models.contacts import Contact

bp = Blueprint(__name__)

CONTACT = Schema(
    fields={
        "msisdn": Field((str, int), nullable=True, max_length=64),
        "first_name": Field(str, nullable=True),
        "last_name": Field(str, nullable=True),
        "email": Field(str, nullable=True),
        "fields": Field(dict, nullable=True),
    },
    read_only=("id", "contact_list", "company", "date_created", "date_updated"),
)


class ContactBody(TypedDict):
    id: int
    contact_list: int
    msisdn: str | None
    first_name: str | None
    last_name: str | None
    email: str | None
    fields: dict[str, Any]
    date_created: Timestamp
    date_updated: Timestamp


class ContactResultBody(TypedDict):
    """What became of one item of a batch, by its index in the array."""

    index: int
    status: str
    contact: NotRequired[ContactBody]
    error: NotRequired[ErrorDetail]
    error_status: NotRequired[int]


class ContactBatchBody(TypedDict):
    results: list[ContactResultBody]
    created: int
    updated: int
    rejected: int


def render_contact(contact: Contact) -> ContactBody:
    return {
        "id": contact.id,
        "contact_list": contact.contact_list,
        "msisdn": number_in(contact.msisdn),
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "email": contact.email,
        "fields": contact.fields.as_dict() if contact.fields else {},
        "date_created": iso(contact.date_created),
        "date_updated": iso(contact.date_updated),
    }


def _as_text(data: dict) -> dict:
    """A number sent as a JSON number is the same number as text."""
    if isinstance(data.get("msisdn"), int):
        data = {**data, "msisdn": str(data["msisdn"])}
    return data


@endpoint(
    bp,
    "/contact-lists/{list_id}/contacts",
    query=(
        *PAGED,
        Param("msisdn", "Only the contact with this number (as it was given, or in E.164)."),
        Param("name", "Only contacts whose first or last name contains this (as typed, or capitalised)."),
    ),
)
def list_contacts(call: Call, list_id: str) -> Page[ContactBody]:
    page = contacts.list_contacts(
        call.caller, object_id(list_id, "contact list"), call.page(), call.query("msisdn"), call.query("name")
    )
    return {"results": [render_contact(c) for c in page.items], "next": page.next}


@endpoint(
    bp,
    "/contact-lists/{list_id}/contacts",
    methods=("POST",),
    body=Many(CONTACT, contacts.MAX_BATCH, one=True),
    responses={201: ContactBody, 200: ContactBody | ContactBatchBody},
)
def create_contacts(call: Call, list_id: str) -> Response | dict:
    """One object (201 created, 200 updated) or an array of up to 1,000, each created, updated or rejected."""
    body = call.fields()
    single = isinstance(body, dict)
    items = [body] if single else body
    if not isinstance(items, list) or not 1 <= len(items) <= contacts.MAX_BATCH:
        raise InvalidInput(
            f"Send one contact object or an array of 1 to {contacts.MAX_BATCH}.", code="invalid_body"
        )
    checked = []
    for item in items:
        try:
            checked.append(_as_text(CONTACT.parse(item, textual=call.is_form())))
        except InvalidInput as error:
            checked.append(error)
    results = contacts.save_contacts(call.caller, object_id(list_id, "contact list"), checked)
    if single:
        (result,) = results
        if result.error is not None:
            raise result.error
        return Response(
            body=render_contact(result.contact), status_code=201 if result.status == "created" else 200
        )
    return {
        "results": [_render_result(r) for r in results],
        "created": sum(r.status == "created" for r in results),
        "updated": sum(r.status == "updated" for r in results),
        "rejected": sum(r.status == "rejected" for r in results),
    }


def _render_result(result: contacts.ItemResult) -> ContactResultBody:
    body: ContactResultBody = {"index": result.index, "status": result.status}
    if result.contact is not None:
        body["contact"] = render_contact(result.contact)
    if result.error is not None:
        body["error"] = error_body(result.error.code, result.error.message, result.error.fields)["error"]
        body["error_status"] = status_of(result.error)
    return body


@endpoint(bp, "/contact-lists/{list_id}/contacts/{contact_id}")
def get_contact(call: Call, list_id: str, contact_id: str) -> ContactBody:
    return render_contact(
        contacts.get_contact(
            call.caller, object_id(list_id, "contact list"), object_id(contact_id, "contact")
        )
    )


@endpoint(bp, "/contact-lists/{list_id}/contacts/{contact_id}", methods=("PUT", "PATCH"), body=CONTACT)
def update_contact(call: Call, list_id: str, contact_id: str) -> ContactBody:
    replace = call.request.method == "PUT"
    ids = object_id(list_id, "contact list"), object_id(contact_id, "contact")
    current = render_contact(contacts.get_contact(call.caller, *ids))
    data = _as_text(call.body(partial=not replace, current=current))
    updated = contacts.update_contact(
        call.caller,
        object_id(list_id, "contact list"),
        object_id(contact_id, "contact"),
        data,
        replace=replace,
    )
    return render_contact(updated)


@endpoint(bp, "/contact-lists/{list_id}/contacts/{contact_id}", methods=("DELETE",))
def delete_contact(call: Call, list_id: str, contact_id: str) -> None:
    contacts.delete_contact(call.caller, object_id(list_id, "contact list"), object_id(contact_id, "contact"))
