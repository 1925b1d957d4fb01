"""GSM substitution, by choice (`gsm_substitute`): punctuation and spaces outside GSM-7 that have a GSM
look-alike (curly quotes, en and em dashes, the ellipsis, a non-breaking or zero-width space) are
replaced by it before the text is priced and sent, so one curly apostrophe does not make a message
UCS-2. The look-alikes come from `anyascii`; letters are never touched (a name keeps its spelling),
and a character with no GSM look-alike stays as it is."""

from __future__ import annotations

import functools
import unicodedata

from anyascii import anyascii

from chalicelib.domain.rules.segments import BASIC, EXTENSION

_REPLACEABLE = ("P", "Z", "Cf", "Sk", "Sm")  # punctuation, spaces, invisible format marks, some symbols


def substituted(text: str) -> str:
    """`text` with every replaceable non-GSM character replaced by its GSM look-alike."""
    if all(c in BASIC or c in EXTENSION for c in text):
        return text
    return "".join(_look_alike(c) for c in text)


@functools.cache
def _look_alike(char: str) -> str:
    if char in BASIC or char in EXTENSION:
        return char
    category = unicodedata.category(char)
    if not any(category.startswith(kind) for kind in _REPLACEABLE):
        return char
    replacement = anyascii(char)
    return replacement if all(c in BASIC or c in EXTENSION for c in replacement) else char
