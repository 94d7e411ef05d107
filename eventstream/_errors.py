"""The exceptions eventstream raises, all under one base class::

    EventStreamError                  anything eventstream raises on purpose
    ├── MalformedItemError            a raw item of the wrong shape (strict mode)
    │   └── UnknownEventError         a raw event name that no LangChain version sends
    ├── RunStateError                 an item that contradicts a run's state (strict mode)
    ├── RecordingError                a recording file that cannot be read (file, line)
    └── ReplayedError                 an exception recorded live, raised again by replay
                                      (defined in eventstream._serialize)

Each message says what was wrong, where (the item's position in the source, or the
file and line), and what to do. Errors of other libraries are chained with
``raise ... from exc``.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "EventStreamError",
    "MalformedItemError",
    "RecordingError",
    "RunStateError",
    "UnknownEventError",
    "describe",
]


def describe(value: Any) -> str:
    """A short description of a bad value for an error message: its type and repr."""
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{type(value).__name__} {text}"


class EventStreamError(Exception):
    """Base class of every error eventstream raises on purpose."""


class MalformedItemError(EventStreamError, ValueError):
    """A raw item does not have the shape of any supported source format.

    ``position`` is the item's 0-based index in the source.
    """

    def __init__(self, message: str, *, position: int) -> None:
        super().__init__(f"item {position}: {message}")
        self.position = position


class UnknownEventError(MalformedItemError):
    """A raw event dict names an event that no ``astream_events`` version sends."""


class RunStateError(EventStreamError):
    """A raw item contradicts what came before: a token for a run that already ended."""

    def __init__(self, message: str, *, position: int, run_id: str) -> None:
        super().__init__(f"item {position}: {message}")
        self.position = position
        self.run_id = run_id


class RecordingError(EventStreamError):
    """A recording file cannot be read: names the file and the 1-based line."""

    def __init__(self, message: str, *, path: str, line: int | None = None) -> None:
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {message}")
        self.path = path
        self.line = line
