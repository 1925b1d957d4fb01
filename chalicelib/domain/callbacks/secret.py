"""A company's callback secret: issued when it first sets a `callback_url`, rotated on request, shown
only in the answer that issues it. After a rotation the previous secret signs too, for a day."""

from __future__ import annotations

import secrets
from datetime import timedelta

from chalicelib.domain import clock
from chalicelib.domain.accounts.auth import Caller
from chalicelib.domain.audit.entries import record
from chalicelib.domain.errors import Conflict, NotFound
from chalicelib.models.base import transaction
from chalicelib.models.companies import Company

PREFIX = "whsec_"
OVERLAP = timedelta(hours=24)


def new_secret() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def signing_secrets(company: Company) -> list[str]:
    """The secrets a callback is signed under now: the current one, and the previous for a day."""
    kept = [company.callback_secret] if company.callback_secret else []
    rotated = company.callback_secret_rotated
    if company.callback_secret_previous and rotated and clock.now() - rotated < OVERLAP:
        kept.append(company.callback_secret_previous)
    return kept


def rotate(caller: Caller) -> str:
    """A new secret for the caller's company (admin only), returned this once. A second rotation within
    the day keeps the secret the first replaced (receivers may still hold it) for the rest of its day."""
    caller.require("admin")
    company = Company.get_or_none(caller.company)
    if company is None:
        raise NotFound("The company no longer exists.")
    if not company.callback_url:
        raise Conflict(
            "Set a callback_url first: the secret is issued with it.",
            code="callbacks_off",
            fields={"callback_url": ["is not set"]},
        )
    secret, now = new_secret(), clock.now()
    actions = [Company.callback_secret.set(secret), Company.date_updated.set(now)]
    rotated = company.callback_secret_rotated
    overlapping = company.callback_secret_previous and rotated and now - rotated < OVERLAP
    changes = {"callback_secret": (company.callback_secret, secret)}
    if company.callback_secret and not overlapping:
        actions += [
            Company.callback_secret_previous.set(company.callback_secret),
            Company.callback_secret_rotated.set(now),
        ]
        changes["callback_secret_previous"] = (company.callback_secret_previous, company.callback_secret)
    with transaction() as write:
        write.update(company, actions=actions, condition=Company.id.exists())
        record(write, caller, "company.callback_secret_rotated", "company", company.id, changes)
    return secret
