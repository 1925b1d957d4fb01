from chalice import Blueprint

from chalicelib.api.http import Call, endpoint

bp = Blueprint(__name__)


@endpoint(bp, "/health", public=True)
def health(call: Call) -> dict:
    """The only open route: the API answers (it touches no data)."""
    return {"status": "ok"}
