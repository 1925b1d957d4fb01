"""The local providers' outboxes, kept in step with the embedded AWS's saved state.

A snapshot records how long each outbox was when it was taken; a restart cuts each back to that length,
so the lines of sends whose state was lost (the stack was killed after its last snapshot) go too, and no
message reference appears twice. A fresh start empties them.
"""

from __future__ import annotations

import json
from pathlib import Path

from chalicelib.settings import get_settings

_BLOCK = 65536


def paths() -> dict[str, Path]:
    settings = get_settings()
    return {"sms": Path(settings.outbox_path), "email": Path(settings.email_outbox_path)}


def sizes() -> dict[str, int]:
    """Each outbox's length in bytes now (0 for one not written yet)."""
    return {name: path.stat().st_size if path.exists() else 0 for name, path in paths().items()}


def cut_to(recorded: dict[str, int]) -> None:
    """Cut each outbox back to its recorded length, and to the last whole line within it."""
    for name, path in paths().items():
        if path.exists() and path.stat().st_size > recorded.get(name, 0):
            _truncate(path, recorded.get(name, 0))
    _drop_unlisted_mail()


def clear() -> None:
    for path in paths().values():
        path.unlink(missing_ok=True)
    _drop_unlisted_mail()


def _truncate(path: Path, size: int) -> None:
    """Cut at the last newline at or before `size`, reading backwards a block at a time."""
    with path.open("r+b") as outbox:
        end = size
        while end > 0:
            start = max(0, end - _BLOCK)
            outbox.seek(start)
            newline = outbox.read(end - start).rfind(b"\n")
            if newline >= 0:
                outbox.truncate(start + newline + 1)
                return
            end = start
        outbox.truncate(0)


def _drop_unlisted_mail() -> None:
    """Remove the `.eml` files no line of the email outbox names (their sends were undone)."""
    folder = Path(get_settings().mail_dir)
    if not folder.is_dir():
        return
    listed = set()
    outbox = paths()["email"]
    if outbox.exists():
        with outbox.open(encoding="utf-8") as lines:
            listed = {_eml_name(line) for line in lines}
    for eml in folder.glob("*.eml"):
        if eml.name not in listed:
            eml.unlink()


def _eml_name(line: str) -> str:
    try:
        return Path(json.loads(line)["eml"]).name
    except (ValueError, KeyError, TypeError):
        return ""
