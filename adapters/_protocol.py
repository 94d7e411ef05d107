"""The contract every wire protocol keeps, and the one loop that drives it (sans-IO).

A protocol object reads one normalized stream: ``feed(event)`` returns the protocol's
messages for that event, ``close()`` those that end a completed stream, ``fail(error)``
those that end a failed one (an exception's text never reaches a client: only a ``str``
passed in is shown), ``cancel()`` those that end a stopped one, and ``control(signal)``
answers a subscription's :class:`Gap` / :class:`Done` / :class:`Failure` (a UI protocol
ends at a gap: it cannot rebuild what it lost). Once ``ended``, the object takes nothing
more. ``encode(message)`` is the message's one
line of JSON with what a framing may add (an SSE ``event:`` name and ``id:``).
Three protocols keep it: our own events (``_native``), AG-UI (``_agui``) and the AI
SDK's UI message stream (``_ai_sdk``). They know nothing of HTTP; the framings
(``_sse``, ``_ndjson``, ``_websocket``) know nothing of them.

:class:`ProtocolStream` is the thin iterator: it runs a fresh protocol object over any
event stream, sync or async as the stream is (like :func:`eventstream.select`); when
the source raises, it yields ``fail(exc)``'s messages and re-raises the original.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator
from typing import Any, NamedTuple, Protocol, TypeVar

from eventstream.adapters._signals import Signal
from pydantic_core import to_json

from eventstream import Event
from eventstream._stream import Stream, apump, pump

__all__ = ["Encoded", "ProtocolStream", "WireProtocol"]

M = TypeVar("M")


class Encoded(NamedTuple):
    """One protocol message as text: what every framing writes, and what SSE may add."""

    data: str
    """The message as one line of JSON."""

    event: str | None = None
    """An SSE ``event:`` name (``None``: the default ``message``)."""

    id: str | None = None
    """An SSE ``id:``, which a reconnecting ``EventSource`` sends back."""


class WireProtocol(Protocol[M]):
    """What the framings and :class:`ProtocolStream` need of a protocol object."""

    @property
    def trailer(self) -> str | None:
        """A last ``data:`` line some protocols end an SSE stream with (``None``: none)."""

    @property
    def ended(self) -> bool:
        """Whether the stream has ended for this protocol: nothing more is read."""

    def feed(self, event: Event) -> list[M]: ...

    def close(self) -> list[M]: ...

    def fail(self, error: BaseException | str) -> list[M]: ...

    def cancel(self) -> list[M]: ...

    def control(self, signal: Signal) -> list[M]: ...

    def encode(self, message: Any) -> Encoded: ...


_LINE_BREAKS = str.maketrans({"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def one_line(json_text: str) -> str:
    """JSON text on one line for every reader: JSON escapes control characters; this also
    escapes U+0085, U+2028 and U+2029, which ``str.splitlines`` (and so httpx's
    ``aiter_lines``) treats as line breaks. Only JSON strings can hold them, where the
    escape means the same."""
    return json_text if json_text.isascii() else json_text.translate(_LINE_BREAKS)


def json_line(message: Any) -> str:
    """A JSON-able message as compact JSON on one line (see :func:`one_line`).

    pydantic-core's encoder: the same text as ``json.dumps(..., ensure_ascii=False,
    separators=(",", ":"))``, in a third of the time (measured on a text delta)."""
    return one_line(to_json(message).decode())


class ProtocolStream(Stream[M]):
    """A protocol's messages for an event stream; iterate it as the stream iterates.

    Each iteration runs a fresh protocol object from ``make``. When the source raises,
    the messages of ``fail(exc)`` come first, then the same exception.
    """

    def __init__(
        self,
        events: Iterable[Event] | AsyncIterable[Event],
        make: Callable[[], WireProtocol[M]],
    ) -> None:
        super().__init__(events)
        self._make = make

    def __iter__(self) -> Iterator[M]:
        protocol = self._make()
        return pump(
            self._sync_items(),
            protocol.feed,
            on_raise=protocol.fail,
            at_end=lambda _: protocol.close(),
        )

    def __aiter__(self) -> AsyncIterator[M]:
        protocol = self._make()
        return apump(
            self._async_items(),
            protocol.feed,
            on_raise=protocol.fail,
            at_end=lambda _: protocol.close(),
        )
