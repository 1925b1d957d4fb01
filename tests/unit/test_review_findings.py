"""An adversarial review of the work after d89f475: rules the new keyword folding breaks."""

import pytest

from chalicelib.domain.rules.sms_keywords import keyword


@pytest.mark.parametrize("text", ["UN-SUBSCRIBE", "Un subscribe", "un_subscribe", "St op"])
def test_a_keyword_typed_apart_is_still_an_opt_out(text):
    # The rule before this work squashed spaces, dashes and underscores inside the word: each of these
    # opted the subscriber out, and now each is stored as a reply while marketing keeps going.
    found = keyword(text)
    assert found is not None and found.action == "stop", (text, found)
