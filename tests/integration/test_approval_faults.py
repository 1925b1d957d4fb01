"""What was approved is exactly what is sent and paid for: an imported deployment is approved only
once its file is in, an import writes into drafts only, and nothing an approval did not quote is sent."""

from chalicelib.models.companies import Company
from chalicelib.models.deployments import Deployment, Recipient
from chalicelib.models.imports import Import
from tests.api_client import multipart
from tests.factories import create_recipient


def import_deployment(api, member, rows: int):
    lines = "".join(f"2782{n:07d},Order {n} has shipped\r\n" for n in range(rows))
    body, content_type = multipart({}, {"file": ("orders.csv", f"destination,message\r\n{lines}".encode())})
    answer = api.call("POST", "/deployments/import", member, raw=body, headers={"Content-Type": content_type})
    assert answer.status == 202, answer.body
    return answer.body


def one_round(pump) -> None:
    """Every queue delivers once (an import that pauses between invocations does one of them)."""
    for source in pump.pump.queues:
        pump.pump.deliver(source)


def recipients_of(deployment_id: int) -> int:
    return sum(1 for _ in Recipient.query(deployment_id, consistent_read=True))


def test_an_import_still_running_cannot_be_submitted_or_approved(api, tenants, pump, monkeypatch):
    acme, _ = tenants
    monkeypatch.setenv("COLONY_IMPORT_ROWS_PER_INVOCATION", "100")
    started = import_deployment(api, acme.member, 300)
    deployment_id, import_id = started["id"], started["import"]["id"]
    assert started["import_id"] == import_id
    for _ in range(5):
        one_round(pump)
        if recipients_of(deployment_id):
            break
    assert Import.get(acme.id, import_id).status == "running" and 0 < recipients_of(deployment_id) < 300
    refused = api.post(f"/deployments/{deployment_id}/submit", acme.member)
    assert (refused.status, refused.error_code) == (409, "import_not_finished")
    assert f"Import {import_id} of orders.csv is still running" in refused.body["error"]["message"]
    # a deployment moved on meanwhile (as an older Colony allowed): approval refuses too ...
    Deployment(company=acme.id, id=deployment_id).update(actions=[Deployment.status.set(1)])
    approval = api.post(f"/deployments/{deployment_id}/approve", acme.approver)
    assert (approval.status, approval.error_code) == (409, "import_not_finished")
    assert Company.get(acme.id).credits == 1000
    # ... and the import adds nothing more to a deployment that is no longer a draft
    written = recipients_of(deployment_id)
    pump.drain()
    job = Import.get(acme.id, import_id)
    assert job.status == "failed" and "no longer a draft" in job.error
    assert recipients_of(deployment_id) == written


def test_a_completed_import_is_submitted_and_approved(api, tenants, pump):
    acme, _ = tenants
    started = import_deployment(api, acme.member, 3)
    pump.drain()
    assert api.post(f"/deployments/{started['id']}/submit", acme.member).status == 200
    approved = api.post(f"/deployments/{started['id']}/approve", acme.approver)
    assert (approved.status, approved.body["total_credits"]) == (200, 3)


def test_a_recipient_no_approval_quoted_is_never_sent_and_the_settlement_says_so(api, tenants, pump, gateway):
    acme, _ = tenants
    started = import_deployment(api, acme.member, 3)
    pump.drain()
    api.post(f"/deployments/{started['id']}/submit", acme.member)
    assert api.post(f"/deployments/{started['id']}/approve", acme.approver).status == 200
    deployment = Deployment.get(acme.id, started["id"])
    create_recipient(deployment, "27829999999", message="Slipped in after the approval", segments=None)
    pump.drain()
    settled = Deployment.get(acme.id, started["id"], consistent_read=True)
    assert sorted(s.to for s in gateway.sent) == [f"2782{n:07d}" for n in range(3)]
    assert (settled.status, settled.sent_count, settled.total_credits) == (4, 3, 3)
    assert "1 recipients were added after the approval and were not sent" in settled.error
    late = Recipient.get(started["id"], "27829999999")
    assert late.status == "failed" and "did not quote it" in late.error
    assert Company.get(acme.id).credits == 997


def test_an_import_whose_draft_was_deleted_first_fails_at_once_saying_so(api, tenants, pump, caplog):
    acme, _ = tenants
    started = import_deployment(api, acme.member, 3)
    assert api.delete(f"/deployments/{started['id']}", acme.member).status == 204
    pump.drain()
    job = Import.get(acme.id, started["import"]["id"])
    assert (job.status, job.error) == ("failed", "The deployment was deleted before its import began.")
    assert "message failed" not in caplog.text and pump.dead_letters("imports") == []  # no retries
    assert recipients_of(started["id"]) == 0
