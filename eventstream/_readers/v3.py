"""Reading ``astream_events(version="v3")``: LangGraph's typed event protocol.

Items are protocol events ``{"type": "event", "method": ..., "params": {"namespace",
"data", "timestamp"}, "seq"}`` (what iterating ``await graph.astream_events(inputs,
version="v3")`` gives). What each method gives (``graph.py`` says how runs are built):

- ``messages``: the content-block lifecycle of every streamed chat model:
  ``message-start`` starts its run (``id``: ``lc_run--<run id>``, the same run id as in
  ``astream_events`` v2), ``content-block-delta`` gives text, reasoning and tool-call
  fragments, ``content-block-finish`` the calls as LangChain parsed them,
  ``message-finish`` ends the run with its usage, ``error`` ends it with the error. A
  model v3 does not stream (those running inside tools) arrives whole: one ``Token``
  with its whole text, then its calls and its end.
- ``tools``: tool runs (``tool-started`` / ``tool-finished`` / ``tool-error``), by call
  id; ``tool-output-delta`` as a ``Custom`` event named ``tool_output_delta``.
- ``lifecycle``: subgraph runs (an agent inside a tool), inside the tool run of the
  call that caused them (``cause.tool_call_id``).
- ``custom``: a ``Custom`` event (named by ``data.name``, else ``custom``);
  ``updates``: tool results and interrupts, as in the stream modes; ``values``: the
  root's output; ``tasks``: node runs, as in the stream modes.

What v3 does not carry: node runs (unless a ``tasks`` transformer is added), the
tokens of models inside tools (whole messages instead), and which of several tools
running at once a whole message came from (it is put inside the tool when only one
runs, else inside the graph).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from eventstream._content import FinalCall, Fragment, Piece, parse_args, usage_of
from eventstream._errors import Problem, describe
from eventstream._events import Event
from eventstream._readers._base import Reader
from eventstream._readers.graph import GraphRuns, task_of
from eventstream._readers.modes import ModesReader

__all__ = ["V3Reader"]

_METHODS = frozenset(
    {
        "messages",
        "tools",
        "lifecycle",
        "custom",
        "values",
        "updates",
        "tasks",
        "checkpoints",
        "input.requested",
        "debug",
    }
)


_MESSAGE_EVENTS = frozenset(
    {
        "message-start",
        "content-block-start",
        "content-block-delta",
        "content-block-finish",
        "message-finish",
        "error",
    }
)


def _is_v3(item: Any) -> bool:
    return (
        isinstance(item, Mapping)
        and item.get("type") == "event"
        and isinstance(item.get("method"), str)
        and isinstance(item.get("params"), Mapping)
    )


def _is_model_event(item: Any) -> bool:
    """An event of a chat model's own v3 stream (no envelope, no graph)."""
    return (
        isinstance(item, Mapping)
        and item.get("event") in _MESSAGE_EVENTS
        and "run_id" not in item
        and "method" not in item
    )


class V3Reader(Reader):
    """``astream_events(version="v3")`` protocol events."""

    format = "astream_events v3"

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        # The modes reader knows tools, tasks, updates and whole messages already.
        self._modes = ModesReader(self.table, self.reject)
        self.graph: GraphRuns = self._modes.graph
        self._calls: dict[str, dict[int, FinalCall]] = {}  # message id -> finished calls
        self._blocks: dict[str, dict[int, int]] = {}  # message id: block index -> call index
        self._current: dict[tuple[str, ...], str] = {}  # namespace -> streaming message id

    @staticmethod
    def sniff(item: Any) -> bool:
        return _is_v3(item) or _is_model_event(item)

    def feed(self, item: Any, out: list[Event]) -> None:
        if _is_model_event(item) and (self.graph.bare or self.graph.root is None):
            self.graph.bare = True
            self._messages((), (item, {}), out)
            return
        if not _is_v3(item):
            raise Problem(
                "expected an astream_events v3 event {'type': 'event', 'method', 'params'}, "
                f"got {describe(item)}"
            )
        method = item["method"]
        params = item["params"]
        namespace = params.get("namespace") or ()
        if not isinstance(namespace, list | tuple) or not all(
            isinstance(part, str) for part in namespace
        ):
            raise Problem(f"params.namespace is a list of strings, got {describe(namespace)}")
        ns = tuple(namespace)
        data = params.get("data")
        if method == "messages":
            self._messages(ns, data, out)
        elif method == "lifecycle":
            self._lifecycle(ns, data, out)
        elif method == "custom":
            name = data.get("name") if isinstance(data, Mapping) else None
            payload = (
                data.get("payload") if isinstance(data, Mapping) and "payload" in data else data
            )
            self.graph.note(None, "")
            run = self.graph.scope(ns, None, out)
            self.table.custom(run.fields, name if isinstance(name, str) else "custom", payload, out)
        elif method == "values":
            if not ns:
                self.graph.output = data
        elif method in ("tools", "tasks", "updates", "debug"):
            self._modes.feed({"type": method, "ns": ns, "data": data}, out)
        elif method not in _METHODS:
            raise Problem(f"unknown v3 method {method!r}")

    def _messages(self, ns: tuple[str, ...], data: Any, out: list[Event]) -> None:
        if not isinstance(data, tuple | list) or len(data) != 2 or not isinstance(data[1], Mapping):
            raise Problem(f"a v3 'messages' event carries (data, metadata), got {describe(data)}")
        payload, metadata = data
        if not isinstance(payload, Mapping) or "event" not in payload:
            # A whole message (a model v3 did not stream, a tool's message).
            self._modes.feed({"type": "messages", "ns": ns, "data": (payload, metadata)}, out)
            return
        event = payload.get("event")
        graph = self.graph
        key = (*ns, task_of(metadata) or "")  # models of parallel tasks stream at once
        if event == "message-start":
            message_id = payload.get("id")
            if not isinstance(message_id, str) or not message_id:
                raise Problem(f"message-start needs an 'id' string, got {describe(message_id)}")
            if payload.get("role", "ai") != "ai":
                return
            if not graph.bare:
                graph.note(metadata, task_of(metadata) or message_id)
            graph.model(message_id, ns, metadata, out)
            self._current[key] = message_id
            self._calls[message_id] = {}
            self._blocks[message_id] = {}
            return
        message_id = self._current.get(key)
        model = graph.models.get(message_id) if message_id else None
        if model is None or model.run.ended:
            raise Problem(f"a v3 {event!r} event with no message started in its namespace")
        assert message_id is not None
        blocks = self._blocks[message_id]
        if event == "content-block-start":
            pieces, fragments = _block(payload, "content")
            for fragment in fragments:
                blocks[_index(payload)] = fragment[0] or 0
            self.table.chunk(model.run, pieces, fragments, out)
        elif event == "content-block-delta":
            pieces, fragments = _delta(payload, blocks)
            self.table.chunk(model.run, pieces, fragments, out)
        elif event == "content-block-finish":
            finished = _finished_call(payload)
            if finished is not None:
                self._calls[message_id][_index(payload)] = finished
        elif event == "message-finish":
            calls = self._calls.pop(message_id, {})
            del self._blocks[message_id]
            usage = usage_of({"usage_metadata": payload.get("usage")})
            if usage is not None:
                model.usage = usage
            del self._current[key]
            ordered = [calls[index] for index in sorted(calls)] if calls else None
            graph.end_model(model, out, calls=ordered)
        elif event == "error":
            self._calls.pop(message_id, None)
            del self._blocks[message_id]
            del self._current[key]
            text = payload.get("message")
            graph.end_model(model, out, error=str(text) if text else "error")
        else:
            raise Problem(f"unknown v3 message event {event!r}")

    def _lifecycle(self, ns: tuple[str, ...], data: Any, out: list[Event]) -> None:
        if not isinstance(data, Mapping):
            raise Problem(f"a lifecycle event's data is a dict, got {describe(data)}")
        # The event is sent in its parent's namespace and names its own.
        own = data.get("namespace")
        if not isinstance(own, list | tuple) or not all(isinstance(p, str) for p in own):
            raise Problem(f"a lifecycle event names its namespace, got {describe(own)}")
        subgraph = tuple(own)
        if not subgraph:
            return  # the root graph: it starts with the first item, ends with the stream
        graph = self.graph
        graph.note(None, "")
        status = data.get("event")
        cause = data.get("cause")
        if status == "started":
            if isinstance(cause, Mapping) and cause.get("type") == "toolCall":
                graph.link_task(subgraph[-1], cause.get("tool_call_id"))
            name = data.get("graph_name")
            graph.scope(subgraph, {"lc_agent_name": name} if isinstance(name, str) else None, out)
        elif status in ("completed", "failed", "interrupted"):
            error = data.get("error") if status == "failed" else None
            graph.end_scope(subgraph, str(error) if error else None, out)

    def close(self, out: list[Event]) -> None:
        self._modes.close(out)


def _index(payload: Mapping[str, Any]) -> int:
    index = payload.get("index")
    if not isinstance(index, int) or isinstance(index, bool):
        raise Problem(f"a content block event needs an integer 'index', got {describe(index)}")
    return index


def _block(payload: Mapping[str, Any], key: str) -> tuple[list[Piece], list[Fragment]]:
    """What a ``content-block-start`` carries: text already there, or a call's first
    fragment (its id and name)."""
    index = _index(payload)
    block = payload.get(key)
    if not isinstance(block, Mapping):
        raise Problem(f"'{key}' is a content block dict, got {describe(block)}")
    kind = block.get("type")
    if kind in ("tool_call_chunk", "tool_call"):
        call_id, name, args = block.get("id"), block.get("name"), block.get("args")
        if kind == "tool_call":
            args = ""  # the finish event gives the parsed arguments
        if not (call_id is None or isinstance(call_id, str)) or not (
            name is None or isinstance(name, str)
        ):
            raise Problem(f"a tool call block's 'id' and 'name' are strings, got {describe(block)}")
        if not isinstance(args, str):
            args = ""
        # The call's own index among the message's calls (the block's is among blocks).
        call_index = block.get("index")
        if not isinstance(call_index, int) or isinstance(call_index, bool):
            call_index = index
        return [], [(call_index, call_id, name, args)]
    text = block.get("text") if kind == "text" else block.get("reasoning")
    if kind in ("text", "reasoning") and isinstance(text, str) and text:
        return [(text, "text" if kind == "text" else "reasoning")], []
    return [], []


def _delta(
    payload: Mapping[str, Any], blocks: Mapping[int, int]
) -> tuple[list[Piece], list[Fragment]]:
    index = _index(payload)
    delta = payload.get("delta")
    if not isinstance(delta, Mapping):
        raise Problem(f"'delta' is a dict, got {describe(delta)}")
    kind = delta.get("type")
    if kind == "text-delta" or kind == "reasoning-delta":
        text = delta.get("text") if kind == "text-delta" else delta.get("reasoning")
        if text is None and kind == "reasoning-delta":
            text = delta.get("text")
        if not isinstance(text, str):
            raise Problem(f"a {kind} carries a string, got {describe(text)}")
        return ([(text, "text" if kind == "text-delta" else "reasoning")] if text else []), []
    if kind == "tool-call-delta":
        args = delta.get("args")
        if not isinstance(args, str):
            raise Problem(f"a tool-call-delta's 'args' is a string, got {describe(args)}")
        return [], [(blocks.get(index, index), None, None, args)]
    return [], []  # data and other deltas carry no text


def _finished_call(payload: Mapping[str, Any]) -> FinalCall | None:
    block = payload.get("content")
    if not isinstance(block, Mapping):
        return None
    kind = block.get("type")
    call_id, name = block.get("id"), block.get("name")
    if kind == "tool_call":
        args = block.get("args")
        if not isinstance(args, Mapping):
            raise Problem(f"a finished tool call's 'args' is a dict, got {describe(args)}")
        return FinalCall(
            call_id if isinstance(call_id, str) else None,
            name if isinstance(name, str) else "",
            dict(args),
            "",
            None,
        )
    if kind == "invalid_tool_call":
        text = block.get("args")
        text = text if isinstance(text, str) else ""
        error = block.get("error")
        return FinalCall(
            call_id if isinstance(call_id, str) else None,
            name if isinstance(name, str) else "",
            {},
            text,
            error if isinstance(error, str) and error else (parse_args(text)[1] or "invalid"),
        )
    return None
