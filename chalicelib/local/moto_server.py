"""moto in server mode, with the speed-up the embedded stack relies on (see `moto_speedups`)."""

from __future__ import annotations

import sys

from chalicelib.local.moto_speedups import install


def main() -> None:
    install()
    from moto.server import main as serve

    sys.argv[0] = "moto_server"
    serve()


if __name__ == "__main__":
    main()
