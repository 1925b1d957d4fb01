"""Large files through POST /uploads: the presigned form posted to S3, the bucket's notification on the
imports queue, the import worker; a deployment's recipients and opt-outs as their direct routes do."""

from pathlib import Path

import pytest
import requests

from chalicelib import storage
from chalicelib.api import imports
from chalicelib.domain.contacts import optouts
from chalicelib.domain.imports import jobs
from chalicelib.models.deployments import Deployment, Recipient
from chalicelib.models.files import File
from chalicelib.models.imports import Import
from chalicelib.models.optouts import OptOut
from tests.api_client import multipart

SHIPPING = (Path(__file__).parent.parent / "fixtures" / "csv" / "shipping_notices.csv").read_bytes()
SUPPRESSION = (
    b"Number,Reason\r\n0815854565,complained\r\n+27 82 123 4567,\r\n27815854565,again\r\nnot a number,x\r\n"
)


def presign(api, member, **body):
    answer = api.post("/uploads", member, body)
    assert answer.status == 201, answer.body
    return answer.body


def upload(presigned, data: bytes, filename: str = "big file.csv") -> None:
    """What the browser does with the answer: POST the form to S3, the file last."""
    sent = requests.post(
        presigned["url"], data=presigned["fields"], files={"file": (filename, data)}, timeout=10
    )
    assert sent.status_code in (200, 201, 204), sent.text


def counts(job):
    return tuple(job[k] for k in ("status", "rows", "imported", "updated", "duplicates", "rejected"))


def error_rows(company, job):
    return storage.get(File.get(company, job["errors_file"]).key).decode().splitlines()[1:]


def post_directly(api, member, path, data, **form):
    body, content_type = multipart(form, {"file": ("big file.csv", data)})
    return api.call("POST", path, member, raw=body, headers={"Content-Type": content_type})


def test_a_deployment_upload_imports_its_recipients_as_the_direct_route_does(api, tenants, pump):
    acme, _ = tenants
    presigned = presign(
        api, acme.member, kind="deployment", filename="big file é.csv", title="Shipping notices"
    )
    job = presigned["import"]
    assert (job["kind"], job["status"], job["contact_list"]) == ("deployment", "pending", None)
    draft = api.get(f"/deployments/{job['deployment']}", acme.member).body
    assert (draft["title"], draft["status_name"], draft["source"], draft["import_id"]) == (
        "Shipping notices",
        "draft",
        "import",
        job["id"],
    )
    assert presigned["fields"]["key"].startswith(f"uploads/{acme.id}/{job['id']}/")
    upload(presigned, SHIPPING)
    pump.drain()
    done = api.get(f"/imports/{job['id']}", acme.member).body
    direct = post_directly(api, acme.member, "/deployments/import", SHIPPING, title="Shipping notices")
    pump.drain()
    expected = api.get(f"/imports/{direct.body['import']['id']}", acme.member).body
    assert counts(done) == counts(expected) == ("completed", 5, 3, 0, 1, 1)
    assert error_rows(acme.id, done) == error_rows(acme.id, expected)
    texts = {r.msisdn: r.message for r in Recipient.query(job["deployment"])}
    assert texts == {r.msisdn: r.message for r in Recipient.query(direct.body["id"])}
    assert texts["27815854565"] == "Your order 1 has shipped"
    quote = api.get(f"/deployments/{job['deployment']}/quote", acme.member).body
    assert (quote["recipients"], quote["credits"], quote["encoding"]) == (3, 4, "UCS-2")


def test_a_deployment_upload_takes_a_template_and_is_approved_once_imported(api, tenants, pump):
    acme, _ = tenants
    presigned = presign(
        api, acme.member, kind="deployment", filename="people.csv", message="Hi {{first_name}}"
    )
    deployment_id = presigned["import"]["deployment"]
    waiting = api.post(f"/deployments/{deployment_id}/submit", acme.member)
    assert (waiting.status, waiting.error_code) == (409, "import_not_finished")
    assert "is still pending" in waiting.body["error"]["message"]
    upload(presigned, b"Mobile,First Name\r\n0815854565,Ann\r\n0821234567,Bob\r\n")
    pump.drain()
    assert api.post(f"/deployments/{deployment_id}/submit", acme.member).status == 200
    approved = api.post(f"/deployments/{deployment_id}/approve", acme.approver)
    assert (approved.status, approved.body["total_credits"]) == (200, 2)
    assert api.get(f"/deployments/{deployment_id}", acme.member).body["title"] == "people"


def test_an_upload_for_a_deployment_no_longer_a_draft_adds_no_recipient(api, tenants, pump):
    acme, _ = tenants
    presigned = presign(api, acme.member, kind="deployment", filename="orders.csv")
    deployment_id = presigned["import"]["deployment"]
    # moved on meanwhile, as an older Colony allowed (submitting is refused until the import is in)
    Deployment(company=acme.id, id=deployment_id).update(actions=[Deployment.status.set(1)])
    upload(presigned, SHIPPING)
    pump.drain()
    job = api.get(f"/imports/{presigned['import']['id']}", acme.member).body
    assert job["status"] == "failed" and "no longer a draft" in job["error"]
    assert list(Recipient.query(deployment_id, consistent_read=True)) == []


def test_an_upload_for_a_deleted_draft_fails_at_once_saying_so(api, tenants, pump, caplog):
    acme, _ = tenants
    presigned = presign(api, acme.member, kind="deployment", filename="orders.csv")
    deployment_id = presigned["import"]["deployment"]
    assert api.delete(f"/deployments/{deployment_id}", acme.member).status == 204
    upload(presigned, SHIPPING)
    pump.drain()
    job = api.get(f"/imports/{presigned['import']['id']}", acme.member).body
    assert job["status"] == "failed" and "deleted" in job["error"]
    assert "message failed" not in caplog.text and pump.dead_letters("imports") == []  # no retries
    assert list(Recipient.query(deployment_id, consistent_read=True)) == []


def test_an_optouts_upload_imports_as_the_direct_route_does(api, tenants, pump):
    acme, _ = tenants
    presigned = presign(api, acme.member, kind="optouts", filename="suppression.csv", reason="old CRM list")
    job = presigned["import"]
    assert (job["kind"], job["status"], job["sender"], job["deployment"]) == (
        "optouts",
        "pending",
        None,
        None,
    )
    upload(presigned, SUPPRESSION)
    pump.drain()
    done = api.get(f"/imports/{job['id']}", acme.member).body
    assert counts(done) == ("completed", 4, 2, 0, 1, 1)
    assert error_rows(acme.id, done) == [
        "4,27815854565,duplicate,same number as row 2",
        "5,not a number,invalid_number,",
    ]
    records = {o.originator: o for o in OptOut.query(acme.id)}
    assert (records["27815854565"].reason, records["27821234567"].reason) == ("complained", "old CRM list")
    assert records["27815854565"].source == "import"
    assert optouts.opted_out(acme.id, "ANY", ["27815854565", "27821234567"]) == {"27815854565", "27821234567"}
    again = post_directly(api, acme.member, "/optouts/import", SUPPRESSION, reason="old CRM list")
    pump.drain()
    assert counts(api.get(f"/imports/{again.body['id']}", acme.member).body) == ("completed", 4, 2, 2, 1, 1)


def test_an_optouts_upload_scoped_to_one_sender(api, tenants, pump):
    acme, _ = tenants
    presigned = presign(api, acme.member, kind="optouts", filename="acme.csv", sender=" ACME ")
    assert presigned["import"]["sender"] == "ACME"
    upload(presigned, b"msisdn\n0815854565\n")
    pump.drain()
    assert optouts.opted_out(acme.id, "ACME", ["27815854565"]) == {"27815854565"}
    assert optouts.opted_out(acme.id, "OTHER", ["27815854565"]) == set()


@pytest.mark.parametrize(
    ("body", "field", "why"),
    [
        ({"kind": "pictures", "filename": "a.csv"}, "kind", "must be one of contacts, deployment, optouts"),
        ({"filename": "a.csv"}, "kind", "is required"),
        ({"kind": "deployment"}, "filename", "is required"),
        ({"kind": "optouts"}, "filename", "is required"),
        (
            {"kind": "deployment", "filename": "a.csv", "message": "Hi {{nickname}}"},
            "message",
            "{{nickname}}",
        ),
        ({"kind": "deployment", "filename": "a.csv", "message": "x" * 1601}, "message", "at most 1600"),
        ({"kind": "deployment", "filename": "a.csv", "sender": "ACME"}, "sender", "it takes title, message"),
        ({"kind": "deployment", "filename": "a.csv", "contact_list": 1}, "contact_list", 'kind "deployment"'),
        ({"kind": "optouts", "filename": "a.csv", "sender": "bad sender!!"}, "sender", "letters and digits"),
        ({"kind": "optouts", "filename": "a.csv", "reason": "x" * 201}, "reason", "at most 200"),
        ({"kind": "optouts", "filename": "a.csv", "title": "Out"}, "title", "it takes sender, reason"),
        ({"kind": "optouts", "filename": "a.csv", "message": "Hi"}, "message", 'kind "optouts"'),
        (
            {"kind": "contacts", "filename": "a.csv", "reason": "why"},
            "reason",
            "it takes contact_list, title",
        ),
    ],
)
def test_bad_upload_requests_are_400_naming_the_field_and_make_nothing(api, tenants, body, field, why):
    acme, _ = tenants
    answer = api.post("/uploads", acme.member, body)
    assert answer.status == 400, answer.body
    assert list(answer.body["error"]["fields"]) == [field]
    assert why in answer.body["error"]["fields"][field][0]
    assert list(Deployment.query(acme.id)) == []
    assert list(Import.query(acme.id)) == []


@pytest.mark.parametrize("kind", ["deployment", "optouts"])
def test_another_companys_upload_and_what_it_made_are_404(api, tenants, pump, kind):
    acme, bravo = tenants
    presigned = presign(api, acme.member, kind=kind, filename="theirs.csv")
    job = presigned["import"]
    assert api.get(f"/imports/{job['id']}", bravo.admin).status == 404
    if kind == "deployment":
        for method, action in (("GET", ""), ("DELETE", ""), ("POST", "/submit")):
            path = f"/deployments/{job['deployment']}{action}"
            assert api.call(method, path, bravo.admin).status == 404
    upload(presigned, b"destination,message\r\n0815854565,Hi\r\n")
    pump.drain()
    assert api.get(f"/imports/{job['id']}", acme.member).body["status"] == "completed"
    assert api.get(f"/imports/{job['id']}", bravo.admin).status == 404
    assert list(OptOut.query(bravo.id)) == [] and list(Deployment.query(bravo.id)) == []


@pytest.mark.parametrize(
    ("path", "kind", "form"),
    [
        ("/deployments/import", "deployment", {"title": "Big"}),
        ("/optouts/import", "optouts", {"reason": "old list"}),
        ("/contact-lists/import", "contacts", {}),
    ],
)
@pytest.mark.parametrize("limit", ["file", "body"])
def test_a_file_too_big_to_post_is_413_naming_the_upload_that_takes_it(
    api, tenants, monkeypatch, path, kind, form, limit
):
    acme, _ = tenants
    monkeypatch.setattr(jobs, "MAX_DIRECT_BYTES", 100)
    if limit == "body":  # the form is refused whole, before its file is read
        monkeypatch.setattr(imports, "_FORM_OVERHEAD", 0)
    answer = post_directly(api, acme.member, path, SHIPPING, **form)
    assert (answer.status, answer.error_code) == (413, "file_too_large")
    assert f'POST /uploads with "kind": "{kind}"' in answer.body["error"]["message"]
    assert list(Deployment.query(acme.id)) == [] and list(Import.query(acme.id)) == []
