"""Fetch the pinned Swagger UI release from the npm registry, check its integrity, and keep the files
the docs page serves (`chalicelib/api/swagger_ui/`), so no page loads a script from a CDN at run time.

`make` runs this once per version; `chalice package` then ships the files with the API.
"""

from __future__ import annotations

import base64
import hashlib
import io
import sys
import tarfile
import urllib.request
from pathlib import Path

VERSION = "5.35.0"
INTEGRITY = "sha512-U06rpMtW9V3XPGOBeamTUSr0Z09jMX4IJuANpE/EZbAhw0G8CgwrzU4YmXkn/h0wCDNsXdGarTNNHC3sU8yVUQ=="
URL = f"https://registry.npmjs.org/swagger-ui-dist/-/swagger-ui-dist-{VERSION}.tgz"
KEPT = ("swagger-ui-bundle.js", "swagger-ui.css", "LICENSE", "NOTICE")
TARGET = Path(__file__).resolve().parent.parent / "chalicelib" / "api" / "swagger_ui"


def main() -> int:
    stamp = TARGET / f".version-{VERSION}"
    if stamp.exists():
        return 0
    with urllib.request.urlopen(URL, timeout=120) as answer:
        data = answer.read()
    digest = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
    if digest != INTEGRITY:
        print(f"swagger-ui-dist {VERSION}: integrity {digest} is not the pinned {INTEGRITY}", file=sys.stderr)
        return 1
    TARGET.mkdir(parents=True, exist_ok=True)
    for old in TARGET.iterdir():
        old.unlink()
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        for name in KEPT:
            member = archive.extractfile(f"package/{name}")
            if member is not None:
                (TARGET / name).write_bytes(member.read())
    stamp.write_text(URL + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
