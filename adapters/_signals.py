"""What a subscriber receives besides events: a gap, the normal end, or a failure.

A subscription yields normalized events and, between them, these control items:
:class:`Gap` when events it should have had are gone from the run's buffer (it fell
behind, or resumed from too far back: never silent loss), and exactly one terminal
item, :class:`Done` (the run completed) or :class:`Failure` (it failed or was
cancelled; ``message`` is safe to show a client, the details are in the server log).
These are data, not a wire format: each protocol (``_native``, ``_agui``, ``_ai_sdk``)
says how a client is told of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from eventstream import Event

__all__ = ["Done", "Failure", "Gap", "Item", "Signal"]

FAILED_MESSAGE = "the run failed; the server log has the details"
"""What a client is told when a run (or a stream) failed with an exception."""

CANCELLED_MESSAGE = "the run was cancelled"
"""What a client is told when a run was cancelled."""


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
