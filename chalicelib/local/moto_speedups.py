"""Make moto's DynamoDB transactions cost what they touch, not the size of the tables.

moto backs up every table a TransactWriteItems names (a deep copy of all its items) so it can roll
back; with a few hundred thousand recipients that is seconds a transaction, where DynamoDB takes
milliseconds. Here only the items the transaction names are backed up and restored, which rolls back
exactly the same state. Installed by the embedded stack, the tests and the benchmarks.
"""

from __future__ import annotations

import copy
import types
from typing import Any

_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    from moto.dynamodb import models
    from moto.dynamodb.models.table import Table

    # moto backs tables up with its module's `copy.deepcopy`: hand tables back as they are.
    models.copy = types.SimpleNamespace(
        deepcopy=lambda value: value if isinstance(value, Table) else copy.deepcopy(value)
    )
    original = models.DynamoDBBackend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        saved = [_save(self, item) for item in transact_items]
        try:
            original(self, transact_items)
        except Exception:
            for restore in saved:
                if restore is not None:
                    restore()
            raise

    models.DynamoDBBackend.transact_write_items = transact_write_items
    _installed = True


def _save(backend: Any, transact_item: dict[str, Any]) -> Any:
    """A function that puts one item back as it is now (or removes it, if it does not exist now)."""
    ((_, op),) = transact_item.items()
    table = backend.tables.get(op.get("TableName"))
    if table is None:
        return None
    key = op.get("Key") or {
        name: op["Item"][name] for name in (table.hash_key_attr, table.range_key_attr) if name
    }
    from moto.dynamodb.models.dynamo_type import DynamoType

    hash_value = DynamoType(key[table.hash_key_attr])
    range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
    before = copy.deepcopy(table.get_item(hash_value, range_value))

    def restore() -> None:
        items = table.items[hash_value] if table.range_key_attr else table.items
        slot = range_value if table.range_key_attr else hash_value
        if before is None:
            items.pop(slot, None)
        else:
            items[slot] = before

    return restore
