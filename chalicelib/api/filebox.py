from chalice import Blueprint
from typing_extensions import TypedDict

from chalicelib.api.http import Call, endpoint, object_id
from chalicelib.api.operations import PAGED
from chalicelib.api.shapes import Page, Timestamp
from chalicelib.domain.clock import iso
from chalicelib.domain.files import filebox
from chalicelib.models.files import File

bp = Blueprint(__name__)


class FileBody(TypedDict):
    id: int
    name: str
    kind: str
    size: int
    user: int | None
    url: str
    date_created: Timestamp


def render_file(entry: File) -> FileBody:
    """With a download link valid for 15 minutes."""
    return {
        "id": entry.id,
        "name": entry.name,
        "kind": entry.kind,
        "size": entry.size,
        "user": entry.user,
        "url": filebox.download_url(entry),
        "date_created": iso(entry.date_created),
    }


@endpoint(bp, "/filebox", query=PAGED)
def list_files(call: Call) -> Page[FileBody]:
    page = filebox.list_files(call.caller, call.page())
    return {"results": [render_file(f) for f in page.items], "next": page.next}


@endpoint(bp, "/filebox/{file_id}")
def get_file(call: Call, file_id: str) -> FileBody:
    return render_file(filebox.get_file(call.caller, object_id(file_id, "file")))
