"""Shared helpers: real LangChain runs on scripted models, collected as raw items."""

from __future__ import annotations

from collections.abc import AsyncIterable
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel

from eventstream.testing import CAT_QUESTION, CAT_SCRIPTS, ScriptedChatModel, build_cat_agent


def scripted(role: str) -> BaseChatModel:
    return ScriptedChatModel(turns=CAT_SCRIPTS[role])


async def collect(source: AsyncIterable[Any]) -> list[Any]:
    return [item async for item in source]


async def cat_events(version: str, **kwargs: Any) -> list[dict[str, Any]]:
    """The raw astream_events of one cat-agent run on scripted models."""
    agent = build_cat_agent(scripted)
    return await collect(
        agent.astream_events({"messages": [("user", CAT_QUESTION)]}, version=version, **kwargs)
    )


@pytest.fixture
def cat_agent() -> Any:
    return build_cat_agent(scripted)


CAT_INPUT = {"messages": [("user", CAT_QUESTION)]}
