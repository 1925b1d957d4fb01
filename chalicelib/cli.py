"""Admin commands for the operator: companies, users, keys, credits, numbers, and a stats check.

    python -m chalicelib.cli company create --name Acme --credits 1000
    python -m chalicelib.cli user create --company 1 --email ann@acme.example --role approver
    printf '%s\n' "$PASSWORD" | python -m chalicelib.cli user create --company 1 --email … --password-stdin
    python -m chalicelib.cli credits add --company 1 --amount 500
    python -m chalicelib.cli stats verify --company 1
    python -m chalicelib.cli company list
    python -m chalicelib.cli user list --company 1
    python -m chalicelib.cli key create --company 1 --user 1 --name "replaces the lost one"
    python -m chalicelib.cli sender add --company 1 --number 27821234567
    python -m chalicelib.cli sender list --company 1
    python -m chalicelib.cli sender remove --company 1 --number 27821234567

The stage defaults to `local` (the embedded AWS of `make run`); `--stage prod` uses the normal AWS
environment and the stack named by COLONY_PREFIX. Locally it finds the ports `make run` serves on.
It prints JSON on stdout; exit 1 is an error (JSON on stderr), exit 2 differences found by `stats verify`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from chalicelib.settings import STAGES, use_stage


def main(argv: Sequence[str] | None = None) -> int:
    """Exit 0 when done, 1 on an error (one line of JSON on stderr, never a traceback), 2 only when
    `stats verify` finds differences."""
    args = _parser().parse_args(argv)
    from chalicelib.log import logger

    handler = logger.registered_handler
    stream, handler.stream = handler.stream, sys.stderr  # stdout is the JSON answer alone
    try:
        use_stage(args.stage)
        result = args.command(args)
    except Exception as error:
        print(json.dumps({"error": _error_of(error)}), file=sys.stderr)
        return 1
    finally:
        handler.stream = stream
    print(json.dumps(result, indent=2))
    return 0 if result.get("ok", True) else 2


def _error_of(error: Exception) -> dict[str, Any]:
    from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

    from chalicelib.domain.errors import ColonyError
    from chalicelib.settings import get_settings

    while getattr(error, "cause", None) is not None:  # PynamoDB's errors wrap botocore's
        error = error.cause
    if isinstance(error, ColonyError):
        return {"code": error.code, "message": error.message, "fields": error.fields}
    if isinstance(error, EndpointConnectionError):
        where = get_settings().aws_endpoint_url or "AWS"
        hint = " (is `make run` running, on these ports?)" if get_settings().stage == "local" else ""
        return {"code": "unreachable", "message": f"Could not reach {where}{hint}."}
    if isinstance(error, ClientError):
        return {"code": "aws_error", "message": error.response.get("Error", {}).get("Message", str(error))}
    if isinstance(error, BotoCoreError):
        return {"code": "aws_error", "message": str(error)}
    return {"code": "internal_error", "message": f"{type(error).__name__}: {error}"}


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error exits 1 like every other error (2 means differences found)."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(1, f"{self.prog}: error: {message}\n")


STDIN_HELP = "read the user's password from the first line of standard input (else use the invite link)"


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m chalicelib.cli", description="Colony admin commands")
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
    company.add_parser("list", help="every company, by id").set_defaults(command=_list_companies)

    user = groups.add_parser("user").add_subparsers(dest="action", required=True)
    create_user = user.add_parser("create", help="a user of a company, with an API key")
    create_user.add_argument("--company", type=_live_company, required=True)
    create_user.add_argument("--email", required=True)
    create_user.add_argument("--role", choices=("admin", "approver", "member"), default="member")
    create_user.add_argument("--password-stdin", action="store_true", help=STDIN_HELP)
    create_user.set_defaults(command=_create_user)
    list_users = user.add_parser("list", help="a company's users")
    list_users.add_argument("--company", type=_live_company, required=True)
    list_users.set_defaults(command=_list_users)

    key = groups.add_parser("key").add_subparsers(dest="action", required=True)
    create_key = key.add_parser("create", help="a new API key for a user (to replace a lost one)")
    create_key.add_argument("--company", type=_live_company, required=True)
    create_key.add_argument("--user", type=int, required=True)
    create_key.add_argument("--name", help="what the key is for")
    create_key.set_defaults(command=_create_key)

    sender = groups.add_parser("sender").add_subparsers(dest="action", required=True)
    for action, command, text in (
        ("add", _add_sender, "assign a number that can receive (long or short code) to a company"),
        ("remove", _remove_sender, "take a number from a company (and clear its sender_id if it was that)"),
    ):
        numbered = sender.add_parser(action, help=text)
        numbered.add_argument("--company", type=_live_company, required=True)
        numbered.add_argument("--number", required=True, help="in any spelling; read in the company's region")
        numbered.set_defaults(command=command)
    list_senders = sender.add_parser("list", help="a company's numbers")
    list_senders.add_argument("--company", type=_live_company, required=True)
    list_senders.set_defaults(command=_list_senders)

    credits = groups.add_parser("credits").add_subparsers(dest="action", required=True)
    add = credits.add_parser("add", help="top up a company's credits")
    add.add_argument("--company", type=_live_company, required=True)
    add.add_argument("--amount", type=int, required=True)
    add.set_defaults(command=_add_credits)

    erasures = groups.add_parser("erasures").add_subparsers(dest="action", required=True)
    erasures.add_parser(
        "mark-kept-optouts", help="once after upgrading: mark the companies earlier erasures kept opt-outs of"
    ).set_defaults(command=_mark_kept_optouts)

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


def _live_company(text: str) -> int:
    """A live company's id: the operator never acts on a company's test data (its id is below 0)."""
    company = int(text)
    if company <= 0:
        raise argparse.ArgumentTypeError(f"{company} is not a live company's id (test data has no operator)")
    return company


_live_company.__name__ = "live company id"  # as argparse names it in an error


def _list_companies(args: argparse.Namespace) -> dict[str, Any]:
    from chalicelib.api.company import render_company
    from chalicelib.domain.rules.modes import is_test
    from chalicelib.models.companies import Company

    found = sorted(
        (company for company in Company.scan(consistent_read=True) if not is_test(company.id)),
        key=lambda company: company.id,
    )
    return {"companies": [render_company(company, None) for company in found]}


def _list_users(args: argparse.Namespace) -> dict[str, Any]:
    from chalicelib.api.users import render_user
    from chalicelib.domain.accounts import companies
    from chalicelib.domain.accounts.auth import Caller
    from chalicelib.models.users import User

    companies.get_company(Caller.operator(args.company))
    return {"company": args.company, "users": [render_user(user) for user in User.query(args.company)]}


def _create_key(args: argparse.Namespace) -> dict[str, Any]:
    from chalicelib.api.api_keys import render_key
    from chalicelib.domain.accounts import api_keys, companies
    from chalicelib.domain.accounts.auth import Caller

    caller = Caller.operator(args.company)
    companies.get_company(caller)
    issued = api_keys.issue_key(caller, args.user, args.name)
    return {"key": render_key(issued.key), "api_key": issued.token}


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
    from chalicelib.domain.accounts.auth import Caller

    operator = Caller.operator(user.company)
    if password is not None:
        return {
            "password": "set" if passwords.set_password(user, password, operator) else "changed meanwhile"
        }
    return dict(render_invite(password_links.issue(user, "invite", operator)))


def _add_sender(args: argparse.Namespace) -> dict[str, Any]:
    from chalicelib.domain.accounts import sender_numbers

    assigned = sender_numbers.assign(args.company, args.number)
    return {
        "company": args.company,
        "number": assigned.number,
        "numbers": sender_numbers.numbers_of(assigned.company),
        "released_from": assigned.released,
    }


def _remove_sender(args: argparse.Namespace) -> dict[str, Any]:
    from chalicelib.domain.accounts import sender_numbers

    company = sender_numbers.remove(args.company, args.number)
    return {
        "company": args.company,
        "numbers": sender_numbers.numbers_of(company),
        "sender_id": company.sender_id,
    }


def _list_senders(args: argparse.Namespace) -> dict[str, Any]:
    from chalicelib.domain.accounts import companies, sender_numbers
    from chalicelib.domain.accounts.auth import Caller

    company = companies.get_company(Caller.operator(args.company))
    return {
        "company": args.company,
        "numbers": sender_numbers.numbers_of(company),
        "sender_id": company.sender_id,
    }


def _add_credits(args: argparse.Namespace) -> dict[str, Any]:
    from chalicelib.api.company import render_company
    from chalicelib.domain import credits

    return {"company": render_company(credits.top_up(args.company, args.amount), None)}


def _mark_kept_optouts(args: argparse.Namespace) -> dict[str, Any]:
    from chalicelib.domain.privacy.erasures import mark_kept_optouts

    return {"marked": mark_kept_optouts()}


def _verify_stats(args: argparse.Namespace) -> dict[str, Any]:
    from chalicelib.domain.accounts import companies
    from chalicelib.domain.accounts.auth import Caller
    from chalicelib.domain.stats import verify

    companies.get_company(Caller.operator(args.company))
    differences = verify.verify(args.company)
    return {"company": args.company, "ok": not differences, "differences": differences}


if __name__ == "__main__":
    sys.exit(main())
