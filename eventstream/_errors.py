"""The exceptions eventstream raises, all under one base class::

    EventStreamError                  anything eventstream raises on purpose
    ├── MalformedItemError            a raw item of the wrong shape (strict mode)
    │   ├── UnknownEventError         a raw event name that no LangChain version sends
    │   └── UnknownFormatError        a stream in no format eventstream reads (both modes)
    ├── RunStateError                 an item that contradicts a run's state (strict mode)
    ├── NoAncestryError               answer() or a UI protocol on a stream without ancestry,
    │                                 told nothing of which model is the agent's
    ├── PartialJSONError              a tool call's arguments that are not (the start of)
    │                                 a JSON object, read field by field
    ├── RecordingError                a recording file that cannot be read (file, line)
    ├── CallbackSourceError           a CallbackSource read twice, or never called by its run
    └── ReplayedError                 an exception recorded live, raised again by replay
                                      (defined in eventstream._serialize)

Each message says what was wrong, where (the item's position in the source, or the
file and line), and what to do. Errors of other libraries are chained with
``raise ... from exc``.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "CallbackSourceError",
    "EventStreamError",
    "MalformedItemError",
    "NoAncestryError",
    "PartialJSONError",
    "Problem",
    "RecordingError",
    "RunStateError",
    "UnknownEventError",
    "UnknownFormatError",
    "describe",
    "error_text",
    "safe_repr",
]


def safe_repr(value: Any, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters; never raises, whatever ``value``'s
    ``__repr__`` does (a value from outside must not turn our error into its own)."""
    try:
        text = repr(value)
    except Exception as exc:  # anything a foreign __repr__ raises
        text = f"<{_type_name(value)} whose repr() raised {_type_name(exc)}>"
    if not isinstance(text, str):  # a __repr__ that returns something else
        text = f"<{_type_name(value)}>"
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return text


def _type_name(value: Any) -> str:
    try:
        return type(value).__name__
    except Exception:  # a metaclass may do anything
        return "object"


def describe(value: Any) -> str:
    """A short description of a bad value for an error message: its type and repr."""
    return f"{_type_name(value)} {safe_repr(value)}"


class EventStreamError(Exception):
    """Base class of every error eventstream raises on purpose."""


class Problem(Exception):
    """Internal: what a reader or the run table found wrong with one raw item (or op).

    Never reaches users: the normalizer turns it into :class:`MalformedItemError`, or
    :class:`RunStateError` when ``run_id`` names the run whose state it contradicts,
    adding the item's position; in lenient mode it skips and counts the item.
    """

    def __init__(self, message: str, run_id: str | None = None, *, kind: str = "") -> None:
        super().__init__(message)
        self.run_id = run_id
        self.kind = kind
        """``"event"``: an event name no LangChain version sends (UnknownEventError);
        ``"format"``: a whole stream that carries no events (UnknownFormatError)."""


def error_text(error: Any) -> str:
    """An error as one line of text: ``"ValueError: bad"`` for an exception (whatever
    its ``__str__`` does), the value's text otherwise, ``"error"`` for nothing."""
    if error is None:
        return "error"
    if isinstance(error, BaseException):
        return f"{_type_name(error)}: {_safe_str(error)}"
    return _safe_str(error)


def _safe_str(value: Any) -> str:
    try:
        text = str(value)
    except Exception:  # a foreign __str__ may raise anything
        return f"<{_type_name(value)} whose str() raised>"
    return text if isinstance(text, str) else f"<{_type_name(value)}>"


class MalformedItemError(EventStreamError, ValueError):
    """A raw item does not have the shape of any supported source format.

    ``position`` is the item's 0-based index in the source.
    """

    def __init__(self, message: str, *, position: int) -> None:
        super().__init__(f"item {position}: {message}")
        self.position = position


class UnknownEventError(MalformedItemError):
    """A raw event dict names an event that no ``astream_events`` version sends."""


class UnknownFormatError(MalformedItemError):
    """The first items of a stream match no format eventstream reads.

    Raised in strict **and** lenient mode: lenient mode skips damaged items inside a
    stream it recognised, it never turns a whole stream into silence. The message says
    what the items look like and which formats are read.
    """


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


class NoAncestryError(EventStreamError, ValueError):
    """The stream carries no ancestry (no ``parent_ids``) and nothing else says which
    model runs are the agent's: pass ``tags=`` or ``names=``."""


class PartialJSONError(EventStreamError, ValueError):
    """A tool call's arguments text is not (the start of) a JSON object.

    ``near`` is the text where it went wrong (up to 20 characters of the text being
    read, ending with the offending character), when there is one.
    """

    def __init__(self, message: str, *, near: str | None = None) -> None:
        where = f" (at {near!r})" if near is not None else ""
        super().__init__(f"{message}{where}")
        self.near = near


class CallbackSourceError(EventStreamError):
    """A :class:`~eventstream.CallbackSource` used in a way that cannot give its run's
    events: read a second time, read with ``for`` inside an event loop, or followed to
    the end of a run that never called it (it was not passed in ``config``)."""
