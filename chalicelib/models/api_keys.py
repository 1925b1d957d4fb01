from typing import Any

from pynamodb.attributes import ListAttribute, NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from chalicelib.models import batch
from chalicelib.models.base import BaseModel, table_meta
from chalicelib.models.companies import Company


class CompanyIndex(GlobalSecondaryIndex):
    class Meta:
        index_name = "company-index"
        projection = AllProjection()

    company = NumberAttribute(hash_key=True)
    id = NumberAttribute(range_key=True)


class ApiKey(BaseModel):
    """An API key: only the SHA-256 of its secret is stored; the key itself is shown once."""

    Meta = table_meta("api-keys")

    id = NumberAttribute(hash_key=True)
    company = NumberAttribute()
    user = NumberAttribute()
    name = UnicodeAttribute(null=True)
    secret_hash = UnicodeAttribute()
    mode = UnicodeAttribute(null=True)  # `live` (None: a key made before modes) or `test`
    date_created = UTCDateTimeAttribute()
    allowed_ips = ListAttribute(of=UnicodeAttribute, null=True)  # the networks it works from (None: any)
    expires_at = UTCDateTimeAttribute(null=True)  # after this it is refused (None: never)
    last_used = UnicodeAttribute(null=True)  # the UTC date it last authenticated a call
    # Its user's role, kept in step in every change of the user (None: a key made before keys carried it).
    role = UnicodeAttribute(null=True)

    by_company = CompanyIndex()


def key_with_company(key_id: int, company_id: int) -> tuple[ApiKey | None, dict[str, Any] | None]:
    """A key and the company item its token names (raw, as DynamoDB gives it), read together in one
    BatchGetItem."""
    found = batch.get_across(
        {
            ApiKey.Meta.table_name: [{"id": {"N": str(key_id)}}],
            Company.Meta.table_name: [{"id": {"N": str(company_id)}}],
        }
    )
    keys = [ApiKey.from_raw_data(item) for item in found[ApiKey.Meta.table_name]]
    companies = found[Company.Meta.table_name]
    return (keys[0] if keys else None), (companies[0] if companies else None)
