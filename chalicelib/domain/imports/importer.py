"""The importer: one invocation's share of an import job (contacts or opt-outs), from its resume point on.

Exactly once: a job is bound to the first object (its ETag) that arrives for it; a second event for
that object finds the job done, or held under another invocation's lease, and does nothing. An
invocation that must stop (time running low) commits a resume point (byte offset, row number,
counts, the seen-numbers filter, the error rows so far) and sends itself a ContinueImport; a crash
loses at most the work since the last resume point, which is then redone with the same decisions,
because every write records the import and row that made it (see `import_targets`).

Reads: none for a new contact list (a Bloom filter of the numbers seen so far answers "new" for
almost every row and each "maybe" is checked against what is stored); one batched read per 100 rows
otherwise. Writes: one BatchWriteItem per 25 contacts; one transaction per 50 opt-outs.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from chalicelib import queue_messages, storage
from chalicelib.domain import clock
from chalicelib.domain.files import filebox
from chalicelib.domain.files.exports import spreadsheet_safe
from chalicelib.domain.imports.csvfiles import (
    SNIFF_BYTES,
    ContactRow,
    Layout,
    NotACsv,
    Row,
    contact_row,
    rows,
    sniff,
)
from chalicelib.domain.imports.jobs import (
    fail,
    parse_upload_key,
    state_prefix,
)
from chalicelib.domain.imports.resume import Counts, LeaseLost, ResumePoint, bind, lease, release
from chalicelib.domain.imports.row_keys import Refusal, row_key
from chalicelib.domain.imports.seen import SeenNumbers, seen_number
from chalicelib.domain.imports.targets import TARGETS, TargetGone
from chalicelib.domain.rules.lifecycle import Job
from chalicelib.domain.rules.modes import is_test
from chalicelib.log import logger
from chalicelib.models.base import condition_failed, transaction
from chalicelib.models.companies import Company
from chalicelib.models.contacts import ContactList
from chalicelib.models.counters import allocate_ids
from chalicelib.models.imports import IMPORT_LEASE, Import

GROUP = 100
PROGRESS_EVERY = 5000
ERROR_BUFFER_BYTES = 1 << 20
HELD_ERRORS = 10_000
REPEATS_HELD = 1000
ERRORS_HEADER = b"row,value,reason,detail\r\n"


def handle_upload(upload: queue_messages.UploadedObject, should_pause: Callable[[int], bool]) -> str:
    """An S3 notification for an upload: run the job it belongs to (once per object)."""
    ids = parse_upload_key(upload.key)
    if ids is None:
        logger.warning("upload outside uploads/{company}/{import}/", key=upload.key)
        return "ignored"
    return run(ids[0], ids[1], should_pause, etag=upload.etag)


def run(company: int, import_id: int, should_pause: Callable[[int], bool], etag: str | None = None) -> str:
    """Run an import job from where it stands; returns what became of it (for logs and tests)."""
    job = Import.get_or_none(company, import_id, consistent_read=True)
    if job is None:
        logger.warning("no such import", company=company, import_id=import_id)
        return "ignored"
    if job.status in (Job.COMPLETED, Job.FAILED):
        return "already_done"
    if etag is not None and not bind(job, etag):
        logger.warning("a different object arrived for a bound import", import_id=import_id)
        return "ignored"
    owner = str(uuid.uuid4())
    if not lease(job, owner):
        return "busy"
    try:
        return FileImport(job, owner, should_pause).run()
    except Exception:
        release(job, owner)
        raise


class FileImport:
    def __init__(self, job: Import, owner: str, should_pause: Callable[[int], bool]) -> None:
        self.job = job
        self.owner = owner
        self.should_pause = should_pause
        self.region = Company.get(job.company).default_region
        self.new: dict[str, ContactRow] = {}
        self.unchecked: dict[str, ContactRow] = {}
        self.repeats: dict[str, list[ContactRow]] = {}
        self.ready: dict[str, tuple[Any, int]] = {}
        self.held: list[tuple[int, str, str, str]] = []
        self.errors = io.StringIO()
        self.error_writer = csv.writer(self.errors, lineterminator="\r\n")
        self.rows_this_run = 0
        self.held_repeats = 0
        self.next_progress = PROGRESS_EVERY

    def run(self) -> str:
        try:
            self.target = TARGETS[self.job.kind](self.job)
        except TargetGone as error:  # a draft deleted before its file arrived: no retry can help
            fail(self.job, str(error))
            return Job.FAILED
        try:
            return self._run()
        finally:
            self.target.close()

    def _run(self) -> str:
        try:
            resume = self._start()
        except NotACsv as error:
            fail(self.job, str(error))
            return Job.FAILED
        except storage.ObjectChanged:
            fail(self.job, "The uploaded file was replaced or removed during the import.")
            return Job.FAILED
        if resume is None:
            return Job.FAILED
        self.resume = resume
        self.layout = Layout.from_dict(resume.layout)
        self.counts = resume.counts
        self.seen = None if self.target.checks_every_row else self._load_seen()
        # An invocation that died after the last resume point may have written rows beyond it: check
        # every row this time, so those contacts keep their ids instead of being written again as new.
        self.recovering = self.job.invocations > resume.sequence + 1
        try:
            return self._read()
        except TargetGone as error:
            fail(self.job, f"{error} Rows before that stay imported.")
            return Job.FAILED
        except (NotACsv, storage.ObjectChanged) as error:
            reason = (
                str(error) if isinstance(error, NotACsv) else "The uploaded file was replaced or removed."
            )
            fail(self.job, f"{reason} Rows before that stay imported.")
            return Job.FAILED

    def _start(self) -> ResumePoint | None:
        if (
            self.job.kind == "contacts"
            and ContactList.get_or_none(self.job.company, self.job.contact_list) is None
        ):
            fail(self.job, "The contact list was deleted during the import.")
            return None
        if self.job.resume:
            return ResumePoint.from_dict(self.job.resume)
        found = storage.info(self.job.source_key)
        if found is None or found.etag != self.job.etag:
            fail(self.job, "The uploaded file is missing.")
            return None
        head = b"".join(
            storage.read_from(self.job.source_key, 0, found.etag, end=min(found.size, SNIFF_BYTES))
        )
        layout = sniff(
            head, self.region, whole_file=found.size <= SNIFF_BYTES, simulated=is_test(self.job.company)
        )
        problem = self.target.layout_problem(layout)
        if problem:
            raise NotACsv("layout", problem)
        self.job.update(actions=[Import.size.set(found.size)])
        return ResumePoint(
            offset=layout.data_start,
            row=layout.first_row,
            counts=Counts(),
            layout=layout.to_dict(),
            seen_bits=SeenNumbers.bits_for_rows(estimated_rows(head, found.size)),
        )

    @property
    def _state_prefix(self) -> str:
        return state_prefix(self.job)

    def _load_seen(self) -> SeenNumbers:
        if self.resume.seen_key:
            return SeenNumbers(self.resume.seen_bits, storage.get(self.resume.seen_key))
        return SeenNumbers(self.resume.seen_bits)

    def _read(self) -> str:
        last: Row | None = None
        stream = (
            storage.read_from(self.job.source_key, self.resume.offset, self.job.etag)
            if self.resume.offset < (self.job.size or 0)
            else iter(())
        )
        for row in rows(stream, self.layout, self.resume.offset, self.resume.row):
            self._take(row)
            if self.held:
                self._release_errors()
            last = row
            self._flush()
            if self.rows_this_run % GROUP == 0:
                self._mark_progress(row)
                if self.should_pause(self.rows_this_run):
                    self._flush(everything=True)
                    return self._pause(row)
        self._flush(everything=True)
        return self._complete(last)

    def _take(self, row: Row) -> None:
        """Decide a row: rejected, a duplicate, new (to write), or to check against what is stored."""
        self.counts.rows += 1
        self.rows_this_run += 1
        if row.malformed:
            self._reject(row.number, "", "malformed_row", row.malformed)
            return
        contact = contact_row(row, self.layout)
        msisdn = row_key(
            contact,
            self.region,
            self.target.takes_addresses,
            self.layout.phone_column is not None,
            simulated=is_test(self.job.company),
        )
        if isinstance(msisdn, Refusal):
            self._reject(row.number, msisdn.value, msisdn.reason, msisdn.detail)
            return
        problem = self.target.problem(contact)
        if problem:
            self._reject(row.number, contact.phone, "value_too_long", problem)
            return
        if msisdn in self.unchecked:
            # Which row this repeats is known once the earlier one is checked (it may repeat another).
            self.repeats.setdefault(msisdn, []).append(contact)
            self.held_repeats += 1
            if self.held_repeats >= REPEATS_HELD:
                self._check()
            return
        earlier = self._waiting(msisdn)
        if earlier is not None:
            self._duplicate(row.number, contact.phone, earlier)
            return
        if self.seen is None:
            self.unchecked[msisdn] = contact
            return
        number = seen_number(msisdn)
        if self.recovering or self.seen.might_contain(number):
            self.unchecked[msisdn] = contact
        else:
            self.new[msisdn] = contact
        self.seen.add(number)

    def _waiting(self, msisdn: str) -> int | None:
        """The row of an earlier occurrence of the number that is decided new but not yet written."""
        contact = self.new.get(msisdn)
        if contact is not None:
            return contact.number
        ready = self.ready.get(msisdn)
        return ready[1] if ready is not None else None

    def _flush(self, everything: bool = False) -> None:
        """Check a full group of unchecked rows, write a full group of decided ones (or all, at the end)."""
        if self.unchecked and (everything or len(self.unchecked) >= GROUP):
            self._check()
        if not self.new and not self.ready:
            return
        if not everything and len(self.new) + len(self.ready) < GROUP:
            return
        items = [item for item, _ in self.ready.values()]
        items += [self.target.item(msisdn, contact, None) for msisdn, contact in self.new.items()]
        self.counts.imported += len(self.new)
        self.target.submit(items)
        self.new.clear()
        self.ready.clear()

    def _check(self) -> None:
        """Look up rows that may already be stored: this import's earlier rows (duplicates), this
        import's own writes before a crash (counted as they were), or what was there before."""
        self._wait_for_writes()
        stored = self.target.stored(list(self.unchecked))
        for msisdn, contact in self.unchecked.items():
            old = stored.get(msisdn)
            ours = old is not None and old.import_id == self.job.id
            first = old.import_row if ours and old.import_row < contact.number else contact.number
            for repeat in self.repeats.pop(msisdn, ()):
                self._duplicate(repeat.number, repeat.phone, first)
            if ours:
                if old.import_row < contact.number:
                    self._duplicate(contact.number, contact.phone, old.import_row)
                    continue
                if old.import_row == contact.number:
                    self._count_written(created=old.created)
                    continue
            self.ready[msisdn] = (self.target.item(msisdn, contact, old), contact.number)
            self._count_written(created=old is None)
        self.unchecked.clear()
        self.held_repeats = 0
        self._release_errors()

    def _wait_for_writes(self) -> None:
        """Every submitted write is stored; rows that proved to exist already count as updated."""
        self.counts.updated += self.target.wait()

    def _count_written(self, created: bool) -> None:
        self.counts.imported += 1
        if not created:
            self.counts.updated += 1

    def _reject(self, number: int, value: str, reason: str, detail: str) -> None:
        self.counts.rejected += 1
        self._error_row(number, value, reason, detail)

    def _duplicate(self, number: int, value: str, first: int) -> None:
        self.counts.duplicates += 1
        self._error_row(number, value, "duplicate", f"same number as row {first}")

    def _error_row(self, number: int, value: str, reason: str, detail: str) -> None:
        self.held.append((number, spreadsheet_safe(value), reason, detail))

    def _release_errors(self) -> None:
        """Write held error rows in row order: a row waiting for its check may still turn out a duplicate."""
        if self.unchecked and len(self.held) < HELD_ERRORS:
            return
        if self.unchecked:
            self._check()
        self.held.sort()
        self.error_writer.writerows(self.held)
        self.held.clear()
        if self.errors.tell() >= ERROR_BUFFER_BYTES:
            self.resume.error_parts.append(self._save_error_part())

    def _save_error_part(self) -> str:
        key = f"{self._state_prefix}errors-{self.resume.sequence}-{len(self.resume.error_parts)}.csv"
        storage.put(key, self.errors.getvalue().encode("utf-8"))
        self.errors.seek(0)
        self.errors.truncate()
        return key

    def _mark_progress(self, row: Row) -> None:
        """Show the counts so far (every few thousand rows); the resume point does not move."""
        if self.rows_this_run >= self.next_progress:
            self.next_progress += PROGRESS_EVERY
            self._update_job(self._shown_counts(self._percent(row.end)))

    def _percent(self, offset: int) -> int:
        return min(99, offset * 100 // self.job.size) if self.job.size else 0

    def _shown_counts(self, progress: int) -> list:
        counts = self.counts
        return [
            Import.rows.set(counts.rows),
            Import.imported.set(counts.imported),
            Import.updated.set(counts.updated),
            Import.duplicates.set(counts.duplicates),
            Import.rejected.set(counts.rejected),
            Import.progress.set(progress),
            Import.date_updated.set(clock.now()),
        ]

    def _update_job(self, actions: list) -> None:
        try:
            self.job.update(actions=actions, condition=IMPORT_LEASE.held_by(self.owner))
        except Exception as error:
            if condition_failed(error):
                raise LeaseLost(self.job.id) from error
            raise

    def _pause(self, row: Row) -> str:
        """Commit a resume point just after `row` and hand the rest to a fresh invocation."""
        self._wait_for_writes()
        resume = self.resume
        previous_seen = resume.seen_key
        resume.sequence += 1
        if self.errors.tell():
            resume.error_parts.append(self._save_error_part())
        if self.seen is not None:
            resume.seen_key = f"{self._state_prefix}seen-{resume.sequence}.bin"
            storage.put(resume.seen_key, self.seen.to_bytes(), content_type="application/octet-stream")
        resume.offset, resume.row, resume.counts = row.end, row.number + 1, self.counts
        committed = asdict(resume)
        try:
            self._update_job(
                [
                    *self._shown_counts(self._percent(row.end)),
                    Import.resume.set(committed),
                    *IMPORT_LEASE.release(),
                ]
            )
        except LeaseLost:
            # A retried request whose first try landed (its reply was lost) fails its own condition.
            self.job.refresh(consistent_read=True)
            if self.job.resume != committed:
                raise
        queue_messages.enqueue(queue_messages.ContinueImport(company=self.job.company, import_id=self.job.id))
        if previous_seen:
            storage.delete([previous_seen])
        return "paused"

    def _complete(self, last: Row | None) -> str:
        self._wait_for_writes()
        resume = self.resume
        if self.errors.tell():
            resume.error_parts.append(self._save_error_part())
        errors_file = self._errors_file() if resume.error_parts else None
        created = self.counts.imported - self.counts.updated
        finished = [
            *self._shown_counts(100),
            Import.status.set(Job.COMPLETED),
            Import.errors_file.set(errors_file) if errors_file else Import.errors_file.remove(),
            Import.date_completed.set(clock.now()),
            Import.resume.remove(),
            *IMPORT_LEASE.release(),
        ]
        # One transaction: a retry of a completion that failed halfway can never count the list twice.
        with transaction() as write:
            write.update(self.job, actions=finished, condition=IMPORT_LEASE.held_by(self.owner))
            self.target.finish(write, created)
        self.target.completed()
        storage.delete_prefix(self._state_prefix)
        logger.info(
            "import completed", import_id=self.job.id, rows=self.counts.rows, invocations=self.job.invocations
        )
        return Job.COMPLETED

    def _errors_file(self) -> int:
        """Gather the error rows into the uploader's filebox; its id is reserved on the job first, so
        a retry of a completion that failed halfway writes the same file again, not a second one."""
        if self.job.reserved_file is None:
            self._update_job([Import.reserved_file.set(allocate_ids("file")[0])])
        name = f"import-{self.job.id}-rejected-rows.csv"
        key = filebox.key_for(self.job.company, self.job.user, name)
        size = storage.concatenate(key, ERRORS_HEADER, self.resume.error_parts)
        filebox.record(
            self.job.reserved_file, self.job.company, self.job.user, name, "import_errors", key, size
        )
        return self.job.reserved_file


def estimated_rows(head: bytes, size: int) -> int:
    """Rows in a file of `size` bytes, judged from its first bytes (generously: it sizes a filter)."""
    lines = head.count(b"\n") or head.count(b"\r") or 1
    return int(size / max(1, len(head) / lines) * 1.5) + 100
