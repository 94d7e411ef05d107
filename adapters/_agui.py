"""AG-UI 1.0 events from any normalized stream (sans-IO): how AG-UI spells ``_ui``'s parts.

Every message is a dict in wire form (camelCase keys), validated in the tests by the
official ``ag-ui-protocol`` models and replayed through ``@ag-ui/client``'s
``HttpAgent`` (its ``verifyEvents`` checks every ordering rule). Optional fields are
left out, never ``null``: the client rejects ``null``.

=================================  ====================================================
what (see ``_ui``)                 AG-UI events
=================================  ====================================================
the stream begins                  ``RUN_STARTED`` (``threadId``, ``runId``,
                                   ``protocolVersion`` "1.0")
a model turn's text                ``TEXT_MESSAGE_START`` (role assistant),
                                   ``TEXT_MESSAGE_CONTENT`` …, ``TEXT_MESSAGE_END``
reasoning                          ``REASONING_START``, ``REASONING_MESSAGE_START``,
                                   ``REASONING_MESSAGE_CONTENT`` …,
                                   ``REASONING_MESSAGE_END``, ``REASONING_END``
a tool call                        ``TOOL_CALL_START`` (``parentMessageId``: the turn's
                                   message), ``TOOL_CALL_ARGS`` …, ``TOOL_CALL_END``
its result                         ``TOOL_CALL_RESULT`` (role tool; an error's text as
                                   ``content``: the event has no error field)
tool progress                      ``ACTIVITY_SNAPSHOT`` then ``ACTIVITY_DELTA`` …
a custom event                     ``CUSTOM`` (``name``, ``value``)
completed / cancelled              ``RUN_FINISHED`` (cancelled: ``outcome``
                                   ``{"type": "cancelled"}``)
failed                             ``RUN_ERROR`` with a safe ``message``
=================================  ====================================================

Why tool progress is an activity. Text of models inside a tool must never read as the
assistant's; AG-UI's text messages are always conversation content (a subagent's too:
its attribution is a tag on an assistant message, which a client that ignores it shows
as the assistant). An activity message is what AG-UI has for "structured progress that
is not conversation content": the client keeps it in ``messages`` with role
``activity`` and hands it to ``onActivitySnapshotEvent`` / ``onActivityDeltaEvent``,
and a UI renders it as its own widget. One activity per model run inside the tool (id
``lc_run--<model run>-progress``, ``activityType`` ``"tool-progress"``), content
``{"toolCallId", "toolName", "model", "deltas": [...]}``: each token appends to
``deltas`` with a JSON Patch ``add`` at ``/deltas/-``, so the wire carries each token
once (a patch cannot append to a string); the text is ``deltas.join("")``.

Steps are left out: they carry only a name, and a client does nothing with them but
call back; a turn's tool calls already sit in its message.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Iterable
from typing import Any

from eventstream.adapters._protocol import ProtocolStream
from eventstream.adapters._ui import Call, Message, UIProtocol, message_id, text_of

from eventstream import AnswerReader, Event, Selector, Token

__all__ = ["AGUI_PROTOCOL_VERSION", "AGUIProtocol", "to_ag_ui"]

AGUI_PROTOCOL_VERSION = "1.0"
"""The AG-UI protocol version these events follow (sent as ``protocolVersion``)."""

PROGRESS_TYPE = "tool-progress"


class AGUIProtocol(UIProtocol):
    """Normalized events in, AG-UI events out: ``feed(event) -> list[dict]``.

    ``thread_id`` and ``run_id`` name the conversation and this run (from the client's
    ``RunAgentInput``). ``answer``: which tokens are the assistant's text (see ``_ui``).
    """

    protocol_name = "AG-UI"

    def __init__(
        self, *, thread_id: str, run_id: str, answer: Selector | AnswerReader | None = None
    ) -> None:
        super().__init__(answer=answer)
        self.thread_id = thread_id
        self.run_id = run_id

    def _on_begin(self, out: list[Message]) -> None:
        out.append(
            {
                "type": "RUN_STARTED",
                "threadId": self.thread_id,
                "runId": self.run_id,
                "protocolVersion": AGUI_PROTOCOL_VERSION,
            }
        )

    def _on_close(self, out: list[Message], unanswered: list[str]) -> None:
        out.append({"type": "RUN_FINISHED", "threadId": self.thread_id, "runId": self.run_id})

    def _on_fail(self, out: list[Message], message: str) -> None:
        out.append({"type": "RUN_ERROR", "message": message})

    def _on_cancel(self, out: list[Message], message: str) -> None:
        out.append(
            {
                "type": "RUN_FINISHED",
                "threadId": self.thread_id,
                "runId": self.run_id,
                "outcome": {"type": "cancelled"},
            }
        )

    def _on_text_start(self, out: list[Message], part: str) -> None:
        out.append({"type": "TEXT_MESSAGE_START", "messageId": part, "role": "assistant"})

    def _on_text_delta(self, out: list[Message], part: str, text: str) -> None:
        out.append({"type": "TEXT_MESSAGE_CONTENT", "messageId": part, "delta": text})

    def _on_text_end(self, out: list[Message], part: str) -> None:
        out.append({"type": "TEXT_MESSAGE_END", "messageId": part})

    def _on_reasoning_start(self, out: list[Message], part: str) -> None:
        out.append({"type": "REASONING_START", "messageId": part})
        out.append({"type": "REASONING_MESSAGE_START", "messageId": part, "role": "reasoning"})

    def _on_reasoning_delta(self, out: list[Message], part: str, text: str) -> None:
        out.append({"type": "REASONING_MESSAGE_CONTENT", "messageId": part, "delta": text})

    def _on_reasoning_end(self, out: list[Message], part: str) -> None:
        out.append({"type": "REASONING_MESSAGE_END", "messageId": part})
        out.append({"type": "REASONING_END", "messageId": part})

    def _on_tool_start(self, out: list[Message], call: Call) -> None:
        start: Message = {
            "type": "TOOL_CALL_START",
            "toolCallId": call.id,
            "toolCallName": call.name,
        }
        if call.parent is not None:
            start["parentMessageId"] = call.parent
        out.append(start)

    def _on_tool_args(self, out: list[Message], call: Call, delta: str) -> None:
        out.append({"type": "TOOL_CALL_ARGS", "toolCallId": call.id, "delta": delta})

    def _on_tool_input(self, out: list[Message], call: Call, args: Any, error: str | None) -> None:
        out.append({"type": "TOOL_CALL_END", "toolCallId": call.id})

    def _on_tool_progress(self, out: list[Message], call: Call, token: Token, first: bool) -> None:
        activity = f"{message_id(token.run_id)}-progress"
        if first:
            content = {
                "toolCallId": call.id,
                "toolName": call.name,
                "model": token.name,
                "deltas": [token.text],
            }
            out.append(
                {
                    "type": "ACTIVITY_SNAPSHOT",
                    "messageId": activity,
                    "activityType": PROGRESS_TYPE,
                    "content": content,
                }
            )
        else:
            out.append(
                {
                    "type": "ACTIVITY_DELTA",
                    "messageId": activity,
                    "activityType": PROGRESS_TYPE,
                    "patch": [{"op": "add", "path": "/deltas/-", "value": token.text}],
                }
            )

    def _on_tool_output(self, out: list[Message], call: Call, output: Any, message: str) -> None:
        _tool_result(out, call, text_of(output), message)

    def _on_tool_error(self, out: list[Message], call: Call, error: str, message: str) -> None:
        _tool_result(out, call, error, message)  # the event has no error field

    def _on_custom(self, out: list[Message], name: str, data: Any) -> None:
        out.append({"type": "CUSTOM", "name": name, "value": data})


def _tool_result(out: list[Message], call: Call, content: str, message: str) -> None:
    out.append(
        {
            "type": "TOOL_CALL_RESULT",
            "messageId": message,
            "toolCallId": call.id,
            "content": content,
            "role": "tool",
        }
    )


def to_ag_ui(
    events: Iterable[Event] | AsyncIterable[Event],
    *,
    thread_id: str,
    run_id: str,
    answer: Selector | AnswerReader | None = None,
) -> ProtocolStream[dict[str, Any]]:
    """AG-UI events (dicts in wire form) for a normalized stream; iterate the result as
    the stream iterates (``for`` or ``async for``).

    ``thread_id`` / ``run_id``: the ``RunAgentInput``'s. ``answer``: the tokens that are
    the assistant's text; required on sources without ancestry (``astream_events`` v1,
    ``astream_log``). When the source raises, ``RUN_ERROR`` (with a safe message) comes
    first, then the exception.
    """
    return ProtocolStream(
        events, lambda: AGUIProtocol(thread_id=thread_id, run_id=run_id, answer=answer)
    )
