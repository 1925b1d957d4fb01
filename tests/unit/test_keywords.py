"""The keyword table, and how gateways' status names map to a message's outcome."""

import pytest

from chalicelib.domain.inbound.keywords import START_KEYWORDS, STOP_KEYWORDS, keyword
from chalicelib.domain.inbound.receipts import (
    DELIVERED,
    FAILED,
    SENT,
    UnknownStatus,
    failure_text,
    outcome_of,
    parse_reference,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("STOP", ("stop", "STOP")),
        ("stop", ("stop", "STOP")),
        ("  Stop  ", ("stop", "STOP")),
        ("stop.", ("stop", "STOP")),
        ("STOP!!!", ("stop", "STOP")),
        ("'stop'", ("stop", "STOP")),
        ("\u201cStop\u201d", ("stop", "STOP")),
        ("\u00a0stop\n", ("stop", "STOP")),
        ("S T O P", ("stop", "STOP")),
        ("\uff33\uff34\uff2f\uff30", ("stop", "STOP")),  # full-width letters from some phones
        ("stopall", ("stop", "STOPALL")),
        ("Unsubscribe", ("stop", "UNSUBSCRIBE")),
        ("end", ("stop", "END")),
        ("quit", ("stop", "QUIT")),
        ("cancel", ("stop", "CANCEL")),
        ("optout", ("stop", "OPTOUT")),
        ("opt-out", ("stop", "OPT-OUT")),
        ("Opt out", ("stop", "OPTOUT")),
        ("remove", ("stop", "REMOVE")),
        ("Arret", ("stop", "ARRET")),
        ("td", ("stop", "TD")),
        ("START", ("start", "START")),
        (" unstop ", ("start", "UNSTOP")),
        ("Yes!", ("start", "YES")),
        ("please stop", None),
        ("stop sending me these", None),
        ("Don't stop", None),
        ("STOP STOP", None),
        ("stopped", None),
        ("yes please", None),
        ("", None),
        ("!!!", None),
        ("stop" + " " * 40, None),
    ],
)
def test_keywords_count_only_alone_in_the_message(text, expected):
    assert keyword(text) == expected


def test_every_listed_keyword_is_recognised():
    for word in STOP_KEYWORDS:
        assert keyword(word.lower())[0] == "stop", word
    for word in START_KEYWORDS:
        assert keyword(word.lower())[0] == "start", word


@pytest.mark.parametrize(
    ("status", "final", "expected"),
    [
        ("TEXT_DELIVERED", True, DELIVERED),
        ("TEXT_SUCCESSFUL", True, DELIVERED),
        ("TEXT_SUCCESSFUL", False, SENT),
        ("TEXT_QUEUED", False, SENT),
        ("TEXT_PENDING", False, SENT),
        ("TEXT_CARRIER_UNREACHABLE", True, FAILED),
        ("TEXT_CARRIER_UNREACHABLE", False, SENT),
        ("TEXT_BLOCKED", True, FAILED),
        ("TEXT_TTL_EXPIRED", True, FAILED),
        ("TEXT_UNKNOWN", True, FAILED),
        ("TEXT_SPAM", True, FAILED),
        ("delivered", True, DELIVERED),
        ("DELIVRD", True, DELIVERED),
        ("undelivered", True, FAILED),
        ("failed", True, FAILED),
        ("sent", True, SENT),
        ("queued", True, SENT),
        ("Rejected", True, FAILED),
    ],
)
def test_gateway_statuses_map_to_outcomes(status, final, expected):
    assert outcome_of(status, final) == expected


def test_an_unknown_status_is_refused():
    with pytest.raises(UnknownStatus):
        outcome_of("TEXT_TELEPORTED")


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("d12:27815854565", ("d", 12, "27815854565")),
        ("m3:45", ("m", 3, 45)),
        ("m3:x", None),
        ("x1:2", None),
        ("d12", None),
        ("", None),
        (None, None),
    ],
)
def test_references_name_a_recipient_or_a_message(reference, expected):
    assert parse_reference(reference) == expected


@pytest.mark.parametrize(
    "outcome, status, description, kept",
    [
        ("failed", "undelivered", "absent subscriber", "undelivered: absent subscriber"),
        ("failed", "TEXT_BLOCKED", "Blocked by carrier", "TEXT_BLOCKED: Blocked by carrier"),
        ("failed", "TEXT_BLOCKED", "  ", "TEXT_BLOCKED"),
        ("failed", "TEXT_BLOCKED", "Carrier blocked:", "TEXT_BLOCKED: Carrier blocked"),
        ("failed", "REJECTD", None, "REJECTD"),
        ("delivered", "DELIVRD", "ok", None),
        ("sent", "ACCEPTD", "queued at SMSC", None),
    ],
)
def test_a_failure_keeps_the_gateways_status_and_description_the_same_way_for_every_gateway(
    outcome, status, description, kept
):
    assert failure_text(outcome, status, description) == kept
