from chalice import Blueprint
from typing_extensions import TypedDict

from chalicelib.api.http import Call, endpoint, object_id
from chalicelib.api.operations import PAGED, Param
from chalicelib.api.shapes import Page, Timestamp
from chalicelib.domain.accounts import campaigns
from chalicelib.domain.deployments import store
from chalicelib.domain.stats import periods, reading
from chalicelib.domain.stats.tally import COLUMNS
from chalicelib.models.stats import Stat, campaign_scope, company_scope, deployment_scope

bp = Blueprint(__name__)


class StatBody(TypedDict):
    id: int
    deployment: int | None
    period_type: int
    period_start: Timestamp
    period_end: Timestamp
    total: int
    sms_sent_count: int
    sms_unsent_count: int
    sms_optout_count: int
    email_sent_count: int
    email_unsent_count: int
    email_optout_count: int


RANGE = (
    *PAGED,
    Param("start", "Rows starting at or after this moment (ISO 8601; a date is midnight, company time)."),
    Param("end", "Rows starting before this moment."),
)


BY_DEPLOYMENT = Param("deployment", "One deployment's rows instead of the company's totals.", int)


def render_stat(row: Stat) -> StatBody:
    counts = {c: getattr(row, c) or 0 for c in COLUMNS}
    period = periods.Period(
        row.period_type, periods.parse_utc(row.period_start), periods.parse_utc(row.period_end)
    )
    return {
        "id": periods.row_id(row.company, row.deployment, period, row.tz, _campaign_of(row)),
        "deployment": row.deployment,
        "period_type": row.period_type,
        "period_start": row.period_start,
        "period_end": row.period_end,
        "total": sum(counts.values()),
        "sms_sent_count": counts["sent"],
        "sms_unsent_count": counts["unsent"],
        "sms_optout_count": counts["optout"],
        "email_sent_count": counts["email_sent"],
        "email_unsent_count": counts["email_unsent"],
        "email_optout_count": counts["email_optout"],
    }


def _rows(call: Call, scope: str, period: str) -> Page[StatBody]:
    page = reading.rows_between(
        call.caller, scope, period, call.query("start"), call.query("end"), call.page()
    )
    return {"results": [render_stat(r) for r in page.items], "next": page.next}


@endpoint(bp, "/deployments/{deployment_id}/stats/{period}", query=RANGE)
def deployment_stats(call: Call, deployment_id: str, period: str) -> Page[StatBody]:
    """A deployment's rows (`hourly`, `daily`, `monthly`, `yearly`) starting within `?start=&end=`."""
    deployment = store.get(call.caller, object_id(deployment_id, "deployment"))
    return _rows(call, deployment_scope(deployment.id), period)


@endpoint(bp, "/deployments/{deployment_id}/stats/{period}/{row_id}")
def deployment_stats_row(call: Call, deployment_id: str, period: str, row_id: str) -> StatBody:
    deployment = store.get(call.caller, object_id(deployment_id, "deployment"))
    return render_stat(reading.one_row(call.caller, period, row_id, deployment_scope(deployment.id)))


@endpoint(bp, "/stats/{period}/{row_id}", query=(BY_DEPLOYMENT,))
def company_stats_row(call: Call, period: str, row_id: str) -> StatBody:
    return render_stat(reading.one_row(call.caller, period, row_id, _company_or_deployment(call)))


@endpoint(bp, "/campaigns/{campaign_id}/stats/{period}", query=RANGE)
def campaign_stats(call: Call, campaign_id: str, period: str) -> Page[StatBody]:
    """A campaign's rows: its deployments' messages and the API messages that name it."""
    campaign = campaigns.get_campaign(call.caller, object_id(campaign_id, "campaign"))
    return _rows(call, campaign_scope(campaign.id), period)


@endpoint(bp, "/campaigns/{campaign_id}/stats/{period}/{row_id}")
def campaign_stats_row(call: Call, campaign_id: str, period: str, row_id: str) -> StatBody:
    campaign = campaigns.get_campaign(call.caller, object_id(campaign_id, "campaign"))
    return render_stat(reading.one_row(call.caller, period, row_id, campaign_scope(campaign.id)))


def _company_or_deployment(call: Call) -> str:
    """The company's rows, or with `?deployment=` one of its deployments' (another company's is a 404)."""
    deployment_id = call.query_id("deployment")
    if deployment_id is None:
        return company_scope(call.caller.company)
    return deployment_scope(store.get(call.caller, deployment_id).id)


def _campaign_of(row: Stat) -> int | None:
    return int(row.scope[1:]) if row.scope.startswith("k") else None


@endpoint(bp, "/stats/{period}", query=(*RANGE, BY_DEPLOYMENT))
def company_stats(call: Call, period: str) -> Page[StatBody]:
    """The company's totals per period: every deployment and API message (`deployment` null), or with
    `?deployment=` one deployment's rows."""
    return _rows(call, _company_or_deployment(call), period)
