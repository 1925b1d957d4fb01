"""Which numbers a file has already given, in memory that grows with the file's size in bytes only.

A Bloom filter: `add` and `might_contain` never miss a number that was added, and say "maybe" for
one that was not about once in 4,000 times (at 2 bits per byte of file and the shortest rows); the
importer confirms every "maybe" against the stored contacts. Deterministic hashing, so the filter
can be saved and loaded between invocations.
"""

from __future__ import annotations

_MASK = (1 << 64) - 1
_HASHES = 5
BITS_PER_FILE_BYTE = 2


class SeenNumbers:
    def __init__(self, bits: int, data: bytes | None = None) -> None:
        self.bits = max(bits, 1024)
        self._bytes = bytearray(data) if data is not None else bytearray((self.bits + 7) // 8)
        assert len(self._bytes) * 8 >= self.bits, "saved filter is too small for its size"

    @classmethod
    def for_file(cls, size_in_bytes: int) -> SeenNumbers:
        return cls(size_in_bytes * BITS_PER_FILE_BYTE)

    def add(self, number: int) -> None:
        table = self._bytes
        for position in self._positions(number):
            table[position >> 3] |= 1 << (position & 7)

    def might_contain(self, number: int) -> bool:
        table = self._bytes
        return all(table[position >> 3] & (1 << (position & 7)) for position in self._positions(number))

    def to_bytes(self) -> bytes:
        return bytes(self._bytes)

    def _positions(self, number: int) -> list[int]:
        first = (number * 0x9E3779B97F4A7C15) & _MASK
        second = ((number * 0xC2B2AE3D27D4EB4F) & _MASK) | 1
        bits = self.bits
        return [(first + i * second) % bits for i in range(_HASHES)]
