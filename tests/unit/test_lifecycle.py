"""The deployment life cycle as one table: the launcher's and the settlement's moves are in it too."""

import pytest

from chalicelib.domain.errors import Conflict
from chalicelib.domain.rules.lifecycle import (
    APPROVED,
    CANCELLED,
    FAILED,
    PAUSED,
    SENDING,
    SENT,
    SETTLED_BY,
    move,
)


@pytest.mark.parametrize(
    ("action", "current", "target"),
    [
        ("start", APPROVED, SENDING),
        ("start", PAUSED, SENDING),
        ("pause", SENDING, PAUSED),
        ("complete", SENDING, SENT),
        ("fail", SENDING, FAILED),
        ("cancel", PAUSED, CANCELLED),
    ],
)
def test_sending_moves_are_in_the_table(action, current, target):
    assert move(action, current) == target


@pytest.mark.parametrize(
    ("action", "current"),
    [("start", SENDING), ("start", SENT), ("complete", PAUSED), ("complete", SENT), ("fail", APPROVED)],
)
def test_a_move_the_table_does_not_have_is_a_conflict_naming_the_status(action, current):
    with pytest.raises(Conflict, match="Cannot"):
        move(action, current)


def test_every_final_status_is_reached_by_one_action():
    assert {
        status: move(action, SENDING if action != "cancel" else PAUSED)
        for status, action in SETTLED_BY.items()
    } == {
        SENT: SENT,
        FAILED: FAILED,
        CANCELLED: CANCELLED,
    }
