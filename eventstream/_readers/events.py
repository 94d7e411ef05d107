"""Reading ``astream_events`` output, versions v1 and v2.

Items are dicts ``{"event": "on_<run type>_<phase>", "run_id", "name", "tags",
"metadata", "data", "parent_ids" (v2)}``, live or recorded (chunks and outputs then
in their serialized or ``model_dump()`` forms). ``on_<type>_start`` starts a run;
``on_chat_model_stream`` / ``on_llm_stream`` give its text and tool-call fragments;
chain, tool and parser ``_stream`` events repeat what models stream or what the run
will return and give no event of their own; ``on_<type>_end`` ends it with its output
(a model: its tool calls as LangChain parsed them; a tool: its result), and
``on_<type>_error`` with the error. ``on_custom_event`` gives a ``Custom``. A run
first seen mid-stream gets a ``Start`` made from what the item says of it.

The token fast path reads a live ``on_chat_model_stream`` of a known run whose chunk
is an ``AIMessageChunk`` with plain string content in a few dict lookups.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langchain_core.messages import AIMessageChunk

from eventstream._content import (
    FinalCall,
    Fragment,
    Piece,
    content_pieces,
    final_calls,
    final_message,
    fragments_of,
    llm_text,
    message_content,
    tool_message,
    usage_of,
)
from eventstream._errors import Problem, describe, error_text
from eventstream._events import Event
from eventstream._readers._base import Reader, run_fields
from eventstream._table import MODEL_TYPES, ModelEnd, Run, RunFields, ToolEnd

__all__ = ["EventsReader", "message_end", "model_end", "tool_end"]

_RUN_TYPES = frozenset(
    {"chain", "chat_model", "llm", "tool", "retriever", "prompt", "parser", "embedding"}
)
_PHASES = frozenset({"start", "stream", "end", "error"})


def _split_event_name(event: str) -> tuple[str, str] | None:
    """``"on_chat_model_stream"`` → ``("chat_model", "stream")``; None if unknown."""
    if not event.startswith("on_"):
        return None
    run_type, _, phase = event[3:].rpartition("_")
    if run_type in _RUN_TYPES and phase in _PHASES:
        return run_type, phase
    return None


def chunk_parts(chunk: Any) -> tuple[list[Piece], list[Fragment]]:
    """Text pieces and tool-call fragments of one streamed model chunk: an
    ``AIMessageChunk``, a ``GenerationChunk``, a string, or their recorded forms."""
    if type(chunk) is AIMessageChunk:  # live: its fields are validated already
        content = chunk.content
        if type(content) is str:
            pieces: list[Piece] = [(content, "text")] if content else []
        else:
            pieces = content_pieces(content)
        if not chunk.tool_call_chunks and not chunk.additional_kwargs:
            return pieces, []
        return pieces, fragments_of(chunk)
    if isinstance(chunk, str):
        return content_pieces(chunk), []
    return content_pieces(message_content(chunk)), fragments_of(chunk)


def model_end(output: Any, run_type: str) -> ModelEnd:
    """What a model's end output says: its message or text, tool calls, usage."""
    if run_type == "llm":
        text = llm_text(output)
        return ModelEnd(text if text is not None else output, content_pieces(text), None, None)
    return message_end(final_message(output))


def message_end(message: Any, calls: list[FinalCall] | None = None) -> ModelEnd:
    """What a model's final message says (its text, calls, usage), read whole: it
    raises :class:`Problem` on a field of the wrong type, before anything starts.
    ``calls``: the calls as the source parsed them (else LangChain's parse)."""
    if message is None:
        return ModelEnd(None, [], calls, None)
    return ModelEnd(
        message,
        content_pieces(message_content(message)),
        calls if calls is not None else final_calls(message),
        usage_of(message),
    )


def tool_end(output: Any) -> ToolEnd:
    """A tool's result from what it returned (a ``ToolMessage`` names its call)."""
    _, content, call_id, error = tool_message(output)
    return ToolEnd(content, call_id, error)


class EventsReader(Reader):
    """``astream_events`` v1 and v2 dicts."""

    format = "astream_events (v1/v2)"

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self._runs = self.table.runs
        self._token = self.table.token

    @staticmethod
    def sniff(item: Any) -> bool:
        return isinstance(item, Mapping) and "event" in item and "run_id" in item

    def fast(self, item: Any) -> list[Event] | None:
        if type(item) is not dict:
            return None
        event = item.get("event")
        if type(event) is not str or event != "on_chat_model_stream":
            return None
        try:
            run = self._runs[item["run_id"]]
            chunk = item["data"]["chunk"]
        except Exception:  # an unknown run, or an odd shape: the general path says
            return None
        if type(chunk) is not AIMessageChunk or run.run_type not in MODEL_TYPES:
            return None  # a stream of a run that is no model: the general path says
        content = chunk.content
        if type(content) is not str or chunk.tool_call_chunks or chunk.additional_kwargs:
            return None
        if not content:
            return []
        return [self._token(run, content)]

    def feed(self, item: Any, out: list[Event]) -> None:
        if not isinstance(item, Mapping):
            raise Problem(
                f"expected an astream_events dict with an 'event' key, got {describe(item)}"
            )
        event = item.get("event")
        run_id = item.get("run_id")
        if type(event) is not str or type(run_id) is not str:
            raise Problem(
                f"'event' and 'run_id' must be strings, got event={describe(event)}, "
                f"run_id={describe(run_id)}"
            )
        table = self.table
        if event == "on_custom_event":
            # Its name is the custom event's, its data the payload (any value).
            dispatched = run_fields(item, run_id, "")
            table.custom(dispatched, dispatched.name, item.get("data"), out)
            return
        split = _split_event_name(event)
        if split is None:
            raise Problem(
                f"unknown event {event!r}: expected on_<run type>_(start|stream|end|error) "
                f"or on_custom_event",
                kind="event",
            )
        run_type, phase = split
        data = item.get("data")
        if data is None:
            data = {}
        elif not isinstance(data, Mapping):
            raise Problem(f"{event}: 'data' must be a dict, got {describe(data)}")

        if phase == "start":
            table.check_new(run_id, event)
            table.start(run_fields(item, run_id, run_type), data.get("input"), out)
            return
        run = table.check_open(run_id, event)
        # Read everything the item says before anything changes (whole or nothing).
        fields: RunFields | None = run_fields(item, run_id, run_type) if run is None else None
        if run is not None:
            run_type = run.run_type
        if phase == "stream":
            if run_type not in MODEL_TYPES:
                # Chain, tool and parser streams repeat what models stream or what the
                # run will return: nothing of their own, but the run is known now.
                self._known(run, fields, out)
                return
            if "chunk" not in data:
                raise Problem(f"{event}: 'data' has no 'chunk'")
            pieces, fragments = chunk_parts(data["chunk"])
            table.chunk(self._known(run, fields, out), pieces, fragments, out)
        elif phase == "end":
            output = data.get("output")
            if run_type in MODEL_TYPES:
                model = model_end(output, run_type)
                table.end(self._known(run, fields, out), out, output=output, model=model)
            elif run_type == "tool":
                tool = tool_end(output)
                table.end(self._known(run, fields, out), out, output=output, tool=tool)
            else:
                table.end(self._known(run, fields, out), out, output=output)
        else:
            error = error_text(data.get("error"))
            call_id = data.get("tool_call_id")
            if call_id is not None and type(call_id) is not str:
                raise Problem(f"{event}: 'tool_call_id' must be a string, got {describe(call_id)}")
            failed = ToolEnd(None, call_id, error) if run_type == "tool" else None
            table.end(self._known(run, fields, out), out, error=error, tool=failed)

    def _known(self, run: Run | None, fields: RunFields | None, out: list[Event]) -> Run:
        """The run, started now from what the item says when it was not seen before."""
        if run is not None:
            return run
        assert fields is not None, "read before the run is started"
        return self.table.start(fields, None, out)
