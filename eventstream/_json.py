"""JSON at the edges: one pydantic ``TypeAdapter`` over the :data:`Event` union.

Contract. ``event_to_json`` never fails: every event can be delivered. An event is
written by pydantic as it is, a value pydantic cannot serialize (an exception in an
output, a custom object in metadata) as its ``str()``. When that still fails, the event
is written again, field by field, with what JSON cannot carry replaced by a stand-in
(:func:`safe_value`); the common path costs nothing more for it. ``event_from_json``
validates, so a recorded or received event is checked field by field; JSON has no
tuples, so ``tags`` and ``parent_ids`` come back as tuples again. It reads whatever
``event_to_json`` writes, however deep.

The stand-ins, exactly what a client receives in place of what JSON cannot carry:

- a surrogate code point (U+D800–U+DFFF, which UTF-8 cannot encode: a lone half of a
  pair, kept in a token by ``record()``) in a string or a key: U+FFFD, one for each;
  ``bytes`` that are not UTF-8: decoded, with U+FFFD for each invalid sequence;
- a container met again inside itself (a cycle): the string ``"<cycle>"``;
- a container nested more than :data:`MAX_DEPTH` (200) levels deep inside a field (the
  field's own value is level 1): the string ``"<too deep>"`` in its place. Up to 200
  levels are always written whole; pydantic itself writes up to about 250, and only an
  event it cannot write is cut;
- a value pydantic cannot serialize and whose ``str()`` raises (or is not a string):
  the string ``"<unserializable module.QualifiedName>"``, naming its type;
- a float that is not finite: ``null`` (as pydantic writes it anyway).

Everything else in such an event is written as the common path writes it, in the same
field order.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections import deque
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError
from pydantic_core import to_json, to_jsonable_python

from eventstream._events import Event

__all__ = [
    "CYCLE",
    "EVENT_ADAPTER",
    "MAX_DEPTH",
    "TOO_DEEP",
    "event_from_json",
    "event_json_schema",
    "event_to_json",
    "safe_value",
    "valid_text",
]

# Built at its first use, not at `import eventstream` (5 ms of startup).
EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event, config=ConfigDict(defer_build=True))
"""Validates, serializes and describes (``json_schema()``) any normalized event."""

MAX_DEPTH = 200
"""Containers nested deeper than this inside a field are written as :data:`TOO_DEEP`
(when the event cannot be written as it is)."""

CYCLE = "<cycle>"
"""What a container met again inside itself is written as."""

TOO_DEEP = "<too deep>"
"""What a container nested more than :data:`MAX_DEPTH` levels deep is written as."""

_SURROGATES = re.compile("[\ud800-\udfff]")


def _fallback(value: Any) -> Any:
    return str(value)


def event_to_json(event: Event) -> str:
    """One event as compact JSON text (one line: newlines in text are escaped).

    Never raises: what JSON cannot carry is replaced by the stand-ins listed in this
    module's docstring (U+FFFD, ``"<cycle>"``, ``"<too deep>"``, ``"<unserializable T>"``).
    """
    try:
        return EVENT_ADAPTER.dump_json(event, fallback=_fallback).decode()
    except Exception:  # surrogates, a cycle, deep nesting, a str() that raises …
        return _careful_json(event)


def _careful_json(event: Any) -> str:
    """The event's JSON, field by field in the common path's order, with stand-ins."""
    if dataclasses.is_dataclass(event) and not isinstance(event, type):
        data: Any = {
            field.name: safe_value(getattr(event, field.name, None))
            for field in dataclasses.fields(event)
        }
    else:
        data = safe_value(event)
    return to_json(data, inf_nan_mode="null").decode()


def valid_text(text: str) -> str:
    """``text`` with each surrogate code point replaced by U+FFFD: text UTF-8 can carry."""
    if text.isascii() or _SURROGATES.search(text) is None:
        return text
    return _SURROGATES.sub("\ufffd", text)


def safe_value(value: Any) -> Any:
    """``value`` as plain JSON data (``str``-keyed dicts, lists, strings, numbers, bools,
    ``None``) that any JSON encoder writes, as pydantic serializes it, with the
    stand-ins of this module's docstring for what JSON cannot carry. Never raises."""
    return _safe(value, 0, set())


def _safe(value: Any, depth: int, path: set[int]) -> Any:
    # One frame per level of nesting: MAX_DEPTH levels stay well below Python's
    # recursion limit wherever this is called from.
    cls = type(value)
    if cls is str:
        return valid_text(value)
    if value is None or cls is bool or cls is int:
        return value
    if cls is float:
        return value if value - value == 0.0 else None
    if depth >= MAX_DEPTH:
        return TOO_DEEP
    original = value
    if cls is not dict and cls is not list and cls is not tuple:
        try:
            converted = to_jsonable_python(value, fallback=_fallback)
        except Exception:  # a cycle or deep nesting inside, a str() that raises …
            value = _opened(value)
            if type(value) is str:
                return value
        else:
            return _plain(converted, depth)
    key = id(original)
    if key in path:
        return CYCLE
    path.add(key)
    try:
        if type(value) is dict:
            out: dict[str, Any] = {}
            for name, item in value.items():
                out[_key(name)] = _safe(item, depth + 1, path)
            return out
        items = []
        for item in value:
            items.append(_safe(item, depth + 1, path))
        return items
    except Exception:  # iteration that raises, or no room left on the stack
        return _unserializable(original)
    finally:
        path.discard(key)


def _opened(value: Any) -> dict[Any, Any] | list[Any] | tuple[Any, ...] | str:
    """What pydantic could not serialize whole, opened up: a mapping's items, a
    collection's members, a model's or dataclass's fields; or the stand-in text."""
    try:
        if isinstance(value, bytes | bytearray):
            return bytes(value).decode("utf-8", "replace")
        if isinstance(value, dict | list | tuple):
            return value
        if isinstance(value, Mapping):
            return dict(value.items())
        if isinstance(value, set | frozenset | deque):
            return list(value)
        if isinstance(value, BaseModel):
            return {name: getattr(value, name, None) for name in type(value).model_fields}
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return {f.name: getattr(value, f.name, None) for f in dataclasses.fields(value)}
    except Exception:
        pass
    return _unserializable(value)


def _plain(value: Any, depth: int) -> Any:
    """Data from ``to_jsonable_python`` (a tree of JSON types), with surrogates
    replaced, non-finite floats as ``None`` and nesting cut at :data:`MAX_DEPTH`."""
    if isinstance(value, str):
        return valid_text(str.__str__(value))
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return value if value - value == 0.0 else None
    if depth >= MAX_DEPTH:
        return TOO_DEEP
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for name, item in value.items():
            out[valid_text(str(name))] = _plain(item, depth + 1)
        return out
    if isinstance(value, list | tuple):
        items = []
        for item in value:
            items.append(_plain(item, depth + 1))
        return items
    return _unserializable(value)


def _key(name: Any) -> str:
    if type(name) is str:
        return valid_text(name)
    try:
        converted = to_jsonable_python({name: None}, fallback=_fallback)
        return valid_text(str.__str__(next(iter(converted))))
    except Exception:
        return _unserializable(name)


def _unserializable(value: Any) -> str:
    cls = type(value)
    return valid_text(f"<unserializable {cls.__module__}.{cls.__qualname__}>")


def event_from_json(data: str | bytes) -> Event:
    """Parse and validate one event from its JSON text (any event ``event_to_json``
    writes, however deeply nested: pydantic's parser stops at 200 levels, the
    ``json`` module goes on)."""
    try:
        return EVENT_ADAPTER.validate_json(data)
    except ValidationError as exc:
        if exc.errors()[0]["type"] != "json_invalid":
            raise
        try:
            parsed = json.loads(data)
        except (ValueError, RecursionError):
            raise exc from None
    return EVENT_ADAPTER.validate_python(parsed)


def event_json_schema() -> dict[str, Any]:
    """The JSON Schema of the event union (for TypeScript and other clients)."""
    return EVENT_ADAPTER.json_schema()
