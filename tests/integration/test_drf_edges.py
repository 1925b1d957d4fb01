"""Edges of the DRF habits a review found: forms (repeated names, files, charsets, empty values, a
trailing &), read-only fields sent back from a form, quotes racing approvals, local times a clock change
skips, and rows listed through a filter."""

from __future__ import annotations

import urllib.parse

from tests.api_client import multipart
from tests.factories import create_contact_list, create_contacts, create_deployment

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _form(api, method, path, member, pairs):
    return api.call(method, path, member, raw=urllib.parse.urlencode(pairs), headers=FORM)


def _multipart_pairs(pairs):
    boundary = "review16-boundary"
    body = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{n}"\r\n\r\n{v}\r\n'.encode()
        for n, v in pairs
    )
    return body + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def test_multipart_repeated_list_keys_keep_every_value(api, tenants):
    acme, _ = tenants
    first, second = create_contact_list(acme.id, "A"), create_contact_list(acme.id, "B")
    body, content_type = _multipart_pairs(
        [("title", "Sale"), ("message", "Hi"), ("contact_lists", first.id), ("contact_lists", second.id)]
    )
    made = api.call("POST", "/deployments", acme.member, raw=body, headers={"Content-Type": content_type})
    assert made.status == 201, made.body
    assert made.body["contact_lists"] == [first.id, second.id]


def test_urlencoded_repeated_list_keys_keep_every_value(api, tenants):
    acme, _ = tenants
    first, second = create_contact_list(acme.id, "A"), create_contact_list(acme.id, "B")
    made = _form(
        api,
        "POST",
        "/deployments",
        acme.member,
        [("title", "Sale"), ("message", "Hi"), ("contact_lists", first.id), ("contact_lists", second.id)],
    )
    assert made.status == 201, made.body
    assert made.body["contact_lists"] == [first.id, second.id]


def test_a_form_put_may_send_back_unchanged_read_only_fields(api, tenants):
    acme, _ = tenants
    contact_list = create_contact_list(acme.id)
    read = api.get(f"/contact-lists/{contact_list.id}", acme.member).body
    pairs = [(k, v) for k, v in read.items() if v is not None and not isinstance(v, (list, dict))]
    pairs = [(k, str(v).lower() if isinstance(v, bool) else v) for k, v in pairs if k != "title"]
    answer = _form(api, "PUT", f"/contact-lists/{contact_list.id}", acme.member, [*pairs, ("title", "Best")])
    assert answer.status == 200, answer.body


def test_a_file_part_on_a_non_import_route_is_not_silently_ignored(api, tenants):
    acme, _ = tenants
    contact_list = create_contact_list(acme.id)
    body, content_type = multipart(
        {"title": "Sale", "message": "Hi", "contact_lists": str(contact_list.id)},
        {"attachment": ("logo.csv", b"a,b\r\n")},
    )
    made = api.call("POST", "/deployments", acme.member, raw=body, headers={"Content-Type": content_type})
    assert made.status == 400, made.body


def _import_deployment(api, member, data, **form):
    body, content_type = multipart(form, {"file": ("campaign.csv", data)})
    return api.call("POST", "/deployments/import", member, raw=body, headers={"Content-Type": content_type})


def test_an_edit_of_an_imported_draft_refreshes_its_totals(api, tenants, pump):
    acme, _ = tenants
    text = "Your order \u2019s on its way " + "x" * 80  # a curly apostrophe: UCS-2, 2 segments
    data = f"destination,message\r\n0815854565,{text}\r\n0825854565,{text}\r\n".encode()
    started = _import_deployment(api, acme.member, data, title="Notices")
    assert started.status == 202, started.body
    pump.drain()
    path = f"/deployments/{started.body['id']}"
    edited = api.patch(path, acme.member, {"gsm_substitute": True, "optout": False})
    assert edited.status == 200 and edited.body["quote_status"] == "pending", edited.body
    pump.drain()  # an imported draft is quoted by a task: it reads every row of its own
    shown = api.get(path, acme.member).body
    quoted = api.get(f"{path}/quote", acme.member).body
    assert (shown["quote_status"], shown["total_credits"]) == ("current", quoted["credits"])


def test_a_send_date_that_does_not_exist_in_the_companys_zone_is_a_400(api, tenants):
    acme, _ = tenants
    assert api.patch("/company", acme.admin, {"timezone": "Europe/London"}).status == 200
    contact_list = create_contact_list(acme.id)
    # 01:30 on 28 March 2027 never happens in London: the clocks go from 01:00 to 02:00.
    made = api.post(
        "/deployments",
        acme.member,
        {
            "title": "Sale",
            "message": "Hi",
            "contact_lists": [contact_list.id],
            "send_date": "2027-03-28T01:30:00",
        },
    )
    assert made.status == 400, made.body
    assert "send_date" in made.body["error"]["fields"]


def test_a_form_may_clear_send_date_with_an_empty_value(api, tenants):
    acme, _ = tenants
    contact_list = create_contact_list(acme.id)
    draft = create_deployment(acme, [contact_list.id], send_date="2026-12-01T08:00:00Z")
    cleared = _form(api, "PATCH", f"/deployments/{draft.id}", acme.member, [("send_date", "")])
    assert cleared.status == 200, cleared.body
    assert cleared.body["send_date"] is None


def test_a_stats_row_listed_with_deployment_filter_is_addressable(api, tenants, gateway, pump):
    from tests.factories import approved_deployment

    acme, _ = tenants
    deployment_id = approved_deployment(api, acme, ["27815854565"], message="Hi", marketing=False)
    from chalicelib.domain.stats import rollup

    pump.drain()
    rollup.roll_up_alone(lambda: 60_000)
    rows = api.get(f"/stats/daily?deployment={deployment_id}", acme.member)
    assert rows.status == 200 and rows.body["results"], rows.body
    row = rows.body["results"][0]
    plain = api.get(f"/stats/daily/{row['id']}", acme.member)
    filtered = api.get(f"/stats/daily/{row['id']}?deployment={deployment_id}", acme.member)
    assert 200 in (plain.status, filtered.status), (plain.body, filtered.body)


def test_a_refresh_racing_an_approval_never_overwrites_the_approved_quote(api, tenants, monkeypatch):
    from chalicelib.domain.accounts.auth import Caller
    from chalicelib.domain.deployments import approvals, drafts, quotes

    acme, _ = tenants
    contact_list = create_contact_list(acme.id)
    create_contacts(acme.id, contact_list.id, "27815854565", first_name="Ann")
    draft = create_deployment(acme, [contact_list.id], message="Hi", marketing=False)
    member = Caller(company=acme.id, user=acme.member.user.id, role="member")
    approver = Caller(company=acme.id, user=acme.approver.user.id, role="approver")
    real, raced = quotes.compute_quote, []

    def slow_quote(deployment, company):
        result = real(deployment, company)  # quoted over one contact...
        if not raced:
            raced.append(True)  # ...and meanwhile a second joins, and it is submitted and approved
            create_contacts(acme.id, contact_list.id, "27825854565", first_name="Bob")
            drafts.submit(member, deployment.id)
            approvals.approve(approver, deployment.id)
        return result

    monkeypatch.setattr(quotes, "compute_quote", slow_quote)
    drafts.edit(member, draft.id, {"title": "Renamed"})
    shown = api.get(f"/deployments/{draft.id}", acme.member).body
    assert shown["status_name"] != "draft", shown
    quoted = api.get(f"/deployments/{draft.id}/quote", acme.member).body
    from chalicelib.models.deployments import Deployment

    stored = Deployment.get(acme.id, draft.id)
    assert stored.reserved == 2
    assert (shown["total_contacts"], shown["total_credits"], quoted["credits"]) == (2, 2, 2), (shown, quoted)


def test_a_percent_escape_that_is_not_utf8_is_a_400_not_a_replacement_character(api, tenants):
    acme, _ = tenants
    sent = api.call(
        "POST", "/messages/send", acme.member, raw="destination=0815854565&message=caf%E9", headers=FORM
    )
    assert sent.status == 400, sent.body  # not an SMS of "caf\ufffd", priced (and sent) as UCS-2


def test_a_multipart_text_part_that_is_not_utf8_is_a_400_not_a_replacement_character(api, tenants):
    acme, _ = tenants
    boundary = "review16-boundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="destination"\r\n\r\n0815854565\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="message"\r\n'
            "Content-Type: text/plain; charset=ISO-8859-1\r\n\r\n"
        ).encode()
        + "Café".encode("latin-1")
        + f"\r\n--{boundary}--\r\n".encode()
    )
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    sent = api.call("POST", "/messages/send", acme.member, raw=body, headers=headers)
    assert sent.status == 400 or (sent.body.get("encoding") == "GSM-7" and "\ufffd" not in str(sent.body)), (
        sent.body
    )


def test_a_form_with_a_trailing_ampersand_is_read_as_django_reads_it(api, tenants):
    acme, _ = tenants
    sent = api.call(
        "POST", "/messages/send", acme.member, raw="destination=0815854565&message=Hi&", headers=FORM
    )
    assert sent.status == 201, sent.body


def test_an_import_form_field_it_does_not_read_is_not_silently_dropped(api, tenants):
    acme, _ = tenants
    data = "destination,message\r\n0815854565,Hi \u2019there\r\n".encode()
    started = _import_deployment(api, acme.member, data, title="Notices", gsm_substitute="true")
    assert started.status == 400 or started.body["gsm_substitute"] is True, started.body
