"""Our own event protocol: normalized events and a subscription's control items, as they are.

One protocol of three (see ``_protocol``), and the one the ``/runs`` endpoints speak.
Each event is one line of JSON as :func:`eventstream.event_to_json` writes it; the
control items are ``{"type": "gap", ...}``, ``{"type": "done", ...}`` and
``{"type": "error", ...}`` (:func:`item_to_json`). Over SSE each frame names its type
(``event:``) and, for an event, its ``seq`` (``id:``, what a reconnecting
``EventSource`` sends back as ``Last-Event-ID``); a gap's ``id`` is the last seq
missed, so a reconnect resumes after the gap. A subscription's own control items pass
through unchanged (its ``Done`` knows the run's last seq, whatever was selected).
"""

from __future__ import annotations

import json
from typing import cast

from eventstream.adapters._protocol import Encoded, one_line
from eventstream.adapters._signals import (
    CANCELLED_MESSAGE,
    FAILED_MESSAGE,
    Done,
    Failure,
    Gap,
    Item,
    Signal,
)

from eventstream import Event, event_to_json

__all__ = ["EventProtocol", "item_to_json"]

_SIGNALS = frozenset({Gap, Done, Failure})


def item_to_json(item: Item) -> str:
    """One item as compact, one-line JSON: an event as :func:`eventstream.event_to_json`.

    One line for every reader, not only for those that split at ``\\n``: JSON escapes
    control characters, and this also escapes U+0085, U+2028 and U+2029, which
    ``str.splitlines`` (and so httpx's ``aiter_lines``) treats as line breaks.
    """
    if isinstance(item, Gap):
        data: dict[str, object] = {
            "type": "gap",
            "first": item.first,
            "last": item.last,
            "missed": item.missed,
        }
    elif isinstance(item, Done):
        data = {"type": "done", "last_seq": item.last_seq}
    elif isinstance(item, Failure):
        data = {"type": "error", "message": item.message, "reason": item.reason}
    else:
        return one_line(event_to_json(item))
    return json.dumps(data, separators=(",", ":"))


class EventProtocol:
    """Events in, the same events out (``feed(event) -> [event]``), control items as is."""

    trailer: str | None = None

    def __init__(self) -> None:
        self._last: int | None = None
        self.ended = False
        """Whether a terminal item was given (a gap is not one)."""

    def feed(self, event: Event) -> list[Item]:
        self._last = event.seq
        return [event]

    def close(self) -> list[Item]:
        self.ended = True
        return [Done(last_seq=self._last)]

    def fail(self, error: BaseException | str) -> list[Item]:
        self.ended = True
        message = error if isinstance(error, str) else FAILED_MESSAGE
        return [Failure(message=message, reason="failed")]

    def cancel(self) -> list[Item]:
        self.ended = True
        return [Failure(message=CANCELLED_MESSAGE, reason="cancelled")]

    def control(self, signal: Signal) -> list[Item]:
        self.ended = not isinstance(signal, Gap)
        return [signal]

    def encode(self, item: Item) -> Encoded:
        """The item's JSON, its type as the SSE event name, and its resume id."""
        if type(item) not in _SIGNALS:  # an event: the common case, one check
            event = cast(Event, item)
            return Encoded(one_line(event_to_json(event)), event.type, str(event.seq))
        data = item_to_json(item)
        if isinstance(item, Gap):
            return Encoded(data, "gap", str(item.last))
        return Encoded(data, item.type)
