"""The imports queue: S3 notifications of uploads, and the importer's own ContinueImport messages."""

from __future__ import annotations

from typing import Any

from chalice.app import SQSEvent

from chalicelib import queue_messages
from chalicelib.domain.imports import importer, jobs, resume
from chalicelib.settings import get_settings
from chalicelib.workers.sqs import process

RESERVE_MS = 120_000


def handle(event: SQSEvent) -> dict:
    budget = get_settings().import_rows_per_invocation

    def should_pause(rows_done: int) -> bool:
        time_low = event.context.get_remaining_time_in_millis() < RESERVE_MS
        return time_low or (budget is not None and rows_done >= budget)

    def run(message: Any) -> None:
        if isinstance(message, queue_messages.UploadedObject):
            importer.handle_upload(message, should_pause)
        else:
            try:
                importer.run(message.company, message.import_id, should_pause)
            except resume.LeaseLost:
                return

    return process(event, "imports", run, _give_up)


def _give_up(message: Any, reason: str) -> None:
    if isinstance(message, queue_messages.UploadedObject):
        jobs.give_up_upload(message.key, reason)
    else:
        jobs.give_up(message.company, message.import_id, reason)
