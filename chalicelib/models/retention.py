"""The raw writes of message retention: a sent message's or recipient's text dropped, nothing else."""

from __future__ import annotations

import json
from typing import Any

from chalicelib.models.deployments import Message, Recipient
from chalicelib.models.expressions import Update, key


def drop_message_text(company: int, message_id: int, figures: dict[str, Any]) -> dict[str, Any]:
    """An API message without its text, HTML and subject, keeping how the text was counted."""
    update = Update(Message.Meta.table_name, key(company=company, id=message_id))
    update.remove("text").remove("html").remove("subject").set("text_figures", json.dumps(figures))
    return update.when("attribute_exists({id})").action()["Update"]


def drop_recipient_text(deployment: int, msisdn: str) -> dict[str, Any]:
    """A deployment's recipient without the text personalised for it."""
    update = Update(Recipient.Meta.table_name, key(deployment=deployment, msisdn=msisdn))
    return update.remove("message").when("attribute_exists({msisdn})").action()["Update"]
