from chalice import Blueprint, Response
from typing_extensions import TypedDict

from chalicelib.api.http import Call, endpoint, object_id
from chalicelib.api.operations import PAGED
from chalicelib.api.schema import Field, Schema
from chalicelib.api.shapes import Page, Timestamp
from chalicelib.api.tasks import TaskBody, render_task
from chalicelib.domain.clock import iso
from chalicelib.domain.contacts import contact_lists, membership
from chalicelib.domain.errors import invalid_field
from chalicelib.domain.files import reports
from chalicelib.models.contacts import ContactList

bp = Blueprint(__name__)

READ_ONLY = ("id", "company", "contact_count", "date_refreshed", "date_created", "date_updated")
NEW_LIST = Schema(
    fields={"title": Field(str, required=True, max_length=200), "saved_query": Field(int, nullable=True)},
    read_only=READ_ONLY,
)
DELETE_LISTS = Schema(fields={"ids": Field(list, required=True, max_length=100, items=int)})


class ContactListBody(TypedDict):
    id: int
    title: str
    saved_query: int | None
    company: int
    contact_count: int
    date_refreshed: Timestamp | None
    date_created: Timestamp
    date_updated: Timestamp


def render_list(contact_list: ContactList) -> ContactListBody:
    return {
        "id": contact_list.id,
        "title": contact_list.title,
        "saved_query": contact_list.saved_query,
        "company": contact_list.company,
        "contact_count": contact_list.contact_count,
        "date_refreshed": iso(contact_list.date_refreshed) if contact_list.date_refreshed else None,
        "date_created": iso(contact_list.date_created),
        "date_updated": iso(contact_list.date_updated),
    }


@endpoint(bp, "/contact-lists", query=PAGED)
def list_lists(call: Call) -> Page[ContactListBody]:
    page = contact_lists.list_lists(call.caller, call.page())
    return {"results": [render_list(c) for c in page.items], "next": page.next}


@endpoint(bp, "/contact-lists", methods=("POST",), status=201, body=NEW_LIST)
def create_list(call: Call) -> ContactListBody:
    """Create a list; one with a `saved_query` is filled by a refresh task started at once."""
    body = call.body()
    return render_list(contact_lists.create_list(call.caller, body["title"], body.get("saved_query")))


@endpoint(bp, "/contact-lists/{list_id}")
def get_list(call: Call, list_id: str) -> ContactListBody:
    return render_list(contact_lists.get_list(call.caller, object_id(list_id, "contact list")))


@endpoint(bp, "/contact-lists/{list_id}", methods=("PUT", "PATCH"), body=NEW_LIST)
def update_list(call: Call, list_id: str) -> ContactListBody:
    current = render_list(contact_lists.get_list(call.caller, object_id(list_id, "contact list")))
    changes = call.body(partial=call.request.method == "PATCH", current=current)
    return render_list(contact_lists.update_list(call.caller, object_id(list_id, "contact list"), changes))


@endpoint(bp, "/contact-lists/{list_id}", methods=("DELETE",), responses={202: TaskBody})
def delete_list(call: Call, list_id: str) -> Response | None:
    return _deleted(contact_lists.delete_lists(call.caller, [object_id(list_id, "contact list")]))


@endpoint(bp, "/contact-lists/delete", methods=("POST",), body=DELETE_LISTS, responses={202: TaskBody})
def delete_lists(call: Call) -> Response | None:
    ids = call.body()["ids"]
    if not ids or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise invalid_field("ids", "must be a list of 1 to 100 contact list ids")
    return _deleted(contact_lists.delete_lists(call.caller, ids))


def _deleted(task) -> Response | None:
    """Small lists are gone at once (204); a big one's contacts are deleted by a task (202)."""
    return None if task is None else Response(body=render_task(task), status_code=202)


@endpoint(bp, "/contact-lists/refresh", methods=("POST",), status=202)
def refresh_lists(call: Call) -> TaskBody:
    """Refresh every list of the company that a saved query defines, in one task."""
    return render_task(contact_lists.refresh(call.caller))


@endpoint(bp, "/contact-lists/{list_id}/refresh", methods=("POST",), status=202)
def refresh_list(call: Call, list_id: str) -> TaskBody:
    return render_task(contact_lists.refresh(call.caller, object_id(list_id, "contact list")))


SOURCE = Schema(
    fields={
        "saved_query": Field(int, description="Save the contacts this saved query finds."),
        "contact_lists": Field(list, items=int, description="Save the contacts of these lists."),
        "deployment": Field(int, description="Save the recipients of this deployment (with `status`)."),
        "status": Field(str, description="Which of the deployment's recipients: sent, failed, ..."),
    }
)


@endpoint(bp, "/contact-lists/{list_id}/save-contacts", methods=("POST",), status=202, body=SOURCE)
def save_contacts(call: Call, list_id: str) -> TaskBody:
    """From `{"saved_query": id}`, `{"contact_lists": [ids]}` or `{"deployment": id, "status": ...}`."""
    source = call.fields()
    if call.is_form():
        source = SOURCE.parse(source, partial=True, textual=True)
    task = membership.start_save_contacts(call.caller, object_id(list_id, "contact list"), source)
    return render_task(task)


@endpoint(bp, "/contact-lists/{list_id}/export", methods=("POST",), status=202)
def export_list(call: Call, list_id: str) -> TaskBody:
    """The list's contacts as a CSV in the caller's filebox."""
    return render_task(reports.start_export(call.caller, object_id(list_id, "contact list")))
