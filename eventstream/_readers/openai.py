"""Reading raw OpenAI chat completion streams: ``chat.completions.create(..., stream=True)``.

Items are ``ChatCompletionChunk`` objects (what the ``openai`` SDK's ``Stream`` and
``AsyncStream`` yield) or their dict forms (``chunk.model_dump()``, or the JSON of each
``data:`` line, relayed over a socket). Any OpenAI-compatible server's chunks read the
same; the ``openai`` package itself is not needed to read dicts.

One stream is one model run (``run_type="chat_model"``, named by the chunks' ``model``,
its ``run_id`` the first chunk's ``id``, or ``"chatcmpl-without-id"``; ids of later
chunks are not compared, since some compatible servers give each chunk its own). What
each chunk gives:

- the first chunk: the run's ``Start`` (no ``input``: the stream does not carry the
  request);
- ``delta.reasoning_content`` (DeepSeek, vLLM, many others) or ``delta.reasoning``
  (OpenRouter, newer vLLM): ``Token(kind="reasoning")``; ``delta.content``: ``Token``;
- ``delta.tool_calls`` fragments (and the legacy ``delta.function_call``):
  ``ToolCallChunk`` events, and one ``ToolCall`` per call at the end, parsed as
  LangChain parses a streamed call;
- ``finish_reason``: kept; ``usage`` (the last chunk with
  ``stream_options={"include_usage": True}``, ``choices`` empty; the latest one wins, so
  cumulative per-chunk usage reads too): kept;
- the end of the stream: the run's ``End`` with ``usage`` and, as ``output``, the final
  ``AIMessage`` as ``ChatOpenAI`` would build it (content, tool calls, usage, finish
  reason and model in ``response_metadata``, reasoning in ``additional_kwargs``). A
  stream that ends before any chunk carried a ``finish_reason`` ends its run with an
  error saying so, and no ``ToolCall`` (the arguments may be cut).
- an ``{"error": {...}}`` object (what a server sends for a failure mid-stream; the SDK
  raises it instead): the run ends with that error.

Not carried: ``delta.refusal`` gives no ``Token`` (as ``ChatOpenAI``: it is in the
output's ``additional_kwargs["refusal"]``); audio, logprobs. A stream with ``n > 1``
carries several answers: only choice 0 is read, and a chunk of another choice is
rejected (strict: raised; lenient: skipped and counted).

The fast path reads a plain text chunk (one choice, no finish, no usage, a delta with
``content`` and nothing else to read) in a few field lookups.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from eventstream._content import Fragment, Piece, as_int, as_list, as_str, final_calls
from eventstream._errors import Problem, describe
from eventstream._events import NO_METADATA, Event, Usage
from eventstream._readers._base import Reader, frozen
from eventstream._table import ModelEnd, Run, RunFields

__all__ = ["OpenAIReader", "is_chunk"]

_OBJECT = "chat.completion.chunk"


def is_chunk(item: Any) -> bool:
    """Whether ``item`` is a chat completion chunk (an SDK object or its dict form)."""
    if isinstance(item, Mapping):
        if item.get("object") == _OBJECT:
            return True
        choices = item.get("choices")
        return (
            isinstance(choices, list)
            and bool(choices)
            and isinstance(choices[0], Mapping)
            and "delta" in choices[0]
        )
    try:
        return getattr(item, "object", None) == _OBJECT
    except Exception:  # a foreign object's attribute may do anything
        return False


def _get(value: Any, key: str) -> Any:
    """A field of a chunk part, object or dict; ``None`` when absent."""
    if isinstance(value, Mapping):
        return value.get(key)
    return getattr(value, key, None)


def _usage(value: Any) -> tuple[Usage, dict[str, Any]] | None:
    """A chunk's ``usage``: the event's counts and LangChain's ``usage_metadata``."""
    if value is None:
        return None
    counts = []
    for key in ("prompt_tokens", "completion_tokens", "total_tokens"):
        count = as_int(_get(value, key), f"usage.{key}")
        if count is None:
            raise Problem(f"usage.{key}: expected an integer, got None")
        counts.append(count)
    metadata: dict[str, Any] = {
        "input_tokens": counts[0],
        "output_tokens": counts[1],
        "total_tokens": counts[2],
    }
    cached = as_int(_get(_get(value, "prompt_tokens_details"), "cached_tokens"), "usage.cached")
    reasoning = as_int(
        _get(_get(value, "completion_tokens_details"), "reasoning_tokens"), "usage.reasoning"
    )
    if cached is not None:
        metadata["input_token_details"] = {"cache_read": cached}
    if reasoning is not None:
        metadata["output_token_details"] = {"reasoning": reasoning}
    usage = Usage(input_tokens=counts[0], output_tokens=counts[1], total_tokens=counts[2])
    return usage, metadata


def _fragments(delta: Any, where: str) -> list[Fragment]:
    fragments: list[Fragment] = []
    for number, call in enumerate(as_list(_get(delta, "tool_calls"), f"{where}.tool_calls")):
        at = f"{where}.tool_calls[{number}]"
        if call is None or isinstance(call, str | int | float | list):
            raise Problem(f"{at}: expected a tool call fragment, got {describe(call)}")
        function = _get(call, "function")
        fragments.append(
            (
                as_int(_get(call, "index"), f"{at}.index"),
                as_str(_get(call, "id"), f"{at}.id"),
                as_str(_get(function, "name"), f"{at}.function.name"),
                as_str(_get(function, "arguments"), f"{at}.function.arguments") or "",
            )
        )
    legacy = _get(delta, "function_call")
    if legacy is not None:
        at = f"{where}.function_call"
        fragments.append(
            (
                0,
                None,
                as_str(_get(legacy, "name"), f"{at}.name"),
                as_str(_get(legacy, "arguments"), f"{at}.arguments") or "",
            )
        )
    return fragments


class _Call:
    """A streamed call as the final message needs it."""

    __slots__ = ("args", "id", "index", "name")

    def __init__(self, index: int) -> None:
        self.index = index
        self.id: str | None = None
        self.name: str | None = None
        self.args: list[str] = []


class OpenAIReader(Reader):
    """OpenAI chat completion chunks: one stream, one model run."""

    format = "OpenAI chat completion chunks"

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self._run: Run | None = None
        """The open run (``None`` before the first chunk and after the end)."""
        self._ended = False
        self._token = self.table.token
        self._type: type[Any] | None = None
        """The class of the SDK's chunks, for the fast path (not imported: optional)."""
        self._model = ""
        self._text: list[str] = []
        self._reasoning: list[str] = []
        self._refusal: list[str] = []
        self._calls: dict[int, _Call] = {}
        self._last_call: int | None = None
        self._finish: str | None = None
        self._usage: tuple[Usage, dict[str, Any]] | None = None
        self._fingerprint: str | None = None
        self._run_id = ""

    @staticmethod
    def sniff(item: Any) -> bool:
        return is_chunk(item)

    def fast(self, item: Any) -> list[Event] | None:
        run = self._run
        if run is None:
            return None
        try:
            if type(item) is self._type:
                own = item.__dict__
                choices = own["choices"]
                if own["usage"] is not None or len(choices) != 1:
                    return None
                # The fields' own dicts: one lookup each (every object touched per chunk
                # costs; the SDK keeps each field in its model's ``__dict__``).
                choice = choices[0].__dict__
                if choice["finish_reason"] is not None or choice["index"] != 0:
                    return None
                delta = choice["delta"]
                fields = delta.__dict__
                if (
                    fields["tool_calls"] is not None
                    or fields["refusal"] is not None
                    or fields["function_call"] is not None
                    or delta.__pydantic_extra__  # reasoning_content and other extras
                ):
                    return None
                content = fields["content"]
            elif type(item) is dict:
                if item.get("usage") is not None:
                    return None
                choices = item.get("choices")
                if type(choices) is not list or len(choices) != 1:
                    return None
                choice = choices[0]
                if type(choice) is not dict or choice.get("finish_reason") is not None:
                    return None
                delta = choice.get("delta")
                if type(delta) is not dict or len(delta) != 1 or choice.get("index", 0) != 0:
                    return None
                content = delta.get("content")
            else:
                return None
        except Exception:  # not the SDK's shape after all: the general path says why
            return None
        if type(content) is not str:
            return None
        if not content:
            return []
        self._text.append(content)
        return [self._token(run, content)]

    def feed(self, item: Any, out: list[Event]) -> None:
        if not is_chunk(item):
            error = _get(item, "error") if isinstance(item, Mapping) else None
            if error is not None:
                self._error(error, out)
                return
            raise Problem(f"expected a chat completion chunk, got {describe(item)}")
        # Read the whole chunk before anything changes (whole or nothing).
        chunk_id = as_str(_get(item, "id"), "id")
        model = as_str(_get(item, "model"), "model")
        fingerprint = as_str(_get(item, "system_fingerprint"), "system_fingerprint")
        usage = _usage(_get(item, "usage"))
        pieces: list[Piece] = []
        fragments: list[Fragment] = []
        refusal = None
        finish = None
        for number, choice in enumerate(as_list(_get(item, "choices"), "choices")):
            at = f"choices[{number}]"
            if choice is None or isinstance(choice, str | int | float | list):
                raise Problem(f"{at}: expected a choice, got {describe(choice)}")
            index = as_int(_get(choice, "index"), f"{at}.index")
            if index:
                raise Problem(
                    f"{at}: a chunk of choice {index}: eventstream reads one answer per "
                    f"stream (choice 0); request n=1"
                )
            finish = as_str(_get(choice, "finish_reason"), f"{at}.finish_reason") or finish
            delta = _get(choice, "delta")
            if delta is None:
                continue
            where = f"{at}.delta"
            reasoning = as_str(_get(delta, "reasoning_content"), f"{where}.reasoning_content")
            if reasoning is None:
                reasoning = as_str(_get(delta, "reasoning"), f"{where}.reasoning")
            content = as_str(_get(delta, "content"), f"{where}.content")
            refusal = as_str(_get(delta, "refusal"), f"{where}.refusal")
            if reasoning:
                pieces.append((reasoning, "reasoning"))
            if content:
                pieces.append((content, "text"))
            fragments.extend(_fragments(delta, where))
        if self._ended:
            raise Problem(f"a chunk after the end of run {self._run_id}", run_id=self._run_id)
        run = self._run
        if run is None:
            # The SDK's chunk class (pydantic), for the fast path; dicts have their own.
            self._type = type(item) if hasattr(type(item), "model_fields") else None
            self._model = model or ""
            # A stream without ids gets a fixed one: the same chunks always read the same.
            self._run_id = chunk_id or "chatcmpl-without-id"
            run = self._run = self.table.start(
                RunFields(
                    self._run_id,
                    self._model or "chat.completion",
                    "chat_model",
                    (),
                    frozen({"ls_model_name": model}) if model else NO_METADATA,
                    (),
                ),
                None,
                out,
            )
        self.table.chunk(run, pieces, fragments, out)
        for text, kind in pieces:
            (self._text if kind == "text" else self._reasoning).append(text)
        for fragment in fragments:
            self._keep(fragment)
        if refusal:
            self._refusal.append(refusal)
        if finish is not None:
            self._finish = finish
        if usage is not None:
            self._usage = usage
        if fingerprint is not None:
            self._fingerprint = fingerprint

    def close(self, out: list[Event]) -> None:
        run = self._run
        if run is None:
            return
        error = None
        if self._finish is None:
            error = (
                "the stream ended before the model finished: no chunk carried a "
                "finish_reason (its tool calls, if any, may be cut)"
            )
        self._end(run, out, error)

    # -- inside -------------------------------------------------------------------

    def _keep(self, fragment: Fragment) -> None:
        """Add a fragment to its call, as the table keys them (see ``RunTable.chunk``)."""
        index, call_id, name, args = fragment
        calls = self._calls
        if index is None:
            found = next((c.index for c in calls.values() if call_id and c.id == call_id), None)
            if found is None:
                if call_id is None and name is None and self._last_call is not None:
                    found = self._last_call
                else:
                    found = max(calls, default=-1) + 1
            index = found
        call = calls.get(index)
        if call is None:
            call = calls[index] = _Call(index)
        if call_id and not call.id:
            call.id = call_id
        if name and not call.name:
            call.name = name
        if args:
            call.args.append(args)
        self._last_call = index

    def _message(self) -> Any:
        """The final message, as ``ChatOpenAI`` builds it from the same stream."""
        from langchain_core.messages import AIMessage, AIMessageChunk

        run = self._run
        assert run is not None
        content = "".join(self._text)
        gathered = AIMessageChunk(
            content=content,
            tool_call_chunks=[
                {
                    "name": call.name,
                    "args": "".join(call.args),
                    "id": call.id,
                    "index": call.index,
                    "type": "tool_call_chunk",
                }
                for call in sorted(self._calls.values(), key=lambda c: c.index)
            ],
        )
        extra: dict[str, Any] = {}
        if self._reasoning:
            extra["reasoning_content"] = "".join(self._reasoning)
        if self._refusal:
            extra["refusal"] = "".join(self._refusal)
        metadata: dict[str, Any] = {"finish_reason": self._finish, "model_name": self._model}
        if self._fingerprint is not None:
            metadata["system_fingerprint"] = self._fingerprint
        return AIMessage(
            content=content,
            id=run.run_id,
            tool_calls=gathered.tool_calls,
            invalid_tool_calls=gathered.invalid_tool_calls,
            additional_kwargs=extra,
            response_metadata=metadata,
            usage_metadata=self._usage[1] if self._usage is not None else None,
        )

    def _end(self, run: Run, out: list[Event], error: str | None) -> None:
        message = self._message()
        usage = self._usage[0] if self._usage is not None else None
        model = ModelEnd(message, [], final_calls(message), usage)
        self._run = None
        self._ended = True
        self.table.end(run, out, output=message, error=error, model=model)

    def _error(self, error: Any, out: list[Event]) -> None:
        """An error object in the stream: the run ends with its message."""
        message = _get(error, "message") if not isinstance(error, str) else error
        text = message if isinstance(message, str) and message else describe(error)
        run = self._run
        if run is None:
            raise Problem(f"the stream reports an error: {text}")
        self._end(run, out, f"the server reported an error mid-stream: {text}")
