"""Reading LangGraph's stream modes: what ``graph.astream(...)`` / ``graph.stream(...)``
yield.

Items come in every form LangGraph yields them: ``version="v2"`` dicts
(``{"type": mode, "ns": namespace, "data": ...}``) or ``version="v1"`` tuples
(``(mode, data)`` for several modes, ``(namespace, data)`` / ``(namespace, mode, data)``
with ``subgraphs=True``, and for ``stream_mode="messages"`` alone the bare
``(message, metadata)`` pairs). What each mode gives (``eventstream.STREAM_MODES`` asks
for all that matter; ``graph.py`` says how the runs are built):

- ``messages``: the tokens and tool-call fragments of every chat model, the agent's
  and those running inside tools (``metadata["langgraph_checkpoint_ns"]`` names the
  task they ran in), with their usage; ``ToolMessage``\\ s: tool results.
- ``tasks``: node runs (start, end, error); a task that runs one tool call (how
  ``create_agent`` runs tools) names it, so the tool's run starts there and the models
  inside it are inside it.
- ``tools``: tool runs started, finished and failed, by call id, with their input;
  ``tool-output-delta`` as a ``Custom`` event named ``tool_output_delta``.
- ``custom``: what nodes write with ``get_stream_writer()``, as ``Custom`` events named
  ``custom`` (no ``astream_events`` version shows these).
- ``updates``: nodes' updates: their whole messages when ``messages`` is not requested
  (one ``Token`` with a model's whole text), tool results, interrupts (``Custom``
  events named ``interrupt``).
- ``values``: the root's output (the last state); ``checkpoints``: nothing;
  ``debug``: its task events, as ``tasks``.

A stream with only ``values`` or ``checkpoints`` items carries no events: it ends with
:class:`~eventstream.UnknownFormatError` saying which modes to request.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.messages import AIMessageChunk

from eventstream._errors import Problem, describe, error_text
from eventstream._events import Event
from eventstream._readers._base import Reader
from eventstream._readers.events import chunk_parts
from eventstream._readers.graph import GraphRuns, task_of

__all__ = ["STREAM_MODES", "ModesReader", "split_item"]

STREAM_MODES: tuple[str, ...] = ("messages", "tasks", "tools", "custom")
"""The stream modes to request for the full event model::

    agent.astream(inputs, stream_mode=eventstream.STREAM_MODES, subgraphs=True,
                  version="v2")

``messages``: tokens, tool-call fragments and results; ``tasks``: node runs, and which
tool call each tools task runs (so the models inside a tool are inside it); ``tools``:
tool runs with their input, errors and output deltas; ``custom``: ``get_stream_writer``
payloads. ``subgraphs=True`` adds the runs of subgraphs (an agent inside a tool)."""

MODES = frozenset(
    {"values", "updates", "messages", "custom", "checkpoints", "tasks", "debug", "tools"}
)
_CARRYING = MODES - {"values", "checkpoints"}
_AI = frozenset({"ai", "AIMessageChunk", "AIMessage"})


def _is_namespace(value: Any) -> bool:
    return isinstance(value, tuple | list) and all(isinstance(part, str) for part in value)


def _message_type(value: Any) -> str | None:
    """``"ai"``, ``"AIMessageChunk"``, ``"tool"`` … for a message in any of its forms."""
    kind = getattr(value, "type", None)
    if isinstance(kind, str) and hasattr(value, "content"):
        return kind
    if isinstance(value, Mapping):
        if value.get("lc") == 1 and isinstance(value.get("kwargs"), Mapping):
            name = list(value.get("id") or ())[-1:]
            kind = value["kwargs"].get("type") or (name[0] if name else None)
        else:
            kind = value.get("type")
        if isinstance(kind, str) and ("content" in value or "kwargs" in value):
            return kind
    return None


def _is_messages_pair(value: Any) -> bool:
    return (
        isinstance(value, tuple | list)
        and len(value) == 2
        and _message_type(value[0]) is not None
        and isinstance(value[1], Mapping)
    )


def _infer_mode(data: Any) -> str | None:
    """The mode of a single-mode item (LangGraph does not say which)."""
    if _is_messages_pair(data):
        return "messages"
    if isinstance(data, Mapping):
        event = data.get("event")
        if isinstance(event, str) and event.startswith("tool-") and "tool_call_id" in data:
            return "tools"
        if (
            isinstance(data.get("id"), str)
            and isinstance(data.get("name"), str)
            and ("input" in data or "result" in data or "error" in data)
        ):
            return "tasks"
    return None


def split_item(item: Any) -> tuple[tuple[str, ...], str, Any] | None:
    """``(namespace, mode, data)`` of a stream-mode item in any form; ``None`` if it is
    not one."""
    if isinstance(item, Mapping):
        mode = item.get("type")
        if (
            isinstance(mode, str)
            and mode in MODES
            and "data" in item
            and "ns" in item
            and _is_namespace(item["ns"])
        ):
            return tuple(item["ns"]), mode, item["data"]
        inferred = _infer_mode(item)
        return ((), inferred, item) if inferred is not None else None
    if not isinstance(item, tuple):
        return None
    if len(item) == 3 and _is_namespace(item[0]) and isinstance(item[1], str) and item[1] in MODES:
        return tuple(item[0]), item[1], item[2]
    if len(item) == 2:
        first, data = item
        if isinstance(first, str) and first in MODES:  # (mode, data)
            return (), first, data
        if _is_messages_pair(item):
            return (), "messages", item
        if _is_namespace(first):
            inferred = _infer_mode(data)
            if inferred is not None:
                return tuple(first), inferred, data
    return None


class ModesReader(Reader):
    """LangGraph stream-mode items, any mode, any form."""

    format = "LangGraph stream modes"

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.graph = GraphRuns(self.table)
        self._models = self.graph.models
        self._token = self.table.token
        self._carrying = False
        self._seen_modes: set[str] = set()

    @staticmethod
    def sniff(item: Any) -> bool:
        return split_item(item) is not None

    def fast(self, item: Any) -> list[Event] | None:
        if type(item) is dict:
            mode = item.get("type")
            if type(mode) is not str or mode != "messages":
                return None
            data = item.get("data")
        elif type(item) is tuple and len(item) == 3 and type(item[1]) is str:
            if item[1] != "messages":
                return None
            data = item[2]
        else:
            return None
        if type(data) is not tuple or len(data) != 2:
            return None
        chunk = data[0]
        if type(chunk) is not AIMessageChunk:
            return None
        content = chunk.content
        if (
            type(content) is not str
            or chunk.tool_call_chunks
            or chunk.additional_kwargs
            or chunk.chunk_position is not None
            or chunk.usage_metadata
        ):
            return None
        model = self._models.get(chunk.id)  # type: ignore[arg-type]
        if model is None or model.run.ended:
            return None
        if not content:
            return []
        return [self._token(model.run, content)]

    def feed(self, item: Any, out: list[Event]) -> None:
        split = split_item(item)
        if split is None:
            raise Problem(
                "expected a LangGraph stream-mode item ({'type', 'ns', 'data'}, "
                f"(mode, data), (namespace, mode, data)), got {describe(item)}"
            )
        ns, mode, data = split
        self._seen_modes.add(mode)
        if mode in _CARRYING:
            self._carrying = True
        if mode == "messages":
            self._messages(ns, data, out)
        elif mode == "tasks":
            self._task(ns, data, out)
        elif mode == "debug":
            if isinstance(data, Mapping) and data.get("type") in ("task", "task_result"):
                self._task(ns, data.get("payload"), out)
        elif mode == "tools":
            self._tool(ns, data, out)
        elif mode == "custom":
            scope = self.graph.scope(ns, None, out)
            self.table.custom(scope.fields, "custom", data, out)
        elif mode == "updates":
            self._updates(ns, data, out)
        elif mode == "values" and not ns:
            self.graph.output = data

    # -- modes -----------------------------------------------------------------

    def _messages(self, ns: tuple[str, ...], data: Any, out: list[Event]) -> None:
        if not _is_messages_pair(data):
            raise Problem(f"a 'messages' item is a (message, metadata) pair, got {describe(data)}")
        message, metadata = data
        kind = _message_type(message)
        if kind == "tool" or kind == "ToolMessage":
            self.graph.note(metadata, task_of(metadata) or "")
            self.graph.tool_message(message, ns, metadata, out)
            return
        if kind not in _AI:
            return  # the user's own messages, echoed back by a node: no event
        chunk = kind == "AIMessageChunk" or isinstance(message, AIMessageChunk)
        if not chunk:
            self.graph.note(metadata, task_of(metadata) or "")
            self.graph.whole_message(message, ns, metadata, out)
            return
        message_id = _field(message, "id")
        if not isinstance(message_id, str) or not message_id:
            raise Problem(f"a message chunk without an id: {describe(message)}")
        pieces, fragments = chunk_parts(message)
        last = _field(message, "chunk_position") == "last"
        self.graph.note(metadata, task_of(metadata) or message_id)
        model = self.graph.model(message_id, ns, metadata, out)
        self.table.chunk(model.run, pieces, fragments, out)
        self.graph.add_usage(model, message)
        if last:
            self.graph.end_model(model, out)

    def _task(self, ns: tuple[str, ...], data: Any, out: list[Event]) -> None:
        if not isinstance(data, Mapping):
            raise Problem(f"a task event is a dict, got {describe(data)}")
        task_id, name = data.get("id"), data.get("name")
        if not isinstance(task_id, str) or not isinstance(name, str):
            raise Problem(
                f"a task event needs 'id' and 'name' strings, got id={describe(task_id)}, "
                f"name={describe(name)}"
            )
        metadata = data.get("metadata")
        metadata = metadata if isinstance(metadata, Mapping) else None
        if "input" in data:
            self.graph.note(metadata, task_id)
            self.graph.task_started(ns, task_id, name, data.get("input"), metadata, out)
        else:
            error = data.get("error")
            if isinstance(error, BaseException):
                error = error_text(error)  # LangGraph gives the exception itself
            elif error is not None and not isinstance(error, str):
                raise Problem(f"a task's 'error' is a string, got {describe(error)}")
            self.graph.task_finished(task_id, error, data.get("result"), out)
            interrupts = data.get("interrupts")
            if interrupts:
                run = self.graph.scope(ns, None, out)
                self.table.custom(run.fields, "interrupt", interrupts, out)

    def _tool(self, ns: tuple[str, ...], data: Any, out: list[Event]) -> None:
        if not isinstance(data, Mapping):
            raise Problem(f"a tools event is a dict, got {describe(data)}")
        event, call_id = data.get("event"), data.get("tool_call_id")
        if not isinstance(event, str) or not isinstance(call_id, str):
            raise Problem(
                "a tools event needs 'event' and 'tool_call_id' strings, got "
                f"event={describe(event)}, tool_call_id={describe(call_id)}"
            )
        graph = self.graph
        graph.note(None, call_id)
        if event == "tool-started":
            name = data.get("tool_name")
            if not isinstance(name, str):
                raise Problem(f"tool-started: 'tool_name' is a string, got {describe(name)}")
            graph.tool_started(call_id, name, data.get("input"), None, ns, out)
        elif event == "tool-finished":
            graph.tool_finished(call_id, data.get("output"), None, out)
        elif event == "tool-error":
            message = data.get("message")
            graph.tool_finished(call_id, None, str(message) if message else "error", out)
        elif event == "tool-output-delta":
            run = graph.tool_run(call_id) or graph.scope(ns, None, out)
            self.table.custom(run.fields, "tool_output_delta", data.get("delta"), out)
        else:
            raise Problem(f"unknown tools event {event!r}")

    def _updates(self, ns: tuple[str, ...], data: Any, out: list[Event]) -> None:
        if not isinstance(data, Mapping):
            raise Problem(f"an 'updates' item maps nodes to their updates, got {describe(data)}")
        graph = self.graph
        # Read every node's update before anything starts (whole or nothing).
        actions: list[tuple[str, Any, Any, dict[str, Any]]] = []
        for node, update in data.items():
            if node == "__interrupt__":
                actions.append(("interrupt", update, None, {}))
                continue
            for message in _messages_in(update):
                kind = _message_type(message)
                metadata = {"langgraph_node": node}
                if kind in ("tool", "ToolMessage"):
                    graph.check_tool_message(message)
                    actions.append(("tool", message, None, metadata))
                elif kind in _AI and "messages" not in self._seen_modes:
                    read = graph.read_whole(message)
                    if read is not None:
                        actions.append(("whole", read[0], read[1], metadata))
        for action, value, end, metadata in actions:
            if action == "interrupt":
                run = graph.scope(ns, None, out)
                self.table.custom(run.fields, "interrupt", value, out)
            elif action == "tool":
                graph.tool_message(value, ns, metadata, out)
            else:
                graph.apply_whole(value, end, ns, metadata, out)

    # -- the end -------------------------------------------------------------------

    def close(self, out: list[Event]) -> None:
        if not self._carrying and self._seen_modes:
            modes = ", ".join(sorted(self._seen_modes))
            raise Problem(
                f"this looks like a LangGraph stream with stream_mode={modes!r}, which "
                f"carries no events; request eventstream.STREAM_MODES "
                f"({', '.join(STREAM_MODES)})",
                kind="format",
            )
        self.graph.close(out)


def _field(value: Any, key: str) -> Any:
    if isinstance(value, Mapping):
        fields = value.get("kwargs") if value.get("lc") == 1 else value
        return fields.get(key) if isinstance(fields, Mapping) else None
    return getattr(value, key, None)


def _messages_in(update: Any) -> Sequence[Any]:
    """The messages of one node's update (a state dict, or a list of them)."""
    if isinstance(update, Mapping):
        messages = update.get("messages")
        if isinstance(messages, list | tuple):
            return messages
        return ()
    if isinstance(update, list | tuple):
        return [m for u in update for m in _messages_in(u)]
    return ()
