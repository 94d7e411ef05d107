"""The arguments of streaming tool calls as they grow, for a progress view or a form
that fills itself in.

Contract. ``_PartialCalls`` is sans-IO: ``feed(event)`` takes each event of a
normalized stream and, for each :class:`~eventstream.ToolCallChunk`, returns a
:class:`PartialToolCall` with the arguments' text so far and what parses of it
(:func:`~eventstream._partial_json.partial_args`); for each
:class:`~eventstream.ToolCall`, the complete call (``done=True``). A call's state is
kept from its first fragment to its ``ToolCall`` (or its model run's end).

Cost: each fragment parses the arguments so far again (pydantic-core, in Rust): linear
per fragment, so O(n²) over a call of n characters. That is nothing for the arguments of
a usual call (hundreds of characters) and measured in benchmark B9 for long ones. To
stream one long string argument (an answer) use ``answer(tool=..., field=...)``, which
is linear.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from eventstream._driven import Driven
from eventstream._events import Event
from eventstream._partial_json import PartialJSONError, partial_args

__all__ = ["PartialToolCall", "PartialToolCalls", "partial_tool_calls"]


@dataclass(frozen=True, slots=True, kw_only=True)
class PartialToolCall:
    """A tool call's arguments as far as they have streamed."""

    type: Literal["partial_tool_call"] = "partial_tool_call"
    """Always ``"partial_tool_call"``."""

    run_id: str
    """The model run making the call."""

    index: int
    """The call's position among the model run's calls (as ``ToolCallChunk.index``)."""

    tool_call_id: str | None
    """The call's id, once the provider has sent it."""

    name: str
    """The tool's name (``""`` until the provider sends it)."""

    args_text: str
    """The arguments' JSON text so far (all of it when ``done``)."""

    args: dict[str, Any]
    """What parses of ``args_text``: complete keys with their values and the string
    being written so far (``{"city": "Par`` gives ``{"city": "Par"}``); a number at the
    very end may still grow. When the text so far does not parse, the last arguments
    that did. When ``done``, the complete arguments (``ToolCall.args``)."""

    done: bool
    """``True`` for the complete call (from the ``ToolCall``); its last item."""

    error: str | None = None
    """``None``, or why the text does not parse: for a call in progress, why the text
    so far cannot be the start of a JSON object; when ``done``, ``ToolCall.error``."""


class _Progress:
    __slots__ = ("args", "error", "parts")

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.args: dict[str, Any] = {}
        self.error: str | None = None


class _PartialCalls:
    """Sans-IO: events in, :class:`PartialToolCall` items out (see the module)."""

    def __init__(self, names: Iterable[str] | None = None) -> None:
        self.names = frozenset(names) if names is not None else None
        self._calls: dict[tuple[str, int], _Progress] = {}

    def feed(self, event: Event) -> list[PartialToolCall]:
        if event.type == "tool_call_chunk":
            key = (event.run_id, event.index)
            call = self._calls.get(key)
            if call is None:
                call = self._calls[key] = _Progress()
            if event.args_delta:
                call.parts.append(event.args_delta)
            if self.names is not None and event.name not in self.names:
                return []  # another tool, or a name not sent yet (its text is kept)
            text = "".join(call.parts)
            try:
                call.args = partial_args(text)
                call.error = None
            except PartialJSONError as exc:
                call.error = str(exc)
            return [
                PartialToolCall(
                    run_id=event.run_id,
                    index=event.index,
                    tool_call_id=event.tool_call_id,
                    name=event.name,
                    args_text=text,
                    args=call.args,
                    done=False,
                    error=call.error,
                )
            ]
        if event.type == "tool_call":
            self._calls.pop((event.run_id, event.index), None)
            if self.names is not None and event.name not in self.names:
                return []
            return [
                PartialToolCall(
                    run_id=event.run_id,
                    index=event.index,
                    tool_call_id=event.tool_call_id,
                    name=event.name,
                    args_text=event.args_text,
                    args=event.args,
                    done=True,
                    error=event.error,
                )
            ]
        if event.type == "end" and self._calls:
            for key in [k for k in self._calls if k[0] == event.run_id]:
                del self._calls[key]
        return []

    def close(self) -> list[PartialToolCall]:
        self._calls.clear()
        return []

    def fail(self, exc: BaseException) -> list[PartialToolCall]:
        return self.close()


class PartialToolCalls(Driven[PartialToolCall]):
    """The :class:`PartialToolCall` items of a stream of events; see
    :func:`partial_tool_calls`."""


def partial_tool_calls(
    events: Iterable[Event] | AsyncIterable[Event],
    *,
    names: Iterable[str] | str | None = None,
) -> PartialToolCalls:
    """Each streaming tool call's arguments parsed so far, at every fragment.

    Yields a :class:`PartialToolCall` per ``ToolCallChunk`` (``done=False``) and one
    per ``ToolCall`` (``done=True``, the complete arguments). ``names`` keeps only the
    calls of these tools. Iterate as ``events`` iterates (``for`` or ``async for``).
    Each fragment re-parses the call's arguments so far (O(n²) over a long call; see
    the module docstring).
    """
    reader_names = [names] if isinstance(names, str) else names
    if reader_names is not None:
        reader_names = list(reader_names)
        if not all(isinstance(n, str) and n for n in reader_names):
            msg = f"names must be non-empty strings (tool names), got {reader_names!r}"
            raise ValueError(msg)
    return PartialToolCalls(events, lambda: _PartialCalls(reader_names))
