"""The command line's answer: ``eventstream dump --answer`` (and its modes) on
recordings, and ``eventstream demo --agent math`` streaming a final_answer tool."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from langchain.agents import create_agent

from eventstream import normalize, record, replay
from eventstream.testing import (
    ANSWER_TEXT,
    MATH_ANSWER,
    MATH_INTRO,
    MATH_QUESTION,
    MATH_SCRIPTS,
    ScriptedChatModel,
    build_math_agent,
    text,
)

from .conftest import run_cli

FIXTURES = Path(__file__).parent.parent / "fixtures"


def recorded(path: Path, agent: Any, question: str) -> Path:
    async def run() -> None:
        raw = agent.astream_events({"messages": [("user", question)]}, version="v2")
        async for _ in record(raw, path):
            pass

    asyncio.run(run())
    return path


@pytest.fixture(scope="module")
def math(tmp_path_factory: pytest.TempPathFactory) -> Path:
    agent = build_math_agent(lambda role: ScriptedChatModel(turns=MATH_SCRIPTS[role]))
    return recorded(tmp_path_factory.mktemp("answer") / "math.jsonl", agent, MATH_QUESTION)


def test_dump_answer_prints_only_the_final_turn() -> None:
    done = run_cli("dump", FIXTURES / "cat_agent.v2.jsonl", "--answer")
    assert done.returncode == 0, done.stderr
    assert done.stdout == ANSWER_TEXT + "\n"
    assert done.stderr == ""


def test_dump_answer_of_a_source_without_ancestry_needs_tags() -> None:
    bare = run_cli("dump", FIXTURES / "cat_agent.log.jsonl", "--answer")
    assert bare.returncode == 1
    assert "carries no parent ids" in bare.stderr and "--tags or --names" in bare.stderr
    tagged = run_cli("dump", FIXTURES / "cat_agent.log.jsonl", "--answer", "--tags", "agent_llm")
    assert tagged.returncode == 0, tagged.stderr
    assert tagged.stdout == ANSWER_TEXT + "\n"


def test_dump_answer_through_the_answer_tool(math: Path) -> None:
    done = run_cli("dump", math, "--tool", "final_answer", "--field", "answer")
    assert done.returncode == 0, done.stderr
    assert done.stdout == MATH_ANSWER + "\n"
    # The default mode finds no final turn: the agent answered through a tool.
    default = run_cli("dump", math, "--answer")
    assert default.returncode == 1
    assert "no answer in" in default.stderr and "--tool and --field" in default.stderr


def test_dump_answer_json_gives_every_turn(math: Path) -> None:
    done = run_cli("dump", math, "--answer", "--json")
    assert done.returncode == 1  # no final turn, but every item is printed
    items = [json.loads(line) for line in done.stdout.splitlines()]
    said = "".join(i["text"] for i in items if i["type"] == "answer_text" and i["turn"] == 0)
    assert said == MATH_INTRO
    assert [
        (i["turn"], i["final"], i["tool_calls"]) for i in items if i["type"] != "answer_text"
    ] == [
        (0, False, ["add"]),
        (1, False, ["final_answer"]),
    ]
    tool = run_cli("dump", math, "--tool", "final_answer", "--field", "answer", "--json")
    end = json.loads(tool.stdout.splitlines()[-1])
    assert end["type"] == "answer_end" and end["final"] is True
    assert end["args"] == {"answer": MATH_ANSWER, "tools_used": ["add"]}


def test_dump_answer_after_a_prefix(tmp_path: Path) -> None:
    model = ScriptedChatModel(turns=[text("Thought: easy.\nFinal Answer: 42, of course.")])
    path = recorded(tmp_path / "react.jsonl", create_agent(model, [], name="react"), "?")
    done = run_cli("dump", path, "--prefix", "Final Answer:")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "42, of course.\n"
    missing = run_cli("dump", path, "--prefix", "Answer for real:")
    assert missing.returncode == 1 and missing.stdout == ""


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--tool", "final_answer"], "needs field="),
        (["--answer", "--types", "token"], "drop --types/--inside"),
        (["--tool", "t", "--field", "f", "--prefix", "p"], "not both"),
    ],
)
def test_dump_answer_usage_errors(args: list[str], says: str) -> None:
    done = run_cli("dump", FIXTURES / "cat_agent.v2.jsonl", *args)
    assert done.returncode == 2
    assert says in done.stderr


def test_demo_streams_the_final_answer_tool(tmp_path: Path) -> None:
    path = tmp_path / "math.jsonl"
    done = run_cli("demo", "--agent", "math", "--delay", "0", "--record", path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[:4] == [
        f"question: {MATH_QUESTION}",
        f"agent: {MATH_INTRO}",
        '→ add({"x": 10, "y": 10})  [call_add_1]',
        "  └ add → '20.0'",
    ]
    assert "\n".join(lines[4:]) == f"answer: {MATH_ANSWER}\ntools_used: ['add']"
    # The recording is the ChatOpenAI run, fragments and all.
    events = list(normalize(replay(path)))
    chunks = [e for e in events if e.type == "tool_call_chunk" and e.name == "final_answer"]
    assert len(chunks) > 20
