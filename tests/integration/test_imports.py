"""CSV imports end to end in-process: API → S3 → notification → imports queue → worker → contacts."""

import json
import random
from pathlib import Path

import pytest

from chalicelib import aws, storage
from chalicelib.domain.imports import importer, jobs
from chalicelib.models import batch
from chalicelib.models.contacts import Contact, ContactList
from chalicelib.models.files import File
from chalicelib.models.imports import Import
from chalicelib.settings import get_settings
from tests.api_client import multipart
from tests.factories import create_contact_list, create_contacts, create_import

FIXTURES = Path(__file__).parent.parent / "fixtures" / "csv"


def post_file(api, member, name, data, list_id=None, title=None):
    body, content_type = multipart({"title": title} if title else {}, {"file": (name, data)})
    path = f"/contact-lists/{list_id}/import" if list_id else "/contact-lists/import"
    return api.call("POST", path, member, raw=body, headers={"Content-Type": content_type})


def import_file(api, pump, member, name, data=None, **kw):
    started = post_file(api, member, name, data if data is not None else (FIXTURES / name).read_bytes(), **kw)
    assert started.status == 202, started.body
    pump.drain()
    return api.get(f"/imports/{started.body['id']}", member).body


def numbers(list_id):
    return sorted(c.msisdn for c in Contact.query(list_id))


def error_rows(job, company):
    text = storage.get(File.get(company, job["errors_file"]).key).decode()
    return [line.split(",", 3) for line in text.strip().splitlines()[1:]]


@pytest.mark.parametrize(
    ("name", "counts", "expected"),
    [
        ("excel_export.csv", (5, 3, 1, 1), ["27731234567", "27815854565", "27821234567"]),
        ("semicolon.csv", (3, 3, 0, 0), ["27711234567", "27729876543", "27839876543"]),
        ("windows1252.csv", (3, 3, 0, 0), ["27821112222", "27823334444", "27825556666"]),
        ("quoted_multiline.csv", (3, 3, 0, 0), ["27761230001", "27761230002", "27761230003"]),
        ("messy.csv", (9, 4, 3, 2), ["27815854565", "27821234567", "27831234567", "27841234567"]),
        ("odd_headers.csv", (2, 2, 0, 0), ["27791234567", "27791234568"]),
        ("utf16_tabs.csv", (2, 2, 0, 0), ["27721111111", "27722222222"]),
        ("headerless.csv", (3, 3, 0, 0), ["27815854565", "27821234567", "27831234567"]),
    ],
)
def test_realistic_files_import_with_exact_counts(api, tenants, pump, name, counts, expected):
    acme, _ = tenants
    job = import_file(api, pump, acme.member, name)
    assert job["status"] == "completed", job
    assert (job["rows"], job["imported"], job["duplicates"], job["rejected"]) == counts
    assert numbers(job["contact_list"]) == expected
    assert api.get(f"/contact-lists/{job['contact_list']}", acme.member).body["contact_count"] == len(
        expected
    )


def test_names_and_other_columns_land_on_the_contact(api, tenants, pump):
    acme, _ = tenants
    job = import_file(api, pump, acme.member, "windows1252.csv")
    jose = Contact.get(job["contact_list"], "27821112222")
    assert (jose.first_name, jose.last_name, jose.fields.as_dict()) == (
        "José",
        "Müller",
        {"notes": "Café owner"},
    )
    job = import_file(api, pump, acme.member, "quoted_multiline.csv")
    smith = Contact.get(job["contact_list"], "27761230001")
    assert smith.fields.as_dict()["address"] == "12 Long St\nCape Town\n8001"


def test_every_row_not_imported_is_in_the_error_file_with_its_reason(api, tenants, pump):
    acme, _ = tenants
    job = import_file(api, pump, acme.member, "messy.csv")
    assert error_rows(job, acme.id) == [
        ["4", "'+27 81 585 4565", "duplicate", "same number as row 2"],
        ["6", "27815854565", "duplicate", "same number as row 2"],
        ["7", "not a number", "invalid_number", ""],
        ["8", "", "missing_number", ""],
        ["12", "0821234567", "duplicate", "same number as row 9"],
    ]
    listed = api.get("/filebox", acme.member).body["results"]
    assert [f["id"] for f in listed] == [job["errors_file"]]
    assert listed[0]["url"].startswith("https://")


def test_an_address_is_normalised_and_a_bad_one_rejects_its_row_as_invalid_email(api, tenants, pump):
    acme, _ = tenants
    data = b"mobile,email\r\n0815854565,Ann@Example.COM\r\n0821234567,not-an-address\r\n0831234567,\r\n"
    job = import_file(api, pump, acme.member, "emails.csv", data)
    assert (job["rows"], job["imported"], job["rejected"]) == (3, 2, 1)
    assert Contact.get(job["contact_list"], "27815854565").email == "Ann@example.com"
    assert Contact.get(job["contact_list"], "27831234567").email is None
    ((row, value, reason, detail),) = error_rows(job, acme.id)
    assert (row, value, reason) == ("3", "not-an-address", "invalid_email")
    assert detail.startswith("must be an email address")


def test_a_file_of_addresses_imports_contacts_reached_by_email_alone(api, tenants, pump):
    acme, _ = tenants
    data = b"Email,Name\r\nAnn@Example.com,Ann\r\nbob@example.com,Bob\r\nann@example.com,Again\r\n"
    data += b"nope,X\r\n,Y\r\n"
    job = import_file(api, pump, acme.member, "newsletter.csv", data)
    assert (job["rows"], job["imported"], job["duplicates"], job["rejected"]) == (5, 2, 1, 2)
    listed = api.get(f"/contact-lists/{job['contact_list']}/contacts", acme.member).body["results"]
    assert sorted((c["msisdn"], c["email"], c["first_name"]) for c in listed) == [
        (None, "Ann@example.com", "Ann"),
        (None, "bob@example.com", "Bob"),
    ]
    assert [(r[0], r[2]) for r in error_rows(job, acme.id)] == [
        ("4", "duplicate"),
        ("5", "invalid_email"),
        ("6", "invalid_email"),
    ]
    again = import_file(api, pump, acme.member, "newsletter.csv", data, list_id=job["contact_list"])
    assert again["updated"] == 2  # the same addresses: updated, not doubled
    assert ContactList.get(acme.id, job["contact_list"]).contact_count == 2


def test_a_row_with_an_address_and_no_number_is_keyed_by_its_address(api, tenants, pump):
    acme, _ = tenants
    data = b"mobile,email,name\r\n0815854565,ann@example.com,Ann\r\n,bob@example.com,Bob\r\n,,Carl\r\n"
    job = import_file(api, pump, acme.member, "mixed.csv", data)
    assert (job["rows"], job["imported"], job["rejected"]) == (3, 2, 1)
    assert Contact.get(job["contact_list"], "27815854565").email == "ann@example.com"
    assert Contact.get(job["contact_list"], "bob@example.com").email == "bob@example.com"


def test_a_new_list_is_titled_from_the_form_or_the_file(api, tenants, pump):
    acme, _ = tenants
    titled = import_file(api, pump, acme.member, "semicolon.csv", title="Gauteng leads")
    untitled = import_file(api, pump, acme.member, "semicolon.csv")
    assert ContactList.get(acme.id, titled["contact_list"]).title == "Gauteng leads"
    assert ContactList.get(acme.id, untitled["contact_list"]).title == "semicolon"


def test_importing_into_a_list_updates_known_numbers_and_keeps_their_ids(api, tenants, pump):
    acme, _ = tenants
    contact_list = create_contact_list(acme.id)
    (known,) = create_contacts(
        acme.id, contact_list.id, "27815854565", first_name="Old", fields={"vip": "yes"}
    )
    job = import_file(api, pump, acme.member, "excel_export.csv", list_id=contact_list.id)
    assert (job["rows"], job["imported"], job["updated"], job["duplicates"], job["rejected"]) == (
        5,
        3,
        1,
        1,
        1,
    )
    merged = Contact.get(contact_list.id, "27815854565")
    assert merged.id == known.id
    assert merged.first_name == "Thandi"
    assert merged.fields.as_dict() == {"vip": "yes", "city": "Johannesburg"}
    assert ContactList.get(acme.id, contact_list.id).contact_count == 3


def test_files_that_are_not_csvs_fail_clearly_without_retrying(api, tenants, pump):
    acme, _ = tenants
    for name, words in (
        ("spreadsheet.xlsx", "not a CSV"),
        ("no_phone_column.csv", "phone number or email column"),
    ):
        job = import_file(api, pump, acme.member, name)
        assert job["status"] == "failed"
        assert words in job["error"]
        assert Import.get(acme.id, job["id"]).invocations == 1
    assert pump.dead_letters("imports") == []


def test_an_empty_file_is_refused_at_the_door(api, tenants):
    acme, _ = tenants
    answer = post_file(api, acme.member, "empty.csv", b"")
    assert answer.status == 400
    assert answer.body["error"]["fields"] == {"file": ["is empty"]}


def test_a_file_too_big_to_post_points_to_uploads(api, tenants, monkeypatch):
    acme, _ = tenants
    monkeypatch.setattr(jobs, "MAX_DIRECT_BYTES", 100)
    answer = post_file(api, acme.member, "excel_export.csv", (FIXTURES / "excel_export.csv").read_bytes())
    assert answer.status == 413
    assert "/uploads" in answer.body["error"]["message"]
    assert list(ContactList.query(acme.id)) == []


def test_a_post_without_a_file_field_is_400(api, tenants):
    acme, _ = tenants
    body, content_type = multipart({"title": "x"}, {})
    answer = api.call(
        "POST", "/contact-lists/import", acme.member, raw=body, headers={"Content-Type": content_type}
    )
    assert answer.status == 400
    assert "file" in answer.body["error"]["fields"]


def _notification_messages():
    sqs = aws.client("sqs")
    url = sqs.get_queue_url(QueueName=get_settings().queue("imports"))["QueueUrl"]
    return sqs, url


def test_a_duplicated_s3_event_imports_nothing_twice(api, tenants, pump):
    acme, _ = tenants
    sqs, url = _notification_messages()
    started = post_file(api, acme.member, "messy.csv", (FIXTURES / "messy.csv").read_bytes())
    notification = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    bodies = [m["Body"] for m in notification if "Records" in m["Body"]]
    sqs.change_message_visibility(
        QueueUrl=url, ReceiptHandle=notification[-1]["ReceiptHandle"], VisibilityTimeout=0
    )
    for body in bodies:
        sqs.send_message(QueueUrl=url, MessageBody=body)
    for m in notification:
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0)
    pump.drain()
    job = api.get(f"/imports/{started.body['id']}", acme.member).body
    assert (job["rows"], job["imported"], job["duplicates"], job["rejected"]) == (9, 4, 3, 2)
    assert Import.get(acme.id, job["id"]).invocations == 1
    assert len(error_rows(job, acme.id)) == 5
    assert numbers(job["contact_list"]) == ["27815854565", "27821234567", "27831234567", "27841234567"]


def big_file(rows: int, seed: int = 7) -> bytes:
    """Names, earlier numbers again in other spellings, bad numbers and blank lines, like a real export."""
    rng = random.Random(seed)
    lines, earlier = ["Mobile Number,First Name,Last Name,City"], []
    for n in range(rows):
        number = f"0{rng.choice('678')}{rng.randrange(10)}{rng.randrange(10**7):07d}"
        kind = rng.random()
        if kind < 0.05:
            number = "12345"
        elif kind < 0.12 and earlier:
            again = rng.choice(earlier)
            number = "+27 " + again[1:3] + " " + again[3:6] + " " + again[6:]
        elif kind < 0.14:
            lines.append("")
        earlier.append(number) if number.startswith("0") else None
        lines.append(f"{number},Name{n},Surname{n},City{n % 7}")
    return ("\r\n".join(lines) + "\r\n").encode()


def _outcome(job, company):
    contacts = sorted(
        (c.msisdn, c.first_name, c.last_name, json.dumps(c.fields.as_dict(), sort_keys=True))
        for c in Contact.query(job["contact_list"])
    )
    counts = (job["rows"], job["imported"], job["updated"], job["duplicates"], job["rejected"])
    return counts, contacts, error_rows(job, company)


def test_an_import_split_across_three_invocations_equals_one_pass(api, tenants, pump, monkeypatch):
    acme, _ = tenants
    data = big_file(900)
    one_pass = import_file(api, pump, acme.member, "big.csv", data)
    monkeypatch.setenv("COLONY_IMPORT_ROWS_PER_INVOCATION", "350")
    split = import_file(api, pump, acme.member, "big.csv", data)
    assert Import.get(acme.id, one_pass["id"]).invocations == 1
    assert Import.get(acme.id, split["id"]).invocations == 3
    assert _outcome(split, acme.id) == _outcome(one_pass, acme.id)
    assert split["duplicates"] > 0 and split["rejected"] > 0
    leftovers = (
        aws.client("s3").list_objects_v2(Bucket=get_settings().bucket, Prefix="state/").get("KeyCount")
    )
    assert leftovers == 0


def test_a_crash_mid_invocation_resumes_to_the_one_pass_result(api, tenants, pump, monkeypatch):
    acme, _ = tenants
    data = big_file(700, seed=3)
    one_pass = import_file(api, pump, acme.member, "big.csv", data)
    monkeypatch.setenv("COLONY_IMPORT_ROWS_PER_INVOCATION", "300")
    real_write = batch.write_items
    writes = {"n": 0}

    before_crash = {}

    def crash_once(table, items):
        writes["n"] += 1
        if writes["n"] == 5:
            before_crash.update({c.msisdn: c.id for c in Contact.query(int(items[0]["contact_list"]["N"]))})
            raise RuntimeError("Lambda died here")
        return real_write(table, items)

    monkeypatch.setattr(batch, "write_items", crash_once)
    crashed = import_file(api, pump, acme.member, "big.csv", data)
    assert crashed["status"] == "completed"
    assert writes["n"] > 5
    after = {c.msisdn: c.id for c in Contact.query(crashed["contact_list"])}
    assert before_crash and all(after[number] == id_ for number, id_ in before_crash.items())
    assert Import.get(acme.id, crashed["id"]).invocations >= 3
    assert _outcome(crashed, acme.id) == _outcome(one_pass, acme.id)


def test_a_job_whose_worker_vanished_is_resumed_once_its_lease_expires(api, tenants, pump, monkeypatch):
    acme, _ = tenants
    data = big_file(300, seed=5)
    one_pass = import_file(api, pump, acme.member, "big.csv", data)
    started = post_file(api, acme.member, "big.csv", data)
    job = Import.get(acme.id, started.body["id"])
    job.update(
        actions=[
            Import.lease_owner.set("a-lambda-that-was-killed"),
            Import.lease_until.set(2**40),
            Import.status.set("running"),
        ]
    )
    pump.drain()
    assert Import.get(acme.id, job.id).status == "running"
    job.update(actions=[Import.lease_until.set(1)])
    importer.run(acme.id, job.id, should_pause=lambda rows: False)
    resumed = api.get(f"/imports/{job.id}", acme.member).body
    assert _outcome(resumed, acme.id) == _outcome(one_pass, acme.id)


def test_a_poison_message_goes_to_the_dead_letter_queue(pump):
    sqs, url = _notification_messages()
    sqs.send_message(QueueUrl=url, MessageBody='{"type": "import.continue", "company": "x"}')
    pump.drain()
    assert pump.dead_letters("imports") == ['{"type": "import.continue", "company": "x"}']


def test_an_import_fails_clearly_if_its_list_is_deleted_first(api, tenants, pump):
    acme, _ = tenants
    contact_list = create_contact_list(acme.id)
    started = post_file(
        api, acme.member, "semicolon.csv", (FIXTURES / "semicolon.csv").read_bytes(), list_id=contact_list.id
    )
    assert api.delete(f"/contact-lists/{contact_list.id}", acme.member).status == 204
    pump.drain()
    job = api.get(f"/imports/{started.body['id']}", acme.member).body
    assert job["status"] == "failed"
    assert "deleted" in job["error"]
    assert Contact.count(contact_list.id) == 0


def test_a_presigned_upload_starts_the_import_by_itself(api, tenants, pump):
    acme, _ = tenants
    answer = api.post(
        "/uploads", acme.member, {"kind": "contacts", "filename": "from browser.csv", "title": "Web"}
    )
    assert answer.status == 201
    assert answer.body["fields"]["key"].startswith(f"uploads/{acme.id}/{answer.body['import']['id']}/")
    assert answer.body["import"]["status"] == "pending"
    # What the browser's form POST to S3 amounts to:
    aws.client("s3").put_object(
        Bucket=get_settings().bucket,
        Key=answer.body["fields"]["key"],
        Body=(FIXTURES / "excel_export.csv").read_bytes(),
    )
    pump.drain()
    job = api.get(f"/imports/{answer.body['import']['id']}", acme.member).body
    assert (job["status"], job["imported"]) == ("completed", 3)
    assert ContactList.get(acme.id, job["contact_list"]).title == "Web"


def test_upload_requests_are_checked(api, tenants):
    acme, bravo = tenants
    theirs = create_contact_list(bravo.id)
    assert api.post("/uploads", acme.member, {"kind": "pictures", "filename": "a.csv"}).status == 400
    assert api.post("/uploads", acme.member, {"kind": "contacts"}).status == 400
    assert (
        api.post(
            "/uploads", acme.member, {"kind": "contacts", "filename": "a.csv", "contact_list": theirs.id}
        ).status
        == 404
    )
    assert list(ContactList.query(acme.id)) == []


def test_a_failed_import_reads_back_its_counts_and_reason(api, tenants):
    acme, bravo = tenants
    customers = create_contact_list(acme.id)
    job = create_import(
        acme.id,
        acme.member.user.id,
        customers.id,
        "failed",
        rows=40,
        imported=12,
        rejected=3,
        progress=30,
        error="The file was replaced while it was imported.",
    )
    read = api.get(f"/imports/{job.id}", acme.member).body
    assert {k: read[k] for k in ("contact_list", "status", "rows", "imported", "rejected", "error")} == {
        "contact_list": customers.id,
        "status": "failed",
        "rows": 40,
        "imported": 12,
        "rejected": 3,
        "error": "The file was replaced while it was imported.",
    }
    assert read["date_completed"] is not None
    assert api.get(f"/imports/{job.id}", bravo.admin).status == 404


def test_imports_and_their_files_are_404_across_companies(api, tenants, pump):
    acme, bravo = tenants
    theirs = create_contact_list(bravo.id)
    job = import_file(api, pump, bravo.member, "messy.csv")
    assert api.get(f"/imports/{job['id']}", acme.admin).status == 404
    assert api.get(f"/filebox/{job['errors_file']}", acme.admin).status == 404
    assert api.get("/filebox", acme.admin).body["results"] == []
    assert (
        post_file(api, acme.admin, "semicolon.csv", b"msisdn\n0815854565\n", list_id=theirs.id).status == 404
    )
    assert Contact.count(theirs.id) == 0


def test_a_users_files_are_theirs_and_their_admins(api, tenants, pump):
    acme, _ = tenants
    job = import_file(api, pump, acme.member, "messy.csv")
    assert api.get(f"/filebox/{job['errors_file']}", acme.approver).status == 404
    assert api.get("/filebox", acme.approver).body["results"] == []
    assert api.get(f"/filebox/{job['errors_file']}", acme.admin).status == 200


def test_a_completion_that_fails_halfway_is_retried_without_counting_twice(api, tenants, pump, monkeypatch):
    acme, _ = tenants
    data = big_file(400, seed=9)
    one_pass = import_file(api, pump, acme.member, "big.csv", data)
    real = storage.concatenate
    calls = {"n": 0}

    def fails_once(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("S3 hiccup while gathering the error rows")
        return real(*args, **kwargs)

    monkeypatch.setattr(storage, "concatenate", fails_once)
    retried = import_file(api, pump, acme.member, "big.csv", data)
    assert calls["n"] == 2
    assert _outcome(retried, acme.id) == _outcome(one_pass, acme.id)
    assert ContactList.get(acme.id, retried["contact_list"]).contact_count == retried["imported"]


def test_a_pause_after_the_last_row_and_a_header_only_file_both_complete(api, tenants, pump, monkeypatch):
    acme, _ = tenants
    monkeypatch.setenv("COLONY_IMPORT_ROWS_PER_INVOCATION", "100")
    rows100 = "msisdn\n" + "".join(f"2782{n:07d}\n" for n in range(100))
    job = import_file(api, pump, acme.member, "exact.csv", rows100.encode())
    assert (job["status"], job["rows"], job["imported"]) == ("completed", 100, 100)
    assert Import.get(acme.id, job["id"]).invocations == 2
    header_only = import_file(api, pump, acme.member, "header.csv", b"msisdn,name\r\n")
    assert (header_only["status"], header_only["rows"]) == ("completed", 0)


def test_a_file_of_nothing_but_bad_rows_still_pauses_on_time(api, tenants, pump, monkeypatch):
    acme, _ = tenants
    monkeypatch.setenv("COLONY_IMPORT_ROWS_PER_INVOCATION", "100")
    data = ("msisdn\n" + "12345\n" * 450).encode()
    job = import_file(api, pump, acme.member, "bad.csv", data)
    assert (job["status"], job["rejected"]) == ("completed", 450)
    assert Import.get(acme.id, job["id"]).invocations == 5


def test_many_repeats_of_one_number_are_resolved_in_bounded_memory(api, tenants, pump, monkeypatch):
    acme, _ = tenants
    lines = ["msisdn"] + [line for n in range(600) for line in (f"2782{n:07d}", "27831234567")]
    data = ("\n".join(lines) + "\n").encode()
    one_pass = import_file(api, pump, acme.member, "repeats.csv", data)
    monkeypatch.setattr(importer, "REPEATS_HELD", 7)
    bounded = import_file(api, pump, acme.member, "repeats.csv", data)
    assert _outcome(bounded, acme.id) == _outcome(one_pass, acme.id)
    assert (bounded["imported"], bounded["duplicates"]) == (601, 599)


def test_a_file_replaced_mid_import_fails_clearly_and_keeps_what_it_imported(api, tenants, pump, monkeypatch):
    acme, _ = tenants
    monkeypatch.setenv("COLONY_IMPORT_ROWS_PER_INVOCATION", "100")
    data = ("msisdn\n" + "".join(f"2782{n:07d}\n" for n in range(300))).encode()
    started = post_file(api, acme.member, "swap.csv", data)
    pump.pump.deliver(next(q for q in pump.pump.queues if q.name == "imports_worker"))
    pump.pump.deliver(next(q for q in pump.pump.queues if q.name == "imports_worker"))
    job = Import.get(acme.id, started.body["id"])
    assert job.status == "running" and job.resume
    aws.client("s3").put_object(
        Bucket=get_settings().bucket, Key=job.source_key, Body=b"msisdn\n27815854565\n"
    )
    pump.drain()
    job = api.get(f"/imports/{started.body['id']}", acme.member).body
    assert job["status"] == "failed"
    assert "replaced" in job["error"]
    kept = Contact.count(job["contact_list"])
    assert kept >= 100
    assert ContactList.get(acme.id, job["contact_list"]).contact_count == kept
