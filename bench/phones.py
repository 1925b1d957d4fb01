"""Phone normalisation: microseconds per number on the fast path and through full libphonenumber.

    .venv/bin/python -m bench.phones

The last line is one JSON object.
"""

from __future__ import annotations

import json
import random
import timeit

from chalicelib.domain.rules import phones


def per_number_us(numbers: list[str], function) -> float:
    seconds = min(timeit.repeat(lambda: [function(n, "ZA") for n in numbers], number=1, repeat=5))
    return round(seconds / len(numbers) * 1e6, 3)


def main() -> None:
    rng = random.Random(1)
    canonical = [
        f"27{rng.choice('678')}{rng.choice('1234')}{rng.randrange(10**7):07d}" for _ in range(50_000)
    ]
    national = ["0" + n[2:] for n in canonical]
    spaced = [f"+27 {n[2:4]} {n[4:7]} {n[7:]}" for n in canonical[:10_000]]
    phones.normalise(canonical[0], "ZA")
    result = {
        "canonical_us": per_number_us(canonical, phones.normalise),
        "national_us": per_number_us(national, phones.normalise),
        "formatted_us": per_number_us(spaced, phones.normalise),
        "libphonenumber_us": per_number_us(canonical[:10_000], phones._slow),
    }
    print(
        f"canonical {result['canonical_us']} µs, national {result['national_us']} µs, "
        f"formatted {result['formatted_us']} µs, libphonenumber {result['libphonenumber_us']} µs a number"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
