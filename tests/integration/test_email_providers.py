"""The email gateways: SES v2 against moto (raw MIME, the sender identity), throttling sorted from
rejections, and the embedded stack's outbox of `.eml` files."""

from __future__ import annotations

import email
import email.policy
import json
from pathlib import Path

import pytest
from botocore.stub import Stubber
from moto.backends import get_backend
from moto.core import DEFAULT_ACCOUNT_ID as ACCOUNT_ID

from chalicelib import aws as factory
from chalicelib.providers.base import Permanent, Retryable
from chalicelib.providers.mail import OutgoingEmail
from chalicelib.providers.mail_outbox import MailOutboxProvider
from chalicelib.providers.ses import SesProvider

MARKETING = OutgoingEmail(
    to="ann@example.com",
    sender="news@acme.co.za",
    sender_name="Acme News",
    reply_to="help@acme.co.za",
    subject="Summer sale",
    text="Hello Ann\n\nUnsubscribe: https://colony.example/unsubscribe/t",
    html="<p>Hello <b>Ann</b></p>",
    marketing=True,
    reference="m1:7",
    unsubscribe_url="https://colony.example/unsubscribe/t",
)


def parsed(raw: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)


def test_a_marketing_email_is_text_and_html_with_one_click_unsubscribe_headers():
    message = parsed(MARKETING.mime().as_bytes())
    assert message["From"] == "Acme News <news@acme.co.za>"
    assert (message["To"], message["Subject"], message["Reply-To"]) == (
        "ann@example.com",
        "Summer sale",
        "help@acme.co.za",
    )
    assert message["List-Unsubscribe"] == "<https://colony.example/unsubscribe/t>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message.get_body(("plain",)).get_content().startswith("Hello Ann")
    assert "<b>Ann</b>" in message.get_body(("html",)).get_content()


def test_a_transactional_email_has_no_unsubscribe_headers():
    plain = OutgoingEmail(**{**MARKETING.__dict__, "marketing": False, "unsubscribe_url": None, "html": None})
    message = parsed(plain.mime().as_bytes())
    assert message["List-Unsubscribe"] is None and not message.is_multipart()


def test_ses_sends_the_raw_mime_from_the_company_identity(aws):
    ses = factory.client("sesv2")
    ses.create_email_identity(EmailIdentity="acme.co.za")
    message_id = SesProvider().send(MARKETING)
    backend = get_backend("ses")[ACCOUNT_ID][ses.meta.region_name]
    (sent,) = backend.sent_messages
    assert sent.id == message_id and sent.source == "Acme News <news@acme.co.za>"
    assert set(sent.destinations) == {"ann@example.com"}  # moto adds the To header's address again
    assert "List-Unsubscribe-Post: List-Unsubscribe=One-Click" in sent.raw_data


def test_ses_refuses_an_unverified_identity_as_permanent(aws):
    with pytest.raises(Permanent):
        SesProvider().send(MARKETING)


@pytest.mark.parametrize(
    ("code", "status", "kind"),
    [
        ("TooManyRequestsException", 429, Retryable),
        ("InternalFailure", 500, Retryable),
        ("MessageRejected", 400, Permanent),
        ("BadRequestException", 400, Permanent),
    ],
)
def test_ses_throttling_is_retryable_and_a_rejection_is_permanent(aws, code, status, kind):
    client = factory.client("sesv2")
    with Stubber(client) as stub:
        stub.add_client_error("send_email", service_error_code=code, http_status_code=status)
        with pytest.raises(kind) as raised:
            SesProvider().send(MARKETING)
    assert raised.value.code == code


def test_the_outbox_writes_an_eml_per_email_and_a_json_line(tmp_path, monkeypatch):
    monkeypatch.setenv("COLONY_MAIL_DIR", str(tmp_path / "mail"))
    monkeypatch.setenv("COLONY_EMAIL_OUTBOX", str(tmp_path / "outbox-email.jsonl"))
    message_id = MailOutboxProvider().send(MARKETING)
    (line,) = [json.loads(x) for x in (tmp_path / "outbox-email.jsonl").read_text().splitlines()]
    assert (line["message_id"], line["to"], line["reference"]) == (message_id, "ann@example.com", "m1:7")
    eml = parsed(Path(line["eml"]).read_bytes())
    assert eml["Subject"] == "Summer sale" and eml["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
