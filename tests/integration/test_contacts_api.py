import threading

from chalicelib.domain.accounts.auth import Caller
from chalicelib.models.contacts import Contact, ContactList
from tests.factories import create_contact_list, create_contacts


def contacts_path(list_id: int) -> str:
    return f"/contact-lists/{list_id}/contacts"


def test_adding_a_number_twice_updates_the_one_contact(api, tenants):
    acme, _ = tenants
    contact_list = create_contact_list(acme.id)
    first = api.post(
        contacts_path(contact_list.id),
        acme.member,
        {"msisdn": "081 585 4565", "first_name": "Thandi", "fields": {"City": "Joburg", "tier": 2}},
    )
    assert first.status == 201
    assert first.body["msisdn"] == "27815854565"
    assert first.body["fields"] == {"city": "Joburg", "tier": "2"}
    again = api.post(
        contacts_path(contact_list.id),
        acme.member,
        {"msisdn": "+27 81 585 4565", "last_name": "Nkosi", "fields": {"tier": None}},
    )
    assert again.status == 200
    assert again.body["id"] == first.body["id"]
    assert (again.body["first_name"], again.body["last_name"]) == ("Thandi", "Nkosi")
    assert again.body["fields"] == {"city": "Joburg"}
    assert again.body["date_created"] == first.body["date_created"]
    assert ContactList.get(acme.id, contact_list.id).contact_count == 1


def test_a_batch_says_what_happened_to_every_item(api, tenants):
    acme, _ = tenants
    contact_list = create_contact_list(acme.id)
    create_contacts(acme.id, contact_list.id, "27815854565")
    answer = api.post(
        contacts_path(contact_list.id),
        acme.member,
        [
            {"msisdn": "0815854565", "first_name": "Known"},
            {"msisdn": 27821234567},
            {"msisdn": "not a number"},
            {"msisdn": "082 123 4567"},
            {"first_name": "No number"},
            {"msisdn": "0831234567", "email": "bad-email"},
            {"msisdn": "0841234567", "colour": "red"},
        ],
    )
    assert answer.status == 200
    statuses = [(r["index"], r["status"]) for r in answer.body["results"]]
    assert statuses == [
        (0, "updated"),
        (1, "created"),
        (2, "rejected"),
        (3, "rejected"),
        (4, "rejected"),
        (5, "rejected"),
        (6, "rejected"),
    ]
    errors = {r["index"]: r["error"] for r in answer.body["results"] if r["status"] == "rejected"}
    assert errors[2]["fields"] == {"msisdn": ["invalid_number"]}
    assert errors[3]["code"] == "duplicate"
    assert errors[4]["fields"] == {
        "msisdn": ["is required (or an email, for a contact reached by email alone)"]
    }
    assert errors[5]["fields"]["email"][0].startswith("must be an email address (")
    assert errors[6]["fields"] == {"colour": ["is not a field of this object"]}
    assert (answer.body["created"], answer.body["updated"], answer.body["rejected"]) == (1, 1, 5)
    assert sorted(c.msisdn for c in Contact.query(contact_list.id)) == ["27815854565", "27821234567"]
    assert ContactList.get(acme.id, contact_list.id).contact_count == 2


def test_a_batch_of_1000_is_taken_and_1001_is_not(api, tenants):
    acme, _ = tenants
    contact_list = create_contact_list(acme.id)
    batch = [{"msisdn": f"2782{n:07d}"} for n in range(1000)]
    answer = api.post(contacts_path(contact_list.id), acme.member, batch)
    assert answer.body["created"] == 1000
    assert (
        api.post(contacts_path(contact_list.id), acme.member, [*batch, {"msisdn": "27831234567"}]).status
        == 400
    )
    assert ContactList.get(acme.id, contact_list.id).contact_count == 1000
    ids = {c.id for c in Contact.query(contact_list.id)}
    assert len(ids) == 1000


def test_a_single_bad_contact_is_400_and_stores_nothing(api, tenants):
    acme, _ = tenants
    contact_list = create_contact_list(acme.id)
    answer = api.post(contacts_path(contact_list.id), acme.member, {"msisdn": "12", "first_name": "X"})
    assert answer.status == 400
    assert answer.body["error"]["fields"] == {"msisdn": ["invalid_number"]}
    assert (
        api.post(
            contacts_path(contact_list.id), acme.member, {"msisdn": "0815854565", "first_name": 5}
        ).status
        == 400
    )
    assert Contact.count(contact_list.id) == 0


def test_the_msisdn_filter_takes_any_spelling(api, tenants):
    acme, _ = tenants
    contact_list = create_contact_list(acme.id)
    create_contacts(acme.id, contact_list.id, "27815854565", "27821234567")
    for spelling in ("27815854565", "%2B27%2081%20585%204565", "0815854565", "081-585-4565"):
        found = api.get(f"{contacts_path(contact_list.id)}?msisdn={spelling}", acme.member).body["results"]
        assert [c["msisdn"] for c in found] == ["27815854565"], spelling
    assert api.get(f"{contacts_path(contact_list.id)}?msisdn=0831234567", acme.member).body["results"] == []
    assert api.get(f"{contacts_path(contact_list.id)}?msisdn=abc", acme.member).status == 400


def test_the_name_search_pages_through_a_list_without_reading_it_all_at_once(api, tenants):
    acme, other = tenants
    contact_list = create_contact_list(acme.id)
    people = [{"msisdn": f"2782{n:07d}", "first_name": "Ann" if n % 7 == 0 else "Bo"} for n in range(60)]
    people.append({"msisdn": "27831111111", "first_name": "Zed", "last_name": "Annandale"})
    assert api.post(contacts_path(contact_list.id), acme.member, people).status == 200
    found, cursor, pages = [], None, 0
    while True:
        query = "?name=ann&page_size=3" + (f"&cursor={cursor}" if cursor else "")
        page = api.get(contacts_path(contact_list.id) + query, acme.member)
        assert page.status == 200 and len(page.body["results"]) <= 3
        found += [c["msisdn"] for c in page.body["results"]]
        pages += 1
        cursor = page.body["next"]
        if cursor is None:
            break
    assert sorted(found) == sorted(
        [p["msisdn"] for p in people if "Ann" in p["first_name"]] + ["27831111111"]
    )
    assert len(found) == len(set(found)) and pages >= 4
    assert api.get(contacts_path(contact_list.id) + "?name=", acme.member).body["error"]["fields"] == {
        "name": ["must be 1 to 100 characters"]
    }
    both = api.get(contacts_path(contact_list.id) + "?name=ann&msisdn=27831111111", acme.member)
    assert both.status == 400 and "name" in both.body["error"]["fields"]
    assert api.get(contacts_path(contact_list.id) + "?name=ann", other.member).status == 404


def test_contacts_page_in_number_order(api, tenants):
    acme, _ = tenants
    contact_list = create_contact_list(acme.id)
    numbers = [f"2782{n:07d}" for n in range(5)]
    create_contacts(acme.id, contact_list.id, *reversed(numbers))
    seen = api.every_page(f"{contacts_path(contact_list.id)}?page_size=2", acme.member)
    assert [c["msisdn"] for c in seen] == numbers


def test_one_contact_is_read_patched_replaced_and_deleted(api, tenants):
    acme, _ = tenants
    contact_list = create_contact_list(acme.id)
    (contact,) = create_contacts(
        acme.id, contact_list.id, "27815854565", first_name="Ann", email="ann@x.example"
    )
    path = f"{contacts_path(contact_list.id)}/{contact.id}"
    assert api.get(path, acme.member).body["first_name"] == "Ann"
    patched = api.patch(path, acme.member, {"last_name": "Lee", "fields": {"city": "Durban"}}).body
    assert (patched["first_name"], patched["last_name"], patched["fields"]) == (
        "Ann",
        "Lee",
        {"city": "Durban"},
    )
    replaced = api.call("PUT", path, acme.member, {"msisdn": "0815854565", "first_name": "Anne"}).body
    assert (replaced["first_name"], replaced["last_name"], replaced["email"], replaced["fields"]) == (
        "Anne",
        None,
        None,
        {},
    )
    assert replaced["id"] == contact.id
    assert api.delete(path, acme.member).status == 204
    assert api.get(path, acme.member).status == 404
    assert ContactList.get(acme.id, contact_list.id).contact_count == 0


def test_changing_a_number_keeps_the_contact_unless_the_number_is_taken(api, tenants):
    acme, _ = tenants
    contact_list = create_contact_list(acme.id)
    ann, bob = create_contacts(acme.id, contact_list.id, "27815854565", "27821234567")
    moved = api.patch(f"{contacts_path(contact_list.id)}/{ann.id}", acme.member, {"msisdn": "0831234567"})
    assert moved.status == 200
    assert (moved.body["id"], moved.body["msisdn"]) == (ann.id, "27831234567")
    clash = api.patch(f"{contacts_path(contact_list.id)}/{bob.id}", acme.member, {"msisdn": "0831234567"})
    assert clash.status == 409
    assert sorted(c.msisdn for c in Contact.query(contact_list.id)) == ["27821234567", "27831234567"]


def test_every_contact_route_is_404_across_companies(api, tenants):
    acme, bravo = tenants
    mine = create_contact_list(acme.id)
    theirs = create_contact_list(bravo.id)
    (their_contact,) = create_contacts(bravo.id, theirs.id, "27815854565")
    for path in (contacts_path(theirs.id), f"{contacts_path(theirs.id)}/{their_contact.id}"):
        assert api.get(path, acme.admin).status == 404
    assert api.post(contacts_path(theirs.id), acme.admin, {"msisdn": "0821234567"}).status == 404
    their_one = f"{contacts_path(theirs.id)}/{their_contact.id}"
    assert api.patch(their_one, acme.admin, {"first_name": "X"}).status == 404
    assert api.call("PUT", their_one, acme.admin, {"msisdn": "0821234567"}).status == 404
    assert api.delete(their_one, acme.admin).status == 404
    assert api.get(f"{contacts_path(mine.id)}/{their_contact.id}", acme.admin).status == 404
    assert Contact.get(theirs.id, "27815854565").first_name is None
    assert Contact.count(theirs.id) == 1


def test_an_address_is_stored_normalised_and_a_blank_one_clears_it(api, tenants):
    acme, _ = tenants
    contact_list = create_contact_list(acme.id)
    made = api.post(
        contacts_path(contact_list.id), acme.member, {"msisdn": "0815854565", "email": " Ann@Example.COM "}
    )
    assert made.status == 201 and made.body["email"] == "Ann@example.com"
    cleared = api.post(contacts_path(contact_list.id), acme.member, {"msisdn": "0815854565", "email": " "})
    assert cleared.body["email"] is None
    refused = api.post(contacts_path(contact_list.id), acme.member, {"msisdn": "0815854565", "email": "a@b"})
    assert refused.status == 400
    assert refused.body["error"]["fields"]["email"][0].startswith("must be an email address (")
    assert Contact.get(contact_list.id, "27815854565").email is None


def test_a_contact_reached_by_email_alone_keeps_a_way_to_reach_it(api, tenants):
    acme, _ = tenants
    contact_list = create_contact_list(acme.id)
    made = api.post(f"/contact-lists/{contact_list.id}/contacts", acme.member, {"email": "Ann@Example.com"})
    assert made.status == 201 and (made.body["msisdn"], made.body["email"]) == (None, "Ann@example.com")
    path = f"/contact-lists/{contact_list.id}/contacts/{made.body['id']}"
    emptied = api.patch(path, acme.member, {"email": ""})
    assert emptied.status == 400 and list(emptied.body["error"]["fields"]) == ["email"]
    numbered = api.patch(path, acme.member, {"msisdn": "0815854565"})
    assert numbered.status == 200 and (numbered.body["msisdn"], numbered.body["email"]) == (
        "27815854565",
        "Ann@example.com",
    )
    again = api.post(f"/contact-lists/{contact_list.id}/contacts", acme.member, {"email": "bob@example.com"})
    moved = api.patch(
        f"/contact-lists/{contact_list.id}/contacts/{again.body['id']}", acme.member, {"msisdn": "0815854565"}
    )
    assert moved.status == 409
    assert api.get(f"/contact-lists/{contact_list.id}", acme.member).body["contact_count"] == 2


def _at_once(count: int, write) -> list[str]:
    """`write` called from `count` threads released together; what each one ended in."""
    start, outcomes = threading.Barrier(count), []

    def one() -> None:
        start.wait()
        try:
            write()
            outcomes.append("done")
        except Exception as error:
            outcomes.append(type(error).__name__)

    threads = [threading.Thread(target=one) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(outcomes)


def test_racing_deletes_and_creates_keep_the_count_equal_to_the_contacts(aws, tenants, monkeypatch):
    """Ten deletes of one contact at once count it out once; ten creates of one number count it in once."""
    from chalicelib.domain.contacts import contacts

    acme, _ = tenants
    contact_list = create_contact_list(acme.id)
    (contact,) = create_contacts(acme.id, contact_list.id, "27815854565")
    caller = Caller.operator(acme.id)
    real_get, all_read = contacts.get_contact, threading.Barrier(10)

    def read_then_wait(*args):
        """Every delete has found the contact before any deletes it."""
        found = real_get(*args)
        all_read.wait()
        return found

    monkeypatch.setattr(contacts, "get_contact", read_then_wait)
    deleted = _at_once(10, lambda: contacts.delete_contact(caller, contact_list.id, contact.id))
    assert deleted == ["NotFound"] * 9 + ["done"]
    assert ContactList.get(acme.id, contact_list.id).contact_count == 0
    created = []
    _at_once(
        10,
        lambda: created.extend(contacts.save_contacts(caller, contact_list.id, [{"msisdn": "0821234567"}])),
    )
    assert sorted(r.status for r in created) == ["created"] + ["updated"] * 9
    assert Contact.count(contact_list.id) == 1
    assert ContactList.get(acme.id, contact_list.id).contact_count == 1


def test_a_contact_deleted_while_it_is_patched_stays_deleted(api, tenants, monkeypatch):
    """An update that lost the race with a delete is a 404 and brings nothing back uncounted."""
    from chalicelib.domain.contacts import contacts

    acme, _ = tenants
    contact_list = create_contact_list(acme.id)
    (contact,) = create_contacts(acme.id, contact_list.id, "27815854565")
    stale = contacts.get_contact(Caller.operator(acme.id), contact_list.id, contact.id)
    contacts.delete_contact(Caller.operator(acme.id), contact_list.id, contact.id)
    monkeypatch.setattr(contacts, "get_contact", lambda caller, list_id, contact_id: stale)
    for change in ({"first_name": "Late"}, {"msisdn": "0821234567"}):
        answer = api.patch(f"{contacts_path(contact_list.id)}/{contact.id}", acme.member, change)
        assert answer.status == 404, answer.body
    assert Contact.count(contact_list.id) == 0
    assert ContactList.get(acme.id, contact_list.id).contact_count == 0
