from chalice import Blueprint

from chalicelib.api.http import Call, endpoint, object_id
from chalicelib.domain.clock import iso
from chalicelib.domain.files import filebox
from chalicelib.models.files import File

bp = Blueprint(__name__)


def render_file(entry: File) -> dict:
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


@endpoint(bp, "/filebox")
def list_files(call: Call) -> dict:
    page = filebox.list_files(call.caller, call.page())
    return {"results": [render_file(f) for f in page.items], "next": page.next}


@endpoint(bp, "/filebox/{file_id}")
def get_file(call: Call, file_id: str) -> dict:
    return render_file(filebox.get_file(call.caller, object_id(file_id, "file")))
