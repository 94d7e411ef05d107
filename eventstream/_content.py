"""Reading LangChain values in any of the forms a stream or a recording carries them.

A message chunk arrives as an object (``AIMessageChunk``), as LangChain's serialized
form (``{"lc": 1, "type": "constructor", "id": [...], "kwargs": {...}}``) or as a plain
dict (``model_dump()``). Content is a string or a list of content blocks. Tool-call
fragments are ``tool_call_chunks`` or, in logs of older LangChain versions, OpenAI's
``additional_kwargs["tool_calls"]`` deltas (or the even older ``function_call``).
These functions read all of them and return plain values; they never raise on odd
shapes, they return nothing for what they cannot read.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "Fragment",
    "content_pieces",
    "fields_of",
    "final_message",
    "fragments_of",
    "llm_text",
    "parse_args",
    "tool_calls_of",
    "tool_message",
]

# (index, id, name, args) of one streamed tool-call fragment; index None = unknown.
Fragment = tuple[int | None, str | None, str | None, str]


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


def content_pieces(content: Any) -> list[tuple[str, str]]:
    """``(text, kind)`` pairs of a message's content; kind is "text" or "reasoning"."""
    if isinstance(content, str):
        return [(content, "text")] if content else []
    pieces: list[tuple[str, str]] = []
    if not isinstance(content, Sequence):
        return pieces
    for block in content:
        if isinstance(block, str):
            if block:
                pieces.append((block, "text"))
            continue
        if not isinstance(block, Mapping):
            continue
        kind = block.get("type")
        if kind == "text":
            _add(pieces, block.get("text"), "text")
        elif kind == "reasoning":
            # LangChain's standard block; OpenAI's Responses API sends a summary list.
            _add(pieces, block.get("reasoning"), "reasoning")
            for part in block.get("summary") or ():
                if isinstance(part, Mapping):
                    _add(pieces, part.get("text"), "reasoning")
        elif kind == "thinking":
            _add(pieces, block.get("thinking"), "reasoning")
    return pieces


def _add(pieces: list[tuple[str, str]], text: Any, kind: str) -> None:
    if isinstance(text, str) and text:
        pieces.append((text, kind))


def fragments_of(message: Any) -> list[Fragment]:
    """The tool-call fragments a message chunk carries, in the order given."""
    chunks = _get(message, "tool_call_chunks")
    if chunks:
        return [
            (
                _int_or_none(_get(c, "index")),
                _get(c, "id"),
                _get(c, "name"),
                _get(c, "args") or "",
            )
            for c in chunks
            if isinstance(c, Mapping)
        ]
    extra = _get(message, "additional_kwargs")
    if not isinstance(extra, Mapping):
        return []
    raw = extra.get("tool_calls")
    if raw:
        fragments: list[Fragment] = []
        for call in raw:
            if not isinstance(call, Mapping):
                continue
            function = call.get("function") or {}
            fragments.append(
                (
                    _int_or_none(call.get("index")),
                    call.get("id"),
                    function.get("name"),
                    function.get("arguments") or "",
                )
            )
        return fragments
    function_call = extra.get("function_call")
    if isinstance(function_call, Mapping):
        return [(0, None, function_call.get("name"), function_call.get("arguments") or "")]
    return []


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) else None


def final_message(output: Any) -> Any:
    """The message of a chat model's end output: a message, or an LLMResult-like dict
    (``{"generations": [[{"message": ...}]]}``, as v1 and ``astream_log`` give it)."""
    generations = _get(output, "generations")
    if isinstance(generations, Sequence) and not isinstance(generations, str):
        for generation_list in generations:
            if isinstance(generation_list, Sequence):
                for generation in generation_list:
                    message = _get(generation, "message")
                    if message is not None:
                        return message
                    return None
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


def tool_calls_of(message: Any) -> list[tuple[str | None, str, str]]:
    """``(id, name, args_text)`` of the complete tool calls on a final message."""
    calls: list[tuple[str | None, str, str]] = []
    for call in _get(message, "tool_calls") or ():
        args = _get(call, "args")
        calls.append((_get(call, "id"), _get(call, "name") or "", json.dumps(args or {})))
    for call in _get(message, "invalid_tool_calls") or ():
        calls.append((_get(call, "id"), _get(call, "name") or "", _get(call, "args") or ""))
    if not calls:
        # Older messages keep OpenAI's raw calls in additional_kwargs only.
        extra = _get(message, "additional_kwargs")
        raw = extra.get("tool_calls") if isinstance(extra, Mapping) else None
        for call in raw or ():
            if isinstance(call, Mapping):
                function = call.get("function") or {}
                calls.append(
                    (call.get("id"), function.get("name") or "", function.get("arguments") or "")
                )
    return calls


def parse_args(args_text: str) -> tuple[dict[str, Any], str | None]:
    """Parse tool-call arguments: ``(args, None)``, or ``({}, why it failed)``."""
    if not args_text.strip():
        return {}, None
    try:
        value = json.loads(args_text)
    except ValueError as exc:
        return {}, f"arguments are not valid JSON: {exc}"
    if not isinstance(value, dict):
        return {}, f"arguments are JSON but not an object: {args_text[:80]!r}"
    return value, None


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
    error = None
    if status == "error":
        error = content if isinstance(content, str) else json.dumps(content, default=str)
    return True, content, call_id, error
