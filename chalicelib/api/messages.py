from chalice import Blueprint

from chalicelib.api.http import Call, endpoint
from chalicelib.api.schema import Field, Schema
from chalicelib.domain.companies import get_company
from chalicelib.domain.errors import invalid_field
from chalicelib.domain.segments import cost

bp = Blueprint(__name__)

QUOTE = Schema(fields={"message": Field(str, required=True, max_length=1600), "optout": Field(bool)})


@endpoint(bp, "/messages/quote", methods=("POST",))
def quote_message(call: Call) -> dict:
    """The cost of one message before sending it, and the characters that make it UCS-2 (if any)."""
    body = call.body(QUOTE)
    if not body["message"]:
        raise invalid_field("message", "must not be empty")
    text = body["message"]
    if body.get("optout"):
        text = f"{text}\n{get_company(call.caller).optout_text}"
    result = cost(text)
    return {
        "encoding": result.encoding,
        "characters": result.characters,
        "segments": result.segments,
        "credits": result.credits,
        "non_gsm_chars": result.non_gsm_chars,
    }
