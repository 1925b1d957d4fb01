"""GSM 03.38 segment tables: every boundary on both sides (3GPP TS 23.038 / 23.040)."""

import pytest

from chalicelib.domain.rules.segments import BASIC, EXTENSION, GSM7, UCS2, cost


@pytest.mark.parametrize(
    ("text", "encoding", "units", "segments"),
    [
        ("", GSM7, 0, 0),
        ("a", GSM7, 1, 1),
        ("a" * 160, GSM7, 160, 1),
        ("a" * 161, GSM7, 161, 2),
        ("a" * 306, GSM7, 306, 2),
        ("a" * 307, GSM7, 307, 3),
        ("a" * 459, GSM7, 459, 3),
        ("a" * 460, GSM7, 460, 4),
        ("€" * 80, GSM7, 160, 1),
        ("€" * 80 + "a", GSM7, 161, 2),
        ("a" * 159 + "^", GSM7, 161, 2),
        ("a" * 158 + "{", GSM7, 160, 1),
        ("\f" * 2, GSM7, 4, 1),
        ("ó", UCS2, 1, 1),
        ("a" * 69 + "’", UCS2, 70, 1),
        ("a" * 70 + "’", UCS2, 71, 2),
        ("й" * 134, UCS2, 134, 2),
        ("й" * 135, UCS2, 135, 3),
        ("😀" * 35, UCS2, 70, 1),
        ("😀" * 35 + "a", UCS2, 71, 2),
    ],
)
def test_boundaries(text, encoding, units, segments):
    result = cost(text)
    assert (result.encoding, result.units, result.segments, result.credits) == (
        encoding,
        units,
        segments,
        segments,
    )


def test_an_extension_character_never_straddles_two_parts():
    # 306 septets would be two parts of 153, but the € at septets 153-154 must move whole to part two.
    text = "a" * 152 + "€" + "a" * 152
    assert cost(text).units == 306
    assert cost(text).segments == 3
    assert cost("a" * 151 + "€" + "a" * 153).segments == 2


def test_a_surrogate_pair_is_never_split():
    text = "a" * 66 + "😀" + "a" * 66
    assert cost(text).units == 134
    assert cost(text).segments == 3
    assert cost("a" * 65 + "😀" + "a" * 67).segments == 2


def test_the_characters_that_force_ucs2_are_named():
    result = cost("Don’t miss our sale – 50% off 😀")
    assert result.encoding == UCS2
    assert result.non_gsm_chars == sorted(["’", "–", "😀"])
    assert result.characters == 31
    assert cost("Don't miss our sale - 50% off").non_gsm_chars == []


def test_the_gsm_alphabet_is_exactly_128_minus_escape_plus_10_extensions():
    assert len(BASIC) == 127
    assert set("\f^{}\\[~]|€") == EXTENSION
    for character in "@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ¤¡ÄÖÑÜ§¿äöñüà":
        assert cost(character).encoding == GSM7, character
    for character in "ÁáÍíÓÚúÂâÊêçÀ`":
        assert cost(character).encoding == UCS2, character


@pytest.mark.parametrize(
    ("length", "char", "encoding", "segments", "per_segment"),
    [
        (160, "a", "GSM-7", 1, 160),
        (161, "a", "GSM-7", 2, 153),
        (306, "a", "GSM-7", 2, 153),
        (307, "a", "GSM-7", 3, 153),
        (459, "a", "GSM-7", 3, 153),
        (460, "a", "GSM-7", 4, 153),
        (70, "ж", "UCS-2", 1, 70),
        (71, "ж", "UCS-2", 2, 67),
    ],
)
def test_the_table_the_docs_print(length, char, encoding, segments, per_segment):
    figures = cost(char * length).as_dict()
    assert (figures["encoding"], figures["characters"], figures["segments"], figures["per_segment"]) == (
        encoding,
        length,
        segments,
        per_segment,
    )


def test_characters_count_the_unit_that_is_counted_and_non_gsm_names_positions():
    emoji = cost("a" * 69 + "😀")  # 71 UTF-16 units, not 70 characters
    assert (emoji.as_dict()["characters"], emoji.segments) == (71, 2)
    curly = cost("It’s here – now")
    assert curly.as_dict()["non_gsm"] == [{"char": "’", "position": 2}, {"char": "–", "position": 10}]
    assert cost("a{b}").as_dict()["characters"] == 6  # extension characters take two septets


def test_gsm_substitution_replaces_look_alikes_and_never_letters():
    from chalicelib.domain.rules.gsm_substitution import substituted

    text = "It’s “fine” – really… ‘ok’ — yes\u00a0no\u200b"
    assert substituted(text) == "It's \"fine\" - really... 'ok' - yes no"
    assert cost(substituted(text)).encoding == "GSM-7"
    for kept in ("Zoë café", "Ahmet Çelik", "😀 hi", "中文", "€5"):
        assert substituted(kept) == kept
