"""Saved queries, lists they define (refresh), save-contacts and the tasks that do the work."""

import pytest

from chalicelib.domain.background import tasks
from chalicelib.domain.background.kinds import TASK_KINDS
from chalicelib.domain.contacts import membership
from chalicelib.models.contacts import Contact, ContactList
from chalicelib.models.deployments import Recipient
from chalicelib.models.tasks import Task
from tests.factories import (
    create_contact_list,
    create_contacts,
    create_optout,
    create_recipient,
    later,
    pending_deployment,
)


def members(list_id):
    return sorted(c.msisdn for c in Contact.query(list_id, consistent_read=True))


def new_query(api, member, query, title="Cape people"):
    answer = api.post("/saved-queries", member, {"title": title, "query": query})
    assert answer.status == 201, answer.body
    return answer.body["id"]


def task_of(api, member, answer):
    assert answer.status == 202, answer.body
    return api.get(f"/tasks/{answer.body['id']}", member).body


@pytest.fixture
def people(tenants):
    """Acme's lists: customers (3 people) and staff (1, also a customer); Bravo has a Cape customer too."""
    acme, bravo = tenants
    customers = create_contact_list(acme.id, "Customers")
    create_contacts(
        acme.id, customers.id, "27820000001", first_name="Ann", fields={"city": "Cape Town", "age": "34"}
    )
    create_contacts(
        acme.id, customers.id, "27820000002", first_name="Bob", fields={"city": "Durban", "age": "17"}
    )
    create_contacts(acme.id, customers.id, "27820000003", first_name="Cat", fields={"city": "Cape Agulhas"})
    staff = create_contact_list(acme.id, "Staff")
    create_contacts(acme.id, staff.id, "27820000003", first_name="Cathy", fields={"city": "Cape Town"})
    theirs = create_contact_list(bravo.id, "Theirs")
    create_contacts(bravo.id, theirs.id, "27830000009", first_name="Zed", fields={"city": "Cape Town"})
    return customers, staff


def test_saved_queries_are_created_read_changed_and_deleted(api, tenants, people):
    acme, _ = tenants
    customers, _ = people
    query_id = new_query(api, acme.member, f'fields.city ~ "cape" AND NOT list = {customers.id}')
    got = api.get(f"/saved-queries/{query_id}", acme.member).body
    assert (got["title"], got["query"]) == (
        "Cape people",
        f'fields.city ~ "cape" AND NOT list = {customers.id}',
    )
    assert [q["id"] for q in api.get("/saved-queries", acme.member).body["results"]] == [query_id]
    changed = api.patch(f"/saved-queries/{query_id}", acme.member, {"query": "fields.age >= 18"})
    assert changed.status == 200 and changed.body["query"] == "fields.age >= 18"
    assert api.delete(f"/saved-queries/{query_id}", acme.member).status == 204
    assert api.get(f"/saved-queries/{query_id}", acme.member).status == 404


def test_a_bad_query_is_a_400_naming_the_position_and_nothing_is_stored(api, tenants, people):
    acme, bravo = tenants
    answer = api.post("/saved-queries", acme.member, {"title": "Bad", "query": 'first_name = "Ann" AND'})
    assert answer.status == 400
    assert answer.body["error"]["fields"]["query"] == [
        "at position 23: expected a field name or '(', found the end of the query"
    ]
    theirs = ContactList.query(bravo.id).next().id
    foreign = api.post("/saved-queries", acme.member, {"title": "Theirs", "query": f"list = {theirs}"})
    assert foreign.status == 400 and foreign.body["error"]["fields"]["query"] == [
        f"there is no contact list {theirs}"
    ]
    assert api.post("/saved-queries", acme.member, {"title": "", "query": "list = 1"}).status == 400
    assert api.get("/saved-queries", acme.member).body["results"] == []
    query_id = new_query(api, acme.member, "fields.age > 1")
    bad_patch = api.patch(f"/saved-queries/{query_id}", acme.member, {"query": "fields.age >"})
    assert bad_patch.status == 400
    assert api.get(f"/saved-queries/{query_id}", acme.member).body["query"] == "fields.age > 1"


def test_another_companys_saved_queries_are_404(api, tenants, people):
    acme, bravo = tenants
    query_id = new_query(api, acme.member, "fields.age > 1")
    assert api.get(f"/saved-queries/{query_id}", bravo.admin).status == 404
    assert api.patch(f"/saved-queries/{query_id}", bravo.admin, {"title": "Mine"}).status == 404
    assert api.delete(f"/saved-queries/{query_id}", bravo.admin).status == 404
    assert api.get("/saved-queries", bravo.admin).body["results"] == []
    made = api.post("/contact-lists", bravo.admin, {"title": "Steal", "saved_query": query_id})
    assert made.status == 400 and made.body["error"]["fields"]["saved_query"]
    assert api.get(f"/saved-queries/{query_id}", acme.member).body["title"] == "Cape people"


def test_a_list_defined_by_a_query_is_filled_and_refreshes_by_adding_and_removing(api, tenants, people, pump):
    acme, _ = tenants
    customers, staff = people
    query_id = new_query(api, acme.member, 'fields.city ~ "cape"')
    made = api.post("/contact-lists", acme.member, {"title": "Cape", "saved_query": query_id})
    assert made.status == 201 and made.body["saved_query"] == query_id and made.body["date_refreshed"] is None
    pump.drain()
    cape = made.body["id"]
    assert members(cape) == ["27820000001", "27820000003"]
    shown = api.get(f"/contact-lists/{cape}", acme.member).body
    assert shown["contact_count"] == 2 and shown["date_refreshed"]
    cat = Contact.get(cape, "27820000003")
    assert (
        cat.first_name == "Cathy"
    )  # the latest of the two accepted contacts (the same second: the newer list)

    create_contacts(acme.id, customers.id, "27820000004", first_name="Dee", fields={"city": "Cape Town"})
    create_contacts(acme.id, customers.id, "27820000001", fields={"city": "Johannesburg"})
    api.patch(
        f"/contact-lists/{staff.id}/contacts/{Contact.get(staff.id, '27820000003').id}",
        acme.member,
        {"first_name": "Catherine"},
    )
    task = task_of(api, acme.member, api.post(f"/contact-lists/{cape}/refresh", acme.member))
    assert task["kind"] == "refresh_lists" and task["status"] == "pending"
    pump.drain()
    done = api.get(f"/tasks/{task['id']}", acme.member).body
    assert done["status"] == "completed" and done["progress"] == 100
    assert done["result"]["contact_lists"][str(cape)] == {
        "members": 2,
        "added": 1,
        "updated": 1,
        "removed": 1,
    }
    assert members(cape) == ["27820000003", "27820000004"]
    assert Contact.get(cape, "27820000003").first_name == "Catherine"
    assert Contact.get(cape, "27820000003").id == cat.id  # a kept member keeps its id
    assert api.get(f"/contact-lists/{cape}", acme.member).body["contact_count"] == 2

    again = task_of(api, acme.member, api.post("/contact-lists/refresh", acme.member))
    pump.drain()
    result = api.get(f"/tasks/{again['id']}", acme.member).body["result"]
    assert result["contact_lists"][str(cape)] == {"members": 2, "added": 0, "updated": 0, "removed": 0}


def test_membership_and_opt_outs_in_queries(api, tenants, people, pump):
    acme, _ = tenants
    customers, staff = people
    create_optout(acme.id, "27820000002", sender="ACME")
    not_staff = new_query(api, acme.member, f"list = {customers.id} AND NOT list = {staff.id}")
    opted = new_query(api, acme.member, "opted_out = true")
    made = [
        api.post("/contact-lists", acme.member, {"title": t, "saved_query": q}).body["id"]
        for t, q in (("Not staff", not_staff), ("Opted out", opted))
    ]
    pump.drain()
    assert members(made[0]) == ["27820000001", "27820000002"]
    assert members(made[1]) == ["27820000002"]


def test_people_do_not_write_into_a_list_a_query_defines(api, tenants, people, pump):
    acme, _ = tenants
    query_id = new_query(api, acme.member, 'fields.city ~ "cape"')
    cape = api.post("/contact-lists", acme.member, {"title": "Cape", "saved_query": query_id}).body["id"]
    pump.drain()
    added = api.post(f"/contact-lists/{cape}/contacts", acme.member, {"msisdn": "27820000099"})
    assert added.status == 409 and added.error_code == "defined_by_query"
    saved = api.post(f"/contact-lists/{cape}/save-contacts", acme.member, {"saved_query": query_id})
    assert saved.status == 409
    in_use = api.delete(f"/saved-queries/{query_id}", acme.member)
    assert in_use.status == 409 and str(cape) in in_use.body["error"]["message"]
    assert members(cape) == ["27820000001", "27820000003"]
    plain = api.patch(f"/contact-lists/{cape}", acme.member, {"saved_query": None})
    assert plain.status == 200 and plain.body["saved_query"] is None
    assert api.post(f"/contact-lists/{cape}/contacts", acme.member, {"msisdn": "27820000099"}).status == 201
    assert api.post(f"/contact-lists/{cape}/refresh", acme.member).status == 409


def test_a_frozen_audience_survives_a_refresh(api, tenants, people, pump, gateway):
    acme, _ = tenants
    query_id = new_query(api, acme.member, 'fields.city ~ "cape"')
    cape = api.post("/contact-lists", acme.member, {"title": "Cape", "saved_query": query_id}).body["id"]
    pump.drain()
    deployment = pending_deployment(acme, [cape], send_date=later())
    assert api.post(f"/deployments/{deployment.id}/approve", acme.approver).status == 200
    api.patch(f"/saved-queries/{query_id}", acme.member, {"query": 'first_name = "Bob"'})
    api.post(f"/contact-lists/{cape}/refresh", acme.member)
    pump.drain()
    assert members(cape) == ["27820000002"]
    frozen = api.get(f"/deployments/{deployment.id}/messages", acme.member).body["results"]
    assert sorted(r["msisdn"] for r in frozen) == ["27820000001", "27820000003"]
    assert api.get(f"/deployments/{deployment.id}", acme.member).body["total_contacts"] == 2


def test_save_contacts_from_a_deployments_failed_recipients(api, tenants, people, pump):
    acme, _ = tenants
    customers, _ = people
    deployment = pending_deployment(acme, [customers.id], send_date=later())
    assert api.post(f"/deployments/{deployment.id}/approve", acme.approver).status == 200
    for recipient in Recipient.query(deployment.id):
        status = "failed" if recipient.msisdn == "27820000002" else "sent"
        create_recipient(deployment, recipient.msisdn, status, first_name=recipient.first_name)
    retry = create_contact_list(acme.id, "Retry")
    create_contacts(acme.id, retry.id, "27820000005")
    body = {"deployment": deployment.id, "status": "failed"}
    task = task_of(api, acme.member, api.post(f"/contact-lists/{retry.id}/save-contacts", acme.member, body))
    pump.drain()
    done = api.get(f"/tasks/{task['id']}", acme.member).body
    assert done["status"] == "completed" and done["result"] == {"added": 1, "already_in_list": 0}
    assert members(retry.id) == ["27820000002", "27820000005"]
    assert Contact.get(retry.id, "27820000002").first_name == "Bob"
    assert api.get(f"/contact-lists/{retry.id}", acme.member).body["contact_count"] == 2


def test_save_contacts_from_lists_and_a_query_deduplicates(api, tenants, people, pump):
    acme, _ = tenants
    customers, staff = people
    target = create_contact_list(acme.id, "Everyone")
    create_contacts(acme.id, target.id, "27820000001", first_name="Annie")
    answer = api.post(
        f"/contact-lists/{target.id}/save-contacts", acme.member, {"contact_lists": [customers.id, staff.id]}
    )
    pump.drain()
    assert api.get(f"/tasks/{answer.body['id']}", acme.member).body["result"] == {
        "added": 2,
        "already_in_list": 1,
    }
    assert members(target.id) == ["27820000001", "27820000002", "27820000003"]
    assert Contact.get(target.id, "27820000001").first_name == "Annie"  # already there: left as it was
    query_id = new_query(api, acme.member, "fields.age < 18")
    again = api.post(f"/contact-lists/{target.id}/save-contacts", acme.member, {"saved_query": query_id})
    pump.drain()
    assert api.get(f"/tasks/{again.body['id']}", acme.member).body["result"] == {
        "added": 0,
        "already_in_list": 1,
    }
    assert api.get(f"/contact-lists/{target.id}", acme.member).body["contact_count"] == 3


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "source"),
        ({"saved_query": 1, "contact_lists": [1]}, "source"),
        ({"contact_lists": []}, "contact_lists"),
        ({"contact_lists": ["x"]}, "contact_lists"),
        ({"deployment": 999}, "deployment"),
        ({"saved_query": 999}, "saved_query"),
        ({"saved_query": 1, "status": "failed"}, "status"),
        ({"everyone": True}, "everyone"),
    ],
)
def test_save_contacts_names_what_is_wrong_with_its_source(api, tenants, people, body, field):
    acme, _ = tenants
    customers, _ = people
    answer = api.post(f"/contact-lists/{customers.id}/save-contacts", acme.member, body)
    assert answer.status == 400 and field in answer.body["error"]["fields"], answer.body


def test_save_contacts_refuses_another_companys_lists_deployments_and_targets(api, tenants, people, pump):
    acme, bravo = tenants
    customers, _ = people
    theirs = ContactList.query(bravo.id).next().id
    deployment = pending_deployment(bravo, [theirs])
    assert (
        api.post(
            f"/contact-lists/{customers.id}/save-contacts", acme.member, {"contact_lists": [theirs]}
        ).status
        == 400
    )
    assert (
        api.post(
            f"/contact-lists/{customers.id}/save-contacts",
            acme.member,
            {"deployment": deployment.id, "status": "queued"},
        ).status
        == 400
    )
    assert (
        api.post(
            f"/contact-lists/{customers.id}/save-contacts", bravo.admin, {"contact_lists": [theirs]}
        ).status
        == 404
    )
    assert api.post(f"/contact-lists/{customers.id}/refresh", bravo.admin).status == 404
    query_id = new_query(api, acme.member, 'fields.city ~ "cape"')
    assert api.post("/contact-lists", acme.member, {"title": "Cape", "saved_query": query_id}).status == 201
    everyone = api.post("/contact-lists/refresh", bravo.admin)  # only Bravo's lists, and it has none
    assert everyone.status == 409 and everyone.error_code == "no_saved_query"
    assert api.post("/contact-lists/refresh", acme.member).status == 202
    assert api.post(f"/contact-lists/{customers.id}/export", bravo.admin).status == 404
    pump.drain()
    assert members(customers.id) == ["27820000001", "27820000002", "27820000003"]


def test_a_redelivered_task_does_its_work_once(api, tenants, people, pump, monkeypatch):
    """The same RunTask twice (SQS redelivery), and a run that crashed after writing: counts stay exact."""
    from chalicelib import queue_messages
    from chalicelib.domain.background import tasks
    from chalicelib.models.tasks import Task

    acme, _ = tenants
    customers, staff = people
    target = create_contact_list(acme.id, "Copy")
    answer = api.post(
        f"/contact-lists/{target.id}/save-contacts", acme.member, {"contact_lists": [customers.id]}
    )
    queue_messages.enqueue(queue_messages.RunTask(company=acme.id, task_id=answer.body["id"]))
    pump.drain()
    assert api.get(f"/contact-lists/{target.id}", acme.member).body["contact_count"] == 3

    crashed = create_contact_list(acme.id, "Crashed")
    task = tasks.start(
        tasks_caller(acme),
        "save_contacts",
        {"contact_list": crashed.id, "contact_lists": [staff.id, customers.id]},
    )
    crash_before_counting(monkeypatch, acme.id, task.id)
    assert members(crashed.id) == ["27820000001", "27820000002", "27820000003"]
    pump.drain()  # the redelivery
    assert Task.get(acme.id, task.id).status == "completed"
    assert api.get(f"/contact-lists/{crashed.id}", acme.member).body["contact_count"] == 3


def crash_before_counting(monkeypatch, company, task_id):
    """Run the task once, dying after it wrote its contacts and before it counted them."""

    def crash(*args):
        raise RuntimeError("the Lambda died before counting")

    with monkeypatch.context() as patched:
        patched.setattr(membership.contact_lists, "add_to_count", crash)
        with pytest.raises(RuntimeError):
            tasks.run(company, task_id, TASK_KINDS)


def tasks_caller(tenant):
    from chalicelib.domain.accounts.auth import Caller

    return Caller(company=tenant.id, user=tenant.member.user.id, role="member")


def test_the_nightly_schedule_refreshes_every_companys_query_lists(api, tenants, people, pump):
    from app import app
    from chalicelib.workers import tasks as tasks_worker

    acme, bravo = tenants
    query_id = new_query(api, acme.member, 'fields.city ~ "cape"')
    cape = api.post("/contact-lists", acme.member, {"title": "Cape", "saved_query": query_id}).body["id"]
    theirs_query = new_query(api, bravo.member, 'fields.city ~ "cape"')
    theirs = api.post("/contact-lists", bravo.member, {"title": "Cape", "saved_query": theirs_query}).body[
        "id"
    ]
    pump.drain()
    customers, _ = people
    create_contacts(acme.id, customers.id, "27820000007", fields={"city": "Cape Point"})
    assert "refresh_saved_lists" in app.handler_map
    assert tasks_worker.refresh_nightly(None) == {"companies": 2}
    pump.drain()
    assert members(cape) == ["27820000001", "27820000003", "27820000007"]
    assert members(theirs) == ["27830000009"]


def test_a_task_that_cannot_succeed_fails_at_once_with_its_reason(api, tenants, people, pump):
    acme, _ = tenants
    customers, _ = people
    target = create_contact_list(acme.id, "Gone soon")
    answer = api.post(
        f"/contact-lists/{target.id}/save-contacts", acme.member, {"contact_lists": [customers.id]}
    )
    api.delete(f"/contact-lists/{target.id}", acme.member)
    pump.drain()
    task = api.get(f"/tasks/{answer.body['id']}", acme.member).body
    assert (task["status"], task["error"]) == ("failed", f"Contact list {target.id} was deleted.")


def test_a_query_never_reads_a_list_a_query_defines(api, tenants, people, pump):
    """Lists defined by queries never feed each other, nor themselves (a refresh would flip-flop)."""
    acme, _ = tenants
    customers, _ = people
    loop = create_contact_list(acme.id, "Loop")
    itself = new_query(api, acme.member, f"list != {loop.id}")
    answer = api.patch(f"/contact-lists/{loop.id}", acme.member, {"saved_query": itself})
    assert answer.status == 400 and answer.body["error"]["fields"]["saved_query"] == [
        f"saved query {itself} names this list itself"
    ]
    cape = api.post(
        "/contact-lists",
        acme.member,
        {"title": "Cape", "saved_query": new_query(api, acme.member, 'fields.city ~ "cape"')},
    )
    answer = api.post("/saved-queries", acme.member, {"title": "x", "query": f"list = {cape.body['id']}"})
    assert answer.status == 400 and "defined by a saved query" in answer.body["error"]["fields"]["query"][0]
    # a list that becomes query-defined after a query named it: that query's refresh says why it cannot
    reader = new_query(api, acme.member, f"list = {customers.id}")
    readers = api.post("/contact-lists", acme.member, {"title": "Readers", "saved_query": reader}).body["id"]
    pump.drain()
    api.patch(
        f"/contact-lists/{customers.id}",
        acme.member,
        {"saved_query": new_query(api, acme.member, "fields.age > 1")},
    )
    task = task_of(api, acme.member, api.post(f"/contact-lists/{readers}/refresh", acme.member))
    pump.drain()
    result = api.get(f"/tasks/{task['id']}", acme.member).body["result"]["contact_lists"][str(readers)]
    assert "defined by saved queries" in result["error"]


@pytest.mark.parametrize("value", [10**40, -1, 0, True, "1", 1.5])
def test_odd_saved_query_references_are_400(api, tenants, people, value):
    acme, _ = tenants
    customers, _ = people
    assert api.post("/contact-lists", acme.member, {"title": "x", "saved_query": value}).status == 400
    assert api.patch(f"/contact-lists/{customers.id}", acme.member, {"saved_query": value}).status == 400
    body = {"contact_lists": [value]}
    assert api.post(f"/contact-lists/{customers.id}/save-contacts", acme.member, body).status == 400


def test_two_tasks_never_fill_one_list_at_once(api, tenants, people, pump):
    acme, _ = tenants
    customers, _ = people
    target = create_contact_list(acme.id, "Target")
    params = {"contact_list": target.id, "contact_lists": [customers.id]}
    one, two = (tasks.start(tasks_caller(acme), "save_contacts", params) for _ in range(2))
    real_flush = membership._Changes.flush
    busy = []

    def flush(self):
        if self.task.id == one.id and not busy:
            with pytest.raises(tasks.TaskBusy):
                tasks.run(acme.id, two.id, TASK_KINDS)  # another Lambda, meanwhile
            busy.append(True)
        return real_flush(self)

    membership._Changes.flush = flush
    try:
        tasks.run(acme.id, one.id, TASK_KINDS)
    finally:
        membership._Changes.flush = real_flush
    tasks.run(acme.id, two.id, TASK_KINDS)  # its retry
    assert members(target.id) == ["27820000001", "27820000002", "27820000003"]
    assert api.get(f"/contact-lists/{target.id}", acme.member).body["contact_count"] == 3
    assert Task.get(acme.id, two.id).result == {"added": 0, "already_in_list": 3}


def test_a_busy_task_comes_back_later_without_failing(api, tenants, people, monkeypatch):
    from chalicelib import queue_messages
    from chalicelib.domain.background import leases
    from chalicelib.workers import tasks as tasks_worker

    acme, _ = tenants
    customers, _ = people
    target = create_contact_list(acme.id, "Target")
    task = tasks.start(
        tasks_caller(acme), "save_contacts", {"contact_list": target.id, "contact_lists": [customers.id]}
    )
    later = []
    monkeypatch.setattr(
        queue_messages, "enqueue", lambda message, delay_seconds=0: later.append((message, delay_seconds))
    )
    with leases.held(f"task-{acme.id}-{task.id}", seconds=900):
        tasks_worker._run(queue_messages.RunTask(company=acme.id, task_id=task.id))
    assert later == [(queue_messages.RunTask(company=acme.id, task_id=task.id), 900)]
    assert Task.get(acme.id, task.id).status == "pending" and Task.get(acme.id, task.id).error is None


def test_a_list_deleted_while_a_task_fills_it_keeps_none_of_its_contacts(api, tenants, people, pump):
    acme, _ = tenants
    customers, _ = people
    target = create_contact_list(acme.id, "Target")
    answer = api.post(
        f"/contact-lists/{target.id}/save-contacts", acme.member, {"contact_lists": [customers.id]}
    )
    real_flush = membership._Changes.flush

    def delete_first(self):
        if self.puts and ContactList.get_or_none(acme.id, target.id) is not None:
            assert api.delete(f"/contact-lists/{target.id}", acme.member).status == 204
        return real_flush(self)

    membership._Changes.flush = delete_first
    try:
        pump.drain()
    finally:
        membership._Changes.flush = real_flush
    task = api.get(f"/tasks/{answer.body['id']}", acme.member).body
    assert (task["status"], task["error"]) == ("failed", f"Contact list {target.id} was deleted.")
    assert members(target.id) == []


def test_a_rerun_after_a_crash_reports_what_the_task_added(api, tenants, people, monkeypatch):
    acme, _ = tenants
    customers, _ = people
    target = create_contact_list(acme.id, "Target")
    create_contacts(acme.id, target.id, "27820000001")
    task = tasks.start(
        tasks_caller(acme), "save_contacts", {"contact_list": target.id, "contact_lists": [customers.id]}
    )
    crash_before_counting(monkeypatch, acme.id, task.id)
    tasks.run(acme.id, task.id, TASK_KINDS)
    assert Task.get(acme.id, task.id).result == {"added": 2, "already_in_list": 1}
    assert api.get(f"/contact-lists/{target.id}", acme.member).body["contact_count"] == 3
