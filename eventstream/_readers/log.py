"""Reading ``astream_log`` output: JSON Patch ops in, run-table calls out.

Contract: ``LogReader.feed(item, out)`` reads one ``RunLogPatch``, one ``RunLog`` (the
``diff=False`` form) or the JSON form of a patch (a list of op dicts, a single op dict,
or LangServe's ``{"ops": [...]}``). Each op is one unit: it is applied whole or not at
all, and a bad op is rejected (strict: raised; lenient: skipped and counted) without
dropping the ops around it. The log state is never rebuilt (no ``jsonpatch``, no
``RunLog + patch``): each op is read on its own against a small table of the open log
entries (log key → run, and whether it streams objects or only strings), so the time
is linear in the number of ops and the memory does not grow with the token count. A
``RunLog`` carries every op since the start, so only the ops not read yet are read.
(``tests/readers/test_log.py`` checks this reader against ``jsonpatch`` applying the
same ops to a ``RunLog``.)

What each op gives (the same events as ``astream_events`` v2 for the same run):

- ``replace ""``: the root run's ``Start``. Its ``/final_output`` ops (whole or deep, as
  ``jsonpatch.from_diff`` writes them) keep its output, and the root ends with it when
  the stream ends (the log has no end op for it).
- ``add /logs/<key>``: a run's ``Start``, named by the entry's ``name`` (the key's
  ``:2``, ``:3`` suffixes are LangChain's counters, not names). Keys are read both as
  JSON Pointer escapes (``fetch~1docs``) and raw, as LangChain writes them
  (``/logs/fetch/docs``: it does not escape).
- ``/logs/<key>/streamed_output/-``: a model run's chunk: tokens and tool-call chunks.
  ``streamed_output_str/-`` repeats the text of the chunk that follows it, so it gives a
  token only for a run that streams strings alone (its first string waits for one op).
- ``/logs/<key>/final_output`` then ``end_time``: the run's ``End``; for a model, its
  tool calls (as LangChain parsed them, from an LLMResult-shaped output); for a tool,
  its ``ToolResult`` (a ``ToolMessage`` with ``status="error"`` gives an error).

What the log cannot tell, and what is done about it:

- No parent ids: every event has ``parent_ids == ()``; ``select(inside=...)`` works by
  names and inherited tags only.
- No error detail: a run that raised ends with ``end_time`` and no output. Its ``End``
  has ``error=None`` and ``output=None``, and a tool run without a recorded output gives
  no ``ToolResult``: no error and no output are invented.
- Inputs only when the entry has ``inputs`` (logs made with the streaming-events
  schema); ``astream_log`` itself records none, so a tool run names its call only when
  one announced call has its name.
- Chat models are logged as ``"llm"``: the entry's ``ls_model_type`` metadata or its
  inputs tell them apart; failing those (older logs), the ``Start`` waits for the first
  chunk or the output (a message chunk or a generation with a ``message``: chat model).
- With ``include_types`` / ``include_names`` / ``include_tags``, runs left out of the log
  give no events, as in ``astream_events``: results that only the root's output shows
  (a filtered tool's, the message LangGraph writes for a call whose arguments did not
  parse) are not derived from it, on this source as on every other.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eventstream._content import Piece, content_pieces, fields_of
from eventstream._errors import Problem, describe, error_text, safe_repr
from eventstream._events import Event
from eventstream._readers._base import Reader, frozen
from eventstream._readers.events import chunk_parts, model_end, tool_end
from eventstream._table import MODEL_TYPES, ModelEnd, Run, RunFields, ToolEnd

__all__ = ["LogReader", "is_log_item"]

_OPS = frozenset({"add", "replace", "remove", "move", "copy", "test"})
# Fields of a log entry that ops address; longest first, so suffix matching of a raw key
# ("/logs/fetch/docs/streamed_output/-") finds the field before the name.
_FIELDS = ("streamed_output_str/-", "streamed_output/-", "final_output", "end_time", "inputs")
_SUFFIXES = tuple(("/" + field, field) for field in _FIELDS)
_NOTHING: Any = object()


def is_log_item(item: Any) -> bool:
    """Whether ``item`` looks like ``astream_log`` output (a patch in any form)."""
    if isinstance(item, Mapping):
        return ("op" in item and "path" in item) or isinstance(item.get("ops"), list)
    if isinstance(item, list):
        return bool(item) and isinstance(item[0], Mapping) and "op" in item[0]
    return isinstance(getattr(item, "ops", None), list)


@dataclass(slots=True)
class _Entry:
    """One open log entry (or the root): how to read its ops, nothing streamed."""

    key: str
    fields: RunFields
    log_type: str
    input: Any
    wrapped: bool
    """Outputs as the original tracer schema gives them: ``{"output": ...}``."""
    opened: bool = False
    """Whether its run started (a model's kind may wait for its first chunk)."""
    output: Any = None
    has_output: bool = False
    objects: bool = False
    """It streamed an object: its ``streamed_output_str`` ops are repeats."""
    strings: bool = False
    """It streamed strings with no object after them: they are its tokens."""
    pending: Any = _NOTHING
    """The pieces of a string waiting for one op: the object that repeats it, or not."""

    @property
    def run_id(self) -> str:
        return self.fields.run_id


class LogReader(Reader):
    """The state of one ``astream_log`` stream, read op by op into the run table."""

    format = "astream_log"

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self._entries: dict[str, _Entry] = {}
        self._root: _Entry | None = None
        self._form: str | None = None
        self._consumed = 0

    sniff = staticmethod(is_log_item)

    # -- items and ops ---------------------------------------------------------

    def feed(self, item: Any, out: list[Event]) -> None:
        """Read one item's ops (the new ones, for a ``RunLog``), each on its own."""
        ops, start = self._ops_of(item)
        for index in range(start, len(ops)):
            op = ops[index]
            try:
                self._op(op, out)
            except Problem as problem:
                self.reject(Problem(f"op {index} ({_describe_op(op)}): {problem}", problem.run_id))
            except Exception as exc:  # an odd shape deep inside a value
                rejected = Problem(
                    f"op {index} ({_describe_op(op)}): could not read it: {error_text(exc)}"
                )
                rejected.__cause__ = exc
                self.reject(rejected)

    def _ops_of(self, item: Any) -> tuple[Sequence[Any], int]:
        form = "patch"
        start = 0
        if isinstance(item, Mapping):
            if "op" in item and "path" in item:
                ops: Any = (item,)
            elif "event" in item:
                raise Problem(
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
                    raise Problem(
                        f"a RunLog with {len(ops)} ops after one with {start}: "
                        f"not the same run's log"
                    )
        if not isinstance(ops, list | tuple):
            raise Problem(
                f"expected a RunLogPatch, a RunLog, a list of JSON Patch op dicts or one "
                f"op dict, got {describe(item)}"
            )
        if self._form is None:
            self._form = form
        elif self._form != form:
            raise Problem(
                "RunLog items (diff=False) and patches mixed in one stream: a stream holds one form"
            )
        if form == "runlog":
            self._consumed = len(ops)
        return ops, start

    def _op(self, op: Any, out: list[Event]) -> None:
        if not isinstance(op, Mapping):
            raise Problem(f"expected a JSON Patch op dict, got {describe(op)}")
        kind = op.get("op")
        path = op.get("path")
        if kind not in _OPS or not isinstance(path, str):
            raise Problem(
                "'op' must be one of add, replace, remove, move, copy, test and 'path' "
                f"a string; got op={describe(kind)}, path={describe(path)}"
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
            raise Problem("an op on the root run before its start (the 'replace \"\"' op)")
        if path == "/streamed_output/-":
            self._chunk(root, _appended(kind, op), out)
        elif path == "/final_output":
            self._set_output(root, kind, op)
        elif path.startswith("/final_output/"):
            root.output = _patched_output(root.output, op, kind, path)
            root.has_output = True
        else:
            raise Problem(_UNKNOWN_PATH)

    def _entry_op(self, kind: str, rest: str, op: Mapping[str, Any], out: list[Event]) -> None:
        key, _, field = rest.partition("/")
        entry = self._entries.get(_unescape(key)) if field in _FIELDS else None
        if entry is None:
            entry, field = self._split(rest)
        if entry is None:
            self._add(kind, _unescape(rest), _value(op), out)
            return
        if field == "streamed_output/-":
            self._chunk(entry, _appended(kind, op), out)
        elif field == "streamed_output_str/-":
            self._string(entry, _appended(kind, op), out)
        elif field == "final_output":
            self._set_output(entry, kind, op)
        elif field == "end_time":
            if kind not in ("add", "replace"):
                raise Problem("a run ends with 'add' or 'replace' of its end_time")
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
            raise Problem("the root run starts with 'replace' of the whole log")
        if self._root is not None:
            raise Problem(
                "a second root run in one stream: astream_log streams one root run, "
                "normalize each run's log on its own",
                run_id=self._root.run_id,
            )
        root = self._entry("", value, root=True)
        logs = value.get("logs") or {}
        if not isinstance(logs, Mapping):
            raise Problem(f"'logs' must be a dict, got {describe(logs)}")
        self._check_new(root.run_id)
        begin, _ = self._beginning(root, value)
        self._root = root
        begin(out)
        # A recorded state may hold entries already (hand-built, or a snapshot): each
        # is a part of its own.
        for key, entry_value in logs.items():
            try:
                self._add("add", str(key), entry_value, out)
            except Problem as problem:
                self.reject(Problem(f"log entry {key!r}: {problem}", problem.run_id))

    def _add(self, kind: str, key: str, value: Any, out: list[Event]) -> None:
        if kind not in ("add", "replace"):
            raise Problem(_UNKNOWN_PATH)
        if not isinstance(value, Mapping) or "id" not in value:
            raise Problem(
                f"no log entry {key!r} is open here; a new entry needs a LogEntry dict "
                f"with 'id', 'name', 'type', got {describe(value)}. " + _UNKNOWN_PATH
            )
        if key in self._entries:
            raise Problem(
                f"log entry {key!r} was added already and has not ended",
                run_id=self._entries[key].run_id,
            )
        entry = self._entry(key, value, root=False)
        self._check_new(entry.run_id)
        begin, run_type = self._beginning(entry, value)
        finish = None
        if value.get("end_time") is not None:
            # Added whole, ended already: read its end now, against its final state.
            final = value.get("final_output")
            entry.output, entry.has_output = final, final is not None
            finish = self._finishing(entry, out, run_type or _kind_of_output(entry))
        self._entries[key] = entry
        begin(out)
        if finish is not None:
            finish()

    def _check_new(self, run_id: str) -> None:
        self.table.check_new(run_id)
        if (self._root is not None and self._root.run_id == run_id) or any(
            other.run_id == run_id for other in self._entries.values()
        ):
            raise Problem(f"run {run_id} started already", run_id=run_id)

    def _entry(self, key: str, value: Any, *, root: bool) -> _Entry:
        """Validate a log entry (or the root's state) before anything changes."""
        if not isinstance(value, Mapping):
            raise Problem(f"expected a log entry dict, got {describe(value)}")
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
            or not all(isinstance(tag, str) for tag in tags)
            or not isinstance(metadata, Mapping)
        ):
            raise Problem(
                "'id', 'name' and 'type' must be strings, 'tags' a list of strings, "
                f"'metadata' a dict; got id={describe(run_id)}, name={describe(name)}, "
                f"type={describe(log_type)}, tags={describe(tags)}, "
                f"metadata={describe(metadata)}"
            )
        return _Entry(
            key=key,
            fields=RunFields(
                str(run_id), str(name), log_type, tuple(map(str, tags)), frozen(metadata), ()
            ),
            log_type=log_type,
            input=value.get("inputs"),
            # The root's output is the stream's own, and logs made with the
            # streaming-events schema (they carry "inputs") unwrap outputs already.
            wrapped=not root and "inputs" not in value,
        )

    def _beginning(self, entry: _Entry, value: Mapping[str, Any]) -> tuple[Any, str | None]:
        """Read an entry's initial state; returns what applies it (nothing fails then)
        and the run type it will have (``None``: still unknown)."""
        kind = _kind_hint(entry)
        chunks = value.get("streamed_output") or ()
        strings = () if chunks else (value.get("streamed_output_str") or ())
        if not isinstance(chunks, list | tuple) or not isinstance(strings, list | tuple):
            raise Problem("'streamed_output' and 'streamed_output_str' must be lists")
        if kind is None and chunks:
            kind = "llm" if isinstance(chunks[0], str) else "chat_model"
        read_chunks = [chunk_parts(chunk) for chunk in chunks] if kind in MODEL_TYPES else []
        read_strings = [_string_pieces(text) for text in strings]
        final = value.get("final_output")

        def begin(out: list[Event]) -> None:
            if kind is not None:
                self._open(entry, kind, out)
            if chunks:
                entry.objects = True
            for pieces, fragments in read_chunks:
                self.table.chunk(self._run(entry), pieces, fragments, out)
            for pieces in read_strings:
                self._apply_string(entry, pieces, out)
            if final is not None:
                entry.output = final
                entry.has_output = True

        return begin, kind

    def _open(self, entry: _Entry, run_type: str, out: list[Event]) -> None:
        self.table.start(entry.fields._replace(run_type=run_type), entry.input, out)
        entry.opened = True

    def _run(self, entry: _Entry) -> Run:
        run = self.table.get(entry.run_id)
        assert run is not None, "an opened entry's run is open until its end"
        return run

    def _settle(self, entry: _Entry, run_type: str, out: list[Event]) -> Run:
        """Open a run whose kind was still unknown and flush its waiting string."""
        if not entry.opened:
            self._open(entry, run_type, out)
        run = self._run(entry)
        if entry.pending is not _NOTHING:
            pieces, entry.pending = entry.pending, _NOTHING
            if run.run_type in MODEL_TYPES:
                self.table.chunk(run, pieces, [], out)
        return run

    def _chunk(self, entry: _Entry, value: Any, out: list[Event]) -> None:
        run = self._run(entry) if entry.opened else None
        # An LLM streams its tokens as strings, a chat model as message chunks.
        run_type = (
            run.run_type if run is not None else ("llm" if isinstance(value, str) else "chat_model")
        )
        if run_type not in MODEL_TYPES:
            # Chain, tool and parser chunks repeat what models stream or what the run
            # returns: no event of their own (as in astream_events).
            if run is None:
                self._open(entry, run_type, out)
            entry.objects = True
            entry.pending = _NOTHING
            return
        pieces, fragments = chunk_parts(value)
        if run is None:
            self._open(entry, run_type, out)
            run = self._run(entry)
        entry.objects = True
        entry.pending = _NOTHING
        self.table.chunk(run, pieces, fragments, out)

    def _string(self, entry: _Entry, value: Any, out: list[Event]) -> None:
        if entry.objects:
            return
        self._apply_string(entry, _string_pieces(value), out)

    def _apply_string(self, entry: _Entry, pieces: list[Piece], out: list[Event]) -> None:
        if entry.objects:
            return
        if entry.pending is _NOTHING and not entry.strings:
            entry.pending = pieces
            return
        # A second string with no object between: this run streams strings only.
        run = self._settle(entry, _kind_of_output(entry), out)
        entry.strings = True
        if run.run_type in MODEL_TYPES:
            self.table.chunk(run, pieces, [], out)

    def _set_output(self, entry: _Entry, kind: str, op: Mapping[str, Any]) -> None:
        if kind in ("add", "replace"):
            entry.output = _value(op)
            entry.has_output = True
        elif kind == "remove":
            entry.output = None
            entry.has_output = False
        else:
            raise Problem(f"'{kind}' of a whole final_output: astream_log never writes that")

    def _finish(self, entry: _Entry, out: list[Event]) -> None:
        run_type = self._run(entry).run_type if entry.opened else _kind_of_output(entry)
        self._finishing(entry, out, run_type)()

    def _finishing(self, entry: _Entry, out: list[Event], run_type: str) -> Any:
        """Read how an entry ends; returns what ends it (nothing fails then)."""
        output, known = _output_of(entry, run_type)
        model: ModelEnd | None = None
        tool: ToolEnd | None = None
        if run_type in MODEL_TYPES:
            model = model_end(output, run_type)
        elif run_type == "tool" and known:
            tool = tool_end(output)

        def finish() -> None:
            run = self._settle(entry, run_type, out)
            del self._entries[entry.key]
            self.table.end(run, out, output=output, model=model, tool=tool)

        return finish

    # -- the end of the stream -------------------------------------------------

    def fail(self, out: list[Event]) -> None:
        """Open every run still waiting for its kind and give its waiting string."""
        for entry in list(self._entries.values()):
            self._settle(entry, _kind_of_output(entry), out)
        if self._root is not None:
            self._settle(self._root, _kind_of_output(self._root), out)

    def close(self, out: list[Event]) -> None:
        """The stream ended: runs left open end with an error, the root with its output."""
        self.fail(out)
        table = self.table
        for entry in reversed(list(self._entries.values())):
            run = table.get(entry.run_id)
            if run is not None:
                table.end(run, out, error="the stream ended before this run ended")
        self._entries.clear()
        root = self._root
        run = table.get(root.run_id) if root is not None else None
        if root is not None and run is not None:
            output, known = _output_of(root, run.run_type)
            try:
                model = model_end(output, run.run_type) if run.run_type in MODEL_TYPES else None
                tool = tool_end(output) if run.run_type == "tool" and known else None
            except Problem:
                model = tool = None
            table.end(run, out, output=output, model=model, tool=tool)


# -- helpers ---------------------------------------------------------------------

_UNKNOWN_PATH = (
    "astream_log writes '' (the root), /streamed_output/-, /final_output[/...], "
    "/logs/<key> and /logs/<key>/(streamed_output/-|streamed_output_str/-|final_output|"
    "end_time|inputs) of an entry added before"
)


def _value(op: Mapping[str, Any]) -> Any:
    if "value" not in op:
        raise Problem("an add or replace op needs a 'value'")
    return op["value"]


def _appended(kind: str, op: Mapping[str, Any]) -> Any:
    """The value of a streamed-output op (always an ``add``)."""
    if kind != "add":
        raise Problem("streamed output is appended with 'add'")
    return _value(op)


def _string_pieces(value: Any) -> list[Piece]:
    if not isinstance(value, str | list):
        raise Problem(f"a streamed string must be a str or content blocks, got {describe(value)}")
    return content_pieces(value)


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
    model_type = entry.fields.metadata.get("ls_model_type")
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


def _output_of(entry: _Entry, run_type: str) -> tuple[Any, bool]:
    """The run's output, and whether the log recorded one at all."""
    output = entry.output
    if not entry.has_output or output is None:
        return None, False
    # The original tracer schema wraps what is not a dict: {"output": value}; a tool's
    # output is always wrapped.
    if (
        entry.wrapped
        and isinstance(output, Mapping)
        and run_type not in MODEL_TYPES
        and (run_type == "tool" or (len(output) == 1 and "output" in output))
    ):
        output = output.get("output")
        if output is None:
            return None, run_type != "tool"
    return output, True


def _field(value: Any, key: str) -> Any:
    fields = fields_of(value)
    if fields is not None:
        return fields.get(key)
    return getattr(value, key, None)


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
            raise Problem(f"'{kind}' needs a 'from' inside /final_output, got {describe(source)}")
        parts = _pointer(source)
        value = output
        for part in parts:
            value = value[int(part)] if isinstance(value, list) else value[part]
        if kind == "move":
            output = _patched(output, parts, "remove", None)
        return _patched(output, _pointer(path), "add", copy.deepcopy(value))
    except (KeyError, IndexError, ValueError, TypeError) as exc:
        raise Problem(f"cannot apply it to the root's output: {error_text(exc)}") from exc


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
        try:
            kind = op.get("op")
            return (
                f"{kind if isinstance(kind, str) else safe_repr(kind)} {safe_repr(op.get('path'))}"
            )
        except Exception:  # a foreign mapping's get may raise anything
            pass
    return describe(op)
