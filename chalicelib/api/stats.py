from chalice import Blueprint

from chalicelib.api.http import Call, endpoint, object_id
from chalicelib.domain.deployments import store
from chalicelib.domain.stats import periods, reading
from chalicelib.models.stats import Stat, company_scope, deployment_scope

bp = Blueprint(__name__)


def render_stat(row: Stat) -> dict:
    sent, unsent, optout = row.sent or 0, row.unsent or 0, row.optout or 0
    period = periods.Period(
        row.period_type, periods.parse_utc(row.period_start), periods.parse_utc(row.period_end)
    )
    return {
        "id": periods.row_id(row.company, row.deployment, period, row.tz),
        "deployment": row.deployment,
        "period_type": row.period_type,
        "period_start": row.period_start,
        "period_end": row.period_end,
        "total": sent + unsent + optout,
        "sms_sent_count": sent,
        "sms_unsent_count": unsent,
        "sms_optout_count": optout,
        "email_sent_count": 0,
        "email_unsent_count": 0,
        "email_optout_count": 0,
    }


def _rows(call: Call, scope: str, period: str) -> dict:
    page = reading.rows_between(
        call.caller, scope, period, call.query("start"), call.query("end"), call.page()
    )
    return {"results": [render_stat(r) for r in page.items], "next": page.next}


@endpoint(bp, "/deployments/{deployment_id}/stats/{period}")
def deployment_stats(call: Call, deployment_id: str, period: str) -> dict:
    """A deployment's rows (`hourly`, `daily`, `monthly`, `yearly`) starting within `?start=&end=`."""
    deployment = store.get(call.caller, object_id(deployment_id, "deployment"))
    return _rows(call, deployment_scope(deployment.id), period)


@endpoint(bp, "/stats/{period}")
def company_stats(call: Call, period: str) -> dict:
    """The company's totals per period: every deployment and API message (`deployment` null)."""
    return _rows(call, company_scope(call.caller.company), period)
