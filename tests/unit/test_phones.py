import random

import phonenumbers
import pytest
from phonenumbers import PhoneNumberType

from chalicelib.domain.rules import phones
from chalicelib.domain.rules.phones import INVALID_NUMBER, MISSING_NUMBER, InvalidPhoneNumber, normalise


@pytest.mark.parametrize(
    "typed",
    [
        "27815854565",
        "+27815854565",
        "+27 81 585 4565",
        "0815854565",
        "081 585 4565",
        "081-585-4565",
        "081.585.4565",
        "(081) 585 4565",
        "+27 (0)81 585 4565",
        "0027815854565",
        "0027 81 585 4565",
        "+27\u00a081\u00a0585\u00a04565",
        "\uff10\uff18\uff11\uff15\uff18\uff15\uff14\uff15\uff16\uff15",
        " 27815854565 ",
        "'0815854565",
        "27815854565.0",
        "+27\u201181\u2011585\u20114565",
        "tel:+27815854565",
        "TEL:+27-81-585-4565",
        "tel:+27815854565;phone-context=example.com",
        "tel:0815854565",
    ],
)
def test_the_forms_people_type_are_one_number(typed):
    assert normalise(typed, "ZA") == "27815854565"


@pytest.mark.parametrize(
    ("typed", "region", "expected"),
    [
        ("07911 123456", "GB", "447911123456"),
        ("447911123456", "ZA", "447911123456"),
        ("(415) 555-2671", "US", "14155552671"),
        ("+1 415 555 2671", "ZA", "14155552671"),
        ("0803 123 4567", "NG", "2348031234567"),
        ("0712 345678", "KE", "254712345678"),
        ("010 123 4567", "ZA", "27101234567"),
        ("815854565", "ZA", "27815854565"),
    ],
)
def test_national_numbers_are_read_in_the_company_region(typed, region, expected):
    assert normalise(typed, region) == expected


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        (None, MISSING_NUMBER),
        ("", MISSING_NUMBER),
        ("   ", MISSING_NUMBER),
        ("-", MISSING_NUMBER),
        ("12", INVALID_NUMBER),
        ("0815", INVALID_NUMBER),
        ("2781585456512345", INVALID_NUMBER),
        ("+27 11", INVALID_NUMBER),
        ("2.78159E+10", INVALID_NUMBER),
        ("call me", INVALID_NUMBER),
        ("1-800-FLOWERS", INVALID_NUMBER),
        ("27815854565 ext 3", INVALID_NUMBER),
        ("tel:", MISSING_NUMBER),
        ("tel:call-me", INVALID_NUMBER),
        ("sms:+27815854565", INVALID_NUMBER),
    ],
)
def test_unusable_numbers_are_rejected_with_a_reason(typed, reason):
    with pytest.raises(InvalidPhoneNumber) as raised:
        normalise(typed, "ZA")
    assert raised.value.reason == reason


def test_canonical_and_national_numbers_never_reach_the_full_parse(monkeypatch):
    def full_parse(raw, region):
        raise AssertionError(f"slow path for {raw}")

    normalise("27815854565", "ZA")
    monkeypatch.setattr(phones, "_slow", full_parse)
    assert normalise("27815854565", "ZA") == "27815854565"
    assert normalise("0815854565", "ZA") == "27815854565"
    assert normalise("14155552671", "ZA") == "14155552671"


def _both(raw, region):
    def outcome(function):
        try:
            return function(raw, region)
        except InvalidPhoneNumber as error:
            return error.reason

    return outcome(normalise), outcome(phones._slow)


def _samples():
    rng = random.Random(20261126)
    regions = sorted(phonenumbers.SUPPORTED_REGIONS)
    kinds = [
        PhoneNumberType.MOBILE,
        PhoneNumberType.FIXED_LINE,
        PhoneNumberType.TOLL_FREE,
        PhoneNumberType.VOIP,
    ]
    for region in regions:
        for kind in kinds:
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            e164 = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)[1:]
            national = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.NATIONAL)
            yield e164, rng.choice(regions)
            yield "".join(c for c in national if c.isdigit()), region
            yield national, region
            yield phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.INTERNATIONAL), region
            yield "+" + e164, rng.choice(regions)
            yield "00" + e164, rng.choice(regions)
            yield "00 " + e164[:2] + " " + e164[2:], region
            yield "011" + e164, rng.choice(["US", "CA", region])
            yield national.replace(" ", "-"), region
            yield national.replace(" ", "."), region
            yield phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.RFC3966), region
            yield f"+{example.country_code} (0){example.national_number}", region
            yield f"({national[:3]}) {national[3:]}", region
            mutated = list(e164)
            mutated[rng.randrange(len(mutated))] = str(rng.randrange(10))
            yield "".join(mutated), region
            yield e164 + str(rng.randrange(10)), region
            yield e164[:-1], region
    for _ in range(30_000):
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(6, 16)))
        yield digits, rng.choice(["ZA", "US", "GB", "NG", "KE", "DE", "IT", "AR", "MX", "IN", "BR"])


def test_the_fast_path_never_disagrees_with_libphonenumber():
    mismatches = [
        (raw, region, *_both(raw, region)) for raw, region in _samples() if len(set(_both(raw, region))) > 1
    ]
    assert mismatches == []
