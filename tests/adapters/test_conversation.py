"""Conversations in (``eventstream.adapters._conversation``): what a UI sends, as LangChain
messages, and back through a real agent for the next turn."""

from __future__ import annotations

from typing import Any

import pytest
from ag_ui.core import RunAgentInput
from eventstream.adapters import (
    ConversationError,
    messages_from_ag_ui,
    messages_from_ui_messages,
    to_ag_ui,
    to_ui_message_stream,
)
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage

from eventstream import normalize
from eventstream.testing import ScriptedChatModel, text

from .clients import run_clients, sse_body
from .conftest import FIXTURES, USER, recorded_events


def test_an_ag_ui_conversation_with_tool_calls_results_and_media() -> None:
    run_input = RunAgentInput(
        thread_id="t",
        run_id="r",
        state=None,
        tools=[],
        context=[],
        forwarded_props=None,
        messages=[
            {"id": "s", "role": "system", "content": "Be brief."},
            {
                "id": "u",
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is this?"},
                    {"type": "image", "source": {"type": "url", "value": "https://x/cat.png"}},
                ],
            },
            {
                "id": "a",
                "role": "assistant",
                "toolCalls": [
                    {
                        "id": "c1",
                        "type": "function",
                        "function": {"name": "f", "arguments": '{"x": 1}'},
                    },
                    {
                        "id": "c2",
                        "type": "function",
                        "function": {"name": "g", "arguments": "{oops"},
                    },
                ],
            },
            {"id": "t1", "role": "tool", "toolCallId": "c1", "content": "one"},
            {"id": "t2", "role": "tool", "toolCallId": "c2", "content": "bad", "error": "bad args"},
            {"id": "p", "role": "activity", "activityType": "tool-progress", "content": {}},
            {"id": "b", "role": "assistant", "content": "A cat."},
        ],
    )
    messages = messages_from_ag_ui(run_input)
    assert [type(m) for m in messages] == [
        SystemMessage,
        HumanMessage,
        AIMessage,
        ToolMessage,
        ToolMessage,
        AIMessage,
    ]
    assert [m.id for m in messages] == ["s", "u", "a", "t1", "t2", "b"]
    assert messages[1].content == [
        {"type": "text", "text": "What is this?"},
        {"type": "image", "url": "https://x/cat.png"},
    ]
    call = messages[2]
    assert isinstance(call, AIMessage)
    assert call.tool_calls == [{"name": "f", "args": {"x": 1}, "id": "c1", "type": "tool_call"}]
    assert [c["id"] for c in call.invalid_tool_calls] == ["c2"]
    assert isinstance(messages[4], ToolMessage) and messages[4].status == "error"


def test_an_ai_sdk_assistant_message_splits_into_one_ai_message_per_step() -> None:
    messages = messages_from_ui_messages(
        [
            {"id": "u", "role": "user", "parts": [{"type": "text", "text": "Weather?"}]},
            {
                "id": "a",
                "role": "assistant",
                "parts": [
                    {"type": "step-start"},
                    {
                        "type": "tool-get_weather",
                        "toolCallId": "c1",
                        "state": "output-available",
                        "input": {"city": "Paris"},
                        "output": "rain",
                    },
                    {
                        "type": "dynamic-tool",
                        "toolName": "lookup",
                        "toolCallId": "c2",
                        "state": "output-error",
                        "input": {},
                        "errorText": "no such thing",
                    },
                    {"type": "step-start"},
                    {"type": "reasoning", "text": "hmm"},
                    {"type": "text", "text": "Rain in Paris."},
                ],
            },
        ]
    )
    assert [type(m).__name__ for m in messages] == [
        "HumanMessage",
        "AIMessage",
        "ToolMessage",
        "ToolMessage",
        "AIMessage",
    ]
    first, last = messages[1], messages[4]
    assert isinstance(first, AIMessage) and isinstance(last, AIMessage)
    assert (first.id, last.id) == ("a", "a-2")
    assert [(c["name"], c["args"]) for c in first.tool_calls] == [
        ("get_weather", {"city": "Paris"}),
        ("lookup", {}),
    ]
    assert messages[2].content == "rain"
    assert isinstance(messages[3], ToolMessage) and messages[3].status == "error"
    assert last.content == "Rain in Paris."


@pytest.mark.parametrize(
    ("read", "body", "where"),
    [
        (messages_from_ag_ui, {"messages": [{"id": "1", "role": "robot"}]}, "messages[0].role"),
        (messages_from_ag_ui, {"messages": [{"role": "user", "content": "x"}]}, "messages[0].id"),
        (messages_from_ag_ui, {"messages": "hello"}, "messages"),
        (
            messages_from_ag_ui,
            {"messages": [{"id": "1", "role": "user", "content": [{"type": "gif"}]}]},
            "messages[0].content[0].type",
        ),
        (
            messages_from_ui_messages,
            [{"id": "1", "role": "user", "parts": [{"type": "text", "text": 3}]}],
            "messages[0].parts[0].text",
        ),
        (messages_from_ui_messages, [{"id": "1", "role": "user"}], "messages[0].parts"),
        (messages_from_ui_messages, ["hi"], "messages[0]"),
    ],
)
def test_malformed_conversations_name_where(read: Any, body: Any, where: str) -> None:
    with pytest.raises(ConversationError) as caught:
        read(body)
    assert caught.value.path == where
    assert str(caught.value).startswith(f"{where}: ")
    assert isinstance(caught.value, ValueError)


async def test_what_the_clients_rebuilt_is_a_conversation_the_agent_takes_back() -> None:
    """The cat run streamed to each client, rebuilt by it, sent back: the same history."""
    path = next(p for p in FIXTURES if p.name == "cat_agent.v2.jsonl")
    events, _ = recorded_events(path)
    agui_stream = list(to_ag_ui(events, thread_id="t", run_id="r"))
    chunks = list(to_ui_message_stream(events))
    user_agui = {"id": "u", "role": "user", "content": USER}
    user_ui = {"id": "u", "role": "user", "parts": [{"type": "text", "text": USER}]}
    agui_result, ui_result = await run_clients(
        [
            {"client": "ag-ui", "body": sse_body(agui_stream), "messages": [user_agui]},
            {"client": "ai-sdk", "body": sse_body(chunks, done=True), "messages": [user_ui]},
        ]
    )
    from_agui = messages_from_ag_ui({"messages": agui_result["messages"]})
    from_ui = messages_from_ui_messages([user_ui, ui_result["message"]])
    final = next(e.output for e in events if e.type == "end" and e.name == "cat_agent")
    history = final["messages"]
    for rebuilt in (from_agui, from_ui):
        assert turns(rebuilt) == turns(history)
        assert results(rebuilt) == results(history)
    # AG-UI keeps LangChain's ids of the agent's messages: the streamed conversation and
    # the history name them alike.
    assert [m.id for m in from_agui if isinstance(m, AIMessage)] == [
        m.id for m in history if isinstance(m, AIMessage)
    ]

    # And a real agent takes the rebuilt conversation as its next input.
    from langchain.agents import create_agent

    model = ScriptedChatModel(turns=[[]] * 3 + [list(text("Still in the basket."))])
    agent = create_agent(model, [], name="next_turn")
    raw = agent.astream_events({"messages": [*from_agui, HumanMessage("And now?")]}, version="v2")
    answer = "".join([e.text async for e in normalize(raw) if e.type == "token"])
    assert answer == "Still in the basket."


def turns(messages: list[Any]) -> list[Any]:
    """The user's and the agent's messages in order: text and tool calls."""
    return [
        (type(m).__name__, m.text, [(c["name"], c["args"], c["id"]) for c in m.tool_calls])
        if isinstance(m, AIMessage)
        else (type(m).__name__, m.text)
        for m in messages
        if not isinstance(m, ToolMessage)
    ]


def results(messages: list[Any]) -> dict[str, str]:
    """Tool results by call (parallel results may arrive, and be kept, in any order)."""
    return {m.tool_call_id: m.text for m in messages if isinstance(m, ToolMessage)}


def test_media_parts_become_langchain_content_blocks() -> None:
    [ag_ui] = messages_from_ag_ui(
        {
            "messages": [
                {
                    "id": "u",
                    "role": "user",
                    "content": [
                        {
                            "type": "document",
                            "source": {
                                "type": "data",
                                "value": "JVBE",
                                "mimeType": "application/pdf",
                            },
                        },
                        {"type": "audio", "source": {"type": "file", "value": "file-7"}},
                    ],
                }
            ]
        }
    )
    assert ag_ui.content == [
        {"type": "file", "base64": "JVBE", "mime_type": "application/pdf"},
        {"type": "audio", "file_id": "file-7"},
    ]
    [ui] = messages_from_ui_messages(
        [
            {
                "id": "u",
                "role": "user",
                "parts": [
                    {"type": "text", "text": "Look:"},
                    {"type": "file", "mediaType": "image/png", "url": "data:image/png;base64,iVBO"},
                    {"type": "file", "mediaType": "text/csv", "url": "https://x/a.csv"},
                ],
            }
        ]
    )
    assert ui.content == [
        {"type": "text", "text": "Look:"},
        {"type": "image", "base64": "iVBO", "mime_type": "image/png"},
        {"type": "file", "url": "https://x/a.csv", "mime_type": "text/csv"},
    ]
