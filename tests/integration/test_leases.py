"""The one lease shape, on a claim of its own: one holder at a time, free again when released or when
its holder's time ran out (a worker that died holding it)."""

from __future__ import annotations

from chalicelib.domain import clock
from chalicelib.domain.background import leases
from chalicelib.models.claims import Claim


def test_a_held_lease_keeps_a_second_run_out_and_is_free_once_released(aws):
    with leases.held("nightly", seconds=60) as first, leases.held("nightly", seconds=60) as second:
        assert (first, second) == (True, False)
    with leases.held("nightly", seconds=60) as again:
        assert again is True
    assert Claim.get_or_none("lease#nightly") is None


def test_a_lease_whose_holder_died_is_free_after_its_time(aws, at_time):
    Claim(key="lease#nightly", owner="a-lambda-that-was-killed", until=_epoch_now() + 60).save()
    at_time("2026-11-26T10:00:00+02:00")
    with leases.held("nightly", seconds=60) as taken:
        assert taken is False
    at_time("2026-11-26T10:05:00+02:00")
    with leases.held("nightly", seconds=60) as taken:
        assert taken is True


def test_a_lease_taken_by_another_meanwhile_is_not_released_by_the_first(aws, at_time):
    first = leases.held("nightly", seconds=60)
    assert first.__enter__() is True
    at_time("2026-11-26T10:05:00+02:00")  # the first holder ran out of time
    second = leases.held("nightly", seconds=60)
    assert second.__enter__() is True
    theirs = Claim.get("lease#nightly").owner
    first.__exit__(None, None, None)
    assert Claim.get("lease#nightly").owner == theirs
    second.__exit__(None, None, None)
    assert Claim.get_or_none("lease#nightly") is None


def test_a_lease_of_the_earlier_shape_is_held_until_its_end_and_then_free(aws, at_time):
    """The earlier code kept only the end second in `owner`; a deploy must not run two jobs at once."""
    Claim(key="lease#launcher", owner=f"{_epoch_now() + 60:012d}").save()
    with leases.held("launcher", seconds=60) as taken:
        assert taken is False
    at_time("2026-11-26T10:05:00+02:00")
    with leases.held("launcher", seconds=60) as taken:
        assert taken is True


def test_a_lease_starts_with_its_end_so_the_earlier_code_reads_it_too(aws):
    with leases.held("launcher", seconds=60):
        owner = Claim.get("lease#launcher").owner
    assert owner.startswith(f"{_epoch_now() + 60:012d}-") and len(owner) > 13


def _epoch_now() -> int:
    """The pinned clock's second (every test starts at the same moment)."""
    return int(clock.now().timestamp())
