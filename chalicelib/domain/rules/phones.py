"""Phone numbers as people type them → international digits without `+` (`27815854565`).

`normalise` is on the hot path of every import. libphonenumber (the `phonenumbers` package) decides
every number, but a number already in canonical form (or `+` and digits, or a national number with
a plain trunk prefix, once spaces and dashes are gone) is recognised from the same library's metadata
patterns, precompiled here, in under a microsecond. The fast path only ever accepts: anything it
cannot decide goes to the full parse of the same cleaned text, and a test holds the two to identical
results.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

import phonenumbers
from phonenumbers import NumberParseException, PhoneMetadata
from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE

from chalicelib.domain.rules.modes import magic_number

MISSING_NUMBER = "missing_number"
INVALID_NUMBER = "invalid_number"
# Every type libphonenumber knows; mobile and fixed line first because most numbers here are those.
_TYPE_DESCS = (
    "mobile",
    "fixed_line",
    "premium_rate",
    "toll_free",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
)
_SEPARATORS = re.compile(r"[\s\-./()\[\]\u2010-\u2015\u2212]")
# The same separators as `_SEPARATORS` within ASCII (`\s` there is `str.isspace`), deleted by `str.translate`.
_ASCII_SEPARATORS = str.maketrans("", "", "".join(c for c in map(chr, range(128)) if c.isspace()) + "-./()[]")
_FLOAT_TAIL = re.compile(r"^(\+?\d+)\.0+$")
_LETTERS = re.compile(r"[A-Za-z]")


class InvalidPhoneNumber(ValueError):
    """A number that cannot be used, with its reason code (`missing_number` or `invalid_number`)."""

    def __init__(self, reason: str, value: str) -> None:
        super().__init__(f"{reason}: {value!r}")
        self.reason = reason
        self.value = value


@dataclass(frozen=True)
class _Region:
    """One region's validity test, compiled once: for each length, one regex that holds exactly when
    libphonenumber's `_number_type_helper` would not say UNKNOWN (general pattern and some type)."""

    leading_digits: re.Pattern | None
    by_length: dict[int, re.Pattern]

    def is_valid(self, nsn: str) -> bool:
        pattern = self.by_length.get(len(nsn))
        return pattern is not None and pattern.fullmatch(nsn) is not None


def normalise(raw: str | None, region: str = "ZA", *, simulated: bool = False) -> str:
    """International digits without `+` for `raw`, reading national numbers in `region`; `simulated`
    (a test tenant's) also takes the simulator's magic numbers, which no network has."""
    if simulated and magic_number(_clean(raw).removeprefix("+")):
        return _clean(raw).removeprefix("+")
    if raw and raw.isdigit() and raw.isascii():
        if raw[0] != "0":  # the commonest case, inline: canonical international digits
            code = _CODE_BY_PREFIX.get(raw[:3])
            return raw if code is not None and _accepts(code, raw[len(code) :]) else _slow(raw, region)
        text = raw
    else:
        text = _clean(raw)
    fast = _fast(text, region) if text else None
    return fast if fast is not None else _slow(raw, region)


def _fast(text: str, region: str) -> str | None:
    """The number, when the metadata patterns decide it exactly as libphonenumber would; else None."""
    international = text[0] == "+"
    digits = text[1:] if international else text
    if not (digits.isdigit() and digits.isascii()):
        return None
    if digits[0] != "0":
        return _international(digits)
    if international:
        return None
    national = _national_prefix(region)
    if national is None:
        return None
    idd = national.idd.match(digits)
    if idd is not None:  # `0027…`: the region's international prefix, then a number as after a `+`
        number = digits[idd.end() :]
        return _international(number) if number[:1] not in ("", "0") else None
    if digits.startswith(national.prefix):
        nsn = digits[len(national.prefix) :]
        if _accepts(national.country_code, nsn, stripped=True):
            return national.country_code + nsn
    return None


def _international(digits: str) -> str | None:
    """Digits after `+` (or an international prefix), when libphonenumber would take them unchanged."""
    code = _CODE_BY_PREFIX.get(digits[:3])
    return digits if code is not None and _accepts(code, digits[len(code) :]) else None


def _accepts(code: str, nsn: str, stripped: bool = False) -> bool:
    """Whether libphonenumber would take `nsn` unchanged as a valid number of calling code `code`."""
    plan = _PLANS.get(code) or _plan(code)
    if not 2 <= len(nsn) <= 17:
        return False
    if not stripped and (nsn.startswith(plan.strip_literal) if plan.strip is None else plan.strip.match(nsn)):
        return False
    regions = plan.regions
    if len(regions) == 1:
        pattern = regions[0].by_length.get(len(nsn))
        return pattern is not None and pattern.fullmatch(nsn) is not None
    for compiled in regions:
        if compiled.leading_digits is not None:
            if compiled.leading_digits.match(nsn):
                return compiled.is_valid(nsn)
        elif compiled.is_valid(nsn):
            return True
    return False


@dataclass(frozen=True)
class _Plan:
    """For a calling code: its regions in libphonenumber's order, and the national-prefix pattern that
    sends a number to the full parse (libphonenumber might strip it)."""

    regions: tuple[_Region, ...]
    strip: re.Pattern | None
    strip_literal: str | tuple[()]


_PLANS: dict[str, _Plan] = {}


def _plan(code: str) -> _Plan:
    """Build once; a prefix that is plain digits (most are) is tested with `startswith`, not a regex."""
    pattern = _prefix_for_parsing(code)
    if pattern is None:
        plan = _Plan(regions=_regions(code), strip=None, strip_literal=())
    elif pattern.pattern.isdigit():
        plan = _Plan(regions=_regions(code), strip=None, strip_literal=pattern.pattern)
    else:
        plan = _Plan(regions=_regions(code), strip=pattern, strip_literal=())
    _PLANS[code] = plan
    return plan


def _slow(raw: str | None, region: str) -> str:
    text = _clean(raw)
    if not text:
        raise InvalidPhoneNumber(MISSING_NUMBER, raw or "")
    if _LETTERS.search(text):
        raise InvalidPhoneNumber(INVALID_NUMBER, raw or "")
    attempts = [(text, None)] if text.startswith("+") else [(text, region)]
    if text.isdigit() and not text.startswith("0"):
        attempts.insert(0, ("+" + text, None))
    for candidate, default_region in attempts:
        try:
            number = phonenumbers.parse(candidate, default_region)
        except NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)[1:]
    raise InvalidPhoneNumber(INVALID_NUMBER, raw or "")


def _clean(raw: str | None) -> str:
    """Fold what spreadsheets, people and gateways add: full-width digits, no-break spaces, `(0)`,
    separators, a `tel:` scheme."""
    if raw is None:
        return ""
    plain = raw.isascii()  # ASCII is its own NFKC form, and its separators are deleted by one translate
    text = (raw if plain else unicodedata.normalize("NFKC", raw)).strip().lstrip("'")
    if text[:4].lower() == "tel:":  # RFC 3966, as some gateways write numbers: `tel:+27-82-…;ext=1` too
        text = text[4:].split(";", 1)[0]
    if "." in text:
        tail = _FLOAT_TAIL.match(text)
        if tail:
            text = tail.group(1)
    if "(0)" in text:
        text = text.replace("(0)", "")
    if not plain:
        return _SEPARATORS.sub("", text)
    spaced = text.replace(" ", "").replace(
        "-", ""
    )  # the common separators, at a fraction of `translate`'s cost
    return spaced if spaced.lstrip("+").isdigit() else spaced.translate(_ASCII_SEPARATORS)


@dataclass(frozen=True)
class _NationalPrefix:
    prefix: str
    country_code: str
    idd: re.Pattern


@functools.cache
def _national_prefix(region: str) -> _NationalPrefix | None:
    """A region's trunk prefix, when it is a plain digit string that libphonenumber strips unchanged."""
    metadata = PhoneMetadata.metadata_for_region(region.upper(), None)
    if metadata is None or metadata.national_prefix_transform_rule:
        return None
    prefix = metadata.national_prefix_for_parsing
    if not prefix or not prefix.isdigit() or prefix != metadata.national_prefix:
        return None
    idd = re.compile(metadata.international_prefix or r"(?!)")
    return _NationalPrefix(prefix, str(metadata.country_code), idd)


@functools.cache
def _prefix_for_parsing(code: str) -> re.Pattern | None:
    metadata = _metadata(COUNTRY_CODE_TO_REGION_CODE[int(code)][0], int(code))
    if metadata is None or not metadata.national_prefix_for_parsing:
        return None
    return re.compile(metadata.national_prefix_for_parsing)


@functools.cache
def _regions(code: str) -> tuple[_Region, ...]:
    compiled = []
    for region in COUNTRY_CODE_TO_REGION_CODE[int(code)]:
        metadata = _metadata(region, int(code))
        if metadata is None or region == "001":
            continue
        compiled.append(_compile(metadata))
    return tuple(compiled)


def _metadata(region: str, code: int) -> PhoneMetadata | None:
    if region == "001":
        return None
    return PhoneMetadata.metadata_for_region(region, None)


def _compile(metadata: PhoneMetadata) -> _Region:
    general = metadata.general_desc
    types: dict[int, list[str]] = {}
    any_length: list[str] = []
    for name in _TYPE_DESCS:
        desc = getattr(metadata, name)
        if desc is None or not desc.national_number_pattern:
            continue
        if desc.possible_length:
            for length in desc.possible_length:
                types.setdefault(length, []).append(desc.national_number_pattern)
        else:
            any_length.append(desc.national_number_pattern)
    lengths = general.possible_length or range(2, 18)
    by_length = {}
    for length in lengths:
        patterns = types.get(length, []) + any_length
        if patterns and general.national_number_pattern:
            either = "|".join(f"(?:{p})" for p in patterns)
            by_length[length] = re.compile(rf"(?=(?:{general.national_number_pattern})\Z)(?:{either})")
    return _Region(
        leading_digits=re.compile(metadata.leading_digits) if metadata.leading_digits else None,
        by_length=by_length,
    )


def _codes_by_prefix() -> dict[str, str]:
    """Every 3-digit start → the calling code it begins with (calling codes are prefix-free)."""
    table = {}
    for code in map(str, COUNTRY_CODE_TO_REGION_CODE):
        for rest in range(10 ** (3 - len(code))):
            table[code + (str(rest).zfill(3 - len(code)) if len(code) < 3 else "")] = code
    return table


_CODE_BY_PREFIX = _codes_by_prefix()


def is_region(region: str) -> bool:
    return region.upper() in phonenumbers.SUPPORTED_REGIONS
