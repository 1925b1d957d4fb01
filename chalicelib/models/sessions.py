"""What people sign in with: sessions, the one-time links that set a password, and the failed-attempt
counter behind the lockout. Secrets are stored only as SHA-256 hashes, like API keys."""

from typing import Any

from pynamodb.attributes import BooleanAttribute, NumberAttribute, UnicodeAttribute

from chalicelib.models import batch
from chalicelib.models.base import BaseModel, table_meta
from chalicelib.models.companies import Company
from chalicelib.models.users import User


class Session(BaseModel):
    """A signed-in person; DynamoDB's TTL removes it after `expires_at` (epoch seconds)."""

    Meta = table_meta("sessions")

    id = NumberAttribute(hash_key=True)
    company = NumberAttribute()
    user = NumberAttribute()
    secret_hash = UnicodeAttribute()
    user_version = NumberAttribute()  # the user's session_version when it was made
    created_at = NumberAttribute()
    last_seen = NumberAttribute()
    expires_at = NumberAttribute()
    test_tenant_open = BooleanAttribute(null=True)  # test mode was used, so its test tenant exists


def session_with_user(
    session_id: int, company: int, user_id: int, scope: int
) -> tuple[Session | None, User | None, dict[str, Any] | None]:
    """A session, the user its token names and the item of the company `scope` it acts in (raw, as
    DynamoDB gives it), read together in one BatchGetItem."""
    found = batch.get_across(
        {
            Session.Meta.table_name: [{"id": {"N": str(session_id)}}],
            User.Meta.table_name: [{"company": {"N": str(company)}, "id": {"N": str(user_id)}}],
            Company.Meta.table_name: [{"id": {"N": str(scope)}}],
        }
    )
    sessions = [Session.from_raw_data(item) for item in found[Session.Meta.table_name]]
    users = [User.from_raw_data(item) for item in found[User.Meta.table_name]]
    companies = found[Company.Meta.table_name]
    return (
        (sessions[0] if sessions else None),
        (users[0] if users else None),
        (companies[0] if companies else None),
    )


class PasswordLink(BaseModel):
    """A one-time link that sets a user's password: an invite or a reset. Used once, then deleted."""

    Meta = table_meta("password-links")

    id = NumberAttribute(hash_key=True)
    company = NumberAttribute()
    user = NumberAttribute()
    purpose = UnicodeAttribute()  # "invite" or "reset"
    secret_hash = UnicodeAttribute()
    user_version = NumberAttribute()  # the user's session_version when it was issued
    expires_at = NumberAttribute()


class SignInFailures(BaseModel):
    """Failed sign-ins for one address, known to Colony or not, so a lockout reveals nothing."""

    Meta = table_meta("uniques")

    key = UnicodeAttribute(hash_key=True)
    failures = NumberAttribute(default=0)
    since = NumberAttribute(default=0)  # epoch second of the first failure counted
    locked_until = NumberAttribute(default=0)
