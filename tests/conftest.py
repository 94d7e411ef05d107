"""Shared helpers: real LangChain runs on scripted models, collected as raw items."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from langchain_core.language_models import BaseChatModel

from eventstream import End, EventStreamError, Start, UnknownFormatError, normalize, select
from eventstream.testing import (
    CAT_QUESTION,
    CAT_SCRIPTS,
    OpenAIServer,
    ScriptedChatModel,
    Text,
    build_cat_agent,
)
from tests.redis_server import REDIS_SERVER, RedisServer

# The long fuzz run: pytest tests/test_fuzz.py --hypothesis-profile=long
settings.register_profile(
    "long", max_examples=100_000, deadline=None, suppress_health_check=list(HealthCheck)
)


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


def script_text(role: str, turn: int = 0) -> str:
    """The text one of the cat agent's scripted models streams in one turn."""
    return "".join(step.text for step in CAT_SCRIPTS[role][turn] if isinstance(step, Text))


def texts(events: Any, **criteria: Any) -> str:
    """The text of the tokens that ``criteria`` select."""
    return "".join(e.text for e in select(events, types=["token"], **criteria))


def run_cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """``python -m eventstream._cli`` with ``args`` (what the console script calls)."""
    return subprocess.run(
        [sys.executable, "-m", "eventstream._cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def http_cat() -> Iterator[OpenAIServer]:
    """The cat agent's scripts on a local OpenAI-compatible server, slow enough to leave mid-run."""
    with OpenAIServer(CAT_SCRIPTS, delay=0.02) as server:
        yield server


def assert_events_or_our_error(raw: list[Any]) -> None:
    """The rule for any input: strict mode gives events or our own error; lenient mode
    always gives a well-formed stream (seq without gaps, one Start and one End per run),
    the same as strict mode's whenever strict mode accepted the input."""
    try:
        strict_events = list(normalize(raw, strict=True))
    except EventStreamError:
        strict_events = None
    stream = normalize(raw)
    try:
        events = list(stream)
    except UnknownFormatError:
        # Both modes refuse a stream none of whose first items any reader takes.
        assert stream.normalizer.format is None and strict_events is None
        return
    assert [e.seq for e in events] == list(range(len(events)))
    started = [e.run_id for e in events if isinstance(e, Start)]
    ended = [e.run_id for e in events if isinstance(e, End)]
    assert sorted(started) == sorted(ended)
    assert len(set(started)) == len(started)
    if strict_events is not None:
        assert stream.normalizer.skipped == 0
        assert strict_events == events


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A fresh ``redis-server`` on a free loopback port (skipped only without the binary)."""
    if REDIS_SERVER is None:
        pytest.skip("redis-server is not installed (CI installs Debian's redis-server)")
    server = RedisServer(tmp_path).start()
    try:
        yield server
    finally:
        server.stop()
