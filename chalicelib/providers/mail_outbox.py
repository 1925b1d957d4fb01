"""The embedded stack's email gateway: each email as an `.eml` file under `.local/mail/` (open it in any
mail client) and one JSON line per email in `.local/outbox-email.jsonl`."""

from __future__ import annotations

import json
import threading
import uuid
from pathlib import Path

from chalicelib.providers.mail import EmailProvider, OutgoingEmail
from chalicelib.settings import get_settings


class MailOutboxProvider(EmailProvider):
    name = "outbox"
    _lock = threading.Lock()

    def _send(self, outgoing: OutgoingEmail) -> str:
        message_id = str(uuid.uuid4())
        settings = get_settings()
        folder = Path(settings.mail_dir)
        folder.mkdir(parents=True, exist_ok=True)
        eml = folder / f"{message_id}.eml"
        eml.write_bytes(outgoing.mime().as_bytes())
        line = {
            "to": outgoing.to,
            "from": outgoing.sender,
            "subject": outgoing.subject,
            "marketing": outgoing.marketing,
            "reference": outgoing.reference,
            "message_id": message_id,
            "eml": str(eml),
        }
        path = Path(settings.email_outbox_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(line, ensure_ascii=False) + "\n")
        return message_id
