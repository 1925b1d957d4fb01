import pytest

from bench.counting import count_aws_calls
from chalicelib.domain.contacts import optouts
from chalicelib.models.optouts import OptOut
from tests.factories import create_optout


def test_an_optout_is_recorded_once_per_scope(api, tenants):
    acme, _ = tenants
    first = api.post("/optouts", acme.member, {"originator": "081 585 4565", "reason": "asked by phone"})
    assert first.status == 201
    assert {
        k: first.body[k] for k in ("originator", "sender", "reason", "active", "company", "date_overwritten")
    } == {
        "originator": "27815854565",
        "sender": None,
        "reason": "asked by phone",
        "active": True,
        "company": acme.id,
        "date_overwritten": None,
    }
    again = api.post("/optouts", acme.member, {"originator": "+27 81 585 4565"})
    assert again.status == 200
    assert again.body["id"] == first.body["id"]
    assert len(list(OptOut.query(acme.id))) == 1


def test_filter_by_originator_in_any_spelling(api, tenants):
    acme, _ = tenants
    mine = create_optout(acme.id, "27815854565")
    create_optout(acme.id, "27821234567")
    for spelling in ("27815854565", "0815854565", "%2B27%2081%20585%204565", "081-585-4565"):
        found = api.get(f"/optouts?originator={spelling}", acme.member).body["results"]
        assert [o["id"] for o in found] == [mine.id], spelling
    assert api.get("/optouts?originator=nonsense", acme.member).body["results"] == []  # no number: none


def test_opt_out_lift_opt_out_again_reads_top_to_bottom(api, tenants):
    acme, _ = tenants
    first = api.post("/optouts", acme.member, {"originator": "0815854565"}).body
    lifted = api.post(f"/optouts/{first['id']}/overwrite", acme.admin)
    assert lifted.status == 200
    assert lifted.body["active"] is False
    assert lifted.body["overwritten_by"] == acme.admin.user.id
    assert optouts.opted_out(acme.id, None, ["27815854565"]) == set()
    second = api.post("/optouts", acme.member, {"originator": "0815854565"}).body
    api.post(f"/optouts/{second['id']}/overwrite", acme.admin)
    third = api.post("/optouts", acme.member, {"originator": "0815854565", "reason": "again"}).body
    history = api.get("/optouts?originator=0815854565", acme.member).body["results"]
    assert [(o["id"], o["active"]) for o in history] == [
        (third["id"], True),
        (second["id"], False),
        (first["id"], False),
    ]
    assert optouts.opted_out(acme.id, None, ["27815854565"]) == {"27815854565"}
    active = api.get("/optouts?originator=0815854565&active=true", acme.member).body["results"]
    assert [o["id"] for o in active] == [third["id"]]


def test_only_admins_lift_and_a_lifted_optout_cannot_be_lifted_twice(api, tenants):
    acme, _ = tenants
    optout = create_optout(acme.id, "27815854565")
    for role in ("approver", "member"):
        assert api.post(f"/optouts/{optout.id}/overwrite", acme.as_role(role)).status == 403
    assert optouts.opted_out(acme.id, None, ["27815854565"]) == {"27815854565"}
    assert api.post(f"/optouts/{optout.id}/overwrite", acme.admin).status == 200
    twice = api.post(f"/optouts/{optout.id}/overwrite", acme.admin)
    assert twice.status == 409
    assert twice.body["error"]["code"] == "already_lifted"


def test_a_sender_scoped_optout_blocks_only_that_sender(api, tenants):
    acme, _ = tenants
    scoped = api.post("/optouts", acme.member, {"originator": "0815854565", "sender": "ACME"})
    assert scoped.status == 201
    assert optouts.opted_out(acme.id, "ACME", ["27815854565"]) == {"27815854565"}
    assert optouts.opted_out(acme.id, "OTHER", ["27815854565"]) == set()
    assert optouts.opted_out(acme.id, None, ["27815854565"]) == set()
    everyone = api.post("/optouts", acme.member, {"originator": "0815854565"})
    assert everyone.status == 201
    assert optouts.opted_out(acme.id, "OTHER", ["27815854565"]) == {"27815854565"}
    assert api.get("/optouts?sender=ACME", acme.member).body["results"][0]["id"] == scoped.body["id"]
    assert [o["id"] for o in api.get("/optouts?sender=", acme.member).body["results"]] == [
        everyone.body["id"]
    ]


def test_a_sender_is_one_sender_in_any_case_and_a_sender_number_in_any_spelling(api, tenants):
    """A handset shows `ACME`, `Acme` and `acme` alike, and `0821234567` is `27821234567`."""
    acme, _ = tenants
    assert api.post("/optouts", acme.member, {"originator": "0815854565", "sender": "Acme"}).status == 201
    for spelling in ("ACME", "Acme", "acme"):
        assert optouts.opted_out(acme.id, spelling, ["27815854565"]) == {"27815854565"}, spelling
    again = api.post("/optouts", acme.member, {"originator": "0815854565", "sender": "ACME"})
    assert again.status == 200  # the same opt-out, not a second one
    assert (
        api.post("/optouts", acme.member, {"originator": "0825854565", "sender": "0821234567"}).status == 201
    )
    for spelling in ("27821234567", "+27 82 123 4567", "0821234567"):
        assert optouts.opted_out(acme.id, spelling, ["27825854565"]) == {"27825854565"}, spelling


def test_the_batched_check_makes_one_read_per_hundred_numbers(aws, tenants):
    acme, bravo = tenants
    create_optout(acme.id, "27810000001")
    lifted = create_optout(acme.id, "27810000002")
    optouts.overwrite_record(lifted, overwritten_by=None, source="admin")
    create_optout(acme.id, "27810000003", sender="ACME")
    create_optout(acme.id, "27810000004", sender="OTHER")
    create_optout(bravo.id, "27810000005")
    numbers = [f"278100000{n:02d}" for n in range(1, 100)]
    with count_aws_calls() as calls:
        blocked = optouts.opted_out(acme.id, "ACME", numbers)
    assert blocked == {"27810000001", "27810000003"}
    assert dict(calls) == {"dynamodb.BatchGetItem": 2}  # each number asked as itself and as erased
    with count_aws_calls() as calls:
        assert optouts.opted_out(acme.id, None, [*numbers, *numbers, "27810000100"]) == {"27810000001"}
    assert dict(calls) == {"dynamodb.BatchGetItem": 2}
    with count_aws_calls() as calls:
        optouts.opted_out(acme.id, "ACME", [f"2781{n:07d}" for n in range(250)])
    assert dict(calls) == {"dynamodb.BatchGetItem": 5}


def test_bad_optout_input_is_400_and_stores_nothing(api, tenants):
    acme, _ = tenants
    for body in (
        {},
        {"originator": "12"},
        {"originator": "0815854565", "sender": "NOT A VALID ID!"},
        {"originator": "0815854565", "reason": "x" * 201},
        {"originator": "0815854565", "active": False},
    ):
        assert api.post("/optouts", acme.member, body).status == 400, body
    assert api.get("/optouts?active=maybe", acme.member).status == 400
    assert list(OptOut.query(acme.id)) == []


def test_a_companys_optouts_never_reach_another(api, tenants):
    acme, bravo = tenants
    theirs = create_optout(bravo.id, "27815854565")
    assert api.get(f"/optouts/{theirs.id}", acme.admin).status == 404
    assert api.post(f"/optouts/{theirs.id}/overwrite", acme.admin).status == 404
    assert api.get("/optouts", acme.admin).body["results"] == []
    assert api.get("/optouts?originator=27815854565", acme.admin).body["results"] == []
    assert optouts.opted_out(acme.id, None, ["27815854565"]) == set()
    assert optouts.opted_out(bravo.id, None, ["27815854565"]) == {"27815854565"}
    mine = api.post("/optouts", acme.member, {"originator": "27815854565"})
    assert mine.status == 201
    assert mine.body["id"] != theirs.id


def _post_optouts(api, member, data, **form):
    from tests.api_client import multipart

    body, content_type = multipart(form, {"file": ("suppression.csv", data)})
    return api.call("POST", "/optouts/import", member, raw=body, headers={"Content-Type": content_type})


def test_a_suppression_list_of_addresses_imports_email_optouts(api, tenants, pump):
    acme, _ = tenants
    data = (
        b"email,reason\r\nAnn@Example.com,bounced in old tool\r\n0815854565,sms one\r\nnot-an-address,x\r\n"
    )
    started = _post_optouts(api, acme.member, data)
    assert started.status == 202
    pump.drain()
    job = api.get(f"/imports/{started.body['id']}", acme.member).body
    assert (job["status"], job["imported"], job["rejected"]) == ("completed", 1, 2)
    (email_optout,) = api.get("/optouts?channel=email", acme.member).body["results"]
    assert (email_optout["originator"], email_optout["channel"]) == ("ann@example.com", "email")
    assert optouts.opted_out(acme.id, "ANY", ["ann@example.com"]) == {"ann@example.com"}
    scoped = _post_optouts(api, acme.member, b"email\r\nbob@example.com\r\n", sender="ACME")
    pump.drain()
    refused = api.get(f"/imports/{scoped.body['id']}", acme.member).body
    assert (refused["imported"], refused["rejected"]) == (0, 1)  # an email opt-out covers every sender


def test_a_suppression_list_imports_as_optouts_with_its_error_file(api, tenants, pump):
    from chalicelib import storage
    from chalicelib.models.files import File

    acme, _ = tenants
    already = create_optout(acme.id, "27831234567")
    data = (
        b"Number,Reason\r\n"
        b"0815854565,complained\r\n"
        b"+27 82 123 4567,\r\n"
        b"27815854565,again\r\n"
        b"0831234567,already out\r\n"
        b"not a number,x\r\n"
    )
    started = _post_optouts(api, acme.member, data, reason="old CRM list")
    assert started.status == 202
    assert (started.body["kind"], started.body["contact_list"]) == ("optouts", None)
    pump.drain()
    job = api.get(f"/imports/{started.body['id']}", acme.member).body
    assert (
        job["status"],
        job["rows"],
        job["imported"],
        job["updated"],
        job["duplicates"],
        job["rejected"],
    ) == ("completed", 5, 3, 1, 1, 1)
    assert optouts.opted_out(acme.id, "ANY", ["27815854565", "27821234567", "27831234567"]) == {
        "27815854565",
        "27821234567",
        "27831234567",
    }
    records = {o.originator: o for o in OptOut.query(acme.id)}
    assert records["27815854565"].reason == "complained"
    assert records["27821234567"].reason == "old CRM list"
    assert records["27815854565"].source == "import"
    assert records["27831234567"].id == already.id
    errors = storage.get(File.get(acme.id, job["errors_file"]).key).decode().splitlines()
    assert errors[1:] == ["4,27815854565,duplicate,same number as row 2", "6,not a number,invalid_number,"]


def test_imported_optouts_can_be_scoped_to_one_sender(api, tenants, pump):
    acme, _ = tenants
    started = _post_optouts(api, acme.member, b"msisdn\n0815854565\n", sender="ACME")
    assert started.body["sender"] == "ACME"
    pump.drain()
    assert optouts.opted_out(acme.id, "ACME", ["27815854565"]) == {"27815854565"}
    assert optouts.opted_out(acme.id, "OTHER", ["27815854565"]) == set()
    assert _post_optouts(api, acme.member, b"msisdn\n0815854565\n", sender="bad sender!!").status == 400


def test_the_export_lists_active_optouts_in_the_filebox(api, tenants, pump):
    import csv
    import io

    from chalicelib import storage
    from chalicelib.models.files import File

    acme, bravo = tenants
    create_optout(acme.id, "27815854565", reason='=HYPERLINK("http://evil")')
    create_optout(acme.id, "27821234567", sender="ACME")
    lifted = create_optout(acme.id, "27831234567")
    optouts.overwrite_record(lifted, overwritten_by=None, source="admin")
    create_optout(bravo.id, "27841234567")
    assert (
        api.post("/optouts", acme.member, {"originator": "Ann@Example.com", "channel": "email"}).status == 201
    )
    started = api.post("/optouts/export", acme.member)
    assert started.status == 202
    pump.drain()
    task = api.get(f"/tasks/{started.body['id']}", acme.member).body
    assert task["status"] == "completed"
    assert task["result"]["rows"] == 3
    text = storage.get(File.get(acme.id, task["result"]["file"]).key).decode()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["originator", "sender", "reason", "date_opted_out", "source", "id", "channel"]
    assert sorted((r[0], r[1], r[2], r[6]) for r in rows[1:]) == [
        ("27815854565", "", '\'=HYPERLINK("http://evil")', "sms"),
        ("27821234567", "ACME", "", "sms"),
        ("ann@example.com", "", "", "email"),
    ]
    assert api.get(f"/filebox/{task['result']['file']}", acme.member).status == 200
    assert api.get(f"/tasks/{started.body['id']}", bravo.admin).status == 404
    assert api.get(f"/filebox/{task['result']['file']}", bravo.admin).status == 404


def test_an_optout_import_split_across_invocations_equals_one_pass(api, tenants, pump, monkeypatch):
    from chalicelib.models.imports import Import
    from tests.integration.test_imports import big_file

    acme, bravo = tenants
    data = big_file(250, seed=11)
    one_pass_id = _post_optouts(api, bravo.member, data).body["id"]
    pump.drain()
    monkeypatch.setenv("COLONY_IMPORT_ROWS_PER_INVOCATION", "80")
    split_id = _post_optouts(api, acme.member, data).body["id"]
    pump.drain()
    one_pass = api.get(f"/imports/{one_pass_id}", bravo.member).body
    split = api.get(f"/imports/{split_id}", acme.member).body
    keys = ("status", "rows", "imported", "updated", "duplicates", "rejected")
    assert [split[k] for k in keys] == [one_pass[k] for k in keys]
    assert split["duplicates"] > 0
    assert Import.get(acme.id, split_id).invocations >= 2
    assert sorted(o.originator for o in OptOut.query(acme.id)) == sorted(
        o.originator for o in OptOut.query(bravo.id)
    )


def test_an_email_optout_is_one_per_mailbox_listed_by_channel_and_blocks_marketing_email_only(api, tenants):
    acme, bravo = tenants
    made = api.post("/optouts", acme.member, {"originator": "Ann@Example.com", "channel": "email"})
    assert made.status == 201 and made.body["channel"] == "email"
    assert made.body["originator"] == "ann@example.com"
    again = api.post("/optouts", acme.member, {"originator": "ANN@example.COM", "channel": "email"})
    assert again.status == 200 and again.body["id"] == made.body["id"]
    sms = api.post("/optouts", acme.member, {"originator": "0815854565"}).body
    assert sms["channel"] == "sms"
    by_channel = {
        channel: [o["id"] for o in api.get(f"/optouts?channel={channel}", acme.member).body["results"]]
        for channel in ("sms", "email")
    }
    assert by_channel == {"sms": [sms["id"]], "email": [made.body["id"]]}
    found = api.get("/optouts?originator=ann@example.com", acme.member).body["results"]
    assert [o["id"] for o in found] == [made.body["id"]]
    assert optouts.opted_out(acme.id, None, ["ann@example.com"]) == {"ann@example.com"}
    assert optouts.opted_out(bravo.id, None, ["ann@example.com"]) == set()
    assert api.get(f"/optouts/{made.body['id']}", bravo.member).status == 404
    lifted = api.post(f"/optouts/{made.body['id']}/overwrite", acme.admin)
    assert lifted.status == 200 and optouts.opted_out(acme.id, None, ["ann@example.com"]) == set()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"originator": "not-an-address", "channel": "email"}, "originator"),
        ({"originator": "ann@example.com", "channel": "email", "sender": "ACME"}, "sender"),
        ({"originator": "0815854565", "channel": "fax"}, "channel"),
    ],
)
def test_bad_email_optouts_are_400_by_field(api, tenants, body, field):
    acme, _ = tenants
    answer = api.post("/optouts", acme.member, body)
    assert answer.status == 400 and field in answer.body["error"]["fields"]
    assert api.get("/optouts?channel=fax", acme.member).status == 400


def test_the_any_sender_check_names_each_projected_path_once(aws, monkeypatch):
    """Real DynamoDB refuses a projection that names a path twice (moto does not): asking for every
    sender's scope names `all` once, though it is both the company-wide and the asked-for scope."""
    from chalicelib import aws as factory

    client = factory.client("dynamodb")
    asked = []
    real = client.batch_get_item
    monkeypatch.setattr(client, "batch_get_item", lambda **kw: (asked.append(kw), real(**kw))[1])
    optouts.opted_out(1, None, ["27815854565"])
    ((request,),) = [list(kw["RequestItems"].values()) for kw in asked]
    paths = list(request["ExpressionAttributeNames"].values())
    assert sorted(paths) == ["all", "msisdn"]


def test_an_email_optout_that_looks_like_a_formula_is_exported_escaped_and_long_ones_are_taken(
    api, tenants, pump
):
    import csv
    import io

    from chalicelib import storage
    from chalicelib.models.files import File

    acme, _ = tenants
    formula = "=1+cmd@example.com"
    assert api.post("/optouts", acme.member, {"originator": formula, "channel": "email"}).status == 201
    long_address = "a" * 60 + "@" + "b" * 60 + ".example.com"
    assert api.post("/optouts", acme.member, {"originator": long_address, "channel": "email"}).status == 201
    started = api.post("/optouts/export", acme.member)
    pump.drain()
    task = api.get(f"/tasks/{started.body['id']}", acme.member).body
    text = storage.get(File.get(acme.id, task["result"]["file"]).key).decode()
    originators = sorted(row[0] for row in list(csv.reader(io.StringIO(text)))[1:])
    assert originators == sorted(["'" + formula, long_address])


def test_an_overwrite_keeps_its_reason(api, tenants):
    acme, _ = tenants
    optout = create_optout(acme.id, "27815854565")
    lifted = api.post(f"/optouts/{optout.id}/overwrite", acme.admin, {"reason": "asked to rejoin by phone"})
    assert lifted.status == 200 and lifted.body["overwrite_reason"] == "asked to rejoin by phone"
    assert api.get(f"/optouts/{optout.id}", acme.admin).body["overwrite_reason"] == "asked to rejoin by phone"
    other = create_optout(acme.id, "27825854565")
    too_long = api.post(f"/optouts/{other.id}/overwrite", acme.admin, {"reason": "x" * 1000})
    assert too_long.status == 400 and api.get(f"/optouts/{other.id}", acme.admin).body["active"] is True


@pytest.mark.parametrize(
    ("stored", "sent_as"), [("Acme", "Acme"), ("0821234567", "27821234567"), ("+27821234567", "27821234567")]
)
def test_an_opt_out_stored_before_senders_were_folded_still_blocks_and_lifts(api, tenants, stored, sent_as):
    """Before, a sender scope held the sender exactly as typed (`sender:Acme`, `sender:0821234567`) and the
    record named no scope: such an opt-out still blocks its sender, and lifting it frees it."""
    from chalicelib import aws
    from chalicelib.models.optouts import suppression_key, suppressions_table

    acme, _ = tenants
    made = create_optout(acme.id, "27815854565", sender=stored)
    OptOut(company=acme.id, id=made.id).update(actions=[OptOut.scope.remove()])
    if stored.upper() != stored:
        aws.client("dynamodb").update_item(
            TableName=suppressions_table(),
            Key=suppression_key(acme.id, "27815854565"),
            UpdateExpression="REMOVE #new SET #old = :id",
            ExpressionAttributeNames={"#new": f"sender:{stored.upper()}", "#old": f"sender:{stored}"},
            ExpressionAttributeValues={":id": {"N": str(made.id)}},
        )
    assert optouts.opted_out(acme.id, sent_as, ["27815854565"]) == {"27815854565"}
    assert api.post(f"/optouts/{made.id}/overwrite", acme.admin).status == 200
    assert optouts.opted_out(acme.id, sent_as, ["27815854565"]) == set()
