"""The readers, one per input format, and the table that picks one for a stream.

``READERS`` is tried in order on a stream's first item (h11's ``READERS``, httpx's
``SUPPORTED_DECODERS``): the first whose ``sniff`` says yes reads the whole stream.
:func:`looks_like` describes what an unreadable item looks like, for the error that
says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from eventstream._errors import describe
from eventstream._readers._base import Reader
from eventstream._readers.events import EventsReader
from eventstream._readers.log import LogReader

__all__ = ["READERS", "Reader", "choose", "looks_like", "read_formats"]

READERS: tuple[type[Reader], ...] = (EventsReader, LogReader)
"""Every input format eventstream reads, in the order they are tried."""


def choose(item: Any) -> type[Reader] | None:
    """The reader of the format ``item`` belongs to, or ``None``."""
    for reader in READERS:
        if reader.sniff(item):
            return reader
    return None


def read_formats() -> str:
    """The formats read, for messages."""
    return ", ".join(reader.format for reader in READERS)


def looks_like(item: Any) -> str:
    """What an item that no reader takes looks like, and what to do about it."""
    if isinstance(item, Mapping) and "event" in item:
        return (
            f"an astream_events-like dict without a 'run_id' ({describe(item)}): every "
            f"item of astream_events has 'event' and 'run_id'"
        )
    return f"{describe(item)}"
