"""Reading LangChain callbacks, as :class:`~eventstream.CallbackSource` receives them.

Items are :class:`Callback` records: one per callback LangChain made to the source
(``on_chain_start``, ``on_llm_new_token``, ``on_tool_end`` …), holding the callback's
own arguments untouched. The source only queues them; everything is read here, on the
reader's side, so the callback route is this sans-IO reader plus a thin queue.

What each callback gives (the same events as ``astream_events`` v2 for the same run,
which LangChain builds from these very callbacks):

- ``*_start``: a run's ``Start``, named as v2 names it (the ``name`` argument, else the
  serialized name or class); ``on_chain_start``'s ``run_type`` (``prompt``, ``parser``)
  is kept. ``parent_ids`` are built from ``parent_run_id`` the way v2 builds them: the
  parent's own ``parent_ids``, then the parent, root first. A tool run names its call
  from ``tool_call_id``, which the callback gives.
- ``on_llm_new_token``: the chunk's text pieces and tool-call fragments (a chat model:
  its ``ChatGenerationChunk``'s message; an LLM: its ``GenerationChunk``; the bare
  ``token`` when no chunk came).
- ``*_end``: the run's ``End``; for a model, its tool calls from the final message and
  its usage; for a tool, its ``ToolResult``.
- ``*_error``: the run's ``End`` with the error (a tool's ``ToolResult`` too). v2 reports
  errors of tools only: a model or chain that raised ends there with the note that it
  never reported an end; here it ends with its own error.
- ``on_custom_event``: a ``Custom``.

``parent_ids`` of a run whose parent has ended already (a run started by a task that
outlives its parent) are ``(parent,)`` only: the reader keeps the ancestry of open runs,
not of every run seen (v2 keeps them all for as long as the run lasts).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple
from uuid import UUID

from langchain_core.messages import AIMessageChunk
from langchain_core.outputs import ChatGenerationChunk

from eventstream._content import Fragment, Piece, content_pieces
from eventstream._errors import Problem, describe, error_text
from eventstream._events import Event
from eventstream._readers._base import Reader, metadata_of, strings
from eventstream._readers.events import chunk_parts, model_end, tool_end
from eventstream._table import MODEL_TYPES, RunFields, ToolEnd

__all__ = ["STARTS", "Callback", "CallbackReader"]


class Callback(NamedTuple):
    """One callback LangChain made to a :class:`~eventstream.CallbackSource`."""

    event: str
    """The callback's name without ``on_``: ``"chain_start"``, ``"llm_new_token"`` …"""
    run_id: UUID | str
    parent_run_id: UUID | str | None
    data: Any
    """The callback's positional arguments, as a tuple."""
    kwargs: Mapping[str, Any]
    """Its keyword arguments (``tags``, ``metadata``, ``name``, ``chunk`` …)."""


STARTS: Mapping[str, str] = {
    "chain_start": "chain",
    "chat_model_start": "chat_model",
    "llm_start": "llm",
    "tool_start": "tool",
    "retriever_start": "retriever",
}
"""The start callbacks and the run type each starts (a chain's may name another)."""

_ENDS = frozenset({"chain_end", "llm_end", "tool_end", "retriever_end"})
_ERRORS = frozenset({"chain_error", "llm_error", "tool_error", "retriever_error"})


def _name(name: Any, serialized: Any) -> str:
    """A run's name as ``astream_events`` v2 gives it (``_assign_name``)."""
    if name:
        if not isinstance(name, str):
            raise Problem(f"'name' must be a string, got {describe(name)}")
        return name
    if isinstance(serialized, Mapping):
        if isinstance(serialized.get("name"), str) and serialized["name"]:
            return str(serialized["name"])
        ids = serialized.get("id")
        if isinstance(ids, list | tuple) and ids and isinstance(ids[-1], str):
            return ids[-1]
    return "Unnamed"


def _args(item: Callback, count: int) -> Sequence[Any]:
    data = item.data
    if not isinstance(data, tuple) or len(data) < count:
        raise Problem(
            f"on_{item.event}: expected {count} positional argument(s), got {describe(data)}"
        )
    return data


class CallbackReader(Reader):
    """:class:`Callback` records, as a :class:`~eventstream.CallbackSource` queues them."""

    format = "LangChain callbacks (CallbackSource)"

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self._runs = self.table.runs
        self._token = self.table.token
        # Run ids as text, for the open runs: UUID.__str__ is slow, and tokens are many.
        self._ids: dict[UUID | str, str] = {}

    @staticmethod
    def sniff(item: Any) -> bool:
        return type(item) is Callback

    def fast(self, item: Any) -> list[Event] | None:
        if type(item) is not Callback:
            return None
        event, key = item.event, item.run_id
        # Types first: a foreign value's __eq__ or __hash__ may do anything.
        if type(event) is not str or event != "llm_new_token" or type(key) is not UUID:
            return None
        run_id = self._ids.get(key)
        if run_id is None:
            return None
        run = self._runs.get(run_id)
        chunk = item.kwargs.get("chunk")
        if run is None or type(chunk) is not ChatGenerationChunk or run.run_type not in MODEL_TYPES:
            return None
        message = chunk.message
        if type(message) is not AIMessageChunk:
            return None
        content = message.content
        if type(content) is not str or message.tool_call_chunks or message.additional_kwargs:
            return None
        return [self._token(run, content)] if content else []

    def feed(self, item: Any, out: list[Event]) -> None:
        if type(item) is not Callback:
            raise Problem(f"expected a Callback record, got {describe(item)}")
        event = item.event
        if type(event) is not str:
            raise Problem(f"a callback's name must be a string, got {describe(event)}")
        run_id = self._id(item.run_id, "run_id")
        table = self.table
        run_type = STARTS.get(event)
        if run_type is not None:
            fields, input_, call_id = self._start(item, run_id, run_type)
            table.check_new(run_id, f"on_{event}")
            table.start(fields, input_, out, tool_call_id=call_id)
            self._ids[item.run_id] = run_id
            return
        if event == "custom_event":
            name, data = _args(item, 2)[:2]
            if not isinstance(name, str):
                raise Problem(f"on_custom_event: 'name' must be a string, got {describe(name)}")
            kwargs = item.kwargs
            dispatched = RunFields(
                run_id,
                name,
                "",
                strings(kwargs.get("tags"), "tags"),
                metadata_of(kwargs.get("metadata")),
                self._parents(item.parent_run_id),
            )
            table.custom(dispatched, name, data, out)
            return
        if event != "llm_new_token" and event not in _ENDS and event not in _ERRORS:
            raise Problem(f"unknown callback on_{event}", kind="event")
        run = table.check_open(run_id, f"on_{event}")
        if run is None:
            raise Problem(f"on_{event} for run {run_id} which never started", run_id=run_id)
        if event == "llm_new_token":
            pieces, fragments = self._chunk(item, run.run_type)
            table.chunk(run, pieces, fragments, out)
            return
        if event in _ENDS:
            output = _args(item, 1)[0]
            if run.run_type in MODEL_TYPES:
                model = model_end(output, run.run_type)
                table.end(run, out, output=model.output, model=model)
            elif run.run_type == "tool":
                table.end(run, out, output=output, tool=tool_end(output))
            else:
                table.end(run, out, output=output)
        else:
            error = error_text(_args(item, 1)[0])
            call_id = item.kwargs.get("tool_call_id")
            if call_id is not None and not isinstance(call_id, str):
                raise Problem(
                    f"on_{event}: 'tool_call_id' must be a string, got {describe(call_id)}"
                )
            failed = ToolEnd(None, call_id, error) if run.run_type == "tool" else None
            table.end(run, out, error=error, tool=failed)
        self._forget(item.run_id)

    # -- inside -------------------------------------------------------------------

    def _forget(self, key: UUID | str) -> None:
        ids = self._ids
        ids.pop(key, None)
        # Runs the table ended with their parent leave their ids here: drop them now
        # and then, so the cache follows the open runs.
        if len(ids) > 2 * len(self._runs) + 16:
            self._ids = {k: v for k, v in ids.items() if v in self._runs}

    def _id(self, value: Any, where: str) -> str:
        known = self._ids.get(value) if isinstance(value, UUID | str) else None
        if known is not None:
            return known
        if isinstance(value, UUID):
            return str(value)
        if isinstance(value, str) and value:
            return value
        raise Problem(f"'{where}' must be a UUID, got {describe(value)}")

    def _parents(self, parent_run_id: Any) -> tuple[str, ...]:
        """``parent_ids`` as v2 builds them: the parent's ancestors, then the parent."""
        if parent_run_id is None:
            return ()
        parent_id = self._id(parent_run_id, "parent_run_id")
        parent = self.table.get(parent_id)
        return (*parent.parent_ids, parent_id) if parent is not None else (parent_id,)

    def _start(self, item: Callback, run_id: str, run_type: str) -> tuple[RunFields, Any, Any]:
        """What a start callback says of its run: fields, input, tool call id."""
        kwargs = item.kwargs
        serialized, payload = _args(item, 2)[:2]
        input_: Any
        call_id = None
        if run_type == "chain":
            declared = kwargs.get("run_type")
            if declared is not None:
                if not isinstance(declared, str) or not declared:
                    raise Problem(f"'run_type' must be a string, got {describe(declared)}")
                run_type = declared
            # As v2: LangChain sends {"input": ""} when it has no input to report.
            input_ = None if payload == {"input": ""} else payload
        elif run_type == "chat_model":
            input_ = {"messages": payload}
        elif run_type == "llm":
            input_ = {"prompts": payload}
        elif run_type == "tool":
            input_ = kwargs.get("inputs") or {}
            call_id = kwargs.get("tool_call_id")
            if call_id is not None and not isinstance(call_id, str):
                raise Problem(f"'tool_call_id' must be a string, got {describe(call_id)}")
        else:
            input_ = {"query": payload}
        fields = RunFields(
            run_id,
            _name(kwargs.get("name"), serialized),
            run_type,
            strings(kwargs.get("tags"), "tags"),
            metadata_of(kwargs.get("metadata")),
            self._parents(item.parent_run_id),
        )
        return fields, input_, call_id

    @staticmethod
    def _chunk(item: Callback, run_type: str) -> tuple[list[Piece], list[Fragment]]:
        chunk = item.kwargs.get("chunk")
        if chunk is not None:
            message = getattr(chunk, "message", None)
            return chunk_parts(message if message is not None else chunk)
        token = _args(item, 1)[0]
        return content_pieces(token, "token"), []
