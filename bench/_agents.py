"""Scripted agents and raw streams of a chosen size, for the benchmarks."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

from langchain.agents import create_agent
from langchain_core.messages import AIMessage, AIMessageChunk

from eventstream.testing import ScriptedChatModel, text

INPUT = {"messages": [("user", "Tell me a long story.")]}


def answering_agent(tokens: int) -> Any:
    """``create_agent`` whose model (tagged ``agent_llm``) answers ``tokens`` tokens."""
    words = " ".join(f"w{i}" for i in range(tokens))
    model = ScriptedChatModel(turns=[text(words)]).model_copy(update={"tags": ["agent_llm"]})
    return create_agent(model, [], name="bench_agent")


def recorded_events(tokens: int) -> list[dict[str, Any]]:
    """The raw ``astream_events`` v2 items of one run of :func:`answering_agent`."""
    agent = answering_agent(tokens)

    async def collect() -> list[dict[str, Any]]:
        return [e async for e in agent.astream_events(INPUT, version="v2")]

    return asyncio.run(collect())


def generated_events(tokens: int) -> Iterator[dict[str, Any]]:
    """A v2-shaped stream of ``tokens`` tokens, made on the fly (never held in a list).

    The model's end output is a short message: the generator itself keeps nothing that
    grows with the token count, so what grows is the normalizer's.
    """
    root, model = "00000000-root", "00000000-model"
    common = {"metadata": {"ls_provider": "bench"}}
    yield {
        "event": "on_chain_start",
        "run_id": root,
        "name": "agent",
        "tags": [],
        "parent_ids": [],
        "data": {"input": INPUT},
        **common,
    }
    yield {
        "event": "on_chat_model_start",
        "run_id": model,
        "name": "model",
        "tags": ["agent_llm"],
        "parent_ids": [root],
        "data": {"input": {}},
        **common,
    }
    for i in range(tokens):
        yield {
            "event": "on_chat_model_stream",
            "run_id": model,
            "name": "model",
            "tags": ["agent_llm"],
            "parent_ids": [root],
            "data": {"chunk": AIMessageChunk(content=f" w{i}")},
            **common,
        }
    yield {
        "event": "on_chat_model_end",
        "run_id": model,
        "name": "model",
        "tags": ["agent_llm"],
        "parent_ids": [root],
        "data": {"output": AIMessage(content="(long answer)")},
        **common,
    }
    yield {
        "event": "on_chain_end",
        "run_id": root,
        "name": "agent",
        "tags": [],
        "parent_ids": [],
        "data": {"output": "done"},
        **common,
    }
