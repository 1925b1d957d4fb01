"""The embedded stack's gateway: one JSON line per SMS appended to `.local/outbox.jsonl`."""

from __future__ import annotations

import json
import threading
import uuid
from pathlib import Path

from chalicelib.providers.base import Outgoing, Provider
from chalicelib.settings import get_settings


class OutboxProvider(Provider):
    name = "outbox"
    _lock = threading.Lock()

    def _send(self, sms: Outgoing) -> str:
        message_id = str(uuid.uuid4())
        line = {
            "to": sms.to,
            "from": sms.sender,
            "text": sms.text,
            "segments": sms.segments,
            "deployment": sms.deployment,
            "message_id": message_id,
            "reference": sms.reference,
        }
        path = Path(get_settings().outbox_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(line, ensure_ascii=False) + "\n")
        return message_id
