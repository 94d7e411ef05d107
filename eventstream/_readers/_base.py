"""What every reader is: one input format read into the run table.

A reader is chosen once per stream, from the first item it recognises (see
``eventstream._readers.READERS``). ``feed(item, out)`` reads one raw item: it converts
and validates everything first and raises :class:`~eventstream._errors.Problem` before
it calls the table, so a rejected item leaves no trace. A format whose items hold
several independent parts (``astream_log`` patches hold ops) reports a bad part with
``reject`` and goes on with the next. ``close(out)`` and ``fail(out)`` settle what the
format leaves half-known when the stream ends or breaks; the table then ends whatever
is still open.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from eventstream._errors import Problem, describe
from eventstream._events import NO_METADATA, Event, ReadOnlyDict
from eventstream._table import RunFields, RunTable

__all__ = ["Reader", "frozen", "metadata_of", "run_fields", "strings"]


class Reader:
    """Base class of the readers: one per input format."""

    format: ClassVar[str] = ""
    """The format's name, for messages ("astream_events v2", "astream_log" …)."""

    def __init__(self, table: RunTable, reject: Callable[[Problem], None]) -> None:
        self.table = table
        self.reject = reject

    @staticmethod
    def sniff(item: Any) -> bool:
        """Whether ``item`` is an item of this format (the stream's first one)."""
        raise NotImplementedError

    def fast(self, item: Any) -> list[Event] | None:
        """The events of a common item read without the general checks, or ``None``
        to take :meth:`feed`. Only for items that cannot be malformed when it answers."""
        return None

    def feed(self, item: Any, out: list[Event]) -> None:
        """Read one raw item into the table; raise :class:`Problem` to reject it whole."""
        raise NotImplementedError

    def close(self, out: list[Event]) -> None:
        """The stream ended: settle what the format leaves half-known."""

    def fail(self, out: list[Event]) -> None:
        """The source raised: settle what can be settled before runs end with the error."""


def strings(value: Any, where: str) -> tuple[str, ...]:
    """A list of strings (``None``: none) as a tuple; :class:`Problem` otherwise."""
    if value is None:
        return ()
    if not isinstance(value, list | tuple) or not all(type(v) is str for v in value):
        if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
            return tuple(str(v) for v in value)
        raise Problem(f"'{where}' must be a list of strings, got {describe(value)}")
    return tuple(value)


def frozen(metadata: Mapping[str, Any]) -> Mapping[str, Any]:
    """A read-only copy of a run's metadata: a source that changes its dict later, or
    a consumer that changes an event's, changes no other event."""
    return ReadOnlyDict(metadata) if metadata else NO_METADATA


def metadata_of(value: Any) -> Mapping[str, Any]:
    """A run's metadata as an item gives it (a dict, or ``None``), read-only."""
    if value is None:
        return NO_METADATA
    if isinstance(value, Mapping):
        return frozen(value)
    raise Problem(f"'metadata' must be a dict, got {describe(value)}")


def run_fields(
    item: Mapping[str, Any],
    run_id: str,
    run_type: str,
    *,
    name_key: str = "name",
    default_name: str = "",
) -> RunFields:
    """The common fields of a run from an item that names them the way
    ``astream_events`` does (``name``, ``tags``, ``metadata``, ``parent_ids``)."""
    name = item.get(name_key)
    if name is None:
        name = default_name
    elif type(name) is not str:
        if not isinstance(name, str):
            raise Problem(f"'{name_key}' must be a string, got {describe(name)}")
        name = str(name)
    metadata = metadata_of(item.get("metadata"))
    return RunFields(
        run_id,
        name,
        run_type,
        strings(item.get("tags"), "tags"),
        metadata,
        strings(item.get("parent_ids"), "parent_ids"),
    )
