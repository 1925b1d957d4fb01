from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute

from chalicelib.models.base import BaseModel, table_meta


class SavedQuery(BaseModel):
    """A named filter over a company's contacts (its language: `chalicelib.domain.rules.query_language`)."""

    Meta = table_meta("saved-queries")

    company = NumberAttribute(hash_key=True)
    id = NumberAttribute(range_key=True)
    title = UnicodeAttribute()
    text = UnicodeAttribute(attr_name="query")  # `query` would hide Model.query
    created_by = NumberAttribute(null=True)
    date_created = UTCDateTimeAttribute()
    date_updated = UTCDateTimeAttribute()
