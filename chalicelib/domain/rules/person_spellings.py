"""One person's number or address as it may be written anywhere (free text, JSON, CSV cells), and the
one-way token an erasure writes in its place. Pure: the erasure and the opt-out check share it."""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata

import phonenumbers

ERASED = "erased:"
_GAP = r"[\s\-.()\[\]/]*"  # what people put between digits (folded): spaces, dashes, dots, brackets, slashes
# every dash `phones.normalise` deletes, as folded text spells it: they are all gaps here too
# national digits right after another calling code and a gap (`+264 81 585 4565`, `264-81…`) are another
# country's number; after a whole number and a gap (`0821234567 0815854565`) they may be this person's
_AFTER_NO_CODE = "".join(
    rf"(?<!{before}\d{{{digits}}}[\s\-.()\[\]/])" for digits in (1, 2, 3) for before in (r"[^\d]", "^")
)
_DASHES = str.maketrans(dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212", "-"))
# what, right before an address's local part or right after its domain, makes a longer address: the
# local part's usual characters (not the rare `#`, `=`, `'` or `/`, which Colony's own keys, query
# strings and quotes put before an address)
_LOCAL_CHAR = r"[\w.+-]"
_DOMAIN_TAIL = r"(?:[\w-]|\.[\w-])"


def _spaced(digits: str) -> str:
    return _GAP.join(digits)


def number_pattern(number: str) -> re.Pattern[str]:
    """Every spelling of `number` (international digits, `27815854565`): `+27815854565`, `0815854565`,
    `081 585 4565`, `+27 (0)81 585 4565`, `0027815854565`, the national digits alone; never inside a
    longer run of digits (`2781585456599` is another number). Match it in `folded` text."""
    code = str(phonenumbers.parse("+" + number).country_code)
    national = number[len(code) :]  # as written (the simulator's `27000000004` keeps its zeros)
    prefix = rf"(?:(?:(?:\+|00){_GAP})?{_spaced(code)}{_GAP}(?:\(0\){_GAP})?|0{_GAP})?"
    return re.compile(rf"(?<![\d+]){_AFTER_NO_CODE}{prefix}{_spaced(national)}(?!\d)")


def address_pattern(address: str) -> re.Pattern[str]:
    """`address` in any case, and with its `@` URL-encoded (as a query string carries it), its domain
    as stored (`xn--…`) or in Unicode (`exämple.com`, as the importer read it); the whole address only
    (`joann@example.com` and `ann@example.com.au` are other people's)."""
    spellings = dict.fromkeys([address, _unicode_domain(address)])
    body = "|".join(re.escape(spelling).replace("@", "(?:@|%40)") for spelling in spellings)
    return re.compile(rf"(?<!{_LOCAL_CHAR})(?:{body})(?!{_DOMAIN_TAIL})", re.IGNORECASE)


def _unicode_domain(address: str) -> str:
    local, _, domain = address.rpartition("@")
    try:
        return f"{local}@{domain.encode('ascii').decode('idna')}" if "xn--" in domain else address
    except UnicodeError:
        return address


def _fold_char(char: str) -> str:
    """One character as `phones.normalise` reads it: NFKC (full-width digits, no-break spaces), any
    script's decimal digit as its ASCII digit, every Unicode dash as `-`."""
    digit = unicodedata.decimal(char, None)
    if digit is not None:
        return str(digit)
    if unicodedata.category(char) == "Cf":  # zero-width spaces, soft hyphens, word joiners: a gap
        return " "
    return unicodedata.normalize("NFKC", char).translate(_DASHES)


def folded(text: str) -> tuple[str, list[int]]:
    """`text` folded character by character, and for each folded character the index in `text` it
    came from (so a match in the folded text is replaced in the original)."""
    if text.isascii():
        return text, list(range(len(text)))
    out, origin = [], []
    for index, char in enumerate(text):
        piece = char if char.isascii() else _fold_char(char)
        out.append(piece)
        origin.extend([index] * len(piece))
    return "".join(out), origin


def spans(pattern: re.Pattern[str], text: str) -> list[tuple[int, int]]:
    """Where in `text` a spelling `pattern` matches once the text is folded (start, end)."""
    if text.isascii():
        return [match.span() for match in pattern.finditer(text)]
    plain, origin = folded(text)
    return [
        (origin[match.start()], origin[match.end() - 1] + 1)
        for match in pattern.finditer(plain)
        if match.end() > match.start()
    ]


def found_in(pattern: re.Pattern[str], text: str) -> bool:
    return pattern.search(folded(text)[0]) is not None


def replaced(pattern: re.Pattern[str], text: str, token: str) -> str:
    """`text` with every spelling `pattern` matches (folded) replaced by `token`."""
    if text.isascii():
        return pattern.sub(token, text)
    parts, last = [], 0
    for start, end in spans(pattern, text):
        parts += [text[last:start], token]
        last = end
    return "".join(parts) + text[last:] if parts else text


def erased_token(secret: str, company: int, person_key: str) -> str:
    """`erased:<hex>`: HMAC-SHA-256 of the company and the person's key under the platform's secret. The
    same person gives the same token within a company (counts by recipient stay true) and a different
    one in every other company (two companies' erasures cannot be linked)."""
    digest = hmac.new(secret.encode(), f"{company}:{person_key}".encode(), hashlib.sha256).hexdigest()
    return ERASED + digest


def is_erased(value: str) -> bool:
    return value.startswith(ERASED)
