"""Whether a deployment leaves opted-out numbers and addresses out: whenever it is `marketing` or asks
for the opt-out line (`optout`), as the closed platform's clients rely on. Only `marketing` holds a send
to the permitted hours; only `optout` adds the opt-out line.

| marketing | optout | opted-out people | opt-out line | permitted hours |
|---|---|---|---|---|
| false | false | sent to | no | any time |
| false | true | left out | yes | any time |
| true | false | left out | no | only then |
| true | true | left out | yes | only then |
"""

from __future__ import annotations


def honours_optouts(marketing: bool, optout: bool) -> bool:
    return bool(marketing or optout)
