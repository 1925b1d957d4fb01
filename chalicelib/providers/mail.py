"""Email gateways behind one base (`EmailProvider`, on the gateways' shared `base.Provider`): one email
as MIME, built by Python's `email` package."""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from chalicelib.providers.base import Provider


@dataclass(frozen=True)
class OutgoingEmail:
    """One email as a gateway needs it; `reference` names it for events (m<company>:<id>, d<dep>:<to>)."""

    to: str
    sender: str  # the address it is from
    sender_name: str | None
    reply_to: str | None
    subject: str
    text: str
    html: str | None
    marketing: bool
    reference: str
    unsubscribe_url: str | None = None
    date: datetime | None = None  # when it is sent, by Colony's clock (None: the machine's)

    def mime(self) -> EmailMessage:
        """The message as sent: a text part always, the HTML as its alternative; a marketing email
        carries RFC 8058 one-click unsubscribe headers."""
        message = EmailMessage()
        message["From"] = Address(self.sender_name or "", addr_spec=self.sender)
        message["To"] = self.to
        message["Subject"] = self.subject
        message["Date"] = formatdate(self.date.timestamp() if self.date else None, usegmt=True)
        message["Message-ID"] = make_msgid(domain=self.sender.rpartition("@")[2])
        message["X-Colony-Reference"] = self.reference
        if self.reply_to:
            message["Reply-To"] = self.reply_to
        if self.unsubscribe_url:
            message["List-Unsubscribe"] = f"<{self.unsubscribe_url}>"
            message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        message.set_content(self.text)
        if self.html:
            message.add_alternative(self.html, subtype="html")
        return message


class EmailProvider(Provider):
    """The base of email gateways: `send(OutgoingEmail)` with the SMS gateways' timing and sorting."""

    name = "email"
    channel = "email"

    @abstractmethod
    def _send(self, outgoing: OutgoingEmail) -> str: ...
