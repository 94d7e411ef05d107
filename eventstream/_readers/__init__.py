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
from eventstream._readers.callbacks import CallbackReader
from eventstream._readers.events import EventsReader
from eventstream._readers.log import LogReader
from eventstream._readers.modes import STREAM_MODES, ModesReader
from eventstream._readers.openai import OpenAIReader
from eventstream._readers.v3 import V3Reader

__all__ = ["READERS", "STREAM_MODES", "Reader", "choose", "looks_like", "read_formats"]

READERS: tuple[type[Reader], ...] = (
    EventsReader,
    LogReader,
    V3Reader,
    ModesReader,
    CallbackReader,
    OpenAIReader,
)
"""Every input format eventstream reads, in the order they are tried."""


def choose(item: Any) -> type[Reader] | None:
    """The reader of the format ``item`` belongs to, or ``None`` (also for an item whose
    own methods raise when looked at)."""
    for reader in READERS:
        try:
            if reader.sniff(item):
                return reader
        except Exception:  # a foreign object misbehaving: not an item of that format
            continue
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
    if isinstance(item, Mapping) and ("messages" in item or _looks_like_updates(item)):
        return (
            f"a graph's state or its nodes' updates ({describe(item)}): a LangGraph "
            f"stream with stream_mode='values' or 'updates' alone, which carries no "
            f"events (no tokens, no tool calls); request eventstream.STREAM_MODES "
            f"({', '.join(STREAM_MODES)}) with version='v2'"
        )
    return f"{describe(item)}"


def _looks_like_updates(item: Mapping[str, Any]) -> bool:
    return bool(item) and all(
        isinstance(value, Mapping) and "messages" in value for value in item.values()
    )
