import pytest

from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.rules.templates import compile_template

ANN = {"first_name": "Ann", "last_name": "Lee", "msisdn": "27815854565", "fields": {"city": "Durban"}}


@pytest.mark.parametrize(
    ("message", "rendered"),
    [
        ("Hi {{first_name}}!", "Hi Ann!"),
        ("Hi {{ first_name }} {{last_name}}", "Hi Ann Lee"),
        ("See you in {{fields.city}}", "See you in Durban"),
        ("Code {{fields.code}} for {{email}}", "Code  for "),
        ("No placeholders", "No placeholders"),
        ("Braces { alone } and {{ not closed", "Braces { alone } and {{ not closed"),
        ("{{msisdn}}", "27815854565"),
    ],
)
def test_placeholders_render_and_missing_values_are_empty(message, rendered):
    assert compile_template(message).render(ANN) == rendered


@pytest.mark.parametrize(
    ("message", "named"),
    [
        ("Hi {{name}}", "{{name}}"),
        ("Hi {{First_Name}}", "{{First_Name}}"),
        ("{{fields.}}", "{{fields.}}"),
        ("{{fields.City Name}}", "{{fields.City Name}}"),
        ("{{first_name}} {{surname}}", "{{surname}}"),
    ],
)
def test_an_unknown_placeholder_is_named(message, named):
    with pytest.raises(InvalidInput) as raised:
        compile_template(message)
    assert named in raised.value.message
    assert raised.value.code == "unknown_placeholder"


def test_a_template_without_placeholders_is_not_personal():
    assert not compile_template("Sale today").personal
    assert compile_template("Sale {{first_name}}").personal
