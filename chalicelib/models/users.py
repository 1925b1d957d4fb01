from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from chalicelib.models.base import BaseModel, table_meta


class EmailIndex(GlobalSecondaryIndex):
    """Users by sign-in address, across companies: one person may belong to several."""

    class Meta:
        index_name = "email-index"
        projection = AllProjection()

    email = UnicodeAttribute(hash_key=True)


class User(BaseModel):
    """A person (or system) acting for one company; keyed by company so every read is scoped."""

    Meta = table_meta("users")

    company = NumberAttribute(hash_key=True)
    id = NumberAttribute(range_key=True)
    email = UnicodeAttribute()
    role = UnicodeAttribute()
    date_created = UTCDateTimeAttribute()
    date_updated = UTCDateTimeAttribute()
    password_hash = UnicodeAttribute(null=True)  # Argon2id; None until an invite is accepted
    # Raised by every password change: a session made under an older one no longer signs in.
    session_version = NumberAttribute(default=0)
    # Raised by every key issued to the user, so a change that keeps the user's keys in step with it
    # (its role, its deletion) knows it found them all (None: no key issued since keys carried a role).
    keys_version = NumberAttribute(null=True)

    by_email = EmailIndex()
