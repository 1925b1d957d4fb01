import pytest

from chalicelib.api.schema import Field, Schema
from chalicelib.domain.errors import InvalidInput

SCHEMA = Schema(
    fields={
        "name": Field(str, required=True, max_length=5),
        "count": Field(int),
        "flag": Field(bool),
        "note": Field(str, nullable=True),
    },
    read_only=("id",),
)


def test_valid_body_is_returned_unchanged():
    assert SCHEMA.parse({"name": "Ann", "count": 3, "flag": False, "note": None}) == {
        "name": "Ann",
        "count": 3,
        "flag": False,
        "note": None,
    }


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        ({}, "name", "is required"),
        ({"name": 5}, "name", "must be a string"),
        ({"name": "toolong"}, "name", "must be at most 5 characters"),
        ({"name": "a", "count": True}, "count", "must be a whole number"),
        ({"name": "a", "count": 1.5}, "count", "must be a whole number"),
        ({"name": "a", "flag": "yes"}, "flag", "must be true or false"),
        ({"name": None}, "name", "must not be null"),
        ({"name": "a", "id": 3}, "id", "is read-only"),
        ({"name": "a", "colour": "red"}, "colour", "is not a field of this object"),
    ],
)
def test_each_problem_is_named_by_field(body, field, reason):
    with pytest.raises(InvalidInput) as raised:
        SCHEMA.parse(body)
    assert raised.value.fields == {field: [reason]}


def test_all_problems_are_reported_together():
    with pytest.raises(InvalidInput) as raised:
        SCHEMA.parse({"count": "x", "extra": 1})
    assert set(raised.value.fields) == {"name", "count", "extra"}


def test_partial_requires_nothing_but_still_checks_types():
    assert SCHEMA.parse({}, partial=True) == {}
    with pytest.raises(InvalidInput):
        SCHEMA.parse({"flag": 1}, partial=True)


@pytest.mark.parametrize("body", [[], "text", 3, None])
def test_body_must_be_an_object(body):
    with pytest.raises(InvalidInput) as raised:
        SCHEMA.parse(body)
    assert raised.value.code == "invalid_body"
