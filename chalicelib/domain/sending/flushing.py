"""The sender's transactions: the statuses, counts and refunds pending from one group, written together
with the claims of the next; retried without what another worker or a stopped deployment holds."""

from __future__ import annotations

from typing import Any

from chalicelib.domain.callbacks import events
from chalicelib.domain.credits import refund_items
from chalicelib.domain.deployments import final_counts
from chalicelib.domain.sending import writes
from chalicelib.models import dynamodb, sends
from chalicelib.models.base import CONFLICT_RETRIES, back_off
from chalicelib.models.companies import Company


class SendWrites:
    """A send invocation's pending writes, the companies it read, and the claims it last made."""

    def __init__(self) -> None:
        self.pending = writes.Pending()
        self.companies: dict[int, Company] = {}
        self._last_claimed: set[str] = set()
        self.marked: set[int] = set()  # companies an erasure marked since their item was read

    def _company(self, company_id: int) -> Company:
        """Read once an invocation: a change of hours or rate applies from the next one."""
        if company_id not in self.companies:
            self.companies[company_id] = Company.get(company_id)
        return self.companies[company_id]

    def flush(self, claiming: tuple[int, int] | None = None) -> set[str] | None:
        """Write the pending statuses and counts together with the pending claims; retry without the
        claims another worker holds, and without any claims for a deployment that stopped sending
        (paused, cancelled, or resumed in a newer round). Returns the numbers now claimed, or None
        when the deployment being claimed for has stopped. If the write fails for another reason, the
        statuses stay pending (the worker's last flush tries again) and the claims are dropped."""
        pending, self.pending = self.pending, writes.Pending()
        try:
            claims, stopped = self._write(pending)
        except Exception:
            pending.claims, pending.checks = [], {}
            self.pending = writes.merge(pending, self.pending)
            raise
        # After the write, outside its retry: statuses written are never written again for a callback. A
        # claim refused because its status was settled (by this chunk's earlier run, whose emission may
        # have failed) emits that status again; its event id makes the repeat harmless.
        companies = {deployment: company for company, deployment in pending.rounds}
        events.statuses_written(pending.updates + pending.taken, companies, self._company)
        self._last_claimed = {sends.claim_name(c) for c in claims}
        if stopped and claiming is not None:
            return None
        return self._last_claimed

    def _write(self, pending: writes.Pending) -> tuple[list[dict[str, Any]], bool]:
        claims, stopped, level, conflicts = list(pending.claims), False, writes.STRICT, 0
        checks = dict(pending.checks)
        while True:
            deployments = writes.deployment_updates(pending, require_sending=bool(claims), level=level)
            actions = (
                pending.updates
                + claims
                + deployments
                + refund_items(pending.refunds)
                + pending.tally.updates()
                + list(checks.values())
            )
            if not actions:
                return claims, stopped
            try:
                dynamodb.transact(actions)
                if deployments and level == writes.SETTLED:
                    for company, deployment in pending.rounds:  # its late statuses moved its counts
                        final_counts.recount(company, deployment)
                return claims, stopped
            except dynamodb.TransactionCancelled as cancelled:
                failed = cancelled.failed
                if not failed and cancelled.conflicted and conflicts < CONFLICT_RETRIES:
                    # Every worker's flush touches the deployment's counters: a conflict is routine.
                    conflicts += 1
                    back_off(conflicts)
                    continue
                first_check = len(actions) - len(checks)
                if any(i >= first_check for i in failed):
                    # An erasure began to keep an opt-out under a token: claim nothing on a read without.
                    self.marked |= {c for n, c in enumerate(checks) if first_check + n in failed}
                    claims, checks = [], {}
                    continue
                first_claim, first_deployment = len(pending.updates), len(pending.updates) + len(claims)
                if any(i < first_claim for i in failed):
                    writes.settle_late(pending, sorted(i for i in failed if i < first_claim))
                    continue
                last_deployment = first_deployment + len(deployments)
                if any(first_deployment <= i < last_deployment for i in failed) and level != writes.NONE:
                    # The deployment moved on: keep the statuses, claim nothing more, leave a newer
                    # round's completion count alone, and add to no counter of a settled deployment.
                    claims, stopped, level = [], True, writes.NEXT_LEVEL[level]
                    writes.forget_old_rounds(pending)
                    continue
                lost = {i - first_claim for i in failed if first_claim <= i < first_deployment}
                if not lost or any(i < first_claim or i >= first_deployment for i in failed):
                    raise
                pending.taken += [c for i, c in enumerate(claims) if i in lost]
                claims = [c for i, c in enumerate(claims) if i not in lost]
