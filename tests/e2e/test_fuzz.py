"""Schemathesis, a fuzzer nobody here wrote, against the embedded stack as `make run` starts it: every
operation of the served OpenAPI document, positive and negative cases, then the stateful phase that
follows the document's links (create a list, then read, change and delete it). It must find nothing:
no server error, every status and content type documented, every body as the document says."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from chalicelib.settings import PROJECT_DIR

pytestmark = pytest.mark.e2e

CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
# Cases an operation, bounded so the suite stays under three minutes: about 360 over the 85 operations,
# then the stateful phase. `st run` by hand with `--phases coverage,fuzzing,stateful -n 40` explores
# about 7,800 (about ten minutes); the README says how.
EXAMPLES = 4
SEED = "17"  # fixed, so CI fuzzes the same cases every run; `st run` without it explores new ones
# Last, each with a key of its own: writes that can take the fuzzer's key away (revoke it, delete or
# demote its user), after which every answer would be a 401.
OWN_ACCESS = (r"^/users/\{", r"^/api-keys/\{")


def _fuzz(stack, key: str, report: Path, *selection: str, examples: int, phases: str) -> str:
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "st"),
            "run",
            f"{stack.api}/openapi.json",
            "--url",
            stack.api,
            "--header",
            f"Authorization: Token {key}",
            "--checks",
            CHECKS,
            "--phases",
            phases,
            "--max-examples",
            str(examples),
            "--seed",
            SEED,
            "--workers",
            "1",
            "--generation-database",
            "none",
            "--request-timeout",
            "20",
            "--no-color",
            "--report",
            "junit",
            "--report-junit-path",
            str(report),
            *selection,
        ],
        cwd=PROJECT_DIR,
        env=_fuzzer_environment(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-8000:] + done.stderr[-2000:]
    report.with_suffix(".txt").write_text(done.stdout)
    return done.stdout


def _fuzzer_environment() -> dict[str, str]:
    """The fuzzer on the machine's own clock: under `make test-any-hour` libfaketime would slow its many
    timers fivefold; the stack it fuzzes keeps the faked clock."""
    return {k: v for k, v in os.environ.items() if k != "LD_PRELOAD" and not k.startswith("FAKETIME")}


def test_schemathesis_finds_nothing_in_any_operation(stack, tmp_path):
    company = stack.cli("company", "create", "--name", "Fuzzed", "--credits", "100000")
    excluded = [arg for pattern in OWN_ACCESS for arg in ("--exclude-path-regex", pattern)]
    everything = _fuzz(
        stack,
        company["api_key"],
        tmp_path / "all.xml",
        *excluded,
        examples=EXAMPLES,
        phases="fuzzing,stateful",
    )
    assert "Stateful" in everything and " 0 failed" not in everything
    for number, pattern in enumerate(OWN_ACCESS):
        made = stack.cli(
            "user",
            "create",
            "--company",
            str(company["company"]["id"]),
            "--email",
            f"fuzz{number}@fuzzed.example",
            "--role",
            "admin",
        )
        own = _fuzz(
            stack,
            made["api_key"],
            tmp_path / f"own{number}.xml",
            "--include-path-regex",
            pattern,
            examples=EXAMPLES,
            phases="fuzzing",
        )
        assert "returned only 401" not in own, own
