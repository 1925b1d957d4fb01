"""The web app in a real browser (Debian's Chromium, driven by Playwright) against the stack `make run`
starts: a member imports and composes, an approver approves in a second browser, the send is watched to
the end and charted. Every screen is checked with axe-core and saved as a screenshot in build/screenshots."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from chalicelib.settings import PROJECT_DIR

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text(encoding="utf-8")
SHOTS = PROJECT_DIR / "build" / "screenshots"
PASSWORD = "tangerine-lighthouse-47"
WIDE, NARROW = {"width": 1440, "height": 900}, {"width": 375, "height": 740}
MESSAGE = "Hi {{first_name}}, it’s sale day at Webshop: everything is half price until Sunday!"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def people(stack) -> dict[str, Any]:
    def made(*args: str) -> dict[str, Any]:
        return stack.cli(*args, "--password-stdin", stdin=PASSWORD + "\n")

    admin = made(
        "company", "create", "--name", "Webshop", "--credits", "1000", "--email", "admin@webshop.example"
    )
    company = str(admin["company"]["id"])
    member = made("user", "create", "--company", company, "--email", "member@webshop.example")
    approver = made(
        "user", "create", "--company", company, "--email", "boss@webshop.example", "--role", "approver"
    )
    made("user", "create", "--company", company, "--email", "forgetful@webshop.example")
    settings = {"quiet_hours": False, "send_rate": 200}  # marketing may go at any hour of the test run
    key = {"Authorization": f"Token {admin['api_key']}"}
    assert requests.patch(f"{stack.api}/company", json=settings, headers=key, timeout=10).status_code == 200
    rival = stack.cli("company", "create", "--name", "Rival")
    rival_key = {"Authorization": f"Token {rival['api_key']}"}
    rival_list = requests.post(
        f"{stack.api}/contact-lists", json={"title": "Theirs"}, headers=rival_key, timeout=10
    )
    return {"admin": admin, "member": member, "approver": approver, "rival_list": rival_list.json()["id"]}


def signed_in(browser: Browser, stack, email: str, viewport=WIDE) -> tuple[BrowserContext, Page]:
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    page.on("pageerror", lambda error: pytest.fail(f"the page threw: {error}"))
    page.goto(f"{stack.api}/app/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Contact lists")).to_be_visible()
    return context, page


def open_screen(page: Page, name: str) -> None:
    page.get_by_role("navigation", name="Screens").get_by_role("link", name=name, exact=True).click()


def check(page: Page, name: str) -> None:
    """No serious or critical accessibility violation (axe-core), no sideways scrolling, a screenshot."""
    page.wait_for_load_state("networkidle")
    page.evaluate(AXE)
    found = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ["violations"]})).violations
            .filter((v) => ["serious", "critical"].includes(v.impact))
            .map((v) => ({id: v.id, help: v.help, nodes: v.nodes.map((n) => n.target.join(" "))}))"""
    )
    assert found == [], f"{name}: {json.dumps(found, indent=1)}"
    width = page.viewport_size["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= width, f"{name} scrolls sideways"
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def csv_of_200_rows_with_3_bad() -> str:
    rows = [f"0{82_000_0000 + n},Friend{n}\r\n" for n in range(197)]
    rows[10:10] = ["12345,Short\r\n", "not a number,Words\r\n", "0000,Zeros\r\n"]
    return "Mobile,First Name\r\n" + "".join(rows)


def test_a_campaign_from_the_spreadsheet_to_the_chart(browser, stack, people, tmp_path):
    context, page = signed_in(browser, stack, "member@webshop.example")
    check(page, "lists-empty")
    upload = tmp_path / "customers.csv"
    upload.write_text(csv_of_200_rows_with_3_bad(), encoding="utf-8")
    page.get_by_label("Title of the new list").fill("Customers")
    page.locator('form[aria-label="Import a new list"] input[type=file]').set_input_files(str(upload))
    page.get_by_role("button", name="Import", exact=True).click()
    outcome = page.locator(".job.completed")
    expect(outcome).to_be_visible(timeout=60_000)
    counts = {
        name: outcome.locator(f'[data-count="{name}"] strong').inner_text()
        for name in ("rows", "imported", "duplicates", "rejected")
    }
    assert counts == {"rows": "200", "imported": "197", "duplicates": "0", "rejected": "3"}
    errors_file = outcome.get_by_role("link", name=re.compile("Download the rejected rows"))
    expect(errors_file).to_be_visible()
    rejected = requests.get(errors_file.get_attribute("href"), timeout=10).text
    assert "12345" in rejected and "not a number" in rejected
    check(page, "lists-imported")

    page.get_by_role("link", name="Open the new list").click()
    expect(page.get_by_role("heading", name="Customers")).to_be_visible()
    page.get_by_label("Search by number or name").fill("Friend19")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("table tbody tr")).to_have_count(8)  # Friend19 and Friend190 to Friend196
    check(page, "list-contacts")

    open_screen(page, "Compose")
    page.get_by_label("Title").fill("Sale day")
    page.get_by_label(re.compile("Customers")).check()
    page.get_by_label("Message", exact=True).fill(MESSAGE)
    counter = page.get_by_test_id("counter")
    expect(counter.get_by_test_id("ucs2-warning")).to_contain_text("’")
    expect(counter.get_by_test_id("price")).to_have_text("2 credits per person as written")
    expect(counter.get_by_test_id("price-substituted")).to_have_text("1 with GSM substitution")
    expect(counter.locator("mark")).to_have_text("’")
    check(page, "compose")
    page.get_by_role("button", name="Save the draft and quote").click()
    expect(page.get_by_test_id("quote")).to_have_text("197 recipients × 2 segments = 394 credits")
    expect(page.get_by_text("Balance: 1,000 credits")).to_be_visible()
    expect(page.get_by_test_id("sender")).to_have_text(
        "Sent from the gateway's default number: the company has no sender ID (set one in Company to choose)."
    )
    page.get_by_role("button", name="Submit for approval").click()
    expect(page.get_by_test_id("status")).to_have_text("pending approval")
    watch_url = page.url

    boss, approver_page = signed_in(browser, stack, "boss@webshop.example")
    open_screen(approver_page, "Approve")
    card = approver_page.get_by_role("article").filter(has_text="Sale day")
    expect(card.get_by_text("394 credits")).to_be_visible()
    check(approver_page, "approve")
    card.get_by_role("button", name="Approve").click()
    expect(approver_page.get_by_test_id("status")).to_have_text(re.compile("approved|sending|sent"))
    boss.close()

    page.goto(watch_url)
    expect(page.get_by_test_id("status")).to_have_text("sent", timeout=90_000)
    expect(page.locator('[data-count="sent"]')).to_have_text("197")
    recipients = page.get_by_role("table", name="Recipients (the first 100)")
    expect(recipients.locator("tbody tr")).to_have_count(100)
    page.get_by_label("Show").select_option("failed")
    expect(page.get_by_text("No recipient in this status.")).to_be_visible()
    page.get_by_role("button", name="Report to the filebox").click()
    expect(page.get_by_role("link", name=re.compile(r"Download it: .*\.csv"))).to_be_visible(timeout=30_000)
    check(page, "watch")
    page.get_by_role("link", name="Its stats").click()
    page.get_by_label("Period").select_option("hourly")
    expect(page.locator('[data-total="sms_sent_count"] strong')).to_have_text("197")
    drawn = page.evaluate("window.Chart.getChart(document.querySelector('canvas')).data.datasets[0].data")
    assert sum(drawn) == 197
    check(page, "stats")
    context.close()


def test_a_member_sees_no_admin_screen_and_another_companys_ids_are_not_found(browser, stack, people):
    context, page = signed_in(browser, stack, "member@webshop.example", viewport=NARROW)
    nav = page.get_by_role("navigation", name="Screens")
    expect(nav.get_by_role("link", name="Lists")).to_be_visible()
    assert nav.get_by_role("link", name="Company").count() == 0
    assert nav.get_by_role("link", name="Approve").count() == 0
    page.goto(f"{stack.api}/app/#/company")
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    page.goto(f"{stack.api}/app/#/lists/{people['rival_list']}")
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    expect(page.get_by_text(f"There is no contact list {people['rival_list']}.")).to_be_visible()
    for screen in ("deployments", "optouts", "filebox", "queries", "account"):
        page.goto(f"{stack.api}/app/#/{screen}")
        page.wait_for_selector("main h1")
        check(page, f"{screen}-375")
    context.close()


def test_the_test_mode_switch_shows_the_banner_and_only_the_test_data(browser, stack, people):
    key = {"Authorization": f"Token {people['member']['api_key']}"}
    made = requests.post(
        f"{stack.api}/contact-lists", json={"title": "Live regulars"}, headers=key, timeout=10
    )
    assert made.status_code == 201, made.text
    context, page = signed_in(browser, stack, "member@webshop.example")
    banner = page.get_by_text("Test mode — nothing is sent or charged")
    expect(page.get_by_text("Live regulars")).to_be_visible()
    expect(banner).to_be_hidden()
    page.get_by_label("Test mode").check()
    expect(banner).to_be_visible()
    expect(page.get_by_role("heading", name="Contact lists")).to_be_visible()
    expect(page.get_by_text("Live regulars")).to_have_count(0)
    check(page, "lists-test-mode")
    page.get_by_label("Test mode").uncheck()
    expect(banner).to_be_hidden()
    expect(page.get_by_text("Live regulars")).to_be_visible()
    context.close()


def test_an_admin_invites_people_and_makes_a_key_shown_once(browser, stack, people):
    context, page = signed_in(browser, stack, "admin@webshop.example")
    open_screen(page, "Company")
    expect(page.get_by_test_id("balance")).to_have_text(re.compile(r"Credits: \d"))
    form = page.get_by_role("form", name="Invite a user")
    form.get_by_label("Email").fill("new@webshop.example")
    form.get_by_role("button", name="Invite").click()
    invite = page.get_by_label("Invite link").first
    expect(invite).to_have_value(re.compile(r"/app/#/password/cl_"))
    page.get_by_role("button", name="Create a key").click()
    expect(page.get_by_label("The new API key")).to_have_value(re.compile(r"^ck_"))
    check(page, "company")
    callbacks = page.get_by_role("form", name="Callback URL")
    callbacks.get_by_label("Callback URL").fill("http://10.0.0.1/events")
    callbacks.get_by_role("button", name="Save the callback URL").click()
    expect(callbacks.locator('[data-field="callback_url"] .field-error')).not_to_be_empty()
    callbacks.get_by_label("Callback URL").fill("http://127.0.0.1:9/events")
    callbacks.get_by_role("button", name="Save the callback URL").click()
    expect(page.get_by_label("The callback secret")).to_have_value(re.compile(r"^whsec_"))
    settings = page.get_by_role("form", name="Company settings")
    settings.get_by_label("Name", exact=True).fill("")
    settings.get_by_role("button", name="Save the settings").click()
    expect(settings.locator('[data-field="name"] .field-error')).not_to_be_empty()
    expect(settings.get_by_label("Name", exact=True)).to_have_attribute("aria-invalid", "true")
    link = invite.input_value()
    context.close()

    newcomer = browser.new_context(viewport=WIDE)
    page = newcomer.new_page()
    page.goto(link)
    page.get_by_label("New password").fill("password1234")
    page.get_by_role("button", name="Set the password").click()
    expect(page.locator('[data-field="password"] .field-error')).not_to_be_empty()
    page.get_by_label("New password").fill("a-brand-new-passphrase")
    page.get_by_role("button", name="Set the password").click()
    expect(page.get_by_role("heading", name="Contact lists")).to_be_visible()
    newcomer.close()


def test_five_wrong_passwords_lock_the_address(browser, stack, people):
    context = browser.new_context(viewport=WIDE)
    page = context.new_page()
    page.goto(f"{stack.api}/app/")
    check(page, "sign-in")
    page.get_by_label("Email").fill("forgetful@webshop.example")
    for _ in range(5):
        page.get_by_label("Password").fill("not-the-password-at-all")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("alert")).to_have_text("The email or password is not right.")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("Too many failed sign-ins")
    context.close()


def test_each_tab_acts_in_the_mode_its_own_switch_and_banner_show(browser, stack, people):
    context, first = signed_in(browser, stack, "member@webshop.example")
    second = context.new_page()
    second.goto(f"{stack.api}/app/")
    second.get_by_label("Email").fill("member@webshop.example")
    second.get_by_label("Password").fill(PASSWORD)
    second.get_by_role("button", name="Sign in").click()
    expect(second.get_by_role("heading", name="Contact lists")).to_be_visible()
    first.bring_to_front()
    first.get_by_label("Test mode").check()
    expect(first.get_by_text("Test mode — nothing is sent or charged")).to_be_visible()
    second.bring_to_front()
    shows_test = second.evaluate("!document.getElementById('test-banner').hidden")
    second.get_by_label("Title", exact=True).fill("Made in the second tab")
    second.get_by_role("button", name="Create the list").click()
    expect(second.get_by_role("heading", name="Made in the second tab")).to_be_visible()
    key = {"Authorization": f"Token {people['member']['api_key']}"}
    live = requests.get(f"{stack.api}/contact-lists", headers=key, timeout=10).json()["results"]
    in_live = any(item["title"] == "Made in the second tab" for item in live)
    assert in_live == (not shows_test), (
        f"the second tab showed {'test' if shows_test else 'live'} mode but wrote to "
        f"{'live' if in_live else 'test'} data"
    )
    context.close()
