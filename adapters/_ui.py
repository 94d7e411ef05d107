"""What goes where in a chat UI: the decisions and the state AG-UI and the AI SDK share.

Contract. Sans-IO, one object per stream (see ``_protocol``): :meth:`UIProtocol.feed`
takes each normalized event in order and returns the protocol's messages, JSON-able
dicts in wire form. The subclasses (``_agui``, ``_ai_sdk``) only spell messages, in the
``_on_*`` hooks; every decision, and all state (open text and reasoning parts, tool
calls, tool runs, pending results, the open step), lives here:

- **The assistant's text** is, by default, the text tokens of the model runs (chat
  models, LLMs) that are inside no tool run, ancestry from ``parent_ids``; with
  ``answer=`` a :class:`~eventstream.Selector`, it is the tokens the selector accepts;
  with ``answer=`` an :class:`~eventstream.AnswerReader` (used for its options: each
  stream reads with a fresh one), it is that reader's answer text (:func:`eventstream.answer`:
  the agent's own text, an answer tool's string argument, or the text after a ReAct
  prefix), and the answer tool's own calls are not shown as tool calls.
  A source without ancestry (``astream_events`` v1, ``astream_log``) cannot tell the
  agent's model from one inside a tool, so there ``answer`` is required: the first
  nested run without ``parent_ids`` raises :class:`eventstream.NoAncestryError` (as
  :func:`eventstream.answer` does). A model
  run's text is one part with LangChain's id for that run's message,
  ``lc_run--<run id>`` (LangChain's own when the provider sends none), so the streamed
  conversation and the agent's history name it alike. A part opens at its first token:
  a model run that says nothing (a router, a structured-output call) leaves no empty
  bubble.
- **Reasoning** tokens of those runs form a reasoning part (``<message id>-reasoning``,
  then ``-2``, ``-3`` … when it resumes), closed when the run's text starts or the run
  ends.
- **Tool calls** of those model runs start once the call's id and name are known; every
  argument fragment follows under its call (interleaved parallel calls stay apart by
  index), and the call completes when the model run ends. A call that arrived in one
  chunk, or was not streamed at all, still gets its arguments. Ids are LangChain's
  ``tool_call_id``. A top-level tool run that no model call announced (a tool invoked by
  code) is announced at its start.
- **Tool results** go out at the tool run's end, as a message whose id is the returned
  ``ToolMessage``'s when it has one, else ``lc_run--<tool run id>``. A handled error
  (``ToolMessage`` with ``status="error"``) shows its text, which the model saw too; a
  tool that raised shows only :data:`TOOL_FAILED_MESSAGE` (its exception stays server
  side).
- **Tool progress**: tokens of models inside a tool are never assistant text. They are
  credited to the call of the outermost enclosing tool run, per inner model run, in the
  form each protocol has for progress (AI SDK: preliminary tool output; AG-UI: an
  activity message). Tool calls made inside a tool are that tool's business.
- **Custom events** pass through. **Steps** (used by the AI SDK) are model turns that
  show something: a step opens at a turn's first output and closes when the next turn
  opens one or the stream ends, so a turn's tool results fall inside its step.

The stream ends once: ``close()``, ``fail()`` (the text shown is a ``str`` passed in, or
:data:`FAILED_MESSAGE` for an exception), ``cancel()``, or ``control(signal)`` for a
subscription's terminal item; a :class:`Gap` (events lost to a reader that fell behind)
ends it as failed, since a UI cannot rebuild what it never received.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from eventstream.adapters._protocol import Encoded, json_line
from eventstream.adapters._signals import (
    CANCELLED_MESSAGE,
    FAILED_MESSAGE,
    Done,
    Failure,
    Gap,
    Signal,
)
from pydantic_core import to_jsonable_python

from eventstream import (
    AnswerReader,
    AnswerText,
    Custom,
    End,
    Event,
    NoAncestryError,
    Selector,
    Start,
    Token,
    ToolCall,
    ToolCallChunk,
    ToolResult,
)
from eventstream._ancestry import Ancestry, RunInfo

__all__ = ["FAILED_MESSAGE", "TOOL_FAILED_MESSAGE", "UIProtocol"]

Message = dict[str, Any]

LOST_MESSAGE = (
    "events of this run were lost to a reader that fell behind; the UI cannot rebuild them"
)
TOOL_FAILED_MESSAGE = "the tool raised an exception; the server log has the details"
"""What a client is told about a tool that raised (its exception text stays server side)."""

INCOMPLETE_CALL = "the model run ended before this tool call was complete"

MODEL_TYPES = frozenset({"chat_model", "llm"})


def message_id(run_id: str) -> str:
    """LangChain's id for the message a model run produces, when the provider sends none."""
    return f"lc_run--{run_id}"


def no_ancestry(event: Event, protocol: str) -> NoAncestryError:
    """The error for a stream without ancestry read without ``answer=``."""
    return NoAncestryError(
        f"event {event.seq} ({event.type} of run {event.name or event.run_id!r}): this "
        f"stream carries no parent ids (astream_events v1 or astream_log), so {protocol} "
        f"cannot tell the assistant's text from text of models inside tools; pass "
        f"answer=Selector(...) naming the agent's model, e.g. "
        f"answer=Selector(types='token', tags='agent_llm')"
    )


@dataclass(slots=True, eq=False)
class Call:
    """One tool call as the UI shows it, from its start to its result."""

    id: str
    name: str
    parent: str | None
    """The message id of the model turn that made the call (``None``: announced from a
    tool run that no model call announced)."""
    run_id: str | None
    """That model run."""
    pending: list[str] = field(default_factory=list)
    """Argument fragments that came before the call's id and name."""
    started: bool = False
    streamed: bool = False
    """Some argument text was sent."""
    complete: bool = False
    """The arguments are complete."""
    claimed: bool = False
    """A tool run answers this call."""
    answered: bool = False
    progress: dict[str, list[str]] | None = None
    """Text of the models inside the call's tool run, by model run (in arrival order)."""


_ANSWER = "answer"
_NOWHERE = "nowhere"
Route = str | Call


class UIProtocol:
    """The shared state machine; subclasses implement the ``_on_*`` hooks."""

    protocol_name = "this protocol"
    trailer: str | None = None

    def __init__(self, *, answer: Selector | AnswerReader | None = None) -> None:
        self._accepts = answer.matcher() if isinstance(answer, Selector) else None
        self._reader = (
            AnswerReader(
                tool=answer.tool,
                field=answer.field,
                prefix=answer.prefix,
                tags=answer.tags,
                names=answer.names,
            )
            if isinstance(answer, AnswerReader)
            else None
        )
        self._hidden_tool = self._reader.tool if self._reader is not None else None
        self._ancestry = Ancestry()
        self._begun = False
        self._ended = False
        self._routes: dict[str, Route] = {}
        self._texts: dict[str, str] = {}
        self._reasoning: dict[str, str] = {}
        self._reasoning_count: dict[str, int] = {}
        self._chunks: dict[str, dict[int, Call]] = {}
        self._calls: dict[str, Call] = {}
        self._tool_runs: dict[str, Call] = {}
        self._results: dict[str, ToolResult] = {}
        self._step: str | None = None

    # -- the contract -----------------------------------------------------------------

    @property
    def ended(self) -> bool:
        """Whether the stream has ended (closed, failed or cancelled)."""
        return self._ended

    def feed(self, event: Event) -> list[Message]:
        """The messages for one event, in order."""
        if self._ended:
            msg = f"{type(self).__name__} reads one stream: feed() after its end"
            raise RuntimeError(msg)
        out: list[Message] = []
        if not self._begun:
            self._begun = True
            self._on_begin(out)
        accepted = self._accepts(event) if self._accepts is not None else False
        if self._reader is not None:
            for item in self._reader.feed(event):
                if isinstance(item, AnswerText):
                    self._text(item.run_id, item.text, out)
        if event.type == "token":
            route = self._routes.get(event.run_id)
            if route is None:
                route = self._route(event, self._ancestry.see(event))
            if accepted:
                route = _ANSWER
            if route is _ANSWER:
                if event.kind == "text":
                    self._text(event.run_id, event.text, out)
                else:
                    self._reasoning_token(event, out)
            elif route is not _NOWHERE and event.kind == "text":
                assert isinstance(route, Call)
                self._progress(route, event, out)
            return out
        info = self._ancestry.see(event)
        if isinstance(event, ToolCallChunk):
            self._chunk(event, info, out)
        elif isinstance(event, ToolCall):
            self._tool_call(event, info, out)
        elif isinstance(event, Start):
            self._start(event, info, out)
        elif isinstance(event, ToolResult):
            if event.run_id in self._tool_runs:
                self._results[event.run_id] = event
        elif isinstance(event, End):
            self._end(event, info, out)
        elif isinstance(event, Custom):
            self._on_custom(out, event.name, jsonable(event.data))
        return out

    def close(self) -> list[Message]:
        """The messages that end a stream that completed."""
        out = self._ending()
        self._close_parts(out)
        if self._step is not None:
            self._on_step_finish(out)
        self._on_close(out, [c.id for c in self._calls.values() if not c.answered])
        return out

    def fail(self, error: BaseException | str) -> list[Message]:
        """The messages that end a failed stream: ``error`` shown when it is a ``str``."""
        out = self._ending()
        self._on_fail(out, error if isinstance(error, str) else FAILED_MESSAGE)
        return out

    def cancel(self) -> list[Message]:
        """The messages that end a stream that was stopped."""
        out = self._ending()
        self._close_parts(out)
        if self._step is not None:
            self._on_step_finish(out)
        self._on_cancel(out, CANCELLED_MESSAGE)
        return out

    def control(self, signal: Signal) -> list[Message]:
        """A subscription's control item: ``Done`` closes, ``Failure`` fails or cancels,
        ``Gap`` fails (the UI cannot rebuild what it lost)."""
        if isinstance(signal, Done):
            return self.close()
        if isinstance(signal, Failure):
            return self.cancel() if signal.reason == "cancelled" else self.fail(signal.message)
        assert isinstance(signal, Gap)
        return self.fail(LOST_MESSAGE)

    def encode(self, message: Message) -> Encoded:
        """One message as one line of JSON."""
        return Encoded(json_line(message))

    # -- routing ------------------------------------------------------------------------

    def _route(self, event: Event, info: RunInfo) -> Route:
        """Where a model run's tokens go, decided once per run."""
        tool = outermost_tool(info)
        if tool is not None:
            route: Route = self._tool_runs.get(tool.run_id) or _NOWHERE
        elif info.run_type in MODEL_TYPES and self._accepts is None and self._reader is None:
            route = _ANSWER
        else:
            route = _NOWHERE
        self._routes[event.run_id] = route
        return route

    def _start(self, event: Start, info: RunInfo, out: list[Message]) -> None:
        if (
            self._accepts is None
            and self._reader is None
            and not event.parent_ids
            and info.depth > 0
        ):
            raise no_ancestry(event, self.protocol_name)
        if event.run_type != "tool" or (info.parent is not None and info.parent.tool is not None):
            return
        if event.name == self._hidden_tool:
            return  # the answer tool: its argument is the answer text
        call = self._calls.get(event.tool_call_id) if event.tool_call_id else None
        if call is None or call.claimed:
            call = next(
                (c for c in self._calls.values() if c.name == event.name and not c.claimed),
                None,
            )
        if call is None:
            call = self._announce_tool_run(event, out)
        call.claimed = True
        self._tool_runs[event.run_id] = call

    def _announce_tool_run(self, event: Start, out: list[Message]) -> Call:
        value = event.input
        args = value if isinstance(value, dict) else {} if value is None else {"input": value}
        args = jsonable(args)
        call = Call(
            id=event.tool_call_id or message_id(event.run_id),
            name=event.name,
            parent=None,
            run_id=None,
        )
        self._start_call(call, out)
        call.streamed = True
        self._on_tool_args(out, call, json.dumps(args, ensure_ascii=False))
        call.complete = True
        self._on_tool_input(out, call, args, None)
        return call

    # -- text and reasoning ------------------------------------------------------------

    def _text(self, run_id: str, text: str, out: list[Message]) -> None:
        part = self._texts.get(run_id)
        if part is None:
            self._step_for(run_id, out)
            reasoning = self._reasoning.pop(run_id, None)
            if reasoning is not None:
                self._on_reasoning_end(out, reasoning)
            part = self._texts[run_id] = message_id(run_id)
            self._on_text_start(out, part)
        self._on_text_delta(out, part, text)

    def _reasoning_token(self, event: Token, out: list[Message]) -> None:
        run_id = event.run_id
        part = self._reasoning.get(run_id)
        if part is None:
            self._step_for(run_id, out)
            count = self._reasoning_count.get(run_id, 0) + 1
            self._reasoning_count[run_id] = count
            part = f"{message_id(run_id)}-reasoning" + (f"-{count}" if count > 1 else "")
            self._reasoning[run_id] = part
            self._on_reasoning_start(out, part)
        self._on_reasoning_delta(out, part, event.text)

    def _step_for(self, run_id: str, out: list[Message]) -> None:
        if self._step != run_id:
            if self._step is not None:
                self._on_step_finish(out)
            self._step = run_id
            self._on_step_start(out)

    # -- tool calls ----------------------------------------------------------------------

    def _call_of(self, event: ToolCallChunk | ToolCall, info: RunInfo) -> Call | None:
        calls = self._chunks.get(event.run_id)
        call = calls.get(event.index) if calls is not None else None
        if call is None:
            if info.tool is not None:
                return None
            call = Call(
                id=event.tool_call_id or "",
                name=event.name,
                parent=message_id(event.run_id),
                run_id=event.run_id,
            )
            self._chunks.setdefault(event.run_id, {})[event.index] = call
        if not call.started:
            call.id = event.tool_call_id or call.id
            call.name = event.name or call.name
        return call

    def _forget_call(self, event: ToolCall) -> None:
        """A call not shown (the answer tool's): nothing of it stays."""
        calls = self._chunks.get(event.run_id)
        if calls is not None:
            calls.pop(event.index, None)

    def _chunk(self, event: ToolCallChunk, info: RunInfo, out: list[Message]) -> None:
        if event.name and event.name == self._hidden_tool:
            return
        call = self._call_of(event, info)
        if call is None:
            return
        if call.started:
            if event.args_delta:
                call.streamed = True
                self._on_tool_args(out, call, event.args_delta)
            return
        if event.args_delta:
            call.pending.append(event.args_delta)
        if call.id and call.name:
            self._start_call(call, out)

    def _tool_call(self, event: ToolCall, info: RunInfo, out: list[Message]) -> None:
        if event.name == self._hidden_tool:
            self._forget_call(event)
            return
        call = self._call_of(event, info)
        if call is None:
            return
        if not call.started:
            call.id = call.id or f"{message_id(event.run_id)}-call-{event.index}"
            self._start_call(call, out)
        if not call.streamed:
            call.streamed = True
            self._on_tool_args(out, call, event.args_text or json.dumps(jsonable(event.args)))
        call.complete = True
        args = event.args_text if event.error is not None else jsonable(event.args)
        self._on_tool_input(out, call, args, event.error)

    def _start_call(self, call: Call, out: list[Message]) -> None:
        call.started = True
        self._calls[call.id] = call
        if call.run_id is not None:
            self._step_for(call.run_id, out)
        self._on_tool_start(out, call)
        if call.pending:
            text = "".join(call.pending)
            call.pending.clear()
            call.streamed = True
            self._on_tool_args(out, call, text)

    def _progress(self, call: Call, event: Token, out: list[Message]) -> None:
        progress = call.progress
        if progress is None:
            progress = call.progress = {}
        texts = progress.get(event.run_id)
        first = texts is None
        if texts is None:
            texts = progress[event.run_id] = []
        texts.append(event.text)
        self._on_tool_progress(out, call, event, first)

    # -- ends ----------------------------------------------------------------------------

    def _end(self, event: End, info: RunInfo, out: list[Message]) -> None:
        run_id = event.run_id
        self._routes.pop(run_id, None)
        if info.run_type in MODEL_TYPES:
            self._end_model(run_id, out)
            return
        call = self._tool_runs.pop(run_id, None)
        if call is None:
            return
        result = self._results.pop(run_id, None)
        output = event.output
        mid = getattr(output, "id", None)
        mid = mid if isinstance(mid, str) and mid else message_id(run_id)
        if result is not None and result.error is None:
            value, error = result.output, None
        elif result is not None and result.output is not None:
            value, error = result.output, result.error  # handled: the model saw this text
        elif result is not None or event.error is not None:
            value, error = None, TOOL_FAILED_MESSAGE
        elif output is not None:
            value, error = output, None
        else:
            return  # the source recorded no outcome (astream_log): nothing is invented
        call.answered = True
        if error is not None:
            self._on_tool_error(out, call, error if value is None else text_of(value), mid)
        else:
            self._on_tool_output(out, call, jsonable(value), mid)

    def _end_model(self, run_id: str, out: list[Message]) -> None:
        self._reasoning_count.pop(run_id, None)
        part = self._reasoning.pop(run_id, None)
        if part is not None:
            self._on_reasoning_end(out, part)
        part = self._texts.pop(run_id, None)
        if part is not None:
            self._on_text_end(out, part)
        for call in (self._chunks.pop(run_id, None) or {}).values():
            if call.started and not call.complete:
                call.complete = True
                self._on_tool_input(out, call, "", INCOMPLETE_CALL)

    def _close_parts(self, out: list[Message]) -> None:
        for run_id in [*self._reasoning, *self._texts, *self._chunks]:
            self._end_model(run_id, out)

    def _ending(self) -> list[Message]:
        if self._ended:
            msg = f"{type(self).__name__} reads one stream: it has already ended"
            raise RuntimeError(msg)
        self._ended = True
        out: list[Message] = []
        if not self._begun:
            self._begun = True
            self._on_begin(out)
        return out

    # -- the hooks: how each protocol spells these ------------------------------------------

    def _on_begin(self, out: list[Message]) -> None:
        raise NotImplementedError

    def _on_close(self, out: list[Message], unanswered: list[str]) -> None:
        raise NotImplementedError

    def _on_fail(self, out: list[Message], message: str) -> None:
        raise NotImplementedError

    def _on_cancel(self, out: list[Message], message: str) -> None:
        raise NotImplementedError

    def _on_step_start(self, out: list[Message]) -> None:
        pass

    def _on_step_finish(self, out: list[Message]) -> None:
        pass

    def _on_text_start(self, out: list[Message], part: str) -> None:
        raise NotImplementedError

    def _on_text_delta(self, out: list[Message], part: str, text: str) -> None:
        raise NotImplementedError

    def _on_text_end(self, out: list[Message], part: str) -> None:
        raise NotImplementedError

    def _on_reasoning_start(self, out: list[Message], part: str) -> None:
        raise NotImplementedError

    def _on_reasoning_delta(self, out: list[Message], part: str, text: str) -> None:
        raise NotImplementedError

    def _on_reasoning_end(self, out: list[Message], part: str) -> None:
        raise NotImplementedError

    def _on_tool_start(self, out: list[Message], call: Call) -> None:
        raise NotImplementedError

    def _on_tool_args(self, out: list[Message], call: Call, delta: str) -> None:
        raise NotImplementedError

    def _on_tool_input(self, out: list[Message], call: Call, args: Any, error: str | None) -> None:
        """The call's arguments are complete: ``args`` parsed, or ``error`` (then ``args``
        is the raw text, as far as it came)."""
        raise NotImplementedError

    def _on_tool_progress(self, out: list[Message], call: Call, token: Token, first: bool) -> None:
        """A token of a model inside the call's tool (``first``: that model's first)."""
        raise NotImplementedError

    def _on_tool_output(self, out: list[Message], call: Call, output: Any, message: str) -> None:
        raise NotImplementedError

    def _on_tool_error(self, out: list[Message], call: Call, error: str, message: str) -> None:
        raise NotImplementedError

    def _on_custom(self, out: list[Message], name: str, data: Any) -> None:
        raise NotImplementedError


def outermost_tool(info: RunInfo) -> RunInfo | None:
    """The outermost tool run among a run and its ancestors (``None`` outside tools)."""
    tool = info.tool
    while tool is not None and tool.parent is not None and tool.parent.tool is not None:
        tool = tool.parent.tool
    return tool


def jsonable(value: Any) -> Any:
    """A JSON-able copy of ``value``; what JSON cannot hold is written as its ``str()``."""
    return to_jsonable_python(value, fallback=str)


def text_of(value: Any) -> str:
    """A tool's output as text: a string as is, text content blocks (what MCP tools and
    ``ToolMessage`` lists hold) joined, anything else as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and value and all(_is_text_block(block) for block in value):
        return "".join(block["text"] for block in value)
    return json.dumps(jsonable(value), ensure_ascii=False)


def _is_text_block(block: Any) -> bool:
    return (
        isinstance(block, dict)
        and block.get("type") == "text"
        and isinstance(block.get("text"), str)
    )
