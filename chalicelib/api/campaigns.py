from chalice import Blueprint
from typing_extensions import TypedDict

from chalicelib.api.http import Call, endpoint, object_id
from chalicelib.api.operations import PAGED
from chalicelib.api.schema import Field, Schema
from chalicelib.api.shapes import Page, Timestamp
from chalicelib.domain.accounts import campaigns
from chalicelib.domain.clock import iso
from chalicelib.models.deployments import Campaign

bp = Blueprint(__name__)

NEW = Schema(fields={"title": Field(str, required=True, max_length=200)}, read_only=("id", "company"))


class CampaignBody(TypedDict):
    id: int
    title: str
    date_created: Timestamp


def render_campaign(campaign: Campaign) -> CampaignBody:
    return {"id": campaign.id, "title": campaign.title, "date_created": iso(campaign.date_created)}


@endpoint(bp, "/campaigns", query=PAGED)
def list_campaigns(call: Call) -> Page[CampaignBody]:
    page = campaigns.list_campaigns(call.caller, call.page())
    return {"results": [render_campaign(c) for c in page.items], "next": page.next}


@endpoint(bp, "/campaigns", methods=("POST",), status=201, body=NEW)
def create_campaign(call: Call) -> CampaignBody:
    return render_campaign(campaigns.create_campaign(call.caller, call.body()["title"]))


@endpoint(bp, "/campaigns/{campaign_id}")
def get_campaign(call: Call, campaign_id: str) -> CampaignBody:
    return render_campaign(campaigns.get_campaign(call.caller, object_id(campaign_id, "campaign")))
