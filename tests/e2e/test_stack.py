"""Over real HTTP against the stack `make run` starts: auth, roles and tenancy, then a clean stop."""

import email
import email.policy
import json
import os
import signal
import socket
import time
from pathlib import Path

import boto3
import pytest
import requests
from openapi_spec_validator import validate

from tests.e2e.conftest import _stop, children_of, group_members
from tests.e2e.polling import eventually

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def companies(stack):
    acme = stack.cli("company", "create", "--name", "Acme", "--credits", "1000")
    bravo = stack.cli("company", "create", "--name", "Bravo")
    member = stack.cli("user", "create", "--company", str(acme["company"]["id"]), "--email", "m@acme.example")
    return acme, bravo, member


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Token {key}", "Content-Type": "application/json"}


def test_health_is_open(stack):
    assert requests.get(f"{stack.api}/health", timeout=10).json() == {"status": "ok"}


def test_the_cli_prints_company_user_and_a_key(stack, companies):
    acme, _, member = companies
    assert set(acme) == {"company", "user", "api_key", "invite_url", "invite_expires"}
    assert acme["invite_url"].startswith(f"{stack.api}/app/#/password/cl_")
    assert acme["company"]["credits"] == 1000
    assert acme["user"]["role"] == "admin"
    assert member["user"]["role"] == "member"


def test_no_key_is_401(stack, companies):
    answer = requests.get(f"{stack.api}/company", timeout=10)
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "missing_api_key"


def test_an_unknown_path_is_a_colony_404_that_echoes_no_credential(stack, companies):
    acme, _, _ = companies
    for path in ("/no-such-thing", "/deployments/1/nonsense", "/"):
        answer = requests.get(f"{stack.api}{path}", headers=auth(acme["api_key"]), timeout=10)
        assert answer.status_code == 404, (path, answer.text)
        assert answer.json() == {"error": {"code": "not_found", "message": "No such route.", "fields": {}}}
        assert acme["api_key"] not in answer.text


def test_a_method_the_server_has_no_handler_for_is_a_colony_405(stack, companies):
    """Found by Schemathesis: TRACE was the base HTTP server's HTML 501, and its unread body then opened
    the next request on the same connection (`{}POST ...`)."""
    acme, _, _ = companies
    with requests.Session() as connection:
        answer = connection.request(
            "TRACE", f"{stack.api}/campaigns", headers=auth(acme["api_key"]), data="{}", timeout=10
        )
        assert answer.status_code == 405
        assert answer.headers["Content-Type"] == "application/json"
        assert answer.json()["error"]["code"] == "method_not_allowed"
        after = connection.get(f"{stack.api}/campaigns", headers=auth(acme["api_key"]), timeout=10)
        assert after.status_code == 200, after.text


def test_a_request_the_http_server_cannot_parse_is_a_colony_400_that_echoes_nothing(stack):
    host, port = stack.api.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as raw:
        raw.sendall(b"GET /webhooks/status/SECRET-TOKEN HTTP/1.1 extra\r\n\r\n")
        answer = b"".join(iter(lambda: raw.recv(4096), b"")).decode()  # it closes the connection
    head, _, body = answer.partition("\r\n\r\n")
    assert head.startswith("HTTP/1.") and " 400 " in head.splitlines()[0]
    assert "application/json" in head
    assert json.loads(body)["error"]["code"] == "bad_request"
    assert "SECRET-TOKEN" not in answer


def test_the_docs_page_and_the_document_are_served_over_http(stack):
    document = requests.get(f"{stack.api}/openapi.json", timeout=10)
    assert document.status_code == 200
    validate(document.json())
    page = requests.get(f"{stack.api}/docs", timeout=10)
    assert page.status_code == 200 and "swagger-ui-bundle.js" in page.text
    script = requests.get(f"{stack.api}/docs/swagger-ui-bundle.js", timeout=10)
    assert script.status_code == 200 and len(script.content) > 1_000_000


def test_a_key_reads_its_company(stack, companies):
    acme, _, _ = companies
    answer = requests.get(f"{stack.api}/company", headers=auth(acme["api_key"]), timeout=10)
    assert answer.status_code == 200
    assert answer.json()["id"] == acme["company"]["id"]
    assert answer.json()["name"] == "Acme"


def test_a_member_cannot_add_users(stack, companies):
    _, _, member = companies
    answer = requests.post(
        f"{stack.api}/users",
        headers=auth(member["api_key"]),
        json={"email": "x@acme.example", "role": "admin"},
        timeout=10,
    )
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "forbidden"


def test_another_companys_user_is_404(stack, companies):
    acme, bravo, _ = companies
    answer = requests.get(
        f"{stack.api}/users/{acme['user']['id']}", headers=auth(bravo["api_key"]), timeout=10
    )
    assert answer.status_code == 404
    own = requests.get(f"{stack.api}/users/{acme['user']['id']}", headers=auth(acme["api_key"]), timeout=10)
    assert own.status_code == 200


def test_credits_are_added_by_the_cli(stack, companies):
    acme, _, _ = companies
    topped = stack.cli("credits", "add", "--company", str(acme["company"]["id"]), "--amount", "250")
    assert topped["company"]["credits"] == 1250


def test_thirty_parallel_sends_from_a_balance_of_ten_send_ten_and_leave_nothing(stack):
    """The embedded DynamoDB keeps DynamoDB's atomicity: racing debits never take a balance below zero."""
    from concurrent.futures import ThreadPoolExecutor

    tight = stack.cli("company", "create", "--name", "Tight", "--credits", "10")
    headers = auth(tight["api_key"])

    def send(n: int) -> int:
        body = {"message": f"Your code is {n:04d}", "destination": f"2782{n:07d}"}
        return requests.post(f"{stack.api}/messages/send", headers=headers, json=body, timeout=90).status_code

    assert send(99) == 201  # the first request of a fresh server warms it up
    with ThreadPoolExecutor(30) as pool:
        answers = sorted(pool.map(send, range(30)))
    assert answers == [201] * 9 + [402] * 21
    company = requests.get(f"{stack.api}/company", headers=headers, timeout=10).json()
    assert company["credits"] == 0


def test_uploads_notify_the_imports_queue(stack):
    endpoint = f"http://127.0.0.1:{stack.moto_port}"
    session = boto3.session.Session(
        aws_access_key_id="x", aws_secret_access_key="x", region_name="af-south-1"
    )
    s3 = session.client("s3", endpoint_url=endpoint)
    (target,) = s3.get_bucket_notification_configuration(Bucket="colony-local-files")["QueueConfigurations"]
    assert target["QueueArn"].endswith(":colony-local-imports")


def _wait_for_import(stack, key, import_id):
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = requests.get(f"{stack.api}/imports/{import_id}", headers=auth(key), timeout=10).json()
        if job["status"] in ("completed", "failed"):
            return job
        time.sleep(0.3)
    raise AssertionError(f"import {import_id} did not finish: {job}")


def test_a_browser_upload_to_s3_imports_through_the_pump(stack, companies):
    acme, _, _ = companies
    key = acme["api_key"]
    upload = requests.post(
        f"{stack.api}/uploads",
        headers=auth(key),
        json={"kind": "contacts", "filename": "leads.csv"},
        timeout=10,
    ).json()
    csv = b"Mobile,Name\r\n0815854565,Thandi\r\n+27 82 123 4567,Pieter\r\n12345,Bad\r\n"
    sent = requests.post(upload["url"], data=upload["fields"], files={"file": ("leads.csv", csv)}, timeout=10)
    assert sent.status_code in (200, 201, 204)
    job = _wait_for_import(stack, key, upload["import"]["id"])
    assert (job["status"], job["rows"], job["imported"], job["rejected"]) == ("completed", 3, 2, 1)
    contacts = requests.get(
        f"{stack.api}/contact-lists/{job['contact_list']}/contacts", headers=auth(key), timeout=10
    )
    assert [c["msisdn"] for c in contacts.json()["results"]] == ["27815854565", "27821234567"]
    errors = requests.get(f"{stack.api}/filebox/{job['errors_file']}", headers=auth(key), timeout=10).json()
    assert requests.get(errors["url"], timeout=10).text.splitlines()[1] == "4,12345,invalid_number,"


def test_a_posted_file_imports_too(stack, companies):
    _, bravo, _ = companies
    key = bravo["api_key"]
    answer = requests.post(
        f"{stack.api}/contact-lists/import",
        headers={"Authorization": f"Token {key}"},
        files={"file": ("list.csv", b"msisdn\n27815854565\n")},
        data={"title": "Posted"},
        timeout=10,
    )
    assert answer.status_code == 202, answer.text
    job = _wait_for_import(stack, key, answer.json()["id"])
    assert (job["status"], job["imported"]) == ("completed", 1)


def test_a_campaign_from_a_csv_to_the_outbox(stack):
    """Import a list, draft, submit, approve as a second person: one outbox line per recipient, and the
    balance down by exactly the quote."""
    company = stack.cli("company", "create", "--name", "Campaigns", "--credits", "1000")
    admin = auth(company["api_key"])
    member = auth(_user_key(stack, company, "writer@campaigns.example"))
    approver = auth(_user_key(stack, company, "boss@campaigns.example", "approver"))
    requests.patch(
        f"{stack.api}/company", headers=admin, json={"quiet_hours": False, "send_rate": 200}, timeout=10
    )
    numbers = [f"2783{n:07d}" for n in range(150)]
    csv = "Mobile,First Name\r\n" + "".join(f"0{n[2:]},Friend{i}\r\n" for i, n in enumerate(numbers))
    job = _import_list(stack, member, "friends.csv", csv, title="Friends")
    assert job["imported"] == 150
    draft = requests.post(
        f"{stack.api}/deployments",
        headers=member,
        timeout=10,
        json={
            "title": "Hello friends",
            "message": "Hi {{first_name}}, our shop opens today!",
            "contact_lists": [job["contact_list"]],
        },
    ).json()
    quote = requests.get(f"{stack.api}/deployments/{draft['id']}/quote", headers=member, timeout=10).json()
    assert (quote["recipients"], quote["credits"]) == (150, 150)
    requests.post(f"{stack.api}/deployments/{draft['id']}/submit", headers=member, timeout=10)
    assert (
        requests.post(
            f"{stack.api}/deployments/{draft['id']}/approve", headers=member, timeout=10
        ).status_code
        == 403
    )
    approved = requests.post(f"{stack.api}/deployments/{draft['id']}/approve", headers=approver, timeout=10)
    assert approved.status_code == 200, approved.text
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        state = requests.get(f"{stack.api}/deployments/{draft['id']}", headers=member, timeout=10).json()
        if state["status_name"] in ("sent", "failed"):
            break
        time.sleep(0.5)
    assert state["status_name"] == "sent", state
    lines = [line for line in stack.outbox if line["deployment"] == draft["id"]]
    assert sorted(line["to"] for line in lines) == numbers
    assert lines[0]["text"].startswith("Hi Friend") and lines[0]["text"].endswith("\nReply STOP to opt out")
    balance = requests.get(f"{stack.api}/company", headers=admin, timeout=10).json()["credits"]
    assert balance == 1000 - quote["credits"]
    # A send can straddle an hour (or the company's midnight), so the rows are summed, not counted.
    hourly = requests.get(f"{stack.api}/deployments/{draft['id']}/stats/hourly", headers=member, timeout=10)
    hours = hourly.json()["results"]
    assert (sum(row["sms_sent_count"] for row in hours), sum(row["total"] for row in hours)) == (150, 150)
    assert stack.cli("stats", "verify", "--company", str(company["company"]["id"]))["ok"] is True
    daily = requests.get(f"{stack.api}/stats/daily", headers=member, timeout=10).json()["results"]
    assert {row["deployment"] for row in daily} == {None}
    assert sum(row["sms_sent_count"] for row in daily) == 150


def test_an_email_campaign_writes_one_eml_per_recipient_with_the_unsubscribe_headers(stack):
    """Contacts by address alone and by both, a dispatch-2 deployment: one .eml per address, each with
    the one-click headers and its own link, and the balance down by exactly the quote."""
    company = stack.cli("company", "create", "--name", "Letters", "--credits", "1000")
    admin = auth(company["api_key"])
    approver = auth(_user_key(stack, company, "ok@letters.example", "approver"))
    settings = {"quiet_hours": False, "email_from": "Letters <news@letters.example>", "email_send_rate": 100}
    assert requests.patch(f"{stack.api}/company", headers=admin, json=settings, timeout=10).status_code == 200
    addresses = [f"reader{n}@example.com" for n in range(12)]
    csv = "Email,Mobile,Name\r\n" + "".join(
        f"{a},{'' if i % 2 else f'08300000{i:02d}'},Reader{i}\r\n" for i, a in enumerate(addresses)
    )
    job = _import_list(stack, admin, "readers.csv", csv)
    assert job["imported"] == 12
    draft = requests.post(
        f"{stack.api}/deployments",
        headers=admin,
        timeout=10,
        json={
            "title": "Letter",
            "message": "Dear {{first_name}}, news inside.",
            "subject": "News for {{first_name}}",
            "html": "<p>Dear <b>{{first_name}}</b></p>",
            "dispatch": 2,
            "contact_lists": [job["contact_list"]],
        },
    ).json()
    quote = requests.get(f"{stack.api}/deployments/{draft['id']}/quote", headers=admin, timeout=10).json()
    assert (quote["emails"], quote["credits"]) == (12, 12)
    assert requests.post(f"{stack.api}/deployments/{draft['id']}/submit", headers=admin, timeout=10).ok
    approved = requests.post(f"{stack.api}/deployments/{draft['id']}/approve", headers=approver, timeout=10)
    assert approved.status_code == 200, approved.text

    def finished():
        found = requests.get(f"{stack.api}/deployments/{draft['id']}", headers=admin, timeout=10).json()
        return found if found["status_name"] in ("sent", "failed") else None

    state = eventually(finished, seconds=90)
    assert state["status_name"] == "sent", state
    mails = [
        email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        for path in Path(stack.env["COLONY_MAIL_DIR"]).glob("*.eml")
    ]
    ours = [m for m in mails if m["X-Colony-Reference"].startswith(f"d{draft['id']}:")]
    assert sorted(m["To"] for m in ours) == sorted(addresses)
    links = {m["List-Unsubscribe"] for m in ours}
    assert len(links) == 12 and all(m["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click" for m in ours)
    first = ours[0]
    assert first["Subject"].startswith("News for Reader")
    assert "<b>Reader" in first.get_body(("html",)).get_content()
    balance = requests.get(f"{stack.api}/company", headers=admin, timeout=10).json()["credits"]
    assert balance == 1000 - quote["credits"]
    assert stack.cli("stats", "verify", "--company", str(company["company"]["id"]))["ok"] is True


def _user_key(stack, company, email, role="member"):
    """A new user of `company` made with the CLI, as an admin would: the user's API key."""
    made = stack.cli(
        "user", "create", "--company", str(company["company"]["id"]), "--email", email, "--role", role
    )
    return made["api_key"]


def _import_list(stack, headers, name, csv, **form):
    """A new list from the CSV text, imported through the API: the finished import job."""
    started = requests.post(
        f"{stack.api}/contact-lists/import",
        headers={"Authorization": headers["Authorization"]},
        files={"file": (name, csv.encode())},
        data=form,
        timeout=10,
    )
    return _wait_for_import(stack, headers["Authorization"].split()[1], started.json()["id"])


def test_a_list_a_saved_query_defines_refreshes_and_exports_to_the_filebox(stack):
    """A saved query, a list it defines (filled by a task on the tasks queue), its export downloaded
    from the filebox link; the list's own members refuse manual writes."""
    company = stack.cli("company", "create", "--name", "Queries")
    key = company["api_key"]
    headers = auth(key)
    people = requests.post(
        f"{stack.api}/contact-lists", headers=headers, json={"title": "People"}, timeout=10
    )
    rows = [
        {"msisdn": "0821110001", "first_name": "Ann", "fields": {"city": "Cape Town"}},
        {"msisdn": "0821110002", "first_name": "=Bob", "fields": {"city": "Cape Point"}},
        {"msisdn": "0821110003", "first_name": "Cat", "fields": {"city": "Durban"}},
    ]
    added = requests.post(
        f"{stack.api}/contact-lists/{people.json()['id']}/contacts", headers=headers, json=rows, timeout=10
    )
    assert added.json()["created"] == 3, added.text
    bad = requests.post(
        f"{stack.api}/saved-queries",
        headers=headers,
        json={"title": "x", "query": "fields.city ~"},
        timeout=10,
    )
    assert bad.status_code == 400 and "at position 14" in bad.json()["error"]["fields"]["query"][0]
    query = requests.post(
        f"{stack.api}/saved-queries",
        headers=headers,
        json={"title": "Cape", "query": 'fields.city ~ "cape"'},
        timeout=10,
    ).json()
    cape = requests.post(
        f"{stack.api}/contact-lists",
        headers=headers,
        json={"title": "Cape", "saved_query": query["id"]},
        timeout=10,
    ).json()

    def refreshed():
        found = requests.get(f"{stack.api}/contact-lists/{cape['id']}", headers=headers, timeout=10).json()
        return found if found["date_refreshed"] else None

    assert eventually(refreshed)["contact_count"] == 2
    refused = requests.post(
        f"{stack.api}/contact-lists/{cape['id']}/contacts",
        headers=headers,
        json={"msisdn": "0821110009"},
        timeout=10,
    )
    assert refused.status_code == 409
    started = requests.post(
        f"{stack.api}/contact-lists/{cape['id']}/export", headers=headers, timeout=10
    ).json()

    def exported():
        task = requests.get(f"{stack.api}/tasks/{started['id']}", headers=headers, timeout=10).json()
        return task if task["status"] == "completed" else None

    file_id = eventually(exported)["result"]["file"]
    link = requests.get(f"{stack.api}/filebox/{file_id}", headers=headers, timeout=10).json()["url"]
    assert requests.get(link, timeout=10).text.splitlines() == [
        "msisdn,first_name,last_name,email,city",
        "27821110001,Ann,,,Cape Town",
        "27821110002,'=Bob,,,Cape Point",
    ]


def test_keywords_and_receipts_over_webhooks_and_sns(stack):
    """STOP by webhook gets a free confirmation in the outbox; its receipt marks it delivered; a STOP
    through End User Messaging's SNS topic reaches the company that owns that number."""
    company = stack.cli("company", "create", "--name", "Keywords", "--credits", "5")
    admin = auth(company["api_key"])
    stack.cli("sender", "add", "--company", str(company["company"]["id"]), "--number", "27820000042")
    requests.patch(f"{stack.api}/company", headers=admin, json={"sender_id": "27820000042"}, timeout=10)
    token = requests.get(f"{stack.api}/company", headers=admin, timeout=10).json()["webhook_token"]
    stop = requests.post(
        f"{stack.api}/webhooks/inbound/{token}", json={"from": "0815854565", "text": "stop"}, timeout=10
    )
    assert stop.json() == {"outcome": "opted_out"}
    reply = eventually(lambda: [line for line in stack.outbox if line["to"] == "27815854565"])[0]
    assert reply["from"] == "27820000042" and "opted out" in reply["text"]
    receipt = requests.post(
        f"{stack.api}/webhooks/status/{token}",
        json={"id": reply["message_id"], "status": "delivered"},
        timeout=10,
    )
    assert receipt.json()["applied"] == 1
    (message,) = requests.get(f"{stack.api}/messages", headers=admin, timeout=10).json()["results"]
    assert (message["status"], message["credits"]) == ("delivered", 0)
    session = boto3.session.Session(
        aws_access_key_id="x", aws_secret_access_key="x", region_name="af-south-1"
    )
    sns = session.client("sns", endpoint_url=f"http://127.0.0.1:{stack.moto_port}")
    sns.publish(
        TopicArn="arn:aws:sns:af-south-1:123456789012:colony-local-sms-inbound",
        Message=json.dumps(
            {"originationNumber": "+27815850077", "destinationNumber": "+27820000042", "messageBody": "STOP"}
        ),
    )

    def opted_out():
        listed = requests.get(f"{stack.api}/optouts?originator=27815850077", headers=admin, timeout=10)
        return listed.json()["results"]

    assert eventually(opted_out)[0]["source"] == "keyword"
    assert requests.get(f"{stack.api}/company", headers=admin, timeout=10).json()["credits"] == 5


def test_ctrl_c_stops_every_process(stack):
    """The children run in process groups of their own (so a Ctrl-C reaches the parent alone, which stops
    them in order); each of them stops all the same."""
    pgid = os.getpgid(stack.process.pid)
    children = children_of(stack.process.pid)
    assert len(children) >= 2
    os.killpg(pgid, signal.SIGINT)
    assert stack.process.wait(timeout=60) == 0
    deadline = time.monotonic() + 10
    while any(_alive(child) for child in children) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert [child for child in children if _alive(child)] == []
    assert group_members(pgid) == []
    _stop(stack.process)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
