"""Erasing a person from a company's files: every filebox file and uploaded CSV that names them is
deleted (the filebox ones listed by name), and a kept idempotent answer is rewritten with their token."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from chalicelib import storage
from chalicelib.domain.imports.csvfiles import NotACsv, text_lines
from chalicelib.domain.privacy.person import Person
from chalicelib.models.erasures import packed
from chalicelib.models.files import File

OVERLAP = 256  # bytes carried from one chunk to the next, so a spelling split between them is still seen


def names_person(person: Person, key: str) -> bool:
    """Whether a file holds any spelling of the person: its text decoded as an import decodes it (UTF-16
    too), line by line; a file whose lines are too long for a CSV is read as UTF-8 chunk by chunk."""
    try:
        return any(person.named_in(line) for line in text_lines(storage.chunks(key)))
    except NotACsv:
        return _raw_names_person(person, storage.chunks(key))


def _raw_names_person(person: Person, chunks: Iterable[bytes]) -> bool:
    tail = b""
    for chunk in chunks:
        window = tail + chunk
        if person.named_in(window.decode("utf-8", errors="ignore")):
            return True
        tail = window[-OVERLAP:]
    return False


def erase_files(person: Person, counts: Counter[str]) -> list[str]:
    """Delete what names the person; returns the names of the filebox files deleted."""
    deleted = []
    for entry in File.query(person.company):
        if names_person(person, entry.key):
            storage.delete([entry.key])
            entry.delete()
            deleted.append(entry.name)
    counts["files_deleted"] += len(deleted)
    for key in storage.keys_under(f"uploads/{person.company}/"):
        if names_person(person, key):
            storage.delete([key])
            counts["uploads_deleted"] += 1
    for key in storage.keys_under(f"idempotency/{person.company}/"):
        answer = storage.get(key)
        changed = packed(answer, person.redact)
        if changed != answer:
            storage.put(key, changed, "application/octet-stream")
            counts["other_rewritten"] += 1
    return deleted
