"""Deployment reports and contact-list exports: CSV files in the caller's filebox, row for row."""

import csv
import io
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pytest

from chalicelib import storage
from chalicelib.domain.contacts import audience
from chalicelib.domain.files.exports import spreadsheet_safe
from chalicelib.models import batch
from chalicelib.models.deployments import Recipient
from chalicelib.models.files import File
from tests.factories import create_contact_list, create_contacts, pending_deployment

SENT_AT = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
HOSTILE = ["=SUM(A1)", "+27 call", "-1", "@here", "\ttab", "\rreturn", "plain"]


def recipient(deployment, company, n):
    """Recipient n of a sent deployment, in one of every status, some with hostile names."""
    status = ("sent", "delivered", "failed", "opted_out", "unknown")[n % 5]
    sent = status in ("sent", "delivered", "unknown") or (status == "failed" and n % 2 == 0)
    return Recipient(
        deployment=deployment,
        msisdn=f"2782{n:07d}",
        company=company,
        first_name=HOSTILE[n % len(HOSTILE)],
        last_name=f"Person{n}",
        status=status,
        segments=None if status == "opted_out" else 1 + n % 3,
        provider_id=f"prov-{n}" if sent else None,
        error='=HYPERLINK("x")' if status == "failed" else None,
        date_sent=SENT_AT + timedelta(seconds=n) if sent else None,
        date_delivered=SENT_AT + timedelta(seconds=n + 5) if status == "delivered" else None,
    )


def expected_row(r):
    taken = r.status in ("sent", "delivered", "unknown") or (r.status == "failed" and r.date_sent)
    return [
        r.msisdn,
        "sms",
        r.email or "",
        spreadsheet_safe(r.first_name),
        r.last_name,
        r.status,
        "" if r.segments is None else str(r.segments),
        str(r.segments if taken else 0),
        r.provider_id or "",
        spreadsheet_safe(r.error) if r.error else "",
        r.date_sent.strftime("%Y-%m-%dT%H:%M:%SZ") if r.date_sent else "",
        r.date_delivered.strftime("%Y-%m-%dT%H:%M:%SZ") if r.date_delivered else "",
    ]


def file_rows(company, file_id):
    text = storage.get(File.get(company, file_id).key).decode("utf-8")
    return list(csv.reader(io.StringIO(text, newline="")))


@pytest.fixture
def sent_deployment(tenants):
    acme, _ = tenants
    customers = create_contact_list(acme.id)
    create_contacts(acme.id, customers.id, "27820000000")
    deployment = pending_deployment(acme, [customers.id], send_date="2099-01-01T00:00:00Z")
    return acme, deployment


def test_a_report_of_recipients_over_three_pages_reads_back_row_by_row(
    api, tenants, sent_deployment, pump, monkeypatch
):
    """Pages of 10 (1000 in production): 25 recipients are read in three pages, as 2,500 would be."""
    acme, deployment = sent_deployment
    monkeypatch.setattr(audience, "RECIPIENTS_PAGE", 10)
    people = [recipient(deployment.id, acme.id, n) for n in range(25)]
    assert api.post(f"/deployments/{deployment.id}/approve", acme.approver).status == 200
    batch.write_items(Recipient.Meta.table_name, [p.serialize() for p in people])
    started = api.post(f"/deployments/{deployment.id}/report", acme.member)
    assert started.status == 202 and started.body["kind"] == "deployment_report"
    pump.drain()
    task = api.get(f"/tasks/{started.body['id']}", acme.member).body
    assert task["status"] == "completed", task
    rows = file_rows(acme.id, task["result"]["file"])
    assert rows[0] == [
        "msisdn",
        "channel",
        "email",
        "first_name",
        "last_name",
        "status",
        "segments",
        "credits",
        "provider_id",
        "error",
        "date_sent",
        "date_delivered",
    ]
    ordered = sorted(people, key=lambda p: p.msisdn)
    # the approval's own recipient (27820000000) is overwritten by recipient 0 of the same number
    assert rows[1 : 1 + len(ordered)] == [expected_row(p) for p in ordered]
    credits = sum(int(expected_row(p)[7]) for p in people)
    summary = rows[1 + len(ordered) :]
    assert summary == [
        [],
        ["summary", "Spring sale"],
        ["recipients", "25"],
        ["delivered", "5"],
        ["failed", "5"],
        ["opted_out", "5"],
        ["sent", "5"],
        ["unknown", "5"],
        ["credits", str(credits)],
    ]
    assert task["result"]["recipients"] == 25 and task["result"]["credits"] == credits
    listed = api.get("/filebox", acme.member).body["results"]
    assert [f["id"] for f in listed] == [task["result"]["file"]] and listed[0]["kind"] == "deployment_report"


def test_formula_cells_are_escaped_except_the_phone_column(api, tenants, sent_deployment, pump):
    acme, deployment = sent_deployment
    assert api.post(f"/deployments/{deployment.id}/approve", acme.approver).status == 200
    people = [recipient(deployment.id, acme.id, n) for n in range(len(HOSTILE))]
    batch.write_items(Recipient.Meta.table_name, [p.serialize() for p in people])
    started = api.post(f"/deployments/{deployment.id}/report", acme.member)
    pump.drain()
    rows = file_rows(acme.id, api.get(f"/tasks/{started.body['id']}", acme.member).body["result"]["file"])
    names = [row[3] for row in rows[1 : 1 + len(people)]]
    assert names == ["'=SUM(A1)", "'+27 call", "'-1", "'@here", "'\ttab", "'\rreturn", "plain"]
    assert [row[0] for row in rows[1 : 1 + len(people)]] == sorted(p.msisdn for p in people)
    failed = [row for row in rows[1 : 1 + len(people)] if row[5] == "failed"]
    assert failed and all(row[9] == '\'=HYPERLINK("x")' for row in failed)


def test_a_draft_has_no_report_and_another_company_gets_404(api, tenants, sent_deployment):
    acme, deployment = sent_deployment
    _, bravo = tenants
    draft = api.post(f"/deployments/{deployment.id}/report", acme.member)
    assert draft.status == 409 and draft.error_code == "no_recipients"
    assert api.post(f"/deployments/{deployment.id}/approve", acme.approver).status == 200
    assert api.post(f"/deployments/{deployment.id}/report", bravo.admin).status == 404
    assert api.post("/deployments/999999/report", acme.member).status == 404


def test_a_contact_list_export_has_a_column_per_field(api, tenants, pump):
    acme, bravo = tenants
    customers = create_contact_list(acme.id)
    create_contacts(acme.id, customers.id, "27820000001", first_name="Ann", fields={"city": "Cape Town"})
    create_contacts(
        acme.id, customers.id, "27820000002", first_name="=2+3", fields={"=cmd": "@x", "age": "9"}
    )
    started = api.post(f"/contact-lists/{customers.id}/export", acme.member)
    assert started.status == 202
    assert api.post(f"/contact-lists/{customers.id}/export", bravo.member).status == 404
    pump.drain()
    task = api.get(f"/tasks/{started.body['id']}", acme.member).body
    assert task["result"]["rows"] == 2
    assert file_rows(acme.id, task["result"]["file"]) == [
        ["msisdn", "first_name", "last_name", "email", "age", "city", "cmd"],  # field names are cleaned
        ["27820000001", "Ann", "", "", "", "Cape Town", ""],
        ["27820000002", "'=2+3", "", "", "9", "", "'@x"],
    ]


def test_filebox_files_of_another_user_or_company_are_not_listed_and_not_signed(
    api, tenants, sent_deployment, pump
):
    acme, deployment = sent_deployment
    _, bravo = tenants
    assert api.post(f"/deployments/{deployment.id}/approve", acme.approver).status == 200
    started = api.post(f"/deployments/{deployment.id}/report", acme.member)
    pump.drain()
    file_id = api.get(f"/tasks/{started.body['id']}", acme.member).body["result"]["file"]
    mine = api.get(f"/filebox/{file_id}", acme.member).body
    assert urlparse(mine["url"]).path.endswith(f"filebox/{acme.id}/{acme.member.user.id}/{mine['name']}")
    assert int(parse_qs(urlparse(mine["url"]).query)["X-Amz-Expires"][0]) <= 900
    for outsider in (acme.approver, bravo.admin, bravo.member):
        assert api.get(f"/filebox/{file_id}", outsider).status == 404
        assert "url" not in str(api.get("/filebox", outsider).body["results"])
    assert [f["id"] for f in api.get("/filebox", acme.admin).body["results"]] == [file_id]
