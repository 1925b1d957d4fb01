"""The keyword table, and how gateways' status names map to a message's outcome."""

import pytest

from chalicelib.domain.inbound.receipts import (
    DELIVERED,
    FAILED,
    SENT,
    UnknownStatus,
    failure_text,
    outcome_of,
    parse_reference,
)
from chalicelib.domain.rules.sms_keywords import (
    REGIONAL_STOP_KEYWORDS,
    START_KEYWORDS,
    STOP_KEYWORDS,
    keyword,
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
        ("ST\u200bOP", ("stop", "STOP")),  # a zero-width space pasted in
        ("stopall", ("stop", "STOPALL")),
        ("Stop all", ("stop", "STOP ALL")),
        ("Unsubscribe", ("stop", "UNSUBSCRIBE")),
        ("unsub", ("stop", "UNSUB")),
        ("end", ("stop", "END")),
        ("quit", ("stop", "QUIT")),
        ("cancel", ("stop", "CANCEL")),
        ("optout", ("stop", "OPTOUT")),
        ("opt-out", ("stop", "OPT OUT")),
        ("Opt out", ("stop", "OPT OUT")),
        ("remove", ("stop", "REMOVE")),
        ("Remove me", ("stop", "REMOVE ME")),
        ("Arret", ("stop", "ARRET")),
        ("td", ("stop", "TD")),
        ("START", ("start", "START")),
        (" unstop ", ("start", "UNSTOP")),
        ("Yes!", ("start", "YES")),
        ("", None),
        ("!!!", None),
        ("\U0001f6d1", None),
        ("123", None),
        ("please", None),
    ],
)
def test_a_keyword_alone_is_recognised_whatever_its_case_spacing_and_punctuation(text, expected):
    assert keyword(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("STOP" + " " * 40, ("stop", "STOP")),
        ("STOP STOP", ("stop", "STOP")),
        ("stop, stop, STOP!", ("stop", "STOP")),
        ("STOP " * 300, ("stop", "STOP")),
        ("Stop \U0001f6d1", ("stop", "STOP")),
        ("\U0001f6d1\U0001f6d1 STOP \U0001f621", ("stop", "STOP")),
        ("STOP\u270b\U0001f3fd", ("stop", "STOP")),  # an emoji with a skin tone
        ("ARR\u00caT", ("stop", "ARRET")),
        ("arr\u00eat", ("stop", "ARRET")),
        ("ARRE\u0302T", ("stop", "ARRET")),  # the accent as a combining mark
        ("Stop. Quit. End.", ("stop", "STOP")),
        ("unsubscribe stop", ("stop", "UNSUBSCRIBE")),
        ("alto", ("stop", "ALTO")),
        ("Baja", ("stop", "BAJA")),
        ("PARAR", ("stop", "PARAR")),
        ("halt", ("stop", "HALT")),
        ("Stopp", ("stop", "STOPP")),
        ("d\u00e9sabonner", ("stop", "DESABONNER")),
        ("START START", ("start", "START")),
        ("Yes yes", ("start", "YES")),
    ],
)
def test_a_message_of_opt_out_keywords_only_is_an_opt_out_after_folding(text, expected):
    assert keyword(text) == expected


@pytest.mark.parametrize(
    ("text", "za", "elsewhere"),
    [
        ("Kanselleer", ("stop", "KANSELLEER"), None),
        ("STAAK", ("stop", "STAAK"), None),
        ("hou op", ("stop", "HOU OP"), None),
        ("Meld af", ("stop", "MELD AF"), None),
        ("afmeld", ("stop", "AFMELD"), None),
        ("uitteken", ("stop", "UITTEKEN"), None),
        ("Ontteken", ("stop", "ONTTEKEN"), None),
        ("be\u00ebindig", ("stop", "BEEINDIG"), None),
        ("STOP asseblief", ("stop", "STOP"), ("stop", "STOP")),
        ("Stop asb dankie", ("stop", "STOP"), ("stop", "STOP")),
        ("STOP", ("stop", "STOP"), ("stop", "STOP")),
    ],
)
def test_the_keywords_of_the_companys_region_count_there(text, za, elsewhere):
    assert keyword(text, "ZA") == za
    assert keyword(text, "za") == za
    assert keyword(text, "US") == elsewhere


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Courtesy words beside a keyword: the wish is plain, so it is an opt-out.
        ("STOP please", ("stop", "STOP")),
        ("please stop", ("stop", "STOP")),
        ("Please STOP now, thank you", ("stop", "STOP")),
        ("pls stop thx", ("stop", "STOP")),
        # A number beside a keyword is a reference (a campaign code, a short code): still an opt-out.
        ("STOP 123", ("stop", "STOP")),
        ("stop123", ("stop", "STOP")),
        ("123 stop", ("stop", "STOP")),
        # An opt-in word beside an opt-out one is a doubt, and the doubt goes to the opt-out.
        ("STOP START", ("stop", "STOP")),
        ("yes stop", ("stop", "STOP")),
        ("start stop", ("stop", "STOP")),
        # Punctuation only decorates.
        ("stop.", ("stop", "STOP")),
        ("...stop?!", ("stop", "STOP")),
        ("-STOP-", ("stop", "STOP")),
        # A negation or any other word makes it a sentence, kept for a person to read.
        ("don't stop", None),
        ("Don\u2019t stop", None),
        ("do not stop", None),
        ("no stop", None),
        ("stop sending me these", None),
        ("I can't stop laughing", None),
        ("Stop by the shop", None),
        ("stopped", None),
        ("stops", None),
        ("nonstop", None),
        ("legend", None),
        # Opting back in must be unmistakable: no courtesy words, no numbers.
        ("yes please", None),
        ("START 123", None),
        ("please start", None),
    ],
)
def test_ambiguous_messages_go_the_way_docs_api_md_says(text, expected):
    assert keyword(text) == expected


def test_every_listed_keyword_is_recognised():
    for word in STOP_KEYWORDS:
        assert keyword(word.lower(), "US").action == "stop", word
    for region, words in REGIONAL_STOP_KEYWORDS.items():
        for word in words:
            assert keyword(word.lower(), region).action == "stop", word
    for word in START_KEYWORDS:
        assert keyword(word.lower()).action == "start", word


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


@pytest.mark.parametrize("text", ["UN-SUBSCRIBE", "Un subscribe", "un_subscribe", "St op"])
def test_a_keyword_typed_apart_is_still_an_opt_out(text):
    # The rule before this work squashed spaces, dashes and underscores inside the word: each of these
    # opted the subscriber out, and now each is stored as a reply while marketing keeps going.
    found = keyword(text)
    assert found is not None and found.action == "stop", (text, found)
