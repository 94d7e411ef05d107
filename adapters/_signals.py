"""What a subscriber receives besides events: a gap, the normal end, or a failure.

A subscription yields normalized events and, between them, these control items:
:class:`Gap` when events it should have had are gone from the run's buffer (it fell
behind, or resumed from too far back: never silent loss), and exactly one terminal
item, :class:`Done` (the run completed) or :class:`Failure` (it failed or was
cancelled; ``message`` is safe to show a client, the details are in the server log).
Each wire format writes them with the same JSON (:func:`item_to_json`).

That JSON is one line for every reader, not only for the ones that split at ``\n``:
JSON escapes control characters, and :func:`item_to_json` also escapes U+0085, U+2028
and U+2029, which ``str.splitlines`` (and so httpx's ``aiter_lines``) treats as line
breaks. They can only occur inside JSON strings, where the escape means the same.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

from eventstream import Event, event_to_json

__all__ = ["Done", "Failure", "Gap", "Item", "Signal", "item_to_json"]


@dataclass(frozen=True, slots=True)
class Gap:
    """Events ``first`` … ``last`` (seq, inclusive) were lost to this subscriber."""

    first: int
    """The seq of the first event missed."""

    last: int
    """The seq of the last event missed; the next item has a later seq (or ends)."""

    type: Literal["gap"] = "gap"

    @property
    def missed(self) -> int:
        """How many events were missed (before any selection: they are gone)."""
        return self.last - self.first + 1


@dataclass(frozen=True, slots=True)
class Done:
    """The run completed; nothing follows."""

    last_seq: int | None
    """The seq of the run's last event, ``None`` when it had none."""

    type: Literal["done"] = "done"


@dataclass(frozen=True, slots=True)
class Failure:
    """The run failed or was cancelled; nothing follows."""

    message: str
    """A message safe for clients: no exception text, no stack trace."""

    reason: Literal["failed", "cancelled"]
    """``"failed"``: the run raised; ``"cancelled"``: it was cancelled."""

    type: Literal["error"] = "error"


Signal = Gap | Done | Failure
"""A control item of a subscription."""

Item = Event | Signal
"""Anything a subscription yields."""


_LINE_BREAKS = str.maketrans({"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def item_to_json(item: Item) -> str:
    """One item as compact, one-line JSON: an event as :func:`eventstream.event_to_json`."""
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
        text = event_to_json(item)
        return text if text.isascii() else text.translate(_LINE_BREAKS)
    return json.dumps(data, separators=(",", ":"))
