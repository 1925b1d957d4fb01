import random

from chalicelib.domain.seen import SeenNumbers


def test_added_numbers_are_always_found():
    seen = SeenNumbers.for_file(12 * 10_000)
    numbers = [27_800_000_000 + n * 7919 for n in range(10_000)]
    for number in numbers:
        seen.add(number)
    assert all(seen.might_contain(n) for n in numbers)


def test_false_maybes_are_rare_at_the_shortest_rows():
    rng = random.Random(1)
    rows = 50_000
    seen = SeenNumbers.for_file(12 * rows)
    for _ in range(rows):
        seen.add(rng.randrange(27_600_000_000, 27_899_999_999))
    others = [rng.randrange(44_700_000_000, 44_799_999_999) for _ in range(50_000)]
    assert sum(map(seen.might_contain, others)) / len(others) < 0.001


def test_a_saved_filter_answers_the_same():
    seen = SeenNumbers(4096)
    seen.add(27815854565)
    again = SeenNumbers(4096, seen.to_bytes())
    assert again.might_contain(27815854565)
    assert not again.might_contain(27821234567)
