"""Which inbound SMS are keywords: STOP-family words opt a subscriber out, START-family ones let them back.

A message is folded first (compatibility forms, accents, case), then read as words: emoji, symbols and
punctuation separate words, apostrophes join them (`don't` is `DONT`), and letters typed apart are one
word (`S T O P`). It is an opt-out when its words are opt-out keywords, repeated or not, with at most
courtesy words (`please`, `asseblief`), numbers (a campaign code) or opt-in words beside them: when in
doubt the law favours the opt-out. It is an opt-in only when every word is an opt-in keyword, since
letting someone back in must never be a guess. Anything else is a reply for a person to read.
"""

from __future__ import annotations

import functools
import unicodedata
from typing import NamedTuple

# The keywords networks and aggregators honour (WASPA's STOP in South Africa; the US carriers' and AWS End
# User Messaging's list), plus the cheap international ones a traveller types.
STOP_KEYWORDS = (
    "STOP",
    "STOPALL",
    "STOP ALL",
    "UNSUBSCRIBE",
    "UNSUB",
    "END",
    "QUIT",
    "CANCEL",
    "OPTOUT",
    "OPT OUT",
    "REMOVE",
    "REMOVE ME",
    "TD",
    "ARRET",  # French, with or without its accent
    "DESABONNER",
    "DESINSCRIRE",
    "ALTO",  # Spanish
    "BAJA",
    "CANCELAR",
    "PARAR",  # Portuguese and Spanish
    "PARE",
    "HALT",  # German and Dutch
    "STOPP",
    "ABMELDEN",
)
# Keywords in the languages of a company's region, on top of the ones above.
REGIONAL_STOP_KEYWORDS: dict[str, tuple[str, ...]] = {
    "ZA": ("KANSELLEER", "STAAK", "HOU OP", "MELD AF", "AFMELD", "UITTEKEN", "ONTTEKEN", "BEEINDIG"),
    "NA": ("KANSELLEER", "STAAK", "HOU OP", "MELD AF", "AFMELD", "UITTEKEN", "ONTTEKEN", "BEEINDIG"),
}
START_KEYWORDS = ("START", "UNSTOP", "YES")
# Words that may stand beside an opt-out keyword without making the message a sentence.
COURTESY_WORDS = (
    "PLEASE",
    "PLS",
    "PLZ",
    "NOW",
    "THANKS",
    "THANK YOU",
    "THX",
    "ASSEBLIEF",
    "ASB",
    "DANKIE",
    "NOU",
)
_JOINERS = "'\u2019\u02bc\u2018`\u00b4"


class Keyword(NamedTuple):
    """What a keyword does (`stop` or `start`) and the first keyword in the message, folded (`OPT OUT`)."""

    action: str
    word: str


def keyword(text: str, region: str = "ZA") -> Keyword | None:
    """The keyword `text` is, read with the keywords of `region`; None when it is an ordinary reply."""
    words = words_of(text)
    if not words:
        return None
    stops = _phrases(STOP_KEYWORDS + REGIONAL_STOP_KEYWORDS.get(region.upper(), ()))
    starts = _phrases(START_KEYWORDS)
    beside = _phrases(COURTESY_WORDS + START_KEYWORDS)
    found = _cover(words, stops, beside)
    if found is None:
        found = _squashed(words, stops)
    if found is not None:
        return Keyword("stop", found)
    found = _cover(words, starts, ())
    return Keyword("start", found) if found is not None else None


def words_of(text: str) -> list[str]:
    """The message's words, folded: NFKD without combining marks, upper case, split at anything that is
    not a letter or a digit, letters typed one by one joined (`S T O P` is `STOP`)."""
    folded = []
    for char in unicodedata.normalize("NFKD", text).upper():
        category = unicodedata.category(char)
        if category.startswith("M") or category == "Cf" or char in _JOINERS:
            continue
        folded.append(char if category[0] in "LN" and category != "No" else " ")
    return _join_spelled(_split_digits("".join(folded).split()))


def _split_digits(words: list[str]) -> list[str]:
    """`STOP123` is `STOP` and `123`: a code run into a keyword is still a code."""
    out = []
    for word in words:
        start = 0
        for index in range(1, len(word)):
            if word[index].isdigit() != word[index - 1].isdigit():
                out.append(word[start:index])
                start = index
        out.append(word[start:])
    return out


def _join_spelled(words: list[str]) -> list[str]:
    out: list[str] = []
    run = ""
    for word in words:
        if len(word) == 1 and word.isalpha():
            run += word
            continue
        if run:
            out.append(run)
            run = ""
        out.append(word)
    return [*out, run] if run else out


def _squashed(words: list[str], stops: tuple[tuple[str, ...], ...]) -> str | None:
    """A stop keyword typed apart (`UN-SUBSCRIBE`, `Un subscribe`, `St op`): the words run together are
    exactly one keyword. When in doubt the law favours the opt-out."""
    together = "".join(words)
    return next((" ".join(p) for p in stops if "".join(p) == together), None)


@functools.cache
def _phrases(keywords: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(words_of(phrase)) for phrase in keywords)


def _cover(
    words: list[str], wanted: tuple[tuple[str, ...], ...], beside: tuple[tuple[str, ...], ...]
) -> str | None:
    """The first wanted phrase when `words` are wanted phrases (at least one) and `beside` ones (and, if
    `beside` is given, numbers) only; else None. Read from the end, so long messages need no recursion."""
    count = len(words)
    # covered[i] for words[i:]: None if they cannot be covered, "" if covered by `beside` alone, else the
    # first wanted phrase among them.
    covered: list[str | None] = [None] * count + [""]
    for index in range(count - 1, -1, -1):
        options = [" ".join(p) for p in wanted if _rest(words, index, p, covered) is not None]
        options += [rest for p in beside if (rest := _rest(words, index, p, covered)) is not None]
        if beside and words[index].isdigit() and covered[index + 1] is not None:
            options.append(covered[index + 1])
        covered[index] = max(options, key=bool, default=None)
    return covered[0] or None


def _rest(words: list[str], index: int, phrase: tuple[str, ...], covered: list[str | None]) -> str | None:
    """What covers the words after `phrase`, when `phrase` starts at `index`; None when it does not."""
    end = index + len(phrase)
    if end > len(words) or tuple(words[index:end]) != phrase:
        return None
    return covered[end]
