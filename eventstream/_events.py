"""The normalized event model: one small data class per event type.

Events are plain slotted dataclasses, built once per token on the hot path, so they
cost well under a microsecond each. They are values: treat them as read-only (they are
not ``frozen``, because a frozen dataclass costs three times as much to build, measured
at 1.49 µs against 0.53 µs for a token). Pydantic works at the edges only: one
``TypeAdapter`` over the :data:`Event` union gives JSON, JSON Schema and validation.

Common fields, on every event, say which run the event belongs to. They come from the
raw item's ``run_id``, ``parent_ids``, ``name``, ``tags`` and ``metadata``; the
``run_type`` comes from the raw event name (``on_<run_type>_start``) or the log entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, NoReturn

from pydantic import Field

__all__ = [
    "Custom",
    "End",
    "Event",
    "Start",
    "Token",
    "ToolCall",
    "ToolCallChunk",
    "ToolResult",
    "Usage",
]


class ReadOnlyDict(dict[str, Any]):
    """A dict that refuses changes: the metadata of events. A ``dict`` subclass, so
    JSON and pydantic take it as they take a dict."""

    __slots__ = ()

    def _refuse(self, *args: Any, **kwargs: Any) -> NoReturn:
        msg = "an event's metadata is read-only: copy it (dict(event.metadata)) to change it"
        raise TypeError(msg)

    __setitem__ = __delitem__ = __ior__ = _refuse
    clear = pop = popitem = setdefault = update = _refuse

    def __reduce__(self) -> tuple[Any, ...]:
        return (ReadOnlyDict, (dict(self),))


NO_METADATA: Mapping[str, Any] = ReadOnlyDict()
"""The metadata of an event built without any: empty and read-only, so one event's
metadata can never leak into another's."""


@dataclass(slots=True, kw_only=True)
class _Common:
    seq: int
    """Position in the normalized stream: 0, 1, 2 … without gaps."""

    run_id: str
    """The run this event belongs to: LangChain's run id (a UUID string)."""

    parent_ids: tuple[str, ...] = ()
    """Ids of the run's ancestors, root first, as ``astream_events`` v2 gives them.

    Empty for a root run, and for every run of a source that carries no ancestry
    (``astream_events`` v1, ``astream_log``).
    """

    name: str = ""
    """The run's name: the runnable's name, or ``run_name`` from its config. For a
    :class:`Custom` event, the custom event's name."""

    run_type: str = ""
    """What kind of runnable the run is: ``chain``, ``chat_model``, ``llm``, ``tool``,
    ``retriever``, ``prompt``, ``parser`` …, from the raw event's name."""

    tags: tuple[str, ...] = ()
    """The run's tags, as LangChain gives them (including inherited ones)."""

    metadata: Mapping[str, Any] = field(default_factory=lambda: NO_METADATA)
    """The run's metadata, as LangChain gives it (a copy, read-only). Shared by all
    events of a run."""


@dataclass(slots=True, kw_only=True)
class Start(_Common):
    """A run started. Exactly one per run, before any other event of that run."""

    type: Literal["start"] = "start"
    """Always ``"start"``."""

    input: Any = None
    """The run's input, when the source carries it at start (``data.input``)."""

    tool_call_id: str | None = None
    """For a tool run: the id of the model's tool call that started it, when it can be
    known (matched to an announced :class:`ToolCall` by name and arguments)."""


@dataclass(slots=True, kw_only=True)
class Token(_Common):
    """A piece of text streamed by a chat model or LLM run."""

    type: Literal["token"] = "token"
    """Always ``"token"``."""

    text: str
    """The streamed text; never empty. From a chunk's string content, its ``text``,
    ``reasoning`` or ``thinking`` content blocks, or an LLM chunk's ``text``."""

    kind: Literal["text", "reasoning"] = "text"
    """``"text"`` for answer text, ``"reasoning"`` for reasoning / thinking blocks."""


@dataclass(slots=True, kw_only=True)
class ToolCallChunk(_Common):
    """A streamed fragment of a tool call's arguments, from a model run."""

    type: Literal["tool_call_chunk"] = "tool_call_chunk"
    """Always ``"tool_call_chunk"``."""

    index: int
    """Which of the model's tool calls this fragment belongs to (keeps parallel calls
    apart even when their fragments interleave)."""

    tool_call_id: str | None = None
    """The call's id, known from the first fragment of that index on."""

    name: str = ""
    """Here: the name of the tool being called, known from the first fragment of that
    index on (``""`` until the provider sends it). ``run_id`` names the model run."""

    args_delta: str = ""
    """A raw piece of the arguments' JSON text (may be empty on the first fragment)."""


@dataclass(slots=True, kw_only=True)
class ToolCall(_Common):
    """A complete tool call, once per call, when the model run that made it ends."""

    type: Literal["tool_call"] = "tool_call"
    """Always ``"tool_call"``."""

    index: int
    """The call's position among the model run's tool calls."""

    tool_call_id: str | None = None
    """The call's id, as the provider gave it."""

    name: str = ""
    """Here: the name of the tool to call. ``run_id`` names the model run."""

    args: dict[str, Any] = field(default_factory=dict)
    """The parsed arguments; ``{}`` when there were none or they did not parse."""

    args_text: str = ""
    """The arguments' raw JSON text, as streamed."""

    error: str | None = None
    """``None``, or why ``args_text`` did not parse into a JSON object."""


@dataclass(slots=True, kw_only=True)
class ToolResult(_Common):
    """What a tool run returned or raised, linked to its call by ``tool_call_id``."""

    type: Literal["tool_result"] = "tool_result"
    """Always ``"tool_result"``."""

    tool_call_id: str | None = None
    """The id of the tool call this answers: from the returned ``ToolMessage``, from
    ``on_tool_error``, or from the call matched when the tool run started."""

    output: Any = None
    """The tool's output: for a ``ToolMessage``, its ``content``; otherwise as returned."""

    error: str | None = None
    """``None``, or the error text: an ``on_tool_error``, or a ``ToolMessage`` with
    ``status="error"`` (then it repeats the message's content)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Usage:
    """Token counts of one model run, from the provider (LangChain's ``usage_metadata``,
    or the ``usage`` of a raw OpenAI stream)."""

    input_tokens: int
    """Tokens of the prompt."""

    output_tokens: int
    """Tokens generated (reasoning tokens included, where the provider counts them)."""

    total_tokens: int
    """What the provider reports as the total (usually the sum of the two)."""


@dataclass(slots=True, kw_only=True)
class End(_Common):
    """A run ended. Exactly one per run; nothing of that run follows it."""

    type: Literal["end"] = "end"
    """Always ``"end"``."""

    output: Any = None
    """The run's output (``data.output``). For chat models, the final message; for
    LLMs, the generated text; for tools, as returned."""

    error: str | None = None
    """``None``, or what went wrong: the tool's error, the exception the source raised,
    or a note that the source ended while the run was still open."""

    usage: Usage | None = None
    """For a model run: its token usage, when the source reports it; else ``None``."""


@dataclass(slots=True, kw_only=True)
class Custom(_Common):
    """A custom event sent with ``adispatch_custom_event`` / ``dispatch_custom_event``.

    ``name`` is the custom event's name; ``run_id`` the run that dispatched it.
    """

    type: Literal["custom"] = "custom"
    """Always ``"custom"``."""

    data: Any = None
    """The payload given to ``dispatch_custom_event``."""


Event = Annotated[
    Start | Token | ToolCallChunk | ToolCall | ToolResult | End | Custom,
    Field(discriminator="type"),
]
"""Any normalized event; tell them apart by ``type`` (or ``isinstance``)."""

EVENT_TYPES: tuple[str, ...] = (
    "start",
    "token",
    "tool_call_chunk",
    "tool_call",
    "tool_result",
    "end",
    "custom",
)
