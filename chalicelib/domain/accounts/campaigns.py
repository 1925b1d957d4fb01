"""Campaigns: names that deployments (`linked_campaign`) and messages (`campaign_pk`) point to."""

from __future__ import annotations

from chalicelib.domain import clock
from chalicelib.domain.accounts.auth import Caller
from chalicelib.domain.errors import NotFound, invalid_field
from chalicelib.models.counters import allocate_ids
from chalicelib.models.deployments import Campaign
from chalicelib.models.pagination import Page, PageRequest, paginate


def create_campaign(caller: Caller, title: str) -> Campaign:
    title = (title or "").strip()
    if not 1 <= len(title) <= 200:
        raise invalid_field("title", "must be 1 to 200 characters")
    now = clock.now()
    campaign = Campaign(
        company=caller.company,
        id=allocate_ids("campaign")[0],
        title=title,
        date_created=now,
        date_updated=now,
    )
    campaign.save(condition=Campaign.id.does_not_exist())
    return campaign


def get_campaign(caller: Caller, campaign_id: int) -> Campaign:
    found = Campaign.get_or_none(caller.company, campaign_id)
    if found is None:
        raise NotFound(f"There is no campaign {campaign_id}.")
    return found


def list_campaigns(caller: Caller, page: PageRequest) -> Page:
    return paginate(Campaign, caller.company, page)


def check_campaign(caller: Caller, campaign_id: int | None, field: str) -> int | None:
    """A reference to one of the caller's campaigns (a 400 naming `field` otherwise)."""
    if campaign_id is not None and Campaign.get_or_none(caller.company, campaign_id) is None:
        raise invalid_field(field, f"there is no campaign {campaign_id}")
    return campaign_id
