"""The filebox: files made for a user (import error rows, reports, exports), downloadable for 15 minutes."""

from __future__ import annotations

import re

from chalicelib import storage
from chalicelib.domain import clock
from chalicelib.domain.accounts.auth import Caller
from chalicelib.domain.errors import NotFound
from chalicelib.models.files import File
from chalicelib.models.pagination import Page, PageRequest, paginate

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def key_for(company: int, user: int, name: str) -> str:
    return f"filebox/{company}/{user}/{safe_name(name)}"


def safe_name(name: str) -> str:
    """A file name that is safe as an S3 key part and in a Content-Disposition header."""
    return _UNSAFE.sub("_", name).strip("._")[:120] or "file"


def record(file_id: int, company: int, user: int, name: str, kind: str, key: str, size: int) -> File:
    """Save (or save again, idempotently) the filebox entry of an object already written to `key`."""
    entry = File(
        company=company,
        id=file_id,
        user=user,
        name=name,
        kind=kind,
        key=key,
        size=size,
        content_type="text/csv",
        date_created=clock.now(),
    )
    entry.save()
    return entry


def list_files(caller: Caller, page: PageRequest) -> Page:
    """The caller's own files; an admin sees every file of the company."""
    only_own = None if caller.is_admin else File.user == caller.user
    return paginate(File, caller.company, page, filter_condition=only_own, scan_index_forward=False)


def get_file(caller: Caller, file_id: int) -> File:
    entry = File.get_or_none(caller.company, file_id)
    if entry is None or (entry.user != caller.user and not caller.is_admin):
        raise NotFound(f"There is no file {file_id}.")
    return entry


def download_url(entry: File) -> str:
    return storage.download_url(entry.key, entry.name)
