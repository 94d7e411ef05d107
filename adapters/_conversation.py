"""The conversation a client sends, as LangChain messages: AG-UI and AI SDK in (sans-IO).

A UI sends the whole conversation with each request: AG-UI a ``RunAgentInput``
(``messages``), the AI SDK's ``useChat`` a list of ``UIMessage`` objects. Both become
the LangChain messages an agent takes as ``{"messages": [...]}``: text, media parts as
LangChain's standard content blocks, tool calls (``AIMessage.tool_calls``, or
``invalid_tool_calls`` for arguments that are not a JSON object) and their results
(``ToolMessage``, ``status="error"`` for an error). Message ids are kept, so a
conversation streamed by this package and sent back names its messages as LangChain's
history does.

Left out, because they are not conversation content: AG-UI ``activity`` messages
(tool progress, see ``_agui``) and ``reasoning`` messages; AI SDK ``reasoning``,
``source-*`` and ``data-*`` parts. An AI SDK assistant message spans several model
turns: it is split at its ``step-start`` parts into one ``AIMessage`` per turn
(ids ``<id>``, ``<id>-2`` …), each followed by the ``ToolMessage`` of every call of that
turn that has an outcome. Both accept plain JSON (dicts, as a request body parses)
or pydantic models (dumped by alias). Anything malformed raises
:class:`ConversationError`, naming where (``messages[2].parts[0].type``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)

from eventstream import EventStreamError

__all__ = ["ConversationError", "messages_from_ag_ui", "messages_from_ui_messages"]


class ConversationError(EventStreamError, ValueError):
    """A conversation sent by a client is malformed; ``path`` says where."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path


def _plain(value: Any) -> Any:
    dump = getattr(value, "model_dump", None)
    return dump(by_alias=True, exclude_none=True) if callable(dump) else value


def _object(value: Any, path: str) -> Mapping[str, Any]:
    value = _plain(value)
    if not isinstance(value, Mapping):
        raise ConversationError(path, f"expected an object, got {type(value).__name__}")
    return value


def _list(value: Any, path: str) -> list[Any]:
    if not isinstance(value, (list, tuple)):
        raise ConversationError(path, f"expected a list, got {type(value).__name__}")
    return list(value)


def _string(data: Mapping[str, Any], key: str, path: str, *, optional: bool = False) -> Any:
    value = data.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, str):
        found = "nothing" if value is None else type(value).__name__
        raise ConversationError(f"{path}.{key}", f"expected a string, got {found}")
    return value


def _args(text: str) -> tuple[dict[str, Any] | None, str | None]:
    """Tool call arguments parsed from their JSON text, or why they do not parse."""
    try:
        value = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError as exc:
        return None, f"the arguments are not valid JSON: {exc}"
    if not isinstance(value, dict):
        return None, f"the arguments are JSON {type(value).__name__}, not an object"
    return value, None


def _ai_message(mid: str | None, text: str, calls: list[tuple[str, str, str]]) -> AIMessage:
    tool_calls: list[dict[str, Any]] = []
    invalid: list[dict[str, Any]] = []
    for call_id, name, arguments in calls:
        args, error = _args(arguments)
        if args is not None:
            tool_calls.append({"name": name, "args": args, "id": call_id, "type": "tool_call"})
        else:
            invalid.append(
                {
                    "name": name,
                    "args": arguments,
                    "id": call_id,
                    "error": error,
                    "type": "invalid_tool_call",
                }
            )
    return AIMessage(content=text, tool_calls=tool_calls, invalid_tool_calls=invalid, id=mid)


def _media(kind: str, source: Mapping[str, Any], path: str) -> dict[str, Any]:
    """An AG-UI media part's source as a LangChain standard content block."""
    block: dict[str, Any] = {"type": {"document": "file"}.get(kind, kind)}
    where = _string(source, "type", path)
    value = _string(source, "value", path)
    key = {"url": "url", "data": "base64", "file": "file_id"}.get(where)
    if key is None:
        raise ConversationError(f"{path}.type", f"unknown source {where!r}: url, data or file")
    block[key] = value
    mime = source.get("mimeType")
    if isinstance(mime, str):
        block["mime_type"] = mime
    return block


def _ag_ui_content(content: Any, path: str) -> str | list[Any]:
    if isinstance(content, str):
        return content
    blocks: list[Any] = []
    for i, raw in enumerate(_list(content, path)):
        part = _object(raw, f"{path}[{i}]")
        kind = _string(part, "type", f"{path}[{i}]")
        if kind == "text":
            blocks.append({"type": "text", "text": _string(part, "text", f"{path}[{i}]")})
        elif kind in ("image", "audio", "video", "document"):
            source = _object(part.get("source"), f"{path}[{i}].source")
            blocks.append(_media(kind, source, f"{path}[{i}].source"))
        else:
            raise ConversationError(f"{path}[{i}].type", f"unknown content part {kind!r}")
    return blocks


def messages_from_ag_ui(run_input: Any) -> list[BaseMessage]:
    """The LangChain messages of an AG-UI ``RunAgentInput`` (or of its ``messages``)."""
    data = _plain(run_input)
    raw = data.get("messages") if isinstance(data, Mapping) else data
    out: list[BaseMessage] = []
    for i, item in enumerate(_list(raw, "messages")):
        path = f"messages[{i}]"
        message = _object(item, path)
        role = _string(message, "role", path)
        mid = _string(message, "id", path)
        if role == "user":
            content = _ag_ui_content(message.get("content"), f"{path}.content")
            out.append(HumanMessage(content=content, id=mid))
        elif role in ("system", "developer"):
            out.append(SystemMessage(content=_string(message, "content", path), id=mid))
        elif role == "assistant":
            text = _string(message, "content", path, optional=True) or ""
            calls = []
            for j, raw_call in enumerate(
                _list(message.get("toolCalls") or [], f"{path}.toolCalls")
            ):
                where = f"{path}.toolCalls[{j}]"
                call = _object(raw_call, where)
                function = _object(call.get("function"), f"{where}.function")
                calls.append(
                    (
                        _string(call, "id", where),
                        _string(function, "name", f"{where}.function"),
                        _string(function, "arguments", f"{where}.function"),
                    )
                )
            out.append(_ai_message(mid, text, calls))
        elif role == "tool":
            content = _ag_ui_content(message.get("content"), f"{path}.content")
            error = _string(message, "error", path, optional=True)
            out.append(
                ToolMessage(
                    content=content,
                    tool_call_id=_string(message, "toolCallId", path),
                    status="error" if error is not None else "success",
                    id=mid,
                )
            )
        elif role not in ("activity", "reasoning"):
            raise ConversationError(
                f"{path}.role",
                f"unknown role {role!r}: user, system, developer, assistant, tool, "
                f"activity or reasoning",
            )
    return out


def _file_block(part: Mapping[str, Any], path: str) -> dict[str, Any]:
    media_type = _string(part, "mediaType", path)
    url = _string(part, "url", path)
    major = media_type.split("/", 1)[0]
    block: dict[str, Any] = {"type": major if major in ("image", "audio", "video") else "file"}
    if url.startswith("data:") and ";base64," in url:
        block["base64"] = url.split(";base64,", 1)[1]
    else:
        block["url"] = url
    block["mime_type"] = media_type
    return block


def _tool_name(part: Mapping[str, Any], kind: str, path: str) -> str:
    if kind == "dynamic-tool":
        name: str = _string(part, "toolName", path)
        return name
    return kind.removeprefix("tool-")


def _outcome(part: Mapping[str, Any], call_id: str, path: str) -> ToolMessage | None:
    state = part.get("state")
    if state == "output-available":
        output = part.get("output")
        content = output if isinstance(output, str) else json.dumps(output, ensure_ascii=False)
        return ToolMessage(content=content, tool_call_id=call_id)
    if state == "output-error":
        text = _string(part, "errorText", path)
        return ToolMessage(content=text, tool_call_id=call_id, status="error")
    if state == "output-denied":
        return ToolMessage(
            content="the user denied this call", tool_call_id=call_id, status="error"
        )
    return None


def _assistant_turns(message: Mapping[str, Any], mid: str, path: str) -> list[BaseMessage]:
    out: list[BaseMessage] = []
    texts: list[str] = []
    calls: list[tuple[str, str, str]] = []
    results: list[ToolMessage] = []

    def flush() -> None:
        if texts or calls:
            turn = mid if not out else f"{mid}-{sum(isinstance(m, AIMessage) for m in out) + 1}"
            out.append(_ai_message(turn, "".join(texts), calls))
            out.extend(results)
        texts.clear()
        calls.clear()
        results.clear()

    for i, raw in enumerate(_list(message.get("parts"), f"{path}.parts")):
        where = f"{path}.parts[{i}]"
        part = _object(raw, where)
        kind = _string(part, "type", where)
        if kind == "step-start":
            flush()
        elif kind == "text":
            texts.append(_string(part, "text", where))
        elif kind.startswith("tool-") or kind == "dynamic-tool":
            if part.get("state") == "input-streaming":
                continue
            call_id = _string(part, "toolCallId", where)
            arguments = json.dumps(part.get("input") or {}, ensure_ascii=False)
            if part.get("state") == "output-error" and "input" not in part:
                arguments = str(part.get("rawInput") or "{}")
            calls.append((call_id, _tool_name(part, kind, where), arguments))
            result = _outcome(part, call_id, where)
            if result is not None:
                results.append(result)
        elif kind not in ("reasoning", "source-url", "source-document", "file") and not (
            kind.startswith("data-")
        ):
            raise ConversationError(f"{where}.type", f"unknown part type {kind!r}")
    flush()
    return out


def messages_from_ui_messages(messages: Iterable[Any]) -> list[BaseMessage]:
    """The LangChain messages of an AI SDK ``UIMessage`` list (``useChat``'s ``messages``)."""
    out: list[BaseMessage] = []
    for i, item in enumerate(_list(_plain(messages), "messages")):
        path = f"messages[{i}]"
        message = _object(item, path)
        role = _string(message, "role", path)
        mid = _string(message, "id", path)
        if role == "assistant":
            out.extend(_assistant_turns(message, mid, path))
            continue
        blocks: list[Any] = []
        for j, raw in enumerate(_list(message.get("parts"), f"{path}.parts")):
            where = f"{path}.parts[{j}]"
            part = _object(raw, where)
            kind = _string(part, "type", where)
            if kind == "text":
                blocks.append({"type": "text", "text": _string(part, "text", where)})
            elif kind == "file":
                blocks.append(_file_block(part, where))
            elif kind not in ("step-start", "reasoning") and not kind.startswith("data-"):
                raise ConversationError(f"{where}.type", f"unknown part type {kind!r}")
        text_only = all(block["type"] == "text" for block in blocks)
        content: str | list[Any] = (
            "".join(block["text"] for block in blocks) if text_only else blocks
        )
        if role == "user":
            out.append(HumanMessage(content=content, id=mid))
        elif role == "system":
            out.append(SystemMessage(content=content, id=mid))
        else:
            raise ConversationError(
                f"{path}.role", f"unknown role {role!r}: system, user or assistant"
            )
    return out
