"""The sans-IO normalizer: raw LangChain stream items in, typed events out.

Contract: ``feed(item)`` takes one raw item and returns the events it produces, in
order; ``close()`` returns the events that end the stream; ``fail(exc)`` those that end
it when the source raised. Nothing here does I/O or waits; async and sync iteration,
recording and replay wrap this one object.

Guarantees, whatever the input: every run gives exactly one ``Start`` (synthesized
when a run is first seen mid-stream) and exactly one ``End``; nothing of a run follows
its ``End``; ``seq`` counts 0, 1, 2 …; each complete tool call gives exactly one
``ToolCall`` when its model run ends. A malformed item raises the library's own error
in strict mode and is skipped and counted (``skipped``) otherwise; it never leaves the
state half-changed.

The format of each item is detected on its own: ``astream_events`` v1/v2 dicts are read
by ``_read_event`` below, ``astream_log`` patches by ``eventstream._log``; one stream
holds one format. Every format drives the same run primitives (``_open``,
``_model_chunk``, ``_end``), so all formats give the same events.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import AIMessageChunk

from eventstream._content import (
    content_pieces,
    fields_of,
    final_message,
    fragments_of,
    llm_text,
    parse_args,
    tool_calls_of,
    tool_message,
)
from eventstream._errors import (
    EventStreamError,
    MalformedItemError,
    RunStateError,
    UnknownEventError,
)
from eventstream._errors import describe as _describe
from eventstream._events import (
    Custom,
    End,
    Start,
    Token,
    ToolCall,
    ToolCallChunk,
    ToolResult,
    new_token,
)
from eventstream._log import LogReader, is_log_item

__all__ = ["Normalizer"]

Event = Start | Token | ToolCallChunk | ToolCall | ToolResult | End | Custom

_RUN_TYPES = frozenset(
    {"chain", "chat_model", "llm", "tool", "retriever", "prompt", "parser", "embedding"}
)
_PHASES = frozenset({"start", "stream", "end", "error"})
_MODEL_TYPES = frozenset({"chat_model", "llm"})


@dataclass(slots=True)
class _Call:
    """A tool call being streamed: what its fragments said so far."""

    index: int
    id: str | None
    name: str
    args: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Run:
    """Everything kept about one open run; freed when the run ends."""

    run_id: str
    name: str
    run_type: str
    tags: tuple[str, ...]
    metadata: dict[str, Any]
    parent_ids: tuple[str, ...]
    tool_call_id: str | None = None
    streamed_text: bool = False
    calls: dict[int, _Call] | None = None


def _split_event_name(event: str) -> tuple[str, str] | None:
    """``"on_chat_model_stream"`` → ``("chat_model", "stream")``; None if unknown."""
    if not event.startswith("on_"):
        return None
    run_type, _, phase = event[3:].rpartition("_")
    if run_type in _RUN_TYPES and phase in _PHASES:
        return run_type, phase
    return None


class Normalizer:
    """Turns raw stream items into normalized events, one item at a time.

    >>> normalizer = Normalizer()
    >>> events = [e for item in raw_items for e in normalizer.feed(item)]
    >>> events += normalizer.close()

    ``strict=True`` raises :class:`~eventstream.EventStreamError` subclasses for
    malformed items; otherwise they are skipped and counted in ``skipped``.
    """

    def __init__(self, *, strict: bool = False) -> None:
        self.strict = strict
        self.skipped = 0
        """How many raw items were skipped as malformed (lenient mode); for
        ``astream_log``, how many ops (one bad op does not drop its whole patch)."""
        self.position = -1
        """The 0-based position of the last item fed."""
        self._seq = 0
        self._runs: dict[str, _Run] = {}
        self._ended: set[str] = set()
        self._pending_calls: dict[str, list[ToolCall]] = {}
        self._closed = False
        self._log: LogReader | None = None

    # -- public API -------------------------------------------------------------

    def feed(self, item: Any) -> list[Event]:
        """Normalize one raw item; returns the events it produces (possibly none)."""
        self.position += 1
        if type(item) is dict and item.get("event") == "on_chat_model_stream":
            # The hot path: a token of a known run, as LangChain streams it live.
            # Anything unusual falls through to the general path below.
            try:
                run = self._runs[item["run_id"]]
                chunk = item["data"]["chunk"]
            except (KeyError, TypeError):
                chunk = None
            if type(chunk) is AIMessageChunk:
                content = chunk.content
                if (
                    type(content) is str
                    and not chunk.tool_call_chunks
                    and not chunk.additional_kwargs
                ):
                    if not content:
                        return []
                    run.streamed_text = True
                    seq = self._seq
                    self._seq = seq + 1
                    return [
                        new_token(
                            seq,
                            run.run_id,
                            run.parent_ids,
                            run.name,
                            run.run_type,
                            run.tags,
                            run.metadata,
                            content,
                        )
                    ]
        if self._log is not None or (
            not (isinstance(item, dict) and "event" in item) and is_log_item(item)
        ):
            return self._feed_log(item)
        out: list[Event] = []
        seq = self._seq
        try:
            if isinstance(item, dict) and "event" in item:
                self._read_event(item, out)
            else:
                raise MalformedItemError(
                    f"expected an astream_events dict with an 'event' key, got {_describe(item)}",
                    position=self.position,
                )
        except EventStreamError as exc:
            self._seq = seq
            self._reject(exc)
            return []
        except Exception as exc:  # an odd shape deep inside a value
            self._seq = seq
            error = MalformedItemError(
                f"could not read {_describe(item)}: {type(exc).__name__}: {exc}",
                position=self.position,
            )
            error.__cause__ = exc
            self._reject(error)
            return []
        return out

    def close(self) -> list[Event]:
        """End the stream: runs still open end with an error saying so (an
        ``astream_log`` root run ends here, with its output: the log never ends it)."""
        out: list[Event] = []
        if self._log is not None:
            self._log.close(out)
        return out + self._end_open_runs("the stream ended before this run ended")

    def fail(self, exc: BaseException) -> list[Event]:
        """End the stream because the source raised ``exc``: open runs end with it."""
        out: list[Event] = []
        if self._log is not None:
            self._log.flush(out)
        return out + self._end_open_runs(f"{type(exc).__name__}: {exc}")

    @property
    def open_runs(self) -> list[str]:
        """Ids of the runs started and not yet ended, oldest first."""
        return list(self._runs)

    # -- errors -----------------------------------------------------------------

    def _reject(self, exc: EventStreamError) -> None:
        if self.strict:
            raise exc
        self.skipped += 1

    # -- astream_log -------------------------------------------------------------

    def _feed_log(self, item: Any) -> list[Event]:
        out: list[Event] = []
        log = self._log
        if log is None:
            if self._seq:
                self._reject(
                    MalformedItemError(
                        f"an astream_log item in a stream of astream_events dicts: a stream "
                        f"holds one format; got {_describe(item)}",
                        position=self.position,
                    )
                )
                return out
            log = self._log = LogReader(self)
        # The reader handles each op on its own: a malformed op is skipped (or raised)
        # without dropping the events of the ops before it.
        log.feed(item, out)
        return out

    # -- astream_events v1 / v2 -------------------------------------------------

    def _read_event(self, item: dict[str, Any], out: list[Event]) -> None:
        event = item["event"]
        run_id = item.get("run_id")
        if not isinstance(event, str) or not isinstance(run_id, str):
            raise MalformedItemError(
                f"'event' and 'run_id' must be strings, got event={_describe(event)}, "
                f"run_id={_describe(run_id)}",
                position=self.position,
            )
        data = item.get("data")
        if data is None:
            data = {}
        elif not isinstance(data, Mapping):
            raise MalformedItemError(
                f"{event}: 'data' must be a dict, got {_describe(data)}",
                position=self.position,
            )

        run = self._runs.get(run_id)
        if event == "on_chat_model_stream" and run is not None:
            # The hot path: one token of a run we know.
            self._model_chunk(run, data.get("chunk"), out)
            return
        if event == "on_custom_event":
            self._custom(item, run_id, data, out)
            return

        split = _split_event_name(event)
        if split is None:
            raise UnknownEventError(
                f"unknown event {event!r}: expected on_<run type>_(start|stream|end|error) "
                f"or on_custom_event",
                position=self.position,
            )
        run_type, phase = split
        if phase == "start":
            if run is not None or run_id in self._ended:
                raise RunStateError(
                    f"{event} for run {run_id} which already started",
                    position=self.position,
                    run_id=run_id,
                )
            self._start(item, run_id, run_type, data.get("input"), out)
            return
        if run is None:
            run = self._late_start(item, run_id, run_type, event, out)
        if phase == "stream":
            if run_type in _MODEL_TYPES:
                self._model_chunk(run, data.get("chunk"), out)
            # Chain, tool and parser stream events repeat what models stream or what the
            # run will return: they give no event of their own.
        elif phase == "end":
            self._end(run, data.get("output"), None, out)
        else:
            error = data.get("error")
            self._end(
                run,
                None,
                _error_text(error),
                out,
                tool_call_id=data.get("tool_call_id"),
            )

    def _start(
        self,
        item: Mapping[str, Any],
        run_id: str,
        run_type: str,
        input_: Any,
        out: list[Event],
    ) -> _Run:
        name, tags, metadata, parent_ids = self._run_fields(item)
        return self._open(run_id, name, run_type, tags, metadata, parent_ids, input_, out)

    def _open(
        self,
        run_id: str,
        name: str,
        run_type: str,
        tags: tuple[str, ...],
        metadata: dict[str, Any],
        parent_ids: tuple[str, ...],
        input_: Any,
        out: list[Event],
    ) -> _Run:
        """Open a run and emit its ``Start`` (tool runs claim their announced call)."""
        run = _Run(run_id, name, run_type, tags, metadata, parent_ids)
        if run_type == "tool":
            run.tool_call_id = self._claim_call(name, input_)
        self._runs[run_id] = run
        out.append(
            Start(
                seq=self._next_seq(),
                run_id=run_id,
                parent_ids=parent_ids,
                name=name,
                run_type=run_type,
                tags=tags,
                metadata=metadata,
                input=input_,
                tool_call_id=run.tool_call_id,
            )
        )
        return run

    def _late_start(
        self, item: Mapping[str, Any], run_id: str, run_type: str, event: str, out: list[Event]
    ) -> _Run:
        if run_id in self._ended:
            raise RunStateError(
                f"{event} for run {run_id} which already ended",
                position=self.position,
                run_id=run_id,
            )
        return self._start(item, run_id, run_type, None, out)

    def _run_fields(
        self, item: Mapping[str, Any]
    ) -> tuple[str, tuple[str, ...], dict[str, Any], tuple[str, ...]]:
        name = item.get("name", "")
        tags = item.get("tags") or ()
        metadata = item.get("metadata") or {}
        parent_ids = item.get("parent_ids") or ()
        if (
            not isinstance(name, str)
            or not isinstance(tags, list | tuple)
            or not isinstance(metadata, Mapping)
            or not isinstance(parent_ids, list | tuple)
        ):
            raise MalformedItemError(
                "'name' must be a string, 'tags' and 'parent_ids' lists, 'metadata' a dict; "
                f"got name={_describe(name)}, tags={_describe(tags)}, "
                f"parent_ids={_describe(parent_ids)}, metadata={_describe(metadata)}",
                position=self.position,
            )
        return name, tuple(tags), dict(metadata), tuple(parent_ids)

    def _custom(self, item: Mapping[str, Any], run_id: str, data: Any, out: list[Event]) -> None:
        name, tags, metadata, parent_ids = self._run_fields(item)
        run = self._runs.get(run_id)
        out.append(
            Custom(
                seq=self._next_seq(),
                run_id=run_id,
                parent_ids=parent_ids,
                name=name,
                run_type=run.run_type if run else "",
                tags=tags,
                metadata=metadata,
                data=data,
            )
        )

    # -- run primitives, shared by every source format --------------------------

    def _next_seq(self) -> int:
        seq = self._seq
        self._seq = seq + 1
        return seq

    def _model_chunk(self, run: _Run, chunk: Any, out: list[Event]) -> None:
        """Tokens and tool-call fragments of one streamed model chunk.

        A chunk is an ``AIMessageChunk``, a ``GenerationChunk`` (LLMs), a string, or
        the serialized / plain-dict form of one of them, as recordings hold them.
        """
        if chunk is None:
            return
        if isinstance(chunk, str):
            self._content(run, chunk, out)
            return
        fields = fields_of(chunk)
        if fields is None:
            content = getattr(chunk, "content", None)
            if content is None:
                content = getattr(chunk, "text", None)
            self._content(run, content, out)
            if not getattr(chunk, "tool_call_chunks", None) and not getattr(
                chunk, "additional_kwargs", None
            ):
                return
        else:
            self._content(run, fields.get("content", fields.get("text")), out)
        for index, call_id, call_name, args in fragments_of(chunk):
            self._fragment(run, index, call_id, call_name, args, out)

    def _content(self, run: _Run, content: Any, out: list[Event]) -> None:
        if type(content) is str:
            if not content:
                return
            pieces = ((content, "text"),)
        else:
            pieces = content_pieces(content)  # type: ignore[assignment]
        for text, kind in pieces:
            run.streamed_text = True
            out.append(
                new_token(
                    self._next_seq(),
                    run.run_id,
                    run.parent_ids,
                    run.name,
                    run.run_type,
                    run.tags,
                    run.metadata,
                    text,
                    kind,  # type: ignore[arg-type]
                )
            )

    def _fragment(
        self,
        run: _Run,
        index: int | None,
        call_id: str | None,
        call_name: str | None,
        args: str,
        out: list[Event],
    ) -> None:
        calls = run.calls
        if calls is None:
            calls = run.calls = {}
        if index is None:
            # No index from the provider: an id picks its call, a bare fragment
            # continues the latest call, anything else opens a new one.
            index = next((c.index for c in calls.values() if call_id and c.id == call_id), None)
            if index is None:
                if call_id is None and call_name is None and calls:
                    index = next(reversed(calls))
                else:
                    index = max(calls, default=-1) + 1
        call = calls.get(index)
        if call is None:
            call = calls[index] = _Call(index, call_id, call_name or "")
        else:
            if call_id and not call.id:
                call.id = call_id
            if call_name and not call.name:
                call.name = call_name
        if args:
            call.args.append(args)
        out.append(
            ToolCallChunk(
                seq=self._next_seq(),
                run_id=run.run_id,
                parent_ids=run.parent_ids,
                name=call.name,
                run_type=run.run_type,
                tags=run.tags,
                metadata=run.metadata,
                index=index,
                tool_call_id=call.id,
                args_delta=args,
            )
        )

    def _end(
        self,
        run: _Run,
        output: Any,
        error: str | None,
        out: list[Event],
        *,
        tool_call_id: str | None = None,
        tool_result: bool = True,
    ) -> None:
        """End a run: its tool calls (models), its result (tools), then ``End``.

        ``tool_result=False``: the source recorded neither an output nor an error for
        this tool run (``astream_log``), so it gives no ``ToolResult``."""
        if run.run_type in _MODEL_TYPES and error is None:
            output = self._finish_model(run, output, out)
        elif run.run_type == "tool" and tool_result:
            output = self._finish_tool(run, output, error, tool_call_id, out)
        del self._runs[run.run_id]
        self._ended.add(run.run_id)
        out.append(
            End(
                seq=self._next_seq(),
                run_id=run.run_id,
                parent_ids=run.parent_ids,
                name=run.name,
                run_type=run.run_type,
                tags=run.tags,
                metadata=run.metadata,
                output=output,
                error=error,
            )
        )

    def _finish_model(self, run: _Run, output: Any, out: list[Event]) -> Any:
        if run.run_type == "llm":
            text = llm_text(output)
            if text and not run.streamed_text:
                self._content(run, text, out)
            return text if text is not None else output
        message = final_message(output)
        if not run.streamed_text and message is not None:
            # The model did not stream (or the source dropped its chunks): its final
            # message still gives the text, so consumers of tokens miss nothing.
            fields = fields_of(message)
            content = (
                (fields or {}).get("content")
                if fields is not None
                else getattr(message, "content", None)
            )
            self._content(run, content, out)
        if run.calls:
            for call in sorted(run.calls.values(), key=lambda c: c.index):
                self._announce(run, call.index, call.id, call.name, "".join(call.args), out)
        elif message is not None:
            for index, (call_id, call_name, args_text) in enumerate(tool_calls_of(message)):
                self._announce(run, index, call_id, call_name, args_text, out)
        return message

    def _announce(
        self,
        run: _Run,
        index: int,
        call_id: str | None,
        call_name: str,
        args_text: str,
        out: list[Event],
    ) -> None:
        args, error = parse_args(args_text)
        call = ToolCall(
            seq=self._next_seq(),
            run_id=run.run_id,
            parent_ids=run.parent_ids,
            name=call_name,
            run_type=run.run_type,
            tags=run.tags,
            metadata=run.metadata,
            index=index,
            tool_call_id=call_id,
            args=args,
            args_text=args_text,
            error=error,
        )
        out.append(call)
        self._pending_calls.setdefault(call_name, []).append(call)

    def _claim_call(self, tool_name: str, input_: Any) -> str | None:
        """The id of the announced call this tool run answers (same name and args)."""
        pending = self._pending_calls.get(tool_name)
        if not pending:
            return None
        chosen = next((c for c in pending if c.args == input_), pending[0])
        pending.remove(chosen)
        return chosen.tool_call_id

    def _finish_tool(
        self,
        run: _Run,
        output: Any,
        error: str | None,
        tool_call_id: str | None,
        out: list[Event],
    ) -> Any:
        content = output
        if error is None:
            is_message, content, message_call_id, error = tool_message(output)
            if is_message:
                tool_call_id = message_call_id
        out.append(
            ToolResult(
                seq=self._next_seq(),
                run_id=run.run_id,
                parent_ids=run.parent_ids,
                name=run.name,
                run_type=run.run_type,
                tags=run.tags,
                metadata=run.metadata,
                tool_call_id=tool_call_id or run.tool_call_id,
                output=content,
                error=error,
            )
        )
        return output

    def _end_open_runs(self, error: str) -> list[Event]:
        out: list[Event] = []
        for run in reversed(list(self._runs.values())):
            self._end(run, None, error, out)
        return out


def _error_text(error: Any) -> str:
    if error is None:
        return "error"
    if isinstance(error, BaseException):
        return f"{type(error).__name__}: {error}"
    return str(error)
