"""Scripts for test models: what one model turn streams, piece by piece.

A script is a list of turns; a turn is a list of steps. The same script drives the
in-process :class:`ScriptedChatModel` and the local OpenAI-compatible server, so a
test can say once what the provider streams and get it through either route.

The helpers build the shapes providers really produce: text split into word tokens,
tool-call arguments split into JSON fragments whose first piece carries the call's id
and name (as OpenAI streams them), parallel calls whose fragments interleave, and
reasoning content blocks.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "Fail",
    "Reasoning",
    "Step",
    "Text",
    "ToolCallPiece",
    "Turn",
    "interleave",
    "reasoning",
    "text",
    "tool_call",
]


@dataclass(frozen=True, slots=True)
class Text:
    """One streamed piece of answer text."""

    text: str


@dataclass(frozen=True, slots=True)
class Reasoning:
    """One streamed piece of reasoning ("thinking") text, sent as a content block."""

    text: str


@dataclass(frozen=True, slots=True)
class ToolCallPiece:
    """One streamed fragment of a tool call.

    ``index`` keeps parallel calls apart; ``id`` and ``name`` are set on the first
    fragment of a call only (as OpenAI streams them); ``args`` is a piece of JSON text.
    """

    index: int
    id: str | None = None
    name: str | None = None
    args: str = ""


@dataclass(frozen=True, slots=True)
class Fail:
    """Raise ``RuntimeError(message)`` at this point of the stream."""

    message: str = "scripted failure"


Step = Text | Reasoning | ToolCallPiece | Fail
Turn = Sequence[Step]

_TOKEN = re.compile(r"\s*\S+|\s+")


def text(value: str) -> list[Text]:
    """Split ``value`` into word tokens, each with its leading whitespace."""
    return [Text(piece) for piece in _TOKEN.findall(value)]


def reasoning(value: str) -> list[Reasoning]:
    """Split reasoning text into word tokens."""
    return [Reasoning(piece) for piece in _TOKEN.findall(value)]


def tool_call(
    name: str,
    args: dict[str, Any] | str,
    *,
    id: str,  # noqa: A002 - the provider's field name
    index: int = 0,
    pieces: int = 3,
) -> list[ToolCallPiece]:
    """A tool call as a provider streams it.

    The first fragment carries ``id`` and ``name`` with empty arguments; the JSON
    arguments follow in ``pieces`` fragments. ``pieces=0`` sends the whole call in one
    fragment (a one-shot call, as some providers send it).
    """
    args_text = args if isinstance(args, str) else json.dumps(args)
    if pieces <= 0:
        return [ToolCallPiece(index=index, id=id, name=name, args=args_text)]
    size = max(1, -(-len(args_text) // pieces))
    parts = [args_text[i : i + size] for i in range(0, len(args_text), size)]
    return [ToolCallPiece(index=index, id=id, name=name)] + [
        ToolCallPiece(index=index, args=part) for part in parts
    ]


def interleave(*sequences: Iterable[Step]) -> list[Step]:
    """Merge step lists round-robin (fragments of parallel calls interleave)."""
    iterators = [iter(seq) for seq in sequences]
    merged: list[Step] = []
    while iterators:
        alive = []
        for iterator in iterators:
            step = next(iterator, None)
            if step is not None:
                merged.append(step)
                alive.append(iterator)
        iterators = alive
    return merged
