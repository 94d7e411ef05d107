"""Reading ``astream_log`` output: JSON Patch ops in, the Normalizer's run primitives out.

Contract: ``LogReader.feed(item, out)`` reads one ``RunLogPatch``, one ``RunLog`` (the
``diff=False`` form) or the JSON form of a patch (a list of op dicts, a single op dict,
or LangServe's ``{"ops": [...]}``) and appends the events its ops produce to ``out``.
``close(out)`` ends the root run when the stream ends; ``flush(out)`` settles what a cut
stream leaves half-known. The log state is never rebuilt (no ``jsonpatch``, no
``RunLog + patch``): each op is read on its own against a small table of the open log
entries (log key → run, and whether it streams objects or only strings), so the time is
linear in the number of ops and the memory does not grow with the token count. A
``RunLog`` carries every op since the start, so only the ops not read yet are read.

What each op gives (the same events as ``astream_events`` v2 for the same run):

- ``replace ""``: the root run's ``Start``. Its ``/streamed_output/-`` chunks give no
  event of their own, except the classic ``AgentExecutor`` shapes below; its
  ``/final_output`` ops (whole or deep, as ``jsonpatch.from_diff`` writes them) keep its
  output, and the root ends with it when the stream ends (the log has no end op for it).
- ``add /logs/<key>``: a run's ``Start``, named by the entry's ``name`` (the key's
  ``:2``, ``:3`` suffixes are LangChain's counters, not names). Keys are read both as
  JSON Pointer escapes (``fetch~1docs``) and raw, as LangChain writes them
  (``/logs/fetch/docs``: it does not escape).
- ``/logs/<key>/streamed_output/-``: a model run's chunk: tokens and tool-call chunks.
  ``streamed_output_str/-`` repeats the text of the chunk that follows it, so it gives a
  token only for a run that streams strings alone (its first string waits for one op).
- ``/logs/<key>/final_output`` then ``end_time``: the run's ``End``; for a model, the
  tool calls it did not stream (an LLMResult-shaped ``{"generations": ...}``); for a
  tool, its ``ToolResult`` (a ``ToolMessage`` with ``status="error"`` gives an error).
- Classic agents: ``AgentAction`` values in the root's streamed output announce the
  tool calls that no model run in the log announced; ``AgentStep`` observations,
  ``ToolMessage`` and ``FunctionMessage`` values give the results that no tool run in
  the log gave (both attributed to the root run, ``name`` the tool's).

What the log cannot tell, and what is done about it:

- No parent ids: every event has ``parent_ids == ()``; ``select(inside=...)`` works by
  names and inherited tags only.
- No error detail: a run that raised ends with ``end_time`` and no output. Its ``End``
  has ``error=None`` and ``output=None``, and a tool run without a recorded output gives
  no ``ToolResult``: no error and no output are invented.
- Inputs only when the entry has ``inputs`` (logs made with the streaming-events
  schema); ``astream_log`` itself records none, so a tool run is linked to the pending
  tool call of the same name (and the same arguments, when inputs are known). The
  ``ToolResult`` takes the id of the ``ToolMessage`` the tool returned, when it did.
- Chat models are logged as ``"llm"``: the entry's ``ls_model_type`` metadata or its
  inputs tell them apart; failing those (older logs), the ``Start`` waits for the first
  chunk or the output (a message chunk or a generation with a ``message``: chat model).
- With ``include_types`` / ``include_names`` / ``include_tags``, runs left out of the log
  give no events; the root run is always there.
- Lenient mode skips and counts (``Normalizer.skipped``) one malformed op, not its whole
  patch; errors name the item, the op's index within the patch and its path.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from eventstream._content import fields_of, tool_message
from eventstream._errors import EventStreamError, MalformedItemError, RunStateError
from eventstream._errors import describe as _describe
from eventstream._events import ToolResult

if TYPE_CHECKING:
    from eventstream._normalizer import Event, Normalizer, _Run

__all__ = ["LogReader", "is_log_item"]

_MODEL_TYPES = frozenset({"chat_model", "llm"})
_OPS = frozenset({"add", "replace", "remove", "move", "copy", "test"})
# Fields of a log entry that ops address; longest first, so suffix matching of a raw key
# ("/logs/fetch/docs/streamed_output/-") finds the field before the name.
_FIELDS = ("streamed_output_str/-", "streamed_output/-", "final_output", "end_time", "inputs")
_SUFFIXES = tuple(("/" + field, field) for field in _FIELDS)
_NOTHING: Any = object()


def is_log_item(item: Any) -> bool:
    """Whether ``item`` looks like ``astream_log`` output (a patch in any form)."""
    if isinstance(item, dict):
        return ("op" in item and "path" in item) or isinstance(item.get("ops"), list)
    if isinstance(item, list):
        return bool(item) and isinstance(item[0], Mapping) and "op" in item[0]
    return isinstance(getattr(item, "ops", None), list)


class _Bad(Exception):
    """An op that cannot be read; turned into the library's error with its position."""

    def __init__(self, message: str, run_id: str | None = None) -> None:
        super().__init__(message)
        self.run_id = run_id


@dataclass(slots=True)
class _Entry:
    """One open log entry (or the root): what is needed to finish it, nothing streamed."""

    key: str
    run_id: str
    name: str
    log_type: str
    tags: tuple[str, ...]
    metadata: dict[str, Any]
    input: Any
    wrapped: bool
    """Outputs as the original tracer schema gives them: ``{"output": ...}``."""
    run: _Run | None = None
    """None while a model's kind (chat model or LLM) is not known yet."""
    output: Any = None
    has_output: bool = False
    objects: bool = False
    """It streamed an object: its ``streamed_output_str`` ops are repeats."""
    strings: bool = False
    """It streamed strings with no object after them: they are its tokens."""
    pending: Any = _NOTHING
    """A string waiting for one op: the object that repeats it, or not."""


class LogReader:
    """The state of one ``astream_log`` stream, fed op by op into a :class:`Normalizer`."""

    def __init__(self, normalizer: Normalizer) -> None:
        self._n = normalizer
        self._entries: dict[str, _Entry] = {}
        self._root: _Entry | None = None
        self._form: str | None = None
        self._consumed = 0
        # Ids of tool calls answered already: by a tool run's result, or by an
        # observation in the root's output. Grows with tool calls, not tokens.
        self._answered: set[str] = set()

    # -- items and ops ---------------------------------------------------------

    def feed(self, item: Any, out: list[Event]) -> None:
        """Read one item's ops (the new ones, for a ``RunLog``)."""
        n = self._n
        try:
            ops, start = self._ops_of(item)
        except MalformedItemError as exc:
            n._reject(exc)
            return
        for index in range(start, len(ops)):
            op = ops[index]
            try:
                self._op(op, out)
            except _Bad as bad:
                where = f"op {index} ({_describe_op(op)})"
                error: EventStreamError
                if bad.run_id is not None:
                    error = RunStateError(f"{where}: {bad}", position=n.position, run_id=bad.run_id)
                else:
                    error = MalformedItemError(f"{where}: {bad}", position=n.position)
                n._reject(error)
            except Exception as exc:  # an odd shape deep inside a value
                error = MalformedItemError(
                    f"op {index} ({_describe_op(op)}): could not read it: "
                    f"{type(exc).__name__}: {exc}",
                    position=n.position,
                )
                error.__cause__ = exc
                n._reject(error)

    def _ops_of(self, item: Any) -> tuple[Sequence[Any], int]:
        form = "patch"
        start = 0
        if isinstance(item, Mapping):
            if "op" in item and "path" in item:
                ops: Any = (item,)
            elif "event" in item:
                raise self._item_error(
                    "an astream_events dict in a stream of astream_log patches: "
                    "a stream holds one format"
                )
            else:
                ops = item.get("ops")
        elif isinstance(item, list | tuple):
            ops = item
        else:
            ops = getattr(item, "ops", None)
            if isinstance(ops, list) and hasattr(item, "state"):
                # A RunLog (diff=False) holds every op since the start.
                form = "runlog"
                start = self._consumed
                if len(ops) < start:
                    raise self._item_error(
                        f"a RunLog with {len(ops)} ops after one with {start}: "
                        f"not the same run's log"
                    )
        if not isinstance(ops, list | tuple):
            raise self._item_error(
                f"expected a RunLogPatch, a RunLog, a list of JSON Patch op dicts or one "
                f"op dict, got {_describe(item)}"
            )
        if self._form is None:
            self._form = form
        elif self._form != form:
            raise self._item_error(
                "RunLog items (diff=False) and patches mixed in one stream: a stream holds one form"
            )
        if form == "runlog":
            self._consumed = len(ops)
        return ops, start

    def _item_error(self, message: str) -> MalformedItemError:
        return MalformedItemError(message, position=self._n.position)

    def _op(self, op: Any, out: list[Event]) -> None:
        if not isinstance(op, Mapping):
            raise _Bad(f"expected a JSON Patch op dict, got {_describe(op)}")
        kind = op.get("op")
        path = op.get("path")
        if kind not in _OPS or not isinstance(path, str):
            raise _Bad(
                "'op' must be one of add, replace, remove, move, copy, test and 'path' "
                f"a string; got op={_describe(kind)}, path={_describe(path)}"
            )
        if kind == "test":
            return  # checks the state, changes nothing
        if path.startswith("/logs/"):
            self._entry_op(kind, path[6:], op, out)
            return
        root = self._root
        if path == "":
            self._start_root(kind, _value(op), out)
            return
        if root is None:
            raise _Bad("an op on the root run before its start (the 'replace \"\"' op)")
        if path == "/streamed_output/-":
            if kind != "add":
                raise _Bad("streamed output is appended with 'add'")
            self._chunk(root, _value(op), out)
        elif path == "/final_output":
            self._set_output(root, kind, op)
        elif path.startswith("/final_output/"):
            root.output = _patched_output(root.output, op, kind, path)
            root.has_output = True
        else:
            raise _Bad(_UNKNOWN_PATH)

    def _entry_op(self, kind: str, rest: str, op: Mapping[str, Any], out: list[Event]) -> None:
        key, _, field = rest.partition("/")
        entry = self._entries.get(_unescape(key)) if field in _FIELDS else None
        if entry is None:
            entry, field = self._split(rest)
        if entry is None:
            self._add(kind, _unescape(rest), _value(op), out)
            return
        if field == "streamed_output/-":
            if kind != "add":
                raise _Bad("streamed output is appended with 'add'")
            self._chunk(entry, _value(op), out)
        elif field == "streamed_output_str/-":
            if kind != "add":
                raise _Bad("streamed output is appended with 'add'")
            self._string(entry, _value(op), out)
        elif field == "final_output":
            self._set_output(entry, kind, op)
        elif field == "end_time":
            if kind not in ("add", "replace"):
                raise _Bad("a run ends with 'add' or 'replace' of its end_time")
            self._finish(entry, out)
        # "inputs" arrive as the run ends, after its Start: nothing to add.

    def _split(self, rest: str) -> tuple[_Entry | None, str]:
        """Find the entry of a raw key with ``/`` in it (LangChain does not escape)."""
        for suffix, field in _SUFFIXES:
            if rest.endswith(suffix):
                entry = self._entries.get(_unescape(rest[: -len(suffix)]))
                if entry is not None:
                    return entry, field
        return None, ""

    # -- runs ------------------------------------------------------------------

    def _start_root(self, kind: str, value: Any, out: list[Event]) -> None:
        if kind not in ("add", "replace"):
            raise _Bad("the root run starts with 'replace' of the whole log")
        if self._root is not None:
            raise _Bad(
                "a second root run in one stream: astream_log streams one root run, "
                "normalize each run's log on its own",
                run_id=self._root.run_id,
            )
        root = self._entry("", value, root=True)
        logs = value.get("logs") or {}
        if not isinstance(logs, Mapping):
            raise _Bad(f"'logs' must be a dict, got {_describe(logs)}")
        self._check_new(root.run_id)
        self._root = root
        self._begin(root, value, out)
        # A recorded state may hold entries already (hand-built, or a snapshot).
        for key, entry_value in logs.items():
            self._add("add", str(key), entry_value, out)

    def _add(self, kind: str, key: str, value: Any, out: list[Event]) -> None:
        if kind not in ("add", "replace"):
            raise _Bad(_UNKNOWN_PATH)
        if not isinstance(value, Mapping) or "id" not in value:
            raise _Bad(
                f"no log entry {key!r} is open here; a new entry needs a LogEntry dict "
                f"with 'id', 'name', 'type', got {_describe(value)}. " + _UNKNOWN_PATH
            )
        if key in self._entries:
            raise _Bad(
                f"log entry {key!r} was added already and has not ended",
                run_id=self._entries[key].run_id,
            )
        entry = self._entry(key, value, root=False)
        self._check_new(entry.run_id)
        self._entries[key] = entry
        self._begin(entry, value, out)
        end_time = value.get("end_time")
        if end_time is not None:
            self._finish(entry, out)

    def _check_new(self, run_id: str) -> None:
        n = self._n
        if (
            run_id in n._runs
            or run_id in n._ended
            or (self._root is not None and self._root.run_id == run_id)
            or any(other.run_id == run_id for other in self._entries.values())
        ):
            raise _Bad(f"run {run_id} started already", run_id=run_id)

    def _entry(self, key: str, value: Any, *, root: bool) -> _Entry:
        """Validate a log entry (or the root's state) before anything changes."""
        if not isinstance(value, Mapping):
            raise _Bad(f"expected a log entry dict, got {_describe(value)}")
        run_id = value.get("id")
        name = value.get("name")
        if name is None and not root:
            name = _without_counter(key)
        log_type = value.get("type")
        tags = value.get("tags") or ()
        metadata = value.get("metadata") or {}
        if (
            not isinstance(run_id, str)
            or not isinstance(name, str)
            or not isinstance(log_type, str)
            or not isinstance(tags, list | tuple)
            or not isinstance(metadata, Mapping)
        ):
            raise _Bad(
                "'id', 'name' and 'type' must be strings, 'tags' a list, 'metadata' a "
                f"dict; got id={_describe(run_id)}, name={_describe(name)}, "
                f"type={_describe(log_type)}, tags={_describe(tags)}, "
                f"metadata={_describe(metadata)}"
            )
        return _Entry(
            key=key,
            run_id=run_id,
            name=name,
            log_type=log_type,
            tags=tuple(tags),
            metadata=dict(metadata),
            input=value.get("inputs"),
            # The root's output is the stream's own, and logs made with the
            # streaming-events schema (they carry "inputs") unwrap outputs already.
            wrapped=not root and "inputs" not in value,
        )

    def _begin(self, entry: _Entry, value: Mapping[str, Any], out: list[Event]) -> None:
        kind = _kind_hint(entry)
        if kind is not None:
            self._open(entry, kind, out)
        chunks = value.get("streamed_output") or ()
        for chunk in chunks:
            self._chunk(entry, chunk, out)
        if not chunks:
            for text in value.get("streamed_output_str") or ():
                self._string(entry, text, out)
        final = value.get("final_output")
        if final is not None:
            entry.output = final
            entry.has_output = True

    def _open(self, entry: _Entry, run_type: str, out: list[Event]) -> _Run:
        run = self._n._open(
            entry.run_id, entry.name, run_type, entry.tags, entry.metadata, (), entry.input, out
        )
        entry.run = run
        return run

    def _settle(self, entry: _Entry, out: list[Event]) -> _Run:
        """Open a run whose kind is still unknown (from its output) and flush its string."""
        run = entry.run
        if run is None:
            run = self._open(entry, _kind_of_output(entry), out)
        if entry.pending is not _NOTHING:
            text, entry.pending = entry.pending, _NOTHING
            if run.run_type in _MODEL_TYPES:
                self._n._content(run, text, out)
        return run

    def _chunk(self, entry: _Entry, value: Any, out: list[Event]) -> None:
        run = entry.run
        if run is None:
            # An LLM streams its tokens as strings, a chat model as message chunks.
            run = self._open(entry, "llm" if isinstance(value, str) else "chat_model", out)
        entry.objects = True
        entry.pending = _NOTHING
        if run.run_type in _MODEL_TYPES:
            self._n._model_chunk(run, value, out)
        elif entry is self._root:
            self._root_chunk(run, value, out)
        # Chain, tool and parser chunks repeat what models stream or what the run
        # returns: no event of their own (as in astream_events).

    def _string(self, entry: _Entry, value: Any, out: list[Event]) -> None:
        if entry.objects:
            return
        if not isinstance(value, str | list):
            raise _Bad(f"a streamed string must be a str or content blocks, got {_describe(value)}")
        if entry.pending is _NOTHING and not entry.strings:
            entry.pending = value
            return
        # A second string with no object between: this run streams strings only.
        run = self._settle(entry, out)
        entry.strings = True
        if run.run_type in _MODEL_TYPES:
            self._n._content(run, value, out)

    def _set_output(self, entry: _Entry, kind: str, op: Mapping[str, Any]) -> None:
        if kind in ("add", "replace"):
            entry.output = _value(op)
            entry.has_output = True
        elif kind == "remove":
            entry.output = None
            entry.has_output = False
        else:
            raise _Bad(f"'{kind}' of a whole final_output: astream_log never writes that")

    def _finish(self, entry: _Entry, out: list[Event]) -> None:
        run = self._settle(entry, out)
        output, known = _output_of(entry, run)
        del self._entries[entry.key]
        mark = len(out)
        self._n._end(run, output, None, out, tool_result=known)
        if run.run_type == "tool":
            for event in out[mark:]:
                if isinstance(event, ToolResult) and event.tool_call_id:
                    self._answered.add(event.tool_call_id)

    # -- the end of the stream -------------------------------------------------

    def flush(self, out: list[Event]) -> None:
        """Open every run still waiting for its kind and give its waiting string."""
        for entry in list(self._entries.values()):
            self._settle(entry, out)
        if self._root is not None:
            self._settle(self._root, out)

    def close(self, out: list[Event]) -> None:
        """The stream ended: runs left open end with an error, the root with its output."""
        self.flush(out)
        n = self._n
        for entry in reversed(list(self._entries.values())):
            if entry.run is not None and entry.run.run_id in n._runs:
                n._end(entry.run, None, "the stream ended before this run ended", out)
        self._entries.clear()
        root = self._root
        if root is not None and root.run is not None and root.run.run_id in n._runs:
            output, known = _output_of(root, root.run)
            n._end(root.run, output, None, out, tool_result=known)

    # -- classic agents: actions and observations in the root's output ----------

    def _root_chunk(self, root: _Run, value: Any, out: list[Event]) -> None:
        if value is None or isinstance(value, str | bytes | int | float):
            return
        if isinstance(value, list):
            self._actions(root, value, out)  # a multi-action agent's output
            return
        if _is_action(value):
            self._actions(root, [value], out)
            return
        if not isinstance(value, Mapping) or value.get("lc") == 1:
            return
        actions = value.get("actions")
        if isinstance(actions, list):
            self._actions(root, actions, out)
        steps = value.get("steps")
        if isinstance(steps, list):
            # AgentExecutor: its "messages" repeat the steps' observations.
            for step in steps:
                action = _field(step, "action")
                if _is_action(action):
                    self._observed(
                        root,
                        _field(action, "tool"),
                        _field(action, "tool_call_id"),
                        _field(step, "observation"),
                        None,
                        out,
                    )
            return
        self._observations(root, value.get("messages"), out)
        for nested in value.values():  # LangGraph updates: {node: {"messages": [...]}}
            if isinstance(nested, Mapping):
                self._observations(root, nested.get("messages"), out)

    def _actions(self, root: _Run, actions: Sequence[Any], out: list[Event]) -> None:
        pending_calls = self._n._pending_calls
        for index, action in enumerate(actions):
            if not _is_action(action):
                continue
            name: str = _field(action, "tool")
            call_id = _field(action, "tool_call_id")
            pending = pending_calls.get(name) or ()
            if call_id:
                if call_id in self._answered or any(c.tool_call_id == call_id for c in pending):
                    continue
            elif pending:
                continue  # a model run in the log announced this call already
            tool_input = _field(action, "tool_input")
            args_text = tool_input if isinstance(tool_input, str) else json.dumps(tool_input)
            self._n._announce(root, index, call_id, name, args_text, out)

    def _observations(self, root: _Run, messages: Any, out: list[Event]) -> None:
        if not isinstance(messages, list):
            return
        for message in messages:
            kind = _message_type(message)
            if kind == "tool":
                _, content, call_id, error = tool_message(message)
                self._observed(root, _field(message, "name"), call_id, content, error, out)
            elif kind == "function":
                self._observed(
                    root, _field(message, "name"), None, _field(message, "content"), None, out
                )

    def _observed(
        self,
        root: _Run,
        name: Any,
        call_id: Any,
        output: Any,
        error: str | None,
        out: list[Event],
    ) -> None:
        """A tool's observation seen in the root's output: a result unless one was given."""
        pending_calls = self._n._pending_calls
        if call_id:
            if call_id in self._answered:
                return
            for calls in pending_calls.values():
                call = next((c for c in calls if c.tool_call_id == call_id), None)
                if call is not None:
                    calls.remove(call)
                    name = name or call.name
                    break
        else:
            # Without an id, only a call nobody answered can be matched (by name).
            waiting = pending_calls.get(name) if isinstance(name, str) else None
            if not waiting:
                return
            call_id = waiting.pop(0).tool_call_id
        if call_id:
            self._answered.add(call_id)
        n = self._n
        out.append(
            ToolResult(
                seq=n._next_seq(),
                run_id=root.run_id,
                parent_ids=root.parent_ids,
                name=name if isinstance(name, str) else "",
                run_type=root.run_type,
                tags=root.tags,
                metadata=root.metadata,
                tool_call_id=call_id,
                output=output,
                error=error,
            )
        )


# -- helpers ---------------------------------------------------------------------

_UNKNOWN_PATH = (
    "astream_log writes '' (the root), /streamed_output/-, /final_output[/...], "
    "/logs/<key> and /logs/<key>/(streamed_output/-|streamed_output_str/-|final_output|"
    "end_time|inputs) of an entry added before"
)


def _value(op: Mapping[str, Any]) -> Any:
    if "value" not in op:
        raise _Bad("an add or replace op needs a 'value'")
    return op["value"]


def _unescape(key: str) -> str:
    if "~" in key:
        return key.replace("~1", "/").replace("~0", "~")
    return key


def _without_counter(key: str) -> str:
    """``"model:2"`` → ``"model"``: LangChain numbers the second run of a name on."""
    name, sep, number = key.rpartition(":")
    return name if sep and number.isdigit() else key


def _kind_hint(entry: _Entry) -> str | None:
    """The run type to start with; None when a model's kind must wait for its output."""
    if entry.log_type != "llm":
        return entry.log_type
    model_type = entry.metadata.get("ls_model_type")
    if model_type == "chat":
        return "chat_model"
    if model_type == "llm":
        return "llm"
    if isinstance(entry.input, Mapping):
        if "messages" in entry.input:
            return "chat_model"
        if "prompts" in entry.input:
            return "llm"
    return None


def _kind_of_output(entry: _Entry) -> str:
    if entry.log_type != "llm":
        return entry.log_type
    generations = _field(entry.output, "generations")
    if isinstance(generations, Sequence) and generations:
        first = generations[0]
        if isinstance(first, Sequence) and first and _field(first[0], "message") is not None:
            return "chat_model"
    return "llm"


def _output_of(entry: _Entry, run: _Run) -> tuple[Any, bool]:
    """The run's output, and whether the log recorded one at all."""
    output = entry.output
    if not entry.has_output or output is None:
        return None, False
    # The original tracer schema wraps what is not a dict: {"output": value}; a tool's
    # output is always wrapped.
    if (
        entry.wrapped
        and isinstance(output, Mapping)
        and run.run_type not in _MODEL_TYPES
        and (run.run_type == "tool" or (len(output) == 1 and "output" in output))
    ):
        output = output.get("output")
        if output is None:
            return None, run.run_type != "tool"
    return output, True


def _field(value: Any, key: str) -> Any:
    fields = fields_of(value)
    if fields is not None:
        return fields.get(key)
    return getattr(value, key, None)


def _is_action(value: Any) -> bool:
    """An ``AgentAction`` (or a subclass), as an object, serialized or a plain dict."""
    return isinstance(_field(value, "tool"), str) and _field(value, "tool_input") is not None


def _message_type(message: Any) -> Any:
    fields = fields_of(message)
    if fields is None:
        return getattr(message, "type", None)
    kind = fields.get("type")
    if kind is None and isinstance(message, Mapping) and message.get("lc") == 1:
        kind = {"ToolMessage": "tool", "FunctionMessage": "function"}.get(
            (list(message.get("id") or ()) or [""])[-1]
        )
    return kind


def _pointer(path: str) -> list[str]:
    return [_unescape(part) for part in path.split("/")[2:]]


def _patched_output(output: Any, op: Mapping[str, Any], kind: str, path: str) -> Any:
    """The root's output after one deep op; only containers on the path are copied, so
    the values the caller passed are never changed."""
    try:
        if kind in ("add", "replace"):
            return _patched(output, _pointer(path), kind, _value(op))
        if kind == "remove":
            return _patched(output, _pointer(path), "remove", None)
        source = op.get("from")
        if not isinstance(source, str) or not source.startswith("/final_output/"):
            raise _Bad(f"'{kind}' needs a 'from' inside /final_output, got {_describe(source)}")
        parts = _pointer(source)
        value = output
        for part in parts:
            value = value[int(part)] if isinstance(value, list) else value[part]
        if kind == "move":
            output = _patched(output, parts, "remove", None)
        return _patched(output, _pointer(path), "add", copy.deepcopy(value))
    except (KeyError, IndexError, ValueError, TypeError) as exc:
        raise _Bad(f"cannot apply it to the root's output: {type(exc).__name__}: {exc}") from exc


def _patched(node: Any, parts: list[str], kind: str, value: Any) -> Any:
    if not parts:
        return value
    if not isinstance(node, dict | list):
        raise TypeError(f"{type(node).__name__} has no member {parts[0]!r}")
    node = copy.copy(node)
    head = parts[0]
    key: Any = head
    if isinstance(node, list):
        key = len(node) if head == "-" else int(head)
        if not 0 <= key <= len(node):
            raise IndexError(f"index {key} out of range")
    if len(parts) > 1:
        node[key] = _patched(node[key], parts[1:], kind, value)
    elif kind == "remove":
        del node[key]
    elif kind == "add" and isinstance(node, list):
        node.insert(key, value)
    else:
        if kind == "replace" and (key not in node if isinstance(node, dict) else key >= len(node)):
            raise KeyError(head)
        node[key] = value
    return node


def _describe_op(op: Any) -> str:
    if isinstance(op, Mapping):
        return f"{op.get('op')} {op.get('path')!r}"
    return _describe(op)
