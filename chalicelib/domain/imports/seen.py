"""Which numbers a file has already given, in memory that does not grow with the file past a cap.

A Bloom filter: `add` and `might_contain` never miss a number that was added, and say "maybe" for
one that was not about once in a hundred times at 10 bits a row (less for fewer rows); the
importer checks every "maybe" against what is stored. Deterministic hashing, so the filter can be
saved and loaded between invocations.
"""

from __future__ import annotations

import hashlib

_MASK = (1 << 64) - 1
_HASHES = 5
BITS_PER_ROW = 10
MIN_BITS = 1025
MAX_BITS = (16 << 20) * 8 - 1  # 16 MiB: past some 13 million rows, "maybe" just grows more common


class SeenNumbers:
    def __init__(self, bits: int, data: bytes | None = None) -> None:
        self.bits = bits
        self._bytes = bytearray(data) if data is not None else bytearray((bits + 7) // 8)
        assert len(self._bytes) * 8 >= bits, "saved filter is too small for its size"

    @staticmethod
    def bits_for_rows(rows: int) -> int:
        """An odd size: positions are taken modulo it, and a power of two would keep only low bits."""
        return min(MAX_BITS, max(MIN_BITS, rows * BITS_PER_ROW)) | 1

    def add(self, number: int) -> None:
        table = self._bytes
        for position in self._positions(number):
            table[position >> 3] |= 1 << (position & 7)

    def might_contain(self, number: int) -> bool:
        table = self._bytes
        return all(table[position >> 3] & (1 << (position & 7)) for position in self._positions(number))

    def to_bytes(self) -> bytearray:
        return self._bytes

    def _positions(self, number: int) -> list[int]:
        first = (number * 0x9E3779B97F4A7C15) & _MASK
        second = ((number * 0xC2B2AE3D27D4EB4F) & _MASK) | 1
        bits = self.bits
        return [(first + i * second) % bits for i in range(_HASHES)]


def seen_number(key: str) -> int:
    """The number the filter holds for a row's key: the number itself, or a stable 64-bit digest of an
    address's key (a clash with a number is only another "maybe")."""
    if key.isdigit():
        return int(key)
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big")
