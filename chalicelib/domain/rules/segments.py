"""What an SMS costs: GSM 03.38 encoding and segments, exactly as networks bill them.

GSM-7 holds 160 septets in one segment and 153 in each part of a longer message (the rest is the
concatenation header); the extension characters (form feed and ^ { } \\ [ ~ ] | €) take two
septets and never straddle two parts. One character outside GSM-7 makes the whole message UCS-2:
70 UTF-16 units in one segment, 67 per part, and a surrogate pair (an emoji) is never split.
One credit is one segment.
"""

from __future__ import annotations

from dataclasses import dataclass

GSM7 = "GSM-7"
UCS2 = "UCS-2"

_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_EXTENSION = "\f^{}\\[~]|€"
BASIC = frozenset(_BASIC)
EXTENSION = frozenset(_EXTENSION)

_SINGLE = {GSM7: 160, UCS2: 70}
_PART = {GSM7: 153, UCS2: 67}


MAX_POSITIONS = 50  # the most non-GSM characters a quote lists with their positions


@dataclass(frozen=True)
class Cost:
    """`units` is what is counted (septets for GSM-7, UTF-16 units for UCS-2); `non_gsm` holds the
    characters that forced UCS-2 with their positions (0-based, in characters), the first fifty."""

    encoding: str
    characters: int
    units: int
    segments: int
    non_gsm_chars: list[str]
    non_gsm: tuple[tuple[str, int], ...] = ()

    @property
    def credits(self) -> int:
        return self.segments

    @property
    def per_segment(self) -> int:
        """What one segment of this message holds: the whole-message size, or a part's once it is split."""
        return _SINGLE[self.encoding] if self.segments <= 1 else _PART[self.encoding]

    def as_dict(self) -> dict:
        """The figures every quote and send answer shows."""
        return {
            "encoding": self.encoding,
            "characters": self.units,
            "segments": self.segments,
            "per_segment": self.per_segment,
            "credits": self.credits,
            "non_gsm_chars": self.non_gsm_chars,
            "non_gsm": [{"char": c, "position": p} for c, p in self.non_gsm],
        }


def cost(text: str) -> Cost:
    """Encoding, size and segments of `text` as it will be sent."""
    outside = sorted({c for c in text if c not in BASIC and c not in EXTENSION})
    positions: tuple[tuple[str, int], ...] = ()
    if outside:
        sizes = [2 if ord(c) > 0xFFFF else 1 for c in text]
        encoding = UCS2
        found = (i for i, c in enumerate(text) if c not in BASIC and c not in EXTENSION)
        positions = tuple((text[i], i) for _, i in zip(range(MAX_POSITIONS), found, strict=False))
    else:
        sizes = [2 if c in EXTENSION else 1 for c in text]
        encoding = GSM7
    units = sum(sizes)
    return Cost(encoding, len(text), units, _segments(sizes, units, encoding), outside, positions)


def _segments(sizes: list[int], units: int, encoding: str) -> int:
    if units == 0:
        return 0
    if units <= _SINGLE[encoding]:
        return 1
    part, used, count = _PART[encoding], 0, 1
    for size in sizes:
        if used + size > part:
            count += 1
            used = 0
        used += size
    return count
