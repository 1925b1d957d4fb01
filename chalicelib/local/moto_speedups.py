"""Make moto's DynamoDB transactions and queries cost what they touch, not the size of the tables.

moto backs up every table a TransactWriteItems names (a deep copy of all its items) so it can roll
back; with a few hundred thousand recipients that is seconds a transaction, where DynamoDB takes
milliseconds. Here only the items the transaction names are backed up and restored, which rolls back
exactly the same state. A Query on a table (not an index) sorts every item of the table to find one
partition; here it reads that partition alone, in the same order.

Three more cut moto's own overhead: its CloudFormation reads every template with PyYAML before JSON, so
a JSON template is read as JSON first (a tenth of the time; the same dict for infra/'s template, though
PyYAML and JSON differ on a few spellings such as `1e3`); an update expression is
parsed once per distinct text (moto parses it twice a write, only reads the tree and copies it before
validating); and its tree walker decides which nodes it processes once per node type, not once per
node. Its response serializer looks up each member of a dict result under up to a dozen spellings it
derives anew for every member of every item; for a dict those spellings depend only on the member's shape,
so they are derived once a shape. And DynamoDB requests are served one at a time, as atomic as DynamoDB's.
Installed by the embedded stack, the tests and the benchmarks.
"""

from __future__ import annotations

import copy
import threading
import types
from typing import Any

_installed = False
_querying = threading.local()


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
    _install_partition_queries(Table)
    _install_json_templates()
    _install_update_expression_cache()
    _install_one_request_at_a_time()
    _install_member_spellings_cache()
    _installed = True


def _install_one_request_at_a_time() -> None:
    """DynamoDB applies each request (a transaction with its rollback included) atomically; moto under
    threads does not, and a failed transaction's rollback can put back a copy older than writes that
    committed meanwhile. One DynamoDB request at a time keeps DynamoDB's guarantee."""
    from moto.dynamodb.responses import DynamoHandler

    lock = threading.RLock()
    original = DynamoHandler.call_action

    def call_action(self: Any) -> Any:
        with lock:
            return original(self)

    DynamoHandler.call_action = call_action


def _install_member_spellings_cache() -> None:
    """moto's picker of a result's member, with the spellings it tries for a dict derived once per member
    shape: for a dict they depend on the shape (its name, serialization and parent) and the key alone."""
    from moto.core.serialize import MISSING, XFormedAttributePicker
    from moto.core.utils import get_value

    original = XFormedAttributePicker.__call__
    spellings: dict[tuple[int, int, str], tuple[Any, Any, tuple[str, ...]]] = {}

    def pick(self: Any, context: Any) -> Any:
        obj, shape = context.obj, context.shape
        if type(obj) is not dict or self.response_transformers:
            return original(self, context)
        parent = getattr(shape, "parent", None)
        key = (id(shape), id(parent), context.key)
        known = spellings.get(key)
        if known is None:  # the shape and its parent are kept, so their ids are not reused
            known = spellings[key] = (shape, parent, tuple(self.get_possible_keys(context)))
        for spelling in known[2]:  # a dotted spelling is a path; any other is one of the dict's keys
            value = get_value(obj, spelling, MISSING) if "." in spelling else obj.get(spelling, MISSING)
            if value is not MISSING:
                return value
        return None

    pick.__wrapped__ = original  # type: ignore[attr-defined]
    XFormedAttributePicker.__call__ = pick


def _install_update_expression_cache() -> None:
    import functools

    from moto.dynamodb.models import UpdateExpressionParser
    from moto.dynamodb.parsing import ast_nodes

    UpdateExpressionParser.make = classmethod(
        functools.lru_cache(maxsize=4096)(UpdateExpressionParser.make.__func__)
    )

    wanted: dict[tuple[type, type], bool] = {}

    def traverse(self: Any, node: Any) -> Any:
        kinds = self.nodes_to_be_processed()
        walker = type(self)

        def processes(node_type: type) -> bool:
            key = (walker, node_type)
            if key not in wanted:
                wanted[key] = issubclass(node_type, kinds)
            return wanted[key]

        def walk(node: Any, child_id: int) -> Any:
            if not isinstance(node, ast_nodes.Node):
                return node
            parent = node.parent
            if node.children is not None:
                for i, child in enumerate(node.children):
                    self.pre_processing_of_child(node, i)
                    walk(child, i)
            if processes(type(node)):
                node = self.process(node)
                node.parent = parent
                if parent:
                    parent.children[child_id] = node
            return node

        return walk(node, -1)

    ast_nodes.DepthFirstTraverser.traverse = traverse


def _install_json_templates() -> None:
    import json

    from moto.cloudformation.models import Stack

    parse_yaml = Stack.parse_template

    def parse_template(template: str) -> dict[str, Any]:
        try:
            return json.loads(template)
        except ValueError:
            return parse_yaml(template)

    Stack.parse_template = staticmethod(parse_template)


def _install_partition_queries(table_class: Any) -> None:
    """A table query's candidates are its partition's items, not the whole table's."""
    all_items, query = table_class.all_items, table_class.query

    def partition_items(self: Any) -> list:
        hash_key = getattr(_querying, "hash_key", None)
        if hash_key is None or not self.range_key_attr:
            return all_items(self)
        return sorted(self.items.get(hash_key, {}).values(), key=lambda item: item.range_key)

    def partition_query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
        _querying.hash_key = None if index_name else hash_key
        try:
            return query(self, hash_key, *args, **kwargs)
        finally:
            _querying.hash_key = None

    table_class.all_items = partition_items
    table_class.query = partition_query


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
