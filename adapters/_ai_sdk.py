"""The AI SDK's UI message stream (protocol v1) from any normalized stream (sans-IO).

How the AI SDK spells ``_ui``'s parts. Every chunk is a dict in wire form, accepted in
the tests by the ``ai`` package's own parser (``parseJsonEventStream`` with its chunk
schema) and rebuilt by ``readUIMessageStream``. Over HTTP the chunks are SSE ``data:``
lines, the response carries ``x-vercel-ai-ui-message-stream: v1`` and the stream ends
with ``data: [DONE]`` (see ``_starlette``). Optional fields are left out.

=================================  ====================================================
what (see ``_ui``)                 UI message chunks
=================================  ====================================================
the stream begins                  ``start`` (``messageId`` when given)
a model turn that shows something  ``start-step`` … ``finish-step``
its text                           ``text-start``, ``text-delta`` …, ``text-end``
reasoning                          ``reasoning-start``, ``reasoning-delta`` …,
                                   ``reasoning-end``
a tool call                        ``tool-input-start``, ``tool-input-delta`` …,
                                   ``tool-input-available`` (``input``: the parsed
                                   arguments) or ``tool-input-error``
tool progress                      ``tool-output-available`` with ``preliminary: true``
                                   (``output``: the text so far)
its result                         ``tool-output-available`` / ``tool-output-error``
a custom event                     ``data-<name>`` (``data``)
completed                          ``finish`` (``finishReason`` ``"stop"``, or
                                   ``"tool-calls"`` with calls left unanswered)
cancelled                          ``abort``
failed                             ``error`` with a safe ``errorText``
=================================  ====================================================

The whole response is one assistant ``UIMessage``: its parts are the turns' text,
reasoning and tool parts in order. Tool parts are static (``tool-<name>``): the
server's tool names are fixed, which is what ``useChat`` apps switch on. Preliminary
output replaces the part's ``output`` each time (the protocol has no delta for it), so
its size grows with the tool's inner text: the text of each inner model run so far,
runs apart by a blank line.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Iterable
from typing import Any

from eventstream.adapters._protocol import ProtocolStream
from eventstream.adapters._ui import Call, Message, UIProtocol

from eventstream import AnswerReader, Event, Selector, Token

__all__ = ["UI_MESSAGE_STREAM_HEADERS", "UIMessageStreamProtocol", "to_ui_message_stream"]

UI_MESSAGE_STREAM_HEADERS: dict[str, str] = {"x-vercel-ai-ui-message-stream": "v1"}
"""The header that tells ``useChat`` the body is a UI message stream (protocol v1)."""


class UIMessageStreamProtocol(UIProtocol):
    """Normalized events in, UI message chunks out: ``feed(event) -> list[dict]``.

    ``message_id``: the assistant message's id for the ``start`` chunk (``None``: the
    client makes one). ``answer``: which tokens are the assistant's text (see ``_ui``).
    """

    protocol_name = "the UI message stream"
    trailer: str | None = "[DONE]"

    def __init__(
        self, *, message_id: str | None = None, answer: Selector | AnswerReader | None = None
    ) -> None:
        super().__init__(answer=answer)
        self.message_id = message_id

    def _on_begin(self, out: list[Message]) -> None:
        start: Message = {"type": "start"}
        if self.message_id is not None:
            start["messageId"] = self.message_id
        out.append(start)

    def _on_close(self, out: list[Message], unanswered: list[str]) -> None:
        out.append({"type": "finish", "finishReason": "tool-calls" if unanswered else "stop"})

    def _on_fail(self, out: list[Message], message: str) -> None:
        out.append({"type": "error", "errorText": message})

    def _on_cancel(self, out: list[Message], message: str) -> None:
        out.append({"type": "abort", "reason": message})

    def _on_step_start(self, out: list[Message]) -> None:
        out.append({"type": "start-step"})

    def _on_step_finish(self, out: list[Message]) -> None:
        out.append({"type": "finish-step"})

    def _on_text_start(self, out: list[Message], part: str) -> None:
        out.append({"type": "text-start", "id": part})

    def _on_text_delta(self, out: list[Message], part: str, text: str) -> None:
        out.append({"type": "text-delta", "id": part, "delta": text})

    def _on_text_end(self, out: list[Message], part: str) -> None:
        out.append({"type": "text-end", "id": part})

    def _on_reasoning_start(self, out: list[Message], part: str) -> None:
        out.append({"type": "reasoning-start", "id": part})

    def _on_reasoning_delta(self, out: list[Message], part: str, text: str) -> None:
        out.append({"type": "reasoning-delta", "id": part, "delta": text})

    def _on_reasoning_end(self, out: list[Message], part: str) -> None:
        out.append({"type": "reasoning-end", "id": part})

    def _on_tool_start(self, out: list[Message], call: Call) -> None:
        out.append({"type": "tool-input-start", "toolCallId": call.id, "toolName": call.name})

    def _on_tool_args(self, out: list[Message], call: Call, delta: str) -> None:
        out.append({"type": "tool-input-delta", "toolCallId": call.id, "inputTextDelta": delta})

    def _on_tool_input(self, out: list[Message], call: Call, args: Any, error: str | None) -> None:
        if error is None:
            out.append(
                {
                    "type": "tool-input-available",
                    "toolCallId": call.id,
                    "toolName": call.name,
                    "input": args,
                }
            )
        else:
            out.append(
                {
                    "type": "tool-input-error",
                    "toolCallId": call.id,
                    "toolName": call.name,
                    "input": args,
                    "errorText": error,
                }
            )

    def _on_tool_progress(self, out: list[Message], call: Call, token: Token, first: bool) -> None:
        assert call.progress is not None
        output = "\n\n".join("".join(texts) for texts in call.progress.values())
        out.append(
            {
                "type": "tool-output-available",
                "toolCallId": call.id,
                "output": output,
                "preliminary": True,
            }
        )

    def _on_tool_output(self, out: list[Message], call: Call, output: Any, message: str) -> None:
        out.append({"type": "tool-output-available", "toolCallId": call.id, "output": output})

    def _on_tool_error(self, out: list[Message], call: Call, error: str, message: str) -> None:
        out.append({"type": "tool-output-error", "toolCallId": call.id, "errorText": error})

    def _on_custom(self, out: list[Message], name: str, data: Any) -> None:
        out.append({"type": f"data-{name}", "data": data})


def to_ui_message_stream(
    events: Iterable[Event] | AsyncIterable[Event],
    *,
    message_id: str | None = None,
    answer: Selector | AnswerReader | None = None,
) -> ProtocolStream[dict[str, Any]]:
    """AI SDK UI message chunks (dicts) for a normalized stream; iterate the result as the
    stream iterates (``for`` or ``async for``).

    ``message_id``: the assistant message's id (``None``: the client makes one).
    ``answer``: the tokens that are the assistant's text; required on sources without
    ancestry (``astream_events`` v1, ``astream_log``). When the source raises, an
    ``error`` chunk (with a safe message) comes first, then the exception.
    """
    return ProtocolStream(
        events, lambda: UIMessageStreamProtocol(message_id=message_id, answer=answer)
    )
