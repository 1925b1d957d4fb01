import random

from chalicelib.domain.imports.seen import MAX_BITS, SeenNumbers


def test_added_numbers_are_always_found():
    seen = SeenNumbers(SeenNumbers.bits_for_rows(10_000))
    numbers = [27_800_000_000 + n * 7919 for n in range(10_000)]
    for number in numbers:
        seen.add(number)
    assert all(seen.might_contain(n) for n in numbers)


def test_false_maybes_stay_near_one_percent():
    rng = random.Random(1)
    rows = 50_000
    seen = SeenNumbers(SeenNumbers.bits_for_rows(rows))
    for _ in range(rows):
        seen.add(rng.randrange(27_600_000_000, 27_899_999_999))
    others = [rng.randrange(44_700_000_000, 44_799_999_999) for _ in range(50_000)]
    assert sum(map(seen.might_contain, others)) / len(others) < 0.015


def test_sizes_are_odd_and_capped():
    assert SeenNumbers.bits_for_rows(0) % 2 == 1
    assert SeenNumbers.bits_for_rows(2**20) % 2 == 1
    assert SeenNumbers.bits_for_rows(10**12) == MAX_BITS


def test_a_tiny_filter_still_spreads_numbers_that_share_their_low_bits():
    seen = SeenNumbers(SeenNumbers.bits_for_rows(10))
    for n in range(10):
        seen.add(27_815_854_565 + n * 1024)
    misses = sum(seen.might_contain(27_815_854_565 + n * 1024 + 1) for n in range(1000))
    assert misses < 100


def test_a_saved_filter_answers_the_same():
    seen = SeenNumbers(4097)
    seen.add(27815854565)
    again = SeenNumbers(4097, bytes(seen.to_bytes()))
    assert again.might_contain(27815854565)
    assert not again.might_contain(27821234567)
