"""The statuses settlement writes (`unknown`, failures before sending), told to a company's callback URL
like the sender's: read back 100 to a request for their sequence, queued ten to a request."""

from __future__ import annotations

from dataclasses import dataclass, field

from chalicelib.domain.callbacks import events
from chalicelib.domain.rules.lifecycle import Delivery
from chalicelib.models.companies import Company
from chalicelib.models.deployments import Recipient, RecipientState
from chalicelib.models.expressions import plain


@dataclass
class Reports:
    """Statuses settlement wrote for a company with a callback URL: told to it, read back 100 to a
    request for the sequence their write gave them, and queued ten to a request."""

    company: int
    keys: list[tuple[int, str]] = field(default_factory=list)

    def add(self, recipient: Recipient | RecipientState) -> None:
        self.keys.append((recipient.deployment, recipient.msisdn))

    def flush(self) -> None:
        keys, self.keys = list(dict.fromkeys(self.keys)), []
        for start in range(0, len(keys), 100):
            found = Recipient.batch_get(keys[start : start + 100], consistent_read=True)
            events.emit(
                self.company, [events.status_event(self.company, plain(r.serialize())) for r in found]
            )


def reporting_for(company: int) -> Reports | None:
    """Where the statuses settlement writes are kept for the company's callback URL (None: it has none)."""
    return Reports(company) if events.wanted(Company.get_or_none(company)) else None


def settled_by_settlement(recipient: Recipient | RecipientState) -> bool:
    """A status settlement writes (`unknown`, or a failure before sending): told again when a settlement
    runs again, since the run before may have died before telling it (its event id makes it harmless)."""
    return recipient.status == Delivery.UNKNOWN or (
        recipient.status == Delivery.FAILED and (recipient.error or "").startswith("not sent:")
    )
