from chalice import Blueprint

from chalicelib.api.http import Call, endpoint, object_id
from chalicelib.api.schema import Field, Schema
from chalicelib.domain.accounts import campaigns
from chalicelib.domain.clock import iso
from chalicelib.models.deployments import Campaign

bp = Blueprint(__name__)

NEW = Schema(fields={"title": Field(str, required=True, max_length=200)}, read_only=("id", "company"))


def render_campaign(campaign: Campaign) -> dict:
    return {"id": campaign.id, "title": campaign.title, "date_created": iso(campaign.date_created)}


@endpoint(bp, "/campaigns")
def list_campaigns(call: Call) -> dict:
    page = campaigns.list_campaigns(call.caller, call.page())
    return {"results": [render_campaign(c) for c in page.items], "next": page.next}


@endpoint(bp, "/campaigns", methods=("POST",), status=201)
def create_campaign(call: Call) -> dict:
    return render_campaign(campaigns.create_campaign(call.caller, call.body(NEW)["title"]))


@endpoint(bp, "/campaigns/{campaign_id}")
def get_campaign(call: Call, campaign_id: str) -> dict:
    return render_campaign(campaigns.get_campaign(call.caller, object_id(campaign_id, "campaign")))
