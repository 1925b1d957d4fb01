from chalice import Blueprint

from chalicelib.api.http import Call, endpoint
from chalicelib.domain.clock import iso
from chalicelib.domain.inbound import keywords
from chalicelib.models.inbound import Inbound

bp = Blueprint(__name__)


def render_inbound(message: Inbound) -> dict:
    return {
        "id": message.id,
        "originator": message.originator,
        "destination": message.destination,
        "text": message.text,
        "date_received": iso(message.date_received),
    }


@endpoint(bp, "/inbound")
def list_inbound(call: Call) -> dict:
    """What subscribers wrote that was not a keyword acted on, newest first."""
    page = keywords.list_inbound(call.caller, call.page())
    return {"results": [render_inbound(m) for m in page.items], "next": page.next}
