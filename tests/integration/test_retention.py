"""Retention: filebox files expire after the company's `file_retention_days` (S3 deletes them by tag,
every read refuses them before that); sent messages lose their texts after `message_retention_days`
while their statuses, counts and stats stay."""

from __future__ import annotations

from datetime import timedelta

from chalicelib import aws
from chalicelib.domain import clock
from chalicelib.domain.rules.retention import FILE_RETENTION_DAYS, RETENTION_TAG
from chalicelib.models.companies import Company
from chalicelib.models.deployments import Deployment, Message, Recipient
from chalicelib.models.files import File
from chalicelib.settings import get_settings
from chalicelib.workers import retention
from tests.factories import create_contact_list, create_contacts, pending_deployment


def days_later(at_time, days: int) -> None:
    at_time(clock.iso(clock.now() + timedelta(days=days)))


def export_file(api, tenant, pump) -> dict:
    contact_list = create_contact_list(tenant.id)
    create_contacts(tenant.id, contact_list.id, "27815854565")
    assert api.post(f"/contact-lists/{contact_list.id}/export", tenant.member).status == 202
    pump.drain()
    (entry,) = api.get("/filebox", tenant.member).body["results"]
    return entry


def object_tags(key: str) -> dict[str, str]:
    tagging = aws.client("s3").get_object_tagging(Bucket=get_settings().bucket, Key=key)
    return {tag["Key"]: tag["Value"] for tag in tagging["TagSet"]}


def test_a_file_past_the_companys_retention_is_refused_on_every_read(api, tenants, pump, at_time):
    acme, _ = tenants
    assert api.get("/company", acme.admin).body["file_retention_days"] == 30
    entry = export_file(api, acme, pump)
    assert object_tags(File.get(acme.id, entry["id"]).key) == {RETENTION_TAG: "30"}
    days_later(at_time, 29)
    assert api.get(f"/filebox/{entry['id']}", acme.member).status == 200
    days_later(at_time, 2)
    assert api.get(f"/filebox/{entry['id']}", acme.member).status == 404
    assert api.get(f"/filebox/{entry['id']}", acme.admin).status == 404
    assert api.get("/filebox", acme.member).body["results"] == []


def test_a_shorter_retention_applies_to_the_files_made_after_it(api, tenants, pump, at_time):
    acme, bravo = tenants
    assert api.patch("/company", acme.admin, {"file_retention_days": 7}).status == 200
    entry = export_file(api, acme, pump)
    theirs = export_file(api, bravo, pump)
    assert object_tags(File.get(acme.id, entry["id"]).key) == {RETENTION_TAG: "7"}
    days_later(at_time, 8)
    assert api.get(f"/filebox/{entry['id']}", acme.member).status == 404
    assert api.get(f"/filebox/{theirs['id']}", bravo.member).status == 200  # Bravo keeps 30 days
    assert api.get(f"/filebox/{theirs['id']}", acme.admin).status == 404  # and is never Acme's


def test_bad_retention_settings_are_400s_naming_the_field(api, tenants):
    acme, _ = tenants
    for body, field in (
        ({"file_retention_days": 45}, "file_retention_days"),
        ({"file_retention_days": "thirty"}, "file_retention_days"),
        ({"message_retention_days": 3}, "message_retention_days"),
        ({"message_retention_days": 4000}, "message_retention_days"),
    ):
        answer = api.patch("/company", acme.admin, body)
        assert answer.status == 400 and field in answer.body["error"]["fields"], (body, answer.body)
    assert api.patch("/company", acme.member, {"message_retention_days": 30}).status == 403
    company = Company.get(acme.id)
    assert (company.file_retention_days, company.message_retention_days) == (30, 90)


def test_every_allowed_file_retention_has_its_lifecycle_rule():
    import json

    from chalicelib.settings import PROJECT_DIR

    template = json.loads((PROJECT_DIR / "infra" / "resources.json").read_text())
    rules = template["Resources"]["FilesBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    tagged = {
        (rule["Prefix"], rule["TagFilters"][0]["Value"], rule["ExpirationInDays"])
        for rule in rules
        if rule.get("TagFilters")
    }
    assert tagged == {("filebox/", str(days), days) for days in FILE_RETENTION_DAYS}


def test_the_nightly_run_drops_old_texts_and_keeps_statuses_counts_and_stats(
    api, tenants, pump, gateway, at_time
):
    acme, bravo = tenants
    assert api.patch("/company", bravo.admin, {"message_retention_days": 3650}).status == 200
    contact_list = create_contact_list(acme.id)
    create_contacts(acme.id, contact_list.id, "27815854565", "27815854566", first_name="Ann")
    deployment = pending_deployment(acme, [contact_list.id], message="Hi {{first_name}}")
    assert api.post(f"/deployments/{deployment.id}/approve", acme.approver).status == 200
    old = api.post(
        "/messages/send", acme.member, {"message": "Your code is 1234", "destination": "0815854565"}
    )
    theirs = api.post("/messages/send", bravo.member, {"message": "Bravo code", "destination": "0815854565"})
    pump.drain()
    before = api.get(f"/messages/{old.body['id']}", acme.member).body
    report = api.get(f"/deployments/{deployment.id}", acme.member).body
    window = "?start=2026-11-01T00:00:00Z&end=2026-12-01T00:00:00Z"
    stats = api.get(f"/stats/hourly{window}", acme.member).body
    assert stats["results"], stats
    days_later(at_time, 91)
    fresh = api.post("/messages/send", acme.member, {"message": "New code 5678", "destination": "0815854565"})
    pump.drain()

    own = Recipient.get(deployment.id, "27815854566")  # a row with its own text, as an imported one has
    own.update(actions=[Recipient.message.set("Ann, your own offer")])

    assert retention.handle({}) == {"messages": 1, "recipients": 1}

    assert Message.get(acme.id, old.body["id"]).text is None
    assert api.get(f"/messages/{old.body['id']}", acme.member).body == before
    assert all(r.message is None for r in Recipient.query(deployment.id))
    assert sorted(r.status for r in Recipient.query(deployment.id)) == ["sent", "sent"]
    assert api.get(f"/deployments/{deployment.id}", acme.member).body == report
    assert api.get(f"/stats/hourly{window}", acme.member).body == stats
    assert Message.get(acme.id, fresh.body["id"]).text == "New code 5678"
    assert Message.get(bravo.id, theirs.body["id"]).text == "Bravo code"
    assert Deployment.get(acme.id, deployment.id).bodies_dropped is not None
    assert retention.handle({}) == {"messages": 0, "recipients": 0}
