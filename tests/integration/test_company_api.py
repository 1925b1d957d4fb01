from chalicelib.models.companies import Company

ISO = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"


def test_company_shows_settings_and_hides_the_webhook_token_from_non_admins(api, tenants):
    acme, _ = tenants
    admin_view = api.get("/company", acme.admin).body
    member_view = api.get("/company", acme.member).body
    assert admin_view["id"] == acme.id
    assert admin_view["credits"] == 1000
    assert admin_view["default_region"] == "ZA"
    assert admin_view["timezone"] == "Africa/Johannesburg"
    assert admin_view["optout_text"] == "Reply STOP to opt out"
    assert admin_view["quiet_hours"] is True
    assert admin_view["require_second_approver"] is True
    assert len(admin_view["webhook_token"]) >= 32
    assert "webhook_token" not in member_view
    assert {k: v for k, v in admin_view.items() if k != "webhook_token"} == member_view


def test_dates_are_utc_iso_with_z(api, tenants):
    import re

    acme, _ = tenants
    body = api.get("/company", acme.admin).body
    assert re.match(ISO, body["date_created"]) and re.match(ISO, body["date_updated"])


def test_admin_updates_settings(api, tenants):
    acme, bravo = tenants
    answer = api.patch(
        "/company",
        acme.admin,
        {"name": "Acme SA", "timezone": "Europe/London", "default_region": "gb", "quiet_hours": False},
    )
    assert answer.status == 200
    assert answer.body["name"] == "Acme SA"
    assert answer.body["default_region"] == "GB"
    stored = Company.get(acme.id)
    assert (stored.timezone, stored.quiet_hours) == ("Europe/London", False)
    assert Company.get(bravo.id).name == "Bravo"


def test_non_admins_cannot_update_and_nothing_changes(api, tenants):
    acme, _ = tenants
    for role in ("approver", "member"):
        answer = api.patch("/company", acme.as_role(role), {"name": "Hijacked"})
        assert answer.status == 403
        assert answer.error_code == "forbidden"
    assert Company.get(acme.id).name == "Acme"


def test_credits_are_never_client_writable(api, tenants):
    acme, _ = tenants
    answer = api.patch("/company", acme.admin, {"credits": 10**9})
    assert answer.status == 400
    assert answer.body["error"]["fields"] == {"credits": ["is read-only"]}
    assert Company.get(acme.id).credits == 1000


def test_bad_settings_name_every_field_and_store_nothing(api, tenants):
    acme, _ = tenants
    answer = api.patch(
        "/company",
        acme.admin,
        {"name": "Fine", "timezone": "Mars/Base", "default_region": "QQ", "quiet_hours": "yes"},
    )
    assert answer.status == 400
    assert set(answer.body["error"]["fields"]) == {"quiet_hours"}
    answer = api.patch(
        "/company", acme.admin, {"name": "Fine", "timezone": "Mars/Base", "default_region": "QQ"}
    )
    assert answer.status == 400
    assert set(answer.body["error"]["fields"]) == {"timezone", "default_region"}
    stored = Company.get(acme.id)
    assert (stored.name, stored.timezone) == ("Acme", "Africa/Johannesburg")


def test_sender_id_can_be_cleared(api, tenants):
    acme, _ = tenants
    assert api.patch("/company", acme.admin, {"sender_id": "ACME"}).body["sender_id"] == "ACME"
    assert api.patch("/company", acme.admin, {"sender_id": None}).body["sender_id"] is None
    assert Company.get(acme.id).sender_id is None
