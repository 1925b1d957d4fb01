from chalice import Blueprint, Response
from typing_extensions import TypedDict

from chalicelib.api.errors import ErrorDetail, error_body
from chalicelib.api.http import Call, endpoint, object_id
from chalicelib.api.operations import PAGED, Param
from chalicelib.api.schema import Field, Many, Schema
from chalicelib.api.shapes import NonGsmBody, Page, Timestamp
from chalicelib.domain.clock import iso
from chalicelib.domain.errors import ColonyError, invalid_field
from chalicelib.domain.rules.segments import cost
from chalicelib.domain.sending import api_messages
from chalicelib.models.deployments import Message

bp = Blueprint(__name__)

SEND = Schema(
    fields={
        "message": Field(str, required=True, max_length=api_messages.MAX_TEXT),
        "destination": Field((str, int), required=True, max_length=64),
        "campaign_pk": Field(int, nullable=True),
        "marketing": Field(bool),
        "gsm_substitute": Field(bool),
    },
    read_only=("id", "status", "segments", "encoding", "credits"),
)
QUOTE = Schema(
    fields={
        "message": Field(str, required=True, max_length=1600),
        "marketing": Field(bool),
        "optout": Field(bool),
        "gsm_substitute": Field(bool),
    }
)


class MessageQuoteBody(TypedDict):
    encoding: str
    characters: int
    segments: int
    per_segment: int
    credits: int
    non_gsm_chars: list[str]
    non_gsm: list[NonGsmBody]
    credits_if_substituted: int


class MessageBody(TypedDict):
    id: int
    destination: str
    status: str
    segments: int
    encoding: str
    characters: int
    per_segment: int
    non_gsm: list[NonGsmBody]
    credits: int
    marketing: bool
    campaign_pk: int | None
    bulk: int | None
    provider_id: str | None
    error: str | None
    date_created: Timestamp
    date_sent: Timestamp | None
    date_delivered: Timestamp | None


class AcceptedBody(TypedDict):
    index: int
    id: int


class RejectedBody(TypedDict):
    index: int
    error: ErrorDetail


class BulkBody(TypedDict):
    """The messages accepted (by their index in the array) and those rejected, with why."""

    id: int
    accepted: int
    messages: list[AcceptedBody]
    rejected: list[RejectedBody]
    credits: int


class BulkStatusBody(TypedDict):
    """A bulk request as it stands: `statuses` counts its messages by status (see `GET /messages?bulk=`)."""

    id: int
    status: str  # paid (sent as the messages go), or refused (the balance was short: nothing was sent)
    accepted: int
    credits: int
    statuses: dict[str, int]
    date_created: Timestamp


@endpoint(bp, "/messages/quote", methods=("POST",), body=QUOTE)
def quote_message(call: Call) -> MessageQuoteBody:
    """The cost of one message before sending it, and the characters that make it UCS-2 (if any)."""
    result, if_substituted = api_messages.quote_both(call.caller, call.body())
    return {**result.as_dict(), "credits_if_substituted": if_substituted.credits}


def _counted(text: str) -> dict:
    """How a message's text is counted: the unit counted, what a segment holds, what forced UCS-2."""
    figures = cost(text).as_dict()
    return {name: figures[name] for name in ("characters", "per_segment", "non_gsm")}


def render_message(message: Message) -> MessageBody:
    return {
        "id": message.id,
        "destination": message.destination,
        "status": message.status,
        "segments": message.segments,
        "encoding": message.encoding,
        **(_counted(message.text) if message.text is not None else message.text_figures),
        "credits": api_messages.credits_kept(message),
        "marketing": message.marketing,
        "campaign_pk": message.campaign,
        "bulk": message.bulk,
        "provider_id": message.provider_id,
        "error": message.error,
        "date_created": iso(message.date_created),
        "date_sent": iso(message.date_sent),
        "date_delivered": iso(message.date_delivered),
    }


@endpoint(bp, "/messages/send", methods=("POST",), status=201, body=SEND, errors=(402,), resumable=True)
def send_message(call: Call) -> MessageBody:
    """One SMS: 201 with its cost once the credits are reserved (402 if short); it goes out at once
    (a marketing one only in permitted hours and never to an opted-out number)."""
    body = api_messages.check_item_types(call.body())
    return render_message(api_messages.send_one(call.caller, body))


@endpoint(
    bp,
    "/messages/bulk",
    methods=("POST",),
    status=202,
    body=Many(SEND, api_messages.MAX_BULK),
    responses={202: BulkBody},
    errors=(402,),
    resumable=True,
)
def send_bulk(call: Call) -> Response:
    """Up to 10,000 SMS as the seed's JSON array; each invalid item is listed by index with its reason."""
    body = call.json()
    if not isinstance(body, list):
        raise invalid_field("body", "must be a JSON array of messages")
    items = []
    for item in body:
        try:
            items.append(api_messages.check_item_types(item))
        except ColonyError as error:
            items.append(error)
    result = api_messages.send_bulk(call.caller, items)
    return Response(
        status_code=202,
        body={
            "id": result.bulk.id,
            "accepted": result.bulk.accepted,
            "messages": [{"index": index, "id": message_id} for index, message_id in result.accepted],
            "rejected": [
                {"index": index, "error": error_body(e.code, e.message, e.fields)["error"]}
                for index, e in result.rejected
            ],
            "credits": result.bulk.credits,
        },
    )


@endpoint(bp, "/messages/bulk/{bulk_id}")
def get_bulk(call: Call, bulk_id: str) -> BulkStatusBody:
    request, statuses = api_messages.bulk_statuses(call.caller, object_id(bulk_id, "bulk"))
    return {
        "id": request.id,
        "status": request.status,
        "accepted": request.accepted,
        "credits": request.credits,
        "statuses": dict(sorted(statuses.items())),
        "date_created": iso(request.date_created),
    }


@endpoint(bp, "/messages/{message_id}")
def get_message(call: Call, message_id: str) -> MessageBody:
    return render_message(api_messages.get_message(call.caller, object_id(message_id, "message")))


@endpoint(
    bp,
    "/messages",
    query=(
        *PAGED,
        Param("campaign_pk", "Only the messages that name this campaign.", int),
        Param("bulk", "Only the messages of this bulk request.", int),
    ),
)
def list_messages(call: Call) -> Page[MessageBody]:
    """The company's API messages (and keyword confirmations), newest first."""
    page = api_messages.list_messages(
        call.caller, call.page(), call.query_id("campaign_pk"), call.query_id("bulk")
    )
    return {"results": [render_message(m) for m in page.items], "next": page.next}
