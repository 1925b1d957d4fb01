from chalice import Blueprint
from typing_extensions import TypedDict

from chalicelib.api.http import Call, endpoint, object_id
from chalicelib.api.operations import PAGED
from chalicelib.api.schema import Field, Schema
from chalicelib.api.shapes import Page, Timestamp
from chalicelib.domain.clock import iso
from chalicelib.domain.contacts import saved_queries
from chalicelib.domain.rules import query_language
from chalicelib.models.saved_queries import SavedQuery

bp = Blueprint(__name__)

SAVED_QUERY = Schema(
    fields={
        "title": Field(str, required=True, max_length=200),
        "query": Field(str, required=True, max_length=query_language.MAX_LENGTH),
    },
    read_only=("id", "company", "created_by", "date_created", "date_updated"),
)


class SavedQueryBody(TypedDict):
    id: int
    title: str
    query: str
    company: int
    created_by: int | None
    date_created: Timestamp
    date_updated: Timestamp


def render_saved_query(saved: SavedQuery) -> SavedQueryBody:
    return {
        "id": saved.id,
        "title": saved.title,
        "query": saved.text,
        "company": saved.company,
        "created_by": saved.created_by,
        "date_created": iso(saved.date_created),
        "date_updated": iso(saved.date_updated),
    }


def _id(value: str) -> int:
    return object_id(value, "saved query")


@endpoint(bp, "/saved-queries", query=PAGED)
def list_saved_queries(call: Call) -> Page[SavedQueryBody]:
    page = saved_queries.list_saved(call.caller, call.page())
    return {"results": [render_saved_query(s) for s in page.items], "next": page.next}


@endpoint(bp, "/saved-queries", methods=("POST",), status=201, body=SAVED_QUERY)
def create_saved_query(call: Call) -> SavedQueryBody:
    return render_saved_query(saved_queries.create(call.caller, call.body()))


@endpoint(bp, "/saved-queries/{query_id}")
def get_saved_query(call: Call, query_id: str) -> SavedQueryBody:
    return render_saved_query(saved_queries.get(call.caller, _id(query_id)))


@endpoint(bp, "/saved-queries/{query_id}", methods=("PUT", "PATCH"), body=SAVED_QUERY)
def update_saved_query(call: Call, query_id: str) -> SavedQueryBody:
    current = render_saved_query(saved_queries.get(call.caller, _id(query_id)))
    changes = call.body(partial=call.request.method == "PATCH", current=current)
    return render_saved_query(saved_queries.update(call.caller, _id(query_id), changes))


@endpoint(bp, "/saved-queries/{query_id}", methods=("DELETE",))
def delete_saved_query(call: Call, query_id: str) -> None:
    saved_queries.delete(call.caller, _id(query_id))
