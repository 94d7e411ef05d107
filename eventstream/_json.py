"""JSON at the edges: one pydantic ``TypeAdapter`` over the :data:`Event` union.

``event_to_json`` never fails on a value pydantic cannot serialize (an exception in an
output, a custom object in metadata): such a value is written as its ``str()``.
``event_from_json`` validates, so a recorded or received event is checked field by
field; JSON has no tuples, so ``tags`` and ``parent_ids`` come back as tuples again.
"""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from eventstream._events import Event

__all__ = ["EVENT_ADAPTER", "event_from_json", "event_json_schema", "event_to_json"]

EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)
"""Validates, serializes and describes (``json_schema()``) any normalized event."""


def _fallback(value: Any) -> Any:
    return str(value)


def event_to_json(event: Event) -> str:
    """One event as compact JSON text (one line: newlines in text are escaped)."""
    return EVENT_ADAPTER.dump_json(event, fallback=_fallback).decode()


def event_from_json(data: str | bytes) -> Event:
    """Parse and validate one event from its JSON text."""
    return EVENT_ADAPTER.validate_json(data)


def event_json_schema() -> dict[str, Any]:
    """The JSON Schema of the event union (for TypeScript and other clients)."""
    return EVENT_ADAPTER.json_schema()
