from chalice import Blueprint
from typing_extensions import TypedDict

from chalicelib.api.http import Call, endpoint
from chalicelib.api.operations import PAGED
from chalicelib.api.shapes import Page, Timestamp
from chalicelib.domain.clock import iso
from chalicelib.domain.inbound import keywords
from chalicelib.models.inbound import Inbound

bp = Blueprint(__name__)


class InboundBody(TypedDict):
    id: int
    originator: str
    destination: str | None
    text: str
    date_received: Timestamp


def render_inbound(message: Inbound) -> InboundBody:
    return {
        "id": message.id,
        "originator": message.originator,
        "destination": message.destination,
        "text": message.text,
        "date_received": iso(message.date_received),
    }


@endpoint(bp, "/inbound", query=PAGED)
def list_inbound(call: Call) -> Page[InboundBody]:
    """What subscribers wrote that was not a keyword acted on, newest first."""
    page = keywords.list_inbound(call.caller, call.page())
    return {"results": [render_inbound(m) for m in page.items], "next": page.next}
