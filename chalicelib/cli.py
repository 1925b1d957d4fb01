"""Admin commands for the operator: companies, users, keys, credits, and a stats check.

    python -m chalicelib.cli company create --name Acme --credits 1000
    python -m chalicelib.cli user create --company 1 --email ann@acme.example --role approver
    printf '%s\n' "$PASSWORD" | python -m chalicelib.cli user create --company 1 --email … --password-stdin
    python -m chalicelib.cli credits add --company 1 --amount 500
    python -m chalicelib.cli stats verify --company 1

The stage defaults to `local` (the embedded AWS of `make run`); `--stage prod` uses the normal AWS
environment and the stack named by COLONY_PREFIX.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

from chalicelib.settings import STAGES, use_stage


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    use_stage(args.stage)
    from chalicelib.domain.errors import ColonyError

    try:
        result = args.command(args)
    except ColonyError as error:
        print(
            json.dumps({"error": {"code": error.code, "message": error.message, "fields": error.fields}}),
            file=sys.stderr,
        )
        return 1
    print(json.dumps(result, indent=2))
    return 0 if result.get("ok", True) else 2


STDIN_HELP = "read the user's password from the first line of standard input (else use the invite link)"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m chalicelib.cli", description="Colony admin commands")
    parser.add_argument(
        "--stage",
        choices=STAGES,
        default=os.environ.get("COLONY_STAGE", "local"),
        help="which Colony to act on (default: local, the embedded AWS of `make run`)",
    )
    groups = parser.add_subparsers(dest="group", required=True)

    company = groups.add_parser("company").add_subparsers(dest="action", required=True)
    create = company.add_parser("create", help="a company, its first admin and that admin's API key")
    create.add_argument("--name", required=True)
    create.add_argument("--credits", type=int, default=0)
    create.add_argument("--email", help="the first admin's email (default: admin@<name>.example)")
    create.add_argument("--region", dest="default_region", help="default region for national numbers (ZA)")
    create.add_argument("--timezone", help="IANA time zone (Africa/Johannesburg)")
    create.add_argument("--password-stdin", action="store_true", help=STDIN_HELP)
    create.set_defaults(command=_create_company)

    user = groups.add_parser("user").add_subparsers(dest="action", required=True)
    create_user = user.add_parser("create", help="a user of a company, with an API key")
    create_user.add_argument("--company", type=int, required=True)
    create_user.add_argument("--email", required=True)
    create_user.add_argument("--role", choices=("admin", "approver", "member"), default="member")
    create_user.add_argument("--password-stdin", action="store_true", help=STDIN_HELP)
    create_user.set_defaults(command=_create_user)

    credits = groups.add_parser("credits").add_subparsers(dest="action", required=True)
    add = credits.add_parser("add", help="top up a company's credits")
    add.add_argument("--company", type=int, required=True)
    add.add_argument("--amount", type=int, required=True)
    add.set_defaults(command=_add_credits)

    stats = groups.add_parser("stats").add_subparsers(dest="action", required=True)
    verify = stats.add_parser(
        "verify", help="recompute a company's stats from its records; exit 2 if any differ"
    )
    verify.add_argument("--company", type=int, required=True)
    verify.set_defaults(command=_verify_stats)
    return parser


def _create_company(args: argparse.Namespace) -> dict[str, Any]:
    from chalicelib.api.company import render_company
    from chalicelib.api.users import render_user
    from chalicelib.domain.accounts import companies

    slug = "".join(c for c in args.name.lower() if c.isalnum()) or "company"
    settings = {k: v for k, v in (("default_region", args.default_region), ("timezone", args.timezone)) if v}
    email = args.email or f"admin@{slug}.example"
    password = _password(args, email)
    new = companies.create_company(args.name, email, credits=args.credits, **settings)
    return {
        "company": render_company(new.company, None),
        "user": render_user(new.admin),
        "api_key": new.api_key,
        **_sign_in_for(new.admin, password),
    }


def _create_user(args: argparse.Namespace) -> dict[str, Any]:
    from chalicelib.api.users import render_user
    from chalicelib.domain.accounts import companies, users
    from chalicelib.domain.accounts.auth import Caller

    caller = Caller.operator(args.company)
    companies.get_company(caller)
    password = _password(args, args.email)
    created = users.create_user(caller, args.email, args.role)
    return {
        "user": render_user(created.user),
        "api_key": created.api_key,
        **_sign_in_for(created.user, password),
    }


def _password(args: argparse.Namespace, email: str) -> str | None:
    """The password from standard input, checked before anything is written; None without the flag."""
    if not args.password_stdin:
        return None
    from chalicelib.domain.accounts import passwords

    return passwords.checked_password(sys.stdin.readline().rstrip("\r\n"), email)


def _sign_in_for(user: Any, password: str | None) -> dict[str, Any]:
    """Set the password given, or else issue (and email) an invite link where the user chooses one."""
    from chalicelib.api.users import render_invite
    from chalicelib.domain.accounts import password_links, passwords

    if password is not None:
        return {"password": "set" if passwords.set_password(user, password) else "changed meanwhile"}
    return dict(render_invite(password_links.issue(user, "invite")))


def _add_credits(args: argparse.Namespace) -> dict[str, Any]:
    from chalicelib.api.company import render_company
    from chalicelib.domain import credits

    return {"company": render_company(credits.top_up(args.company, args.amount), None)}


def _verify_stats(args: argparse.Namespace) -> dict[str, Any]:
    from chalicelib.domain.stats import verify

    differences = verify.verify(args.company)
    return {"company": args.company, "ok": not differences, "differences": differences}


if __name__ == "__main__":
    sys.exit(main())
