"""Request bodies as the document describes them: a `Schema`'s fields (each typed by pydantic), a `Many`
(an array of them), an `Upload` (a CSV in a multipart form) or a JSON Schema given as it is."""

from __future__ import annotations

from typing import Annotated, Any, Union

from annotated_types import MaxLen
from pydantic import TypeAdapter

from chalicelib.api.http import FORM, JSON, MULTIPART
from chalicelib.api.operations import Operation
from chalicelib.api.schema import Field, Many, Schema, Upload
from chalicelib.domain.imports.jobs import MAX_DIRECT_BYTES

_TYPES: dict[type, Any] = {str: str, int: int, bool: bool, dict: dict[str, Any]}


def request_body(operation: Operation, method: str) -> dict[str, Any] | None:
    """The `requestBody` of one method of `operation`, or None if it takes no body."""
    body = operation.body
    if body is None:
        return None
    forms = [kind for kind in operation.content_types if kind in (FORM, MULTIPART)]
    if isinstance(body, Upload):
        return {"required": True, "content": {MULTIPART: {"schema": _upload(body)}}}
    if isinstance(body, Many):
        item = object_schema(body.schema, partial=False)
        array = {"type": "array", "minItems": 1, "maxItems": body.max_items, "items": item}
        content = {JSON: {"schema": {"oneOf": [item, array]} if body.one else array}}
        if body.one:
            content.update({kind: {"schema": item} for kind in forms})
        return {"required": True, "content": content}
    if isinstance(body, Schema):
        schema = object_schema(body, partial=method == "PATCH")
        kinds = [kind for kind in operation.content_types if kind in (JSON, FORM, MULTIPART)]
        return {"required": not body.may_be_empty, "content": {k: {"schema": schema} for k in kinds}}
    form = body["oneOf"][0] if "oneOf" in body else body
    content = {kind: {"schema": body if kind == JSON else form} for kind in operation.content_types}
    return {"required": True, "content": content}


def object_schema(schema: Schema, *, partial: bool) -> dict[str, Any]:
    """The object `schema` takes; `partial` (PATCH) requires no field."""
    described: dict[str, Any] = {
        "type": "object",
        "properties": {name: field_schema(field) for name, field in schema.fields.items()},
        "additionalProperties": False,
    }
    required = [name for name, field in schema.fields.items() if field.required]
    if required and not partial:
        described["required"] = required
    if schema.read_only:
        described["description"] = (
            "A field the server owns (" + ", ".join(schema.read_only) + ") may be sent back as it was "
            "read (on PUT and PATCH); changed, or any other field, is a 400."
        )
    return described


def field_schema(field: Field) -> dict[str, Any]:
    """One field as JSON Schema, described by pydantic from the field's types and limits."""
    kinds = field.kind if isinstance(field.kind, tuple) else (field.kind,)
    types = [_annotation(kind, field) for kind in kinds]
    if field.nullable:
        types.append(type(None))
    schema = TypeAdapter(Union[tuple(types)] if len(types) > 1 else types[0]).json_schema()  # noqa: UP007
    if field.choices:
        schema = {"enum": [*field.choices, *([None] if field.nullable else [])]}
    if field.description:
        schema["description"] = field.description
    return schema


def _annotation(kind: type, field: Field) -> Any:
    if kind is list:
        annotation: Any = list[_TYPES[field.items]] if field.items else list[Any]
    else:
        annotation = _TYPES[kind]
    if field.max_length is not None and kind in (str, list):
        return Annotated[annotation, MaxLen(field.max_length)]
    return annotation


def _upload(upload: Upload) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "file": {
            "type": "string",
            "format": "binary",
            "contentMediaType": "text/csv",
            "description": "The CSV file; its first row names the columns. Over "
            f"{MAX_DIRECT_BYTES // (1024 * 1024)} MiB, ask POST /uploads (kind `{upload.kind}`).",
        }
    }
    properties.update({name: {"type": "string", "description": text} for name, text in upload.fields.items()})
    return {"type": "object", "properties": properties, "required": ["file"]}
