"""Every job can be found again without its id: imports, background tasks, and a bulk request with its
messages, listed newest first, filtered, paged, and scoped to the caller's company."""

import pytest

from tests.api_client import multipart
from tests.factories import create_contact_list

CSV = b"msisdn,first_name\r\n0815854565,Ann\r\n0825854565,Ben\r\n"


def _upload(api, who, name):
    answer = api.post("/uploads", who, {"kind": "optouts", "filename": name})
    assert answer.status == 201, answer.body
    return answer.body["import"]["id"]


def ids(api, user, path):
    answer = api.get(path, user)
    assert answer.status == 200, answer.body
    return [item["id"] for item in answer.body["results"]]


def test_imports_are_listed_newest_first_filtered_and_only_the_companys(api, tenants, pump):
    acme, bravo = tenants
    first, second = create_contact_list(acme.id, "First"), create_contact_list(acme.id, "Second")
    body, content_type = multipart({}, {"file": ("people.csv", CSV)})
    done = api.call(
        "POST",
        f"/contact-lists/{first.id}/import",
        acme.member,
        raw=body,
        headers={"Content-Type": content_type},
    ).body
    pump.drain()
    waiting = api.post(
        "/uploads", acme.member, {"kind": "contacts", "contact_list": second.id, "filename": "a.csv"}
    )
    optouts = api.post("/uploads", acme.member, {"kind": "optouts", "filename": "stop.csv"})
    theirs = api.post("/uploads", bravo.member, {"kind": "optouts", "filename": "theirs.csv"})
    newest_first = [optouts.body["import"]["id"], waiting.body["import"]["id"], done["id"]]
    assert ids(api, acme.member, "/imports") == newest_first
    assert theirs.body["import"]["id"] not in ids(api, acme.member, "/imports")
    assert ids(api, acme.member, "/imports?status=completed") == [done["id"]]
    assert ids(api, acme.member, "/imports?status=pending") == newest_first[:2]
    assert ids(api, acme.member, f"/imports?contact_list={second.id}") == [waiting.body["import"]["id"]]
    assert ids(api, acme.member, f"/imports?contact_list={first.id}&status=pending") == []
    assert [job["id"] for job in api.every_page("/imports?page_size=1", acme.member)] == newest_first
    assert ids(api, bravo.member, "/imports") == [theirs.body["import"]["id"]]


@pytest.mark.parametrize(
    ("query", "field"), [("status=done", "status"), ("contact_list=x", "contact_list"), ("kind=x", "kind")]
)
def test_bad_import_filters_are_400_naming_them(api, tenants, query, field):
    acme, _ = tenants
    answer = api.get(f"/imports?{query}", acme.member)
    assert answer.status == 400 and field in answer.body["error"]["fields"], answer.body


def test_tasks_are_listed_newest_first_by_kind_and_status_and_only_the_companys(api, tenants, pump):
    acme, bravo = tenants
    export = api.post("/optouts/export", acme.member).body
    pump.drain()
    report = api.post("/optouts/export", acme.member).body  # still pending: not drained
    theirs = api.post("/optouts/export", bravo.member).body
    assert ids(api, acme.member, "/tasks") == [report["id"], export["id"]]
    assert ids(api, acme.member, "/tasks?status=completed") == [export["id"]]
    assert ids(api, acme.member, "/tasks?kind=export_optouts&status=pending") == [report["id"]]
    assert ids(api, acme.member, "/tasks?kind=deployment_report") == []
    assert ids(api, bravo.member, "/tasks") == [theirs["id"]]
    for query, field in (("kind=nonsense", "kind"), ("status=finished", "status"), ("owner=1", "owner")):
        answer = api.get(f"/tasks?{query}", acme.member)
        assert answer.status == 400 and field in answer.body["error"]["fields"], answer.body


def test_a_bulk_request_says_where_its_messages_stand_and_lists_them(api, tenants, pump, gateway):
    acme, bravo = tenants
    before = api.post("/messages/send", acme.member, {"destination": "0835854565", "message": "Alone"}).body
    sent = api.post(
        "/messages/bulk",
        acme.member,
        [
            {"destination": "0815854565", "message": "Hi"},
            {"destination": "not a number", "message": "Bad"},
            {"destination": "0825854565", "message": "Yo"},
        ],
    ).body
    after = api.post("/messages/send", acme.member, {"destination": "0845854565", "message": "Later"}).body
    queued = api.get(f"/messages/bulk/{sent['id']}", acme.member).body
    assert (queued["accepted"], queued["credits"], queued["status"]) == (2, 2, "paid")
    assert queued["statuses"] == {"queued": 2}
    pump.drain()
    assert api.get(f"/messages/bulk/{sent['id']}", acme.member).body["statuses"] == {"sent": 2}
    listed = [m["id"] for m in api.get(f"/messages?bulk={sent['id']}", acme.member).body["results"]]
    assert sorted(listed) == sorted(m["id"] for m in sent["messages"])
    assert [
        m["id"] for m in api.every_page(f"/messages?bulk={sent['id']}&page_size=1", acme.member)
    ] == listed
    # a cursor of the company's whole list, outside the bulk's messages, is refused, not a storage error
    outside = api.get("/messages?page_size=1", acme.member).body["next"]
    assert before["id"] < min(listed) and after["id"] > max(listed)
    refused = api.get(f"/messages?bulk={sent['id']}&cursor={outside}", acme.member)
    assert refused.status == 400, refused.body
    assert api.get(f"/messages/bulk/{sent['id']}", bravo.member).status == 404
    assert api.get(f"/messages?bulk={sent['id']}", bravo.member).status == 404
    assert api.get("/messages/bulk/99999", acme.member).status == 404


def test_a_cursor_of_the_tasks_list_is_refused_by_the_imports_list(api, tenants):
    acme, _ = tenants
    for name in ("a.csv", "b.csv", "c.csv"):
        _upload(api, acme.member, name)
    for _ in range(2):
        assert api.post("/optouts/export", acme.member).status == 202
    tasks_cursor = api.get("/tasks?page_size=1", acme.member).body["next"]
    assert tasks_cursor is not None
    answer = api.get(f"/imports?cursor={tasks_cursor}", acme.member)
    assert answer.status == 400 and "cursor" in answer.body["error"]["fields"], answer.body


def test_a_cursor_of_another_list_inside_a_bulks_ids_is_refused_not_a_page_that_skips(api, tenants):
    acme, _ = tenants
    items = [{"destination": f"08{i}5854565", "message": "Hi"} for i in range(1, 5)]
    sent = api.post("/messages/bulk", acme.member, items).body
    ids = sorted(m["id"] for m in sent["messages"])
    while api.post("/optouts/export", acme.member).body["id"] < ids[-1]:
        pass
    # the newest task's id is the bulk's last message id: a start key inside the bulk's range
    tasks_cursor = api.get("/tasks?page_size=1", acme.member).body["next"]
    answer = api.get(f"/messages?bulk={sent['id']}&cursor={tasks_cursor}", acme.member)
    assert answer.status == 400, [m["id"] for m in answer.body.get("results", [])]
