from chalicelib.domain.contacts import contact_lists
from chalicelib.models.contacts import Contact, ContactList
from tests.factories import create_contact_list, create_contacts


def test_a_list_is_created_read_renamed_and_listed(api, tenants):
    acme, _ = tenants
    created = api.post("/contact-lists", acme.member, {"title": "  VIP  "})
    assert created.status == 201
    assert {k: created.body[k] for k in ("title", "saved_query", "company", "contact_count")} == {
        "title": "VIP",
        "saved_query": None,
        "company": acme.id,
        "contact_count": 0,
    }
    list_id = created.body["id"]
    assert api.get(f"/contact-lists/{list_id}", acme.member).body["title"] == "VIP"
    assert api.patch(f"/contact-lists/{list_id}", acme.member, {"title": "VIPs"}).body["title"] == "VIPs"
    assert (
        api.call("PUT", f"/contact-lists/{list_id}", acme.member, {"title": "Gold"}).body["title"] == "Gold"
    )
    assert [c["id"] for c in api.get("/contact-lists", acme.member).body["results"]] == [list_id]


def test_bad_list_input_is_400_and_changes_nothing(api, tenants):
    acme, _ = tenants
    contact_list = create_contact_list(acme.id, "Keep")
    for body in ({}, {"title": ""}, {"title": "x" * 201}, {"title": 5}, {"title": "ok", "contact_count": 9}):
        assert api.post("/contact-lists", acme.member, body).status == 400, body
    assert api.call("PUT", f"/contact-lists/{contact_list.id}", acme.member, {}).status == 400
    assert api.patch(f"/contact-lists/{contact_list.id}", acme.member, {"saved_query": 3}).status == 400
    assert ContactList.get(acme.id, contact_list.id).title == "Keep"
    assert [c.title for c in ContactList.query(acme.id)] == ["Keep"]


def test_deleting_a_small_list_removes_its_contacts_at_once(api, tenants):
    acme, _ = tenants
    contact_list = create_contact_list(acme.id)
    create_contacts(acme.id, contact_list.id, "27815854565", "27821234567")
    assert api.delete(f"/contact-lists/{contact_list.id}", acme.member).status == 204
    assert api.get(f"/contact-lists/{contact_list.id}", acme.member).status == 404
    assert Contact.count(contact_list.id) == 0


def test_deleting_a_big_list_hands_its_contacts_to_a_task(api, tenants, pump, monkeypatch):
    acme, _ = tenants
    monkeypatch.setattr(contact_lists, "INLINE_DELETE_LIMIT", 1)
    contact_list = create_contact_list(acme.id)
    create_contacts(acme.id, contact_list.id, "27815854565", "27821234567", "27831234567")
    answer = api.delete(f"/contact-lists/{contact_list.id}", acme.member)
    assert answer.status == 202
    assert answer.body["kind"] == "delete_contacts"
    assert api.get(f"/contact-lists/{contact_list.id}", acme.member).status == 404
    pump.drain()
    task = api.get(f"/tasks/{answer.body['id']}", acme.member).body
    assert (task["status"], task["result"]) == ("completed", {"deleted": 3})
    assert Contact.count(contact_list.id) == 0


def test_a_redelivered_delete_task_does_nothing_twice(api, tenants, pump, monkeypatch):
    from chalicelib import queue_messages

    acme, _ = tenants
    monkeypatch.setattr(contact_lists, "INLINE_DELETE_LIMIT", 0)
    contact_list = create_contact_list(acme.id)
    create_contacts(acme.id, contact_list.id, "27815854565")
    task_id = api.delete(f"/contact-lists/{contact_list.id}", acme.member).body["id"]
    pump.drain()
    queue_messages.enqueue(queue_messages.RunTask(company=acme.id, task_id=task_id))
    pump.drain()
    task = api.get(f"/tasks/{task_id}", acme.member).body
    assert (task["status"], task["result"]) == ("completed", {"deleted": 1})


def test_bulk_delete_is_all_or_nothing_on_unknown_ids(api, tenants):
    acme, bravo = tenants
    mine = [create_contact_list(acme.id, f"L{n}").id for n in range(3)]
    theirs = create_contact_list(bravo.id).id
    assert api.post("/contact-lists/delete", acme.member, {"ids": [mine[0], theirs]}).status == 404
    assert api.post("/contact-lists/delete", acme.member, {"ids": []}).status == 400
    assert api.post("/contact-lists/delete", acme.member, {"ids": ["one"]}).status == 400
    assert len(list(ContactList.query(acme.id))) == 3
    assert api.post("/contact-lists/delete", acme.member, {"ids": mine[:2]}).status == 204
    assert [c.id for c in ContactList.query(acme.id)] == [mine[2]]
    assert ContactList.get(bravo.id, theirs)


def test_every_list_route_is_404_for_another_companys_list(api, tenants):
    acme, bravo = tenants
    theirs = create_contact_list(bravo.id, "Bravo list")
    create_contacts(bravo.id, theirs.id, "27815854565")
    path = f"/contact-lists/{theirs.id}"
    assert api.get(path, acme.admin).status == 404
    assert api.patch(path, acme.admin, {"title": "Mine now"}).status == 404
    assert api.call("PUT", path, acme.admin, {"title": "Mine now"}).status == 404
    assert api.delete(path, acme.admin).status == 404
    assert api.get("/contact-lists", acme.admin).body["results"] == []
    assert ContactList.get(bravo.id, theirs.id).title == "Bravo list"
    assert Contact.count(theirs.id) == 1


def test_another_companys_task_is_404(api, tenants, monkeypatch):
    acme, bravo = tenants
    monkeypatch.setattr(contact_lists, "INLINE_DELETE_LIMIT", 0)
    theirs = create_contact_list(bravo.id)
    create_contacts(bravo.id, theirs.id, "27815854565")
    task_id = api.delete(f"/contact-lists/{theirs.id}", bravo.member).body["id"]
    assert api.get(f"/tasks/{task_id}", acme.admin).status == 404
    assert api.get(f"/tasks/{task_id}", bravo.member).status == 200
