from pynamodb.attributes import JSONAttribute, NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute

from chalicelib.models.base import BaseModel, table_meta
from chalicelib.models.leases import Lease


class Import(BaseModel):
    """An import job: what the user sees (status, counts) and the resume point of the worker.

    `resume` holds everything a fresh invocation needs to continue exactly where the last one
    committed (byte offset, row number, counts, the file's layout, the saved seen-numbers filter and
    the error parts); the worker holding `lease_owner` until `lease_until` is the only one writing.
    """

    Meta = table_meta("imports")

    company = NumberAttribute(hash_key=True)
    id = NumberAttribute(range_key=True)
    kind = UnicodeAttribute()
    user = NumberAttribute()
    contact_list = NumberAttribute(null=True)
    deployment = NumberAttribute(null=True)
    options = JSONAttribute(null=True)
    merge = NumberAttribute(default=1)
    status = UnicodeAttribute()
    filename = UnicodeAttribute()
    source_key = UnicodeAttribute()
    etag = UnicodeAttribute(null=True)
    size = NumberAttribute(null=True)
    rows = NumberAttribute(default=0)
    imported = NumberAttribute(default=0)
    updated = NumberAttribute(default=0)
    duplicates = NumberAttribute(default=0)
    rejected = NumberAttribute(default=0)
    progress = NumberAttribute(default=0)
    errors_file = NumberAttribute(null=True)
    reserved_file = NumberAttribute(null=True)
    error = UnicodeAttribute(null=True)
    resume = JSONAttribute(null=True)
    lease_owner = UnicodeAttribute(null=True)
    lease_until = NumberAttribute(null=True)
    invocations = NumberAttribute(default=0)
    date_created = UTCDateTimeAttribute()
    date_updated = UTCDateTimeAttribute()
    date_completed = UTCDateTimeAttribute(null=True)


IMPORT_LEASE = Lease(Import.lease_owner, Import.lease_until)
