"""The saved-query language: what parses, what each query means, and errors that point at the problem."""

from dataclasses import dataclass, field

import pytest

from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.rules.query_language import parse


@dataclass
class Someone:
    values: dict = field(default_factory=dict)
    lists: set = field(default_factory=set)
    blocked: bool = False

    def value(self, name):
        return self.values.get(name)

    def in_list(self, list_id):
        return list_id in self.lists

    def opted_out(self):
        return self.blocked


ANN = Someone(
    {
        "msisdn": "27815854565",
        "first_name": "Ann",
        "last_name": "Smith",
        "fields.city": "Cape Town",
        "fields.age": "34",
        "fields.code": "007",
    },
    lists={12},
)
BOB = Someone({"msisdn": "27825550000", "first_name": "Bob", "fields.age": "9"}, lists={3}, blocked=True)


@pytest.mark.parametrize(
    ("text", "ann", "bob"),
    [
        ('first_name = "Ann"', True, False),
        ('first_name = "ann"', True, False),
        ('first_name != "Ann"', False, True),
        ('fields.city ~ "cape"', True, False),
        ('fields.city = ""', False, True),
        ("fields.age > 18", True, False),
        ("fields.age >= 34", True, False),
        ("fields.age < 10", False, True),
        ("fields.age <= 9.0", False, True),
        ('fields.age > "18"', True, False),
        ("fields.missing < 5", False, False),
        ("fields.code = 7", True, False),
        ('last_name < "T"', True, False),
        ('msisdn ~ "2782"', False, True),
        ("list = 12", True, False),
        ("list != 12", False, True),
        ("opted_out = true", False, True),
        ("opted_out != true", True, False),
        ("opted_out = FALSE", True, False),
        ('first_name = "Ann" AND fields.city ~ "Cape" AND NOT list = 3', True, False),
        ('first_name = "Bob" OR fields.age > 30', True, True),
        ('NOT (first_name = "Bob" OR fields.age > 30)', False, False),
        ('first_name = "Bob" or first_name = "Ann" and list = 3', False, True),
        ('(first_name = "Bob" or first_name = "Ann") and list = 3', False, True),
        ("not not list = 12", True, False),
        ('fields."favourite colour" = ""', True, True),
        ('fields.city = "Cape \\"Mother\\" Town"', False, False),
    ],
)
def test_queries_mean_what_they_say(text, ann, bob):
    query = parse(text)
    assert (query.matches(ANN), query.matches(BOB)) == (ann, bob)


def test_a_query_names_the_lists_it_reads_and_whether_it_asks_about_opt_outs():
    query = parse('list = 12 OR (list != 40 AND NOT opted_out = true) OR first_name = "x"')
    assert query.lists == {12, 40} and query.asks_opted_out
    assert not parse('first_name = "x"').asks_opted_out


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            'first_name = "Ann" AND',
            "at position 23: expected a field name or '(', found the end of the query",
        ),
        ('first_name "Ann"', "at position 12: expected an operator (= != ~ < <= > >=), found '\"Ann\"'"),
        (
            "first_name =",
            "at position 13: expected a value (a quoted text, a number, true or false), found the end",
        ),
        ('nickname = "x"', "at position 1: unknown field 'nickname'"),
        ('(first_name = "Ann"', "at position 20: expected ')', found the end of the query"),
        ('first_name = "Ann")', "at position 19: expected AND or OR (this ')' closes nothing)"),
        ('first_name = "Ann', "at position 14: this quoted text is never closed"),
        ('first_name = "A" first_name = "B"', "at position 18: expected AND, OR or ')', found 'first_name'"),
        ("list ~ 12", "at position 6: list takes = or != and a list id"),
        ('list = "twelve"', "at position 6: list takes = or != and a list id"),
        ("opted_out = 1", "at position 11: opted_out takes = or != and true or false"),
        ("first_name = true", "at position 14: first_name holds text: quote the value"),
        ("first_name == 'x'", "at position 13: expected a value"),
        ("fields. = 1", "at position 1: expected a field name after 'fields.'"),
        ("first_name = eval(1)", "at position 14: expected a value"),
    ],
)
def test_a_bad_query_is_a_400_naming_the_position_and_what_was_expected(text, message):
    with pytest.raises(InvalidInput) as raised:
        parse(text)
    assert raised.value.fields["query"][0].startswith(message), raised.value.fields


@pytest.mark.parametrize("text", ["", "   ", None, 12, "x" * 2001])
def test_empty_or_overlong_queries_are_refused(text):
    with pytest.raises(InvalidInput):
        parse(text)


def test_deep_nesting_is_refused_not_a_crash():
    with pytest.raises(InvalidInput) as raised:
        parse("(" * 500 + "list = 1" + ")" * 500)
    assert "nested more than" in raised.value.fields["query"][0]
    with pytest.raises(InvalidInput):
        parse("NOT " * 400 + "list = 1")
    assert parse("(" * 10 + "list = 1" + ")" * 10).matches(ANN) is False


def test_long_numbers_compare_exactly():
    big = Someone({"fields.account": "12345678901234567891", "fields.n": "9007199254740993"})
    assert not parse("fields.account = 12345678901234567890").matches(big)
    assert parse("fields.account = 12345678901234567891").matches(big)
    assert parse("fields.n > 9007199254740992").matches(big)


@pytest.mark.parametrize("text", ['list = "²"', 'list = "①"', "list = ١٢", "list = " + "9" * 19])
def test_list_ids_are_plain_digits_of_sensible_length(text):
    with pytest.raises(InvalidInput):
        parse(text)
