"""Reading LangChain values, in any form a stream or a recording carries them, into
plain typed values.

A message chunk arrives as an object (``AIMessageChunk``), as LangChain's serialized
form (``{"lc": 1, "type": "constructor", "id": [...], "kwargs": {...}}``) or as a plain
dict (``model_dump()``). Content is a string or a list of content blocks. Tool-call
fragments are ``tool_call_chunks`` or, in logs of older LangChain versions, OpenAI's
``additional_kwargs["tool_calls"]`` deltas (or the even older ``function_call``).

Contract: each reader returns typed values or raises :class:`~eventstream._errors.Problem`
naming the field that has the wrong type (``tool_call_chunks[0].args: expected a
string, got int 7``); it never changes what it reads. What is legitimately absent or of
a kind we do not stream (an image block, a tool-use block) reads as nothing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Literal, NamedTuple

from eventstream._errors import Problem, describe
from eventstream._events import Usage

__all__ = [
    "FinalCall",
    "Fragment",
    "Piece",
    "as_int",
    "as_list",
    "as_str",
    "content_pieces",
    "fields_of",
    "final_calls",
    "final_message",
    "fragments_of",
    "llm_text",
    "message_content",
    "parse_args",
    "tool_message",
    "usage_of",
]

TextKind = Literal["text", "reasoning"]
Piece = tuple[str, TextKind]
"""``(text, kind)``: one piece of streamed text."""


Fragment = tuple[int | None, str | None, str | None, str]
"""``(index, id, name, args)`` of one streamed tool-call fragment, as the provider sent
it: ``index`` says which call of the message it belongs to (``None`` when the provider
gave none), ``args`` is a piece of the arguments' JSON text (``""`` when none)."""


class FinalCall(NamedTuple):
    """A complete tool call, as LangChain will execute it (or reject it)."""

    id: str | None
    name: str
    args: dict[str, Any]
    args_text: str
    error: str | None


def fields_of(value: Any) -> Mapping[str, Any] | None:
    """The fields of a serialized LangChain object or plain dict; None for objects."""
    if isinstance(value, Mapping):
        if value.get("lc") == 1 and isinstance(value.get("kwargs"), Mapping):
            kwargs: Mapping[str, Any] = value["kwargs"]
            return kwargs
        return value
    return None


def _get(value: Any, key: str, default: Any = None) -> Any:
    fields = fields_of(value)
    if fields is not None:
        return fields.get(key, default)
    return getattr(value, key, default)


def as_str(value: Any, where: str) -> str | None:
    """A string or None; anything else is a problem at ``where``."""
    if value is None or type(value) is str:
        return value
    if isinstance(value, str):
        return str(value)
    raise Problem(f"{where}: expected a string, got {describe(value)}")


def as_int(value: Any, where: str) -> int | None:
    if value is None or (type(value) is int):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value)
    raise Problem(f"{where}: expected an integer, got {describe(value)}")


def as_list(value: Any, where: str) -> Sequence[Any]:
    if value is None:
        return ()
    if isinstance(value, list | tuple):
        return value
    raise Problem(f"{where}: expected a list, got {describe(value)}")


# -- content --------------------------------------------------------------------------


def content_pieces(content: Any, where: str = "content") -> list[Piece]:
    """``(text, kind)`` pieces of a message's content: a string or content blocks."""
    if isinstance(content, str):
        return [(content, "text")] if content else []
    if content is None:
        return []
    pieces: list[Piece] = []
    for number, block in enumerate(as_list(content, where)):
        if isinstance(block, str):
            if block:
                pieces.append((block, "text"))
            continue
        if not isinstance(block, Mapping):
            raise Problem(
                f"{where}[{number}]: expected a string or a block dict, got {describe(block)}"
            )
        kind = block.get("type")
        at = f"{where}[{number}]"
        if kind == "text":
            _add(pieces, as_str(block.get("text"), f"{at}.text"), "text")
        elif kind == "reasoning":
            # LangChain's standard block; OpenAI's Responses API sends a summary list.
            _add(pieces, as_str(block.get("reasoning"), f"{at}.reasoning"), "reasoning")
            for part_number, part in enumerate(as_list(block.get("summary"), f"{at}.summary")):
                if not isinstance(part, Mapping):
                    raise Problem(
                        f"{at}.summary[{part_number}]: expected a dict, got {describe(part)}"
                    )
                text = as_str(part.get("text"), f"{at}.summary[{part_number}].text")
                _add(pieces, text, "reasoning")
        elif kind == "thinking":
            _add(pieces, as_str(block.get("thinking"), f"{at}.thinking"), "reasoning")
        # Other blocks (images, tool use, citations …) carry no streamed text.
    return pieces


def _add(pieces: list[Piece], text: str | None, kind: TextKind) -> None:
    if text:
        pieces.append((text, kind))


def message_content(message: Any) -> Any:
    """The ``content`` of a message, or the ``text`` of an LLM generation chunk."""
    if isinstance(message, str):
        return message
    fields = fields_of(message)
    if fields is not None:
        content = fields.get("content")
        return fields.get("text") if content is None else content
    content = getattr(message, "content", None)
    return getattr(message, "text", None) if content is None else content


# -- tool-call fragments -------------------------------------------------------------


def fragments_of(message: Any) -> list[Fragment]:
    """The tool-call fragments a message chunk carries, in the order given."""
    chunks = _get(message, "tool_call_chunks")
    if chunks:
        fragments = []
        for number, chunk in enumerate(as_list(chunks, "tool_call_chunks")):
            at = f"tool_call_chunks[{number}]"
            if not isinstance(chunk, Mapping):
                raise Problem(f"{at}: expected a dict, got {describe(chunk)}")
            fragments.append(
                (
                    as_int(chunk.get("index"), f"{at}.index"),
                    as_str(chunk.get("id"), f"{at}.id"),
                    as_str(chunk.get("name"), f"{at}.name"),
                    as_str(chunk.get("args"), f"{at}.args") or "",
                )
            )
        return fragments
    extra = _get(message, "additional_kwargs")
    if not isinstance(extra, Mapping):
        return []
    raw = extra.get("tool_calls")
    if raw:
        fragments = []
        for number, call in enumerate(as_list(raw, "additional_kwargs.tool_calls")):
            at = f"additional_kwargs.tool_calls[{number}]"
            if not isinstance(call, Mapping):
                raise Problem(f"{at}: expected a dict, got {describe(call)}")
            function = call.get("function") or {}
            if not isinstance(function, Mapping):
                raise Problem(f"{at}.function: expected a dict, got {describe(function)}")
            fragments.append(
                (
                    as_int(call.get("index"), f"{at}.index"),
                    as_str(call.get("id"), f"{at}.id"),
                    as_str(function.get("name"), f"{at}.function.name"),
                    as_str(function.get("arguments"), f"{at}.function.arguments") or "",
                )
            )
        return fragments
    function_call = extra.get("function_call")
    if isinstance(function_call, Mapping):
        at = "additional_kwargs.function_call"
        return [
            (
                0,
                None,
                as_str(function_call.get("name"), f"{at}.name"),
                as_str(function_call.get("arguments"), f"{at}.arguments") or "",
            )
        ]
    return []


# -- a model's end ---------------------------------------------------------------------


def final_message(output: Any) -> Any:
    """The message of a chat model's end output: a message, or an LLMResult-like dict
    (``{"generations": [[{"message": ...}]]}``, as v1 and ``astream_log`` give it)."""
    generations = _get(output, "generations")
    if isinstance(generations, Sequence) and not isinstance(generations, str):
        for generation_list in generations:
            if isinstance(generation_list, Sequence):
                for generation in generation_list:
                    return _get(generation, "message")
        return None
    return output


def llm_text(output: Any) -> str | None:
    """The text of an LLM's output: a string, a generation, or an LLMResult-like dict."""
    if isinstance(output, str):
        return output
    generations = _get(output, "generations")
    if isinstance(generations, Sequence) and not isinstance(generations, str):
        texts = [
            _get(generation, "text") or ""
            for generation_list in generations
            if isinstance(generation_list, Sequence)
            for generation in generation_list[:1]
        ]
        return "".join(t for t in texts if isinstance(t, str))
    text = _get(output, "text")
    return text if isinstance(text, str) else None


def final_calls(message: Any) -> list[FinalCall] | None:
    """The tool calls of a final message as LangChain parsed them (``tool_calls``, then
    ``invalid_tool_calls``), or OpenAI's raw calls in ``additional_kwargs`` on older
    messages; ``None`` when the message carries no tool-call field at all."""
    if message is None or isinstance(message, str):
        return None
    tool_calls = _get(message, "tool_calls")
    invalid = _get(message, "invalid_tool_calls")
    if tool_calls is None and invalid is None:
        extra = _get(message, "additional_kwargs")
        raw = extra.get("tool_calls") if isinstance(extra, Mapping) else None
        if not raw:
            return None
        calls = []
        for call in as_list(raw, "additional_kwargs.tool_calls"):
            if isinstance(call, Mapping):
                function = call.get("function")
                function = function if isinstance(function, Mapping) else {}
                text = function.get("arguments")
                text = text if isinstance(text, str) else ""
                args, error = parse_args(text)
                name = function.get("name")
                calls.append(
                    FinalCall(
                        _id(call.get("id")),
                        name if isinstance(name, str) else "",
                        args,
                        text,
                        error,
                    )
                )
        return calls
    calls = []
    for number, call in enumerate(as_list(tool_calls, "tool_calls")):
        at = f"tool_calls[{number}]"
        args = _get(call, "args")
        if args is None:
            args = {}
        if not isinstance(args, Mapping):
            raise Problem(f"{at}.args: expected a dict, got {describe(args)}")
        args = dict(args)
        calls.append(
            FinalCall(
                as_str(_get(call, "id"), f"{at}.id"),
                as_str(_get(call, "name"), f"{at}.name") or "",
                args,
                json.dumps(args, default=str),
                None,
            )
        )
    for number, call in enumerate(as_list(invalid, "invalid_tool_calls")):
        at = f"invalid_tool_calls[{number}]"
        text = as_str(_get(call, "args"), f"{at}.args") or ""
        error = _get(call, "error")
        reason = parse_args(text)[1] or "LangChain could not parse the arguments"
        calls.append(
            FinalCall(
                as_str(_get(call, "id"), f"{at}.id"),
                as_str(_get(call, "name"), f"{at}.name") or "",
                {},
                text,
                error if isinstance(error, str) and error else reason,
            )
        )
    return calls


def _id(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def parse_args(args_text: str) -> tuple[dict[str, Any], str | None]:
    """Tool-call arguments as LangChain parses a streamed call: ``json.loads``, else
    the partial parse (``parse_partial_json``: a cut-off ``{"city": "Par`` runs as
    ``{"city": "Par"}``). ``(args, None)``, or ``({}, why it is invalid)``."""
    if not args_text:
        return {}, None
    from langchain_core.utils.json import parse_partial_json

    try:
        value = parse_partial_json(args_text)
    except Exception as exc:  # LangChain marks such a call invalid, whatever the error
        return {}, f"arguments are not valid JSON: {type(exc).__name__}: {exc}"
    if value is None:
        return {}, f"arguments are not valid JSON: {args_text[:80]!r}"
    if not isinstance(value, dict):
        return {}, f"arguments are JSON but not an object: {args_text[:80]!r}"
    return value, None


def usage_of(message: Any) -> Usage | None:
    """A message's ``usage_metadata`` as :class:`Usage`; ``None`` when it has none."""
    usage = _get(message, "usage_metadata")
    if not isinstance(usage, Mapping):
        return None
    counts: list[int] = []
    for key in ("input_tokens", "output_tokens", "total_tokens"):
        count = usage.get(key)
        if not isinstance(count, int) or isinstance(count, bool):
            return None
        counts.append(count)
    return Usage(input_tokens=counts[0], output_tokens=counts[1], total_tokens=counts[2])


def tool_message(output: Any) -> tuple[bool, Any, str | None, str | None]:
    """Read a tool's output: ``(is_tool_message, content, tool_call_id, error)``.

    A ``ToolMessage`` (object or serialized) gives its content and id, and an error
    when its ``status`` is ``"error"``; any other output is returned as it is.
    """
    fields = fields_of(output)
    if fields is not None:
        is_message = fields.get("type") == "tool" or (
            output.get("lc") == 1 and list(output.get("id") or ())[-1:] == ["ToolMessage"]
        )
        if not is_message or "tool_call_id" not in fields:
            return False, output, None, None
        content, call_id, status = (
            fields.get("content"),
            fields.get("tool_call_id"),
            fields.get("status"),
        )
    else:
        if getattr(output, "type", None) != "tool" or not hasattr(output, "tool_call_id"):
            return False, output, None, None
        content, call_id, status = output.content, output.tool_call_id, output.status
    if not isinstance(call_id, str):
        call_id = None
    error = None
    if status == "error":
        error = content if isinstance(content, str) else json.dumps(content, default=str)
    return True, content, call_id, error
