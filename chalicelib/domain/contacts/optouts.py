"""Opt-outs: a legal promise. Per company, for every sender or for one; lifted only by an admin (or the
subscriber), the record kept; and one batched check that every marketing send goes through."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from chalicelib.domain import clock
from chalicelib.domain.accounts.auth import Caller
from chalicelib.domain.accounts.companies import get_company
from chalicelib.domain.audit.entries import record_item
from chalicelib.domain.background import tasks
from chalicelib.domain.errors import Conflict, NotFound, invalid_field
from chalicelib.domain.files import filebox
from chalicelib.domain.files.exports import write_csv
from chalicelib.domain.privacy.person import token_for
from chalicelib.domain.rules.addresses import InvalidAddress, address_key, checked_address, normalise_address
from chalicelib.domain.rules.channels import CHANNELS, EMAIL, SMS
from chalicelib.domain.rules.phones import InvalidPhoneNumber, normalise
from chalicelib.domain.rules.senders import normalise_sender, older_spellings
from chalicelib.models import dynamodb
from chalicelib.models.counters import allocate_ids
from chalicelib.models.deployments import Message
from chalicelib.models.optouts import (
    EVERY_SENDER,
    OptOut,
    activation,
    history_key,
    lifting,
    scope_attribute,
    sender_scopes,
    suppressions,
)
from chalicelib.models.pagination import Page, PageRequest, paginate
from chalicelib.models.tasks import Task

MAX_REASON = 200


@dataclass(frozen=True)
class Recorded:
    """An opt-out and whether this call made it (False: the number was already out for that scope)."""

    optout: OptOut
    created: bool


def opted_out(company: int, sender: str | None, numbers: Iterable[str], with_tokens: bool = True) -> set[str]:
    """The numbers among `numbers` that must not get marketing from `sender` (None: any sender).

    One BatchGetItem per 50 distinct numbers (each asked under itself and its erased token), whatever
    mix of scopes is active; per 100 without `with_tokens` (a company no erasure kept an opt-out of: its
    caller must see that still holds after this read, as the sender's claims do).
    """
    return _held(company, numbers, scopes=(EVERY_SENDER, *_scopes_of(sender)), with_tokens=with_tokens)


def _scopes_of(sender: str | None) -> list[str]:
    """Where an opt-out of `sender` may be held: its scope, and those older opt-outs were written under."""
    if not sender:
        return []
    given = normalise_sender(sender)
    return sender_scopes(given, [*older_spellings(given), sender.strip()]) if given else []


def opted_out_of_any(company: int, numbers: Iterable[str]) -> set[str]:
    """The numbers among `numbers` with an active opt-out from the company, of every sender or of one."""
    return _held(company, numbers)


def _held(
    company: int,
    numbers: Iterable[str],
    scopes: tuple[str, ...] | None = None,
    with_tokens: bool = True,
) -> set[str]:
    """The numbers (or address keys) with an active opt-out among `scopes` (None: any), under the number
    itself or (`with_tokens`) under its erased token (an erased person who had opted out). Both keys
    ride in the same BatchGetItem: 50 numbers a request instead of 100."""
    wanted = sorted(set(numbers))
    if not wanted:
        return set()
    tokens = {token_for(company, number): number for number in wanted} if with_tokens else {}
    held = suppressions(company, [*wanted, *tokens], scopes=scopes)
    return {tokens.get(found, found) for found, active in held.items() if active}


def held_ids(company: int, numbers: Iterable[str], scope: str) -> dict[str, int]:
    """For each of `numbers` with an opt-out active in `scope`: its id, held under the number itself or
    (an erased person who had opted out) under its erased token; both keys in one BatchGetItem."""
    wanted = sorted(set(numbers))
    tokens = {token_for(company, number): number for number in wanted}
    held = suppressions(company, [*wanted, *tokens], scopes=(scope,)) if wanted else {}
    by_number_last = sorted(held.items(), key=lambda found: found[0] not in tokens)
    return {tokens.get(key, key): ids[scope] for key, ids in by_number_last if scope in ids}


def _ids_held(company: int, number: str, scopes: list[str]) -> list[int]:
    """The ids of the opt-outs active for `number` in `scopes`: under the number, then under its token."""
    keys = [number, token_for(company, number)]
    held = suppressions(company, keys, scopes=scopes)
    return [held[key][scope] for key in keys if key in held for scope in scopes if scope in held[key]]


def check_originator(value: Any, region: str, name: str = "originator", simulated: bool = False) -> str:
    try:
        return normalise(value if isinstance(value, str) else None, region, simulated=simulated)
    except InvalidPhoneNumber as error:
        raise invalid_field(name, error.reason) from None


def check_channel(value: Any) -> str:
    if value not in CHANNELS:
        raise invalid_field("channel", f"must be one of {', '.join(CHANNELS)}")
    return value


def check_address(value: Any, name: str = "originator", simulated: bool = False) -> str:
    """An address as email opt-outs hold it (its key: one opt-out per mailbox, whatever its case)."""
    return address_key(checked_address(value, name, simulated=simulated))


def check_sender(value: str | None, region: str) -> str | None:
    """A sender as opt-outs scope it: a number read with the company's phone rules (`region`)."""
    try:
        return normalise_sender(value, region)
    except ValueError as error:
        raise invalid_field("sender", str(error)) from None


def record(
    caller: Caller,
    originator: str,
    sender: str | None = None,
    reason: str | None = None,
    channel: str = SMS,
) -> Recorded:
    """Opt a number out (of every sender, or of one), or an address out of the company's email; an
    opt-out already active for that scope is returned."""
    channel = check_channel(channel)
    region = get_company(caller).default_region
    if channel == EMAIL:
        if sender is not None:
            raise invalid_field("sender", "must be empty for email: an email opt-out covers every sender")
        number = check_address(originator, simulated=caller.test)
    else:
        number = check_originator(originator, region, simulated=caller.test)
    sender = check_sender(sender, region)
    reason = (reason or "").strip() or None
    if reason is not None and len(reason) > MAX_REASON:
        raise invalid_field("reason", f"must be at most {MAX_REASON} characters")
    return create(
        caller.company, number, sender, reason, source="api", created_by=caller.user, channel=channel
    )


def create(
    company: int,
    number: str,
    sender: str | None,
    reason: str | None,
    *,
    source: str,
    created_by: int | None = None,
    import_id: int | None = None,
    import_row: int | None = None,
    channel: str = SMS,
) -> Recorded:
    """Write the record and activate it in the suppression index, in one transaction. An email
    opt-out's `number` is the address's key (`rules/addresses.address_key`); it covers every sender."""
    optout = OptOut(
        company=company,
        id=allocate_ids("optout")[0],
        originator=number,
        sender=sender,
        reason=reason,
        source=source,
        created_by=created_by,
        date_opted_out=clock.now(),
        import_id=import_id,
        import_row=import_row,
        history_key=history_key(company, number),
        channel=None if channel == SMS else channel,
    )
    try:
        dynamodb.transact(activation(optout))
    except dynamodb.TransactionCancelled as cancelled:
        if not cancelled.failed:
            raise
        return Recorded(active(company, number, sender), created=False)
    return Recorded(optout, created=True)


def active(company: int, number: str, sender: str | None) -> OptOut:
    """The opt-out active for exactly this scope (the suppression index names it, under the number or
    under its erased token)."""
    held = _ids_held(company, number, [scope_attribute(sender)])
    if not held:
        raise Conflict("The opt-out changed meanwhile; please retry.", code="concurrent_change")
    return OptOut.get(company, held[0])


def get_optout(caller: Caller, optout_id: int) -> OptOut:
    found = OptOut.get_or_none(caller.company, optout_id)
    if found is None:
        raise NotFound(f"There is no opt-out {optout_id}.")
    return found


def list_optouts(
    caller: Caller,
    page: PageRequest,
    originator: str | None = None,
    sender: str | None = None,
    active_only: bool | None = None,
    channel: str | None = None,
) -> Page:
    """Newest first; by number (any spelling) through the history index, else the company's whole list."""
    conditions = []
    if sender is not None:
        normalised = check_sender(sender, get_company(caller).default_region)
        conditions.append(
            OptOut.sender.does_not_exist() if normalised is None else OptOut.sender == normalised
        )
    if channel is not None:
        conditions.append(
            OptOut.channel.does_not_exist() if check_channel(channel) == SMS else OptOut.channel == channel
        )
    if active_only is not None:
        conditions.append(
            OptOut.date_overwritten.does_not_exist() if active_only else OptOut.date_overwritten.exists()
        )
    condition = None
    for part in conditions:
        condition = part if condition is None else condition & part
    if originator is not None:
        number = _originator_key(originator, get_company(caller).default_region, caller.test)
        if number is None:  # no opt-out can be of something that is no number or address
            return Page(items=[], next=None)
        return paginate(
            OptOut.by_originator,
            history_key(caller.company, number),
            page,
            filter_condition=condition,
            scan_index_forward=False,
        )
    return paginate(OptOut, caller.company, page, filter_condition=condition, scan_index_forward=False)


def _originator_key(originator: str, region: str, simulated: bool) -> str | None:
    """The key opt-outs of `originator` are filed under (a number, or an address's key), or None."""
    try:
        if "@" in originator:
            return address_key(normalise_address(originator, simulated=simulated))
        return normalise(originator, region, simulated=simulated)
    except (InvalidAddress, InvalidPhoneNumber):
        return None


def overwrite(caller: Caller, optout_id: int, reason: str | None = None) -> OptOut:
    """An admin overwrites an opt-out, saying why (kept as `overwrite_reason`): the record stays, marked;
    its scope is free again."""
    caller.require("admin")
    optout = get_optout(caller, optout_id)
    if optout.date_overwritten is not None:
        raise Conflict(f"Opt-out {optout_id} was already lifted.", code="already_lifted")
    reason = (reason or "").strip() or None
    if reason is not None and len(reason) > MAX_REASON:
        raise invalid_field("reason", f"must be at most {MAX_REASON} characters")
    overwrite_record(optout, overwritten_by=caller.user, source="admin", reason=reason, audited_by=caller)
    return OptOut.get(caller.company, optout_id)


def overwrite_for_subscriber(company: int, number: str, sender: str | None) -> list[OptOut]:
    """The subscriber opts back in (START): overwrite what keeps `sender` (None: every sender) from them —
    the opt-out of every sender and the one of that sender, kept under their token too if they were
    erased. Returns what was lifted (maybe nothing)."""
    active_ids = _ids_held(company, number, [EVERY_SENDER, *_scopes_of(sender)])
    lifted = []
    for optout in OptOut.batch_get([(company, optout_id) for optout_id in active_ids]):
        try:
            overwrite_record(optout, overwritten_by=None, source="subscriber")
        except Conflict:
            continue
        lifted.append(optout)
    return lifted


def overwrite_record(
    optout: OptOut,
    overwritten_by: int | None,
    source: str,
    reason: str | None = None,
    audited_by: Caller | None = None,
) -> None:
    """Mark the record overwritten (by whom: `admin` or `subscriber`) and free its scope, in one
    transaction; an admin's overwrite (`audited_by`) is audited in it."""
    now = clock.now()
    items = lifting(optout, now, source, overwritten_by, reason)
    if audited_by is not None:
        changes = {
            "date_overwritten": (None, now),
            "overwrite_source": (None, source),
            "overwritten_by": (None, overwritten_by),
            "overwrite_reason": (None, reason),
        }
        items.append(record_item(audited_by, "optout.overwritten", "optout", optout.id, changes))
    try:
        dynamodb.transact(items)
    except dynamodb.TransactionCancelled as cancelled:
        if cancelled.failed & {0, 1}:  # the record, or its scope: lifted meanwhile
            raise Conflict(f"Opt-out {optout.id} was already lifted.", code="already_lifted") from cancelled
        raise


def start_export(caller: Caller) -> Task:
    """Write the company's active opt-outs as a CSV into the caller's filebox, in the background."""
    return tasks.start(caller, "export_optouts", {})


def write_optouts_export(task: Task) -> dict[str, Any]:
    file_id = task.params.get("file") or allocate_ids("file")[0]
    if "file" not in task.params:
        task.update(actions=[Task.params.set({**task.params, "file": file_id})])
    name = f"optouts-{clock.now():%Y-%m-%d}-task-{task.id}.csv"
    key = filebox.key_for(task.company, task.user or 0, name)
    rows = (
        [
            o.originator,
            o.sender or "",
            o.reason or "",
            clock.iso(o.date_opted_out),
            o.source,
            o.id,
            o.channel or SMS,
        ]
        for o in OptOut.query(task.company, filter_condition=OptOut.date_overwritten.does_not_exist())
    )
    size, count = write_csv(key, EXPORT_HEADER, rows)  # an email originator may begin with = or +
    filebox.record(file_id, task.company, task.user or 0, name, "optouts_export", key, size)
    return {"file": file_id, "rows": count}


EXPORT_HEADER = ("originator", "sender", "reason", "date_opted_out", "source", "id", "channel")


def blocked_messages(company: int, ready: list[Message]) -> set[int]:
    """The marketing messages among `ready` whose number opted out of their sender (or of all), or
    whose address opted out of the company's email."""
    by_sender: dict[str | None, list[tuple[Message, str]]] = {}
    for message in ready:
        if message.marketing and message.channel == EMAIL:
            by_sender.setdefault(None, []).append((message, address_key(message.destination)))
        elif message.marketing:
            by_sender.setdefault(message.sender, []).append((message, message.destination))
    blocked = set()
    for sender, group in by_sender.items():
        out = opted_out(company, sender, [key for _, key in group])
        blocked |= {m.id for m, key in group if key in out}
    return blocked
