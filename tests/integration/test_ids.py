from chalicelib.models.counters import allocate_ids


def test_blocks_of_ids_are_consecutive_and_never_overlap(aws):
    first = allocate_ids("contact", 1000)
    second = allocate_ids("contact")
    third = allocate_ids("contact", 25)
    assert list(first) == list(range(1, 1001))
    assert list(second) == [1001]
    assert list(third) == list(range(1002, 1027))
    assert list(allocate_ids("deployment")) == [1]
