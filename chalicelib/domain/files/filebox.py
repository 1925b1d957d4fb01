"""The filebox: files made for a user (import error rows, reports, exports), downloadable for 15 minutes,
kept for the company's `file_retention_days`."""

from __future__ import annotations

import re
from datetime import datetime

from chalicelib import storage
from chalicelib.domain import clock
from chalicelib.domain.accounts.auth import Caller
from chalicelib.domain.errors import NotFound
from chalicelib.domain.rules.retention import (
    DEFAULT_FILE_RETENTION_DAYS,
    RETENTION_TAG,
    expiry,
    kept_since,
)
from chalicelib.models.companies import Company
from chalicelib.models.files import File
from chalicelib.models.pagination import Page, PageRequest, paginate

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def key_for(company: int, user: int, name: str) -> str:
    return f"filebox/{company}/{user}/{safe_name(name)}"


def safe_name(name: str) -> str:
    """A file name that is safe as an S3 key part and in a Content-Disposition header."""
    return _UNSAFE.sub("_", name).strip("._")[:120] or "file"


def record(file_id: int, company: int, user: int, name: str, kind: str, key: str, size: int) -> File:
    """Save (or save again, idempotently) the filebox entry of an object already written to `key`, and
    tag the object with the company's file retention (the bucket's lifecycle rule for it deletes it)."""
    owner = Company.get_or_none(company)
    days = owner.file_retention_days if owner is not None else DEFAULT_FILE_RETENTION_DAYS
    storage.tag(key, {RETENTION_TAG: str(days)})
    now = clock.now()
    entry = File(
        company=company,
        id=file_id,
        user=user,
        name=name,
        kind=kind,
        key=key,
        size=size,
        content_type="text/csv",
        date_created=now,
        retention_days=days,
        expires_at=expiry(now, days),
    )
    entry.save()
    return entry


def expires_at(entry: File) -> datetime:
    """When a file stops being readable: as recorded, or (a file older than retention) 30 days on."""
    return entry.expires_at or expiry(entry.date_created, DEFAULT_FILE_RETENTION_DAYS)


def list_files(caller: Caller, page: PageRequest) -> Page:
    """The caller's own files not yet expired; an admin sees every such file of the company."""
    now = clock.now()
    unexpired = (File.expires_at > now) | (
        File.expires_at.does_not_exist() & (File.date_created > kept_since(now, DEFAULT_FILE_RETENTION_DAYS))
    )
    condition = unexpired if caller.is_admin else unexpired & (File.user == caller.user)
    return paginate(File, caller.company, page, filter_condition=condition, scan_index_forward=False)


def get_file(caller: Caller, file_id: int) -> File:
    """The file, unless it is another user's (to a non-admin) or past its retention (both a 404)."""
    entry = File.get_or_none(caller.company, file_id)
    if entry is None or (entry.user != caller.user and not caller.is_admin):
        raise NotFound(f"There is no file {file_id}.")
    if expires_at(entry) <= clock.now():
        raise NotFound(f"File {file_id} has expired: files are kept {entry.retention_days or 30} days.")
    return entry


def download_url(entry: File) -> str:
    return storage.download_url(entry.key, entry.name)
