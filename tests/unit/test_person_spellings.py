import pytest

from chalicelib.domain.rules.person_spellings import address_pattern, found_in, number_pattern, replaced
from chalicelib.domain.rules.phones import normalise

NUMBER = "27815854565"
SPELLINGS = [
    "27815854565",
    "+27815854565",
    "0815854565",
    "081 585 4565",
    "081-585-4565",
    "(081) 585 4565",
    "[081] 585 4565",
    "+27 (0)81 585 4565",
    "0027815854565",
    "+27\u00a081\u00a0585\u00a04565",
    "081\u202f585\u202f4565",
    "081\u2013585\u20134565",
    "081\u2014585\u20144565",
    "+27\u201181\u2011585\u20114565",
    "081\u2212585\u22124565",
    "\uff10\uff18\uff11\uff15\uff18\uff15\uff14\uff15\uff16\uff15",
    "\uff0b\uff12\uff17\u3000\uff18\uff11\uff0d\uff15\uff18\uff15\uff0d\uff14\uff15\uff16\uff15",
]


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_every_spelling_the_importer_reads_is_found_and_replaced_alone(spelling):
    assert normalise(spelling, "ZA") == NUMBER
    text = f"Ann ({spelling}), kids: 2"
    assert found_in(number_pattern(NUMBER), text)
    left = replaced(number_pattern(NUMBER), text, "TOKEN")
    assert left.startswith("Ann (") and left.endswith("), kids: 2"), left
    assert "TOKEN" in left and not any(c.isdigit() for c in left[5:-10]), left  # no digit of it is left


@pytest.mark.parametrize(
    "other",
    ["2781585456599", "127815854565", "08158545651", "+44815854565", "\uff12\uff17815854565\uff19"],
)
def test_a_longer_number_holding_the_digits_is_another_number(other):
    assert not found_in(number_pattern(NUMBER), f"call {other} now")
    assert replaced(number_pattern(NUMBER), other, "TOKEN") == other


@pytest.mark.parametrize(
    "text",
    [
        "ann@example.com",
        "ANN@Example.COM",
        "mailto:ann%40example.com",
        "<ann@example.com>.",
        "7#ann@example.com",
        "?email=ann@example.com&x=1",
    ],
)
def test_the_address_is_found_in_any_case_and_url_encoded(text):
    assert found_in(address_pattern("ann@example.com"), text)
    assert "example" not in replaced(address_pattern("ann@example.com"), text, "TOKEN")


@pytest.mark.parametrize(
    "other", ["joann@example.com", "jo.ann@example.com", "ann@example.com.au", "ann@example.community"]
)
def test_an_address_that_merely_holds_the_address_is_another_persons(other):
    assert not found_in(address_pattern("ann@example.com"), other)
