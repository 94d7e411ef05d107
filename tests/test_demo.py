"""`eventstream demo`: the main job, on ChatOpenAI against the local server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from eventstream import ToolCall, normalize, replay, select
from eventstream.testing import ANSWER_TEXT, ITEMS_TEXT, MOOD_TEXT


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "eventstream._cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def test_demo_streams_the_answer_apart_from_the_tools(tmp_path: Path) -> None:
    path = tmp_path / "demo.jsonl"
    done = cli("demo", "--delay", "0", "--record", str(path))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert f"answer: {ANSWER_TEXT}" in lines
    assert '→ get_items({"place": "the laundry basket"})  [call_items_2]' in lines
    assert "  └ cat_mood → 'The cat is smug and very pleased with its hiding spot.'" in lines
    # Each tool's own LLM text is labelled with its tool, line by line, whole.
    items = [line.split(": ", 1)[1] for line in lines if line.startswith("  │ get_items · ")]
    assert "\n".join(items) == ITEMS_TEXT
    mood = [line.split(": ", 1)[1] for line in lines if line.startswith("  │ cat_mood · ")]
    assert mood == [MOOD_TEXT]
    # The recording replays to the same run.
    events = list(normalize(replay(path)))
    assert "".join(t.text for t in select(events, types="token", tags="agent_llm")) == ANSWER_TEXT
    assert [c.name for c in events if isinstance(c, ToolCall)] == [
        "where_cat_is_hiding",
        "get_items",
        "cat_mood",
    ]


def test_live_without_a_key_says_what_is_missing() -> None:
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    done = cli("demo", "--live", env=env)
    assert done.returncode == 2
    assert "OPENAI_API_KEY" in done.stderr


def test_demo_rejects_unknown_options() -> None:
    done = cli("demo", "--colour")
    assert done.returncode == 2
    assert "--colour" in done.stderr


def test_serve_is_wired_into_the_command() -> None:
    done = cli("serve", "--help")
    assert done.returncode == 0
    assert "--port" in done.stdout
    assert "--host" in done.stdout
    bad = cli("serve", "--port", "many")
    assert bad.returncode == 2
    assert "--port" in bad.stderr


@pytest.mark.parametrize("source", ["modes", "v3", "v1", "log", "callbacks"])
def test_demo_draws_the_same_picture_from_every_source(source: str) -> None:
    done = cli("demo", "--delay", "0", "--source", source)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    # The answer is the agent's alone, whatever the source.
    assert [line for line in lines if line.startswith("answer: ")] == [f"answer: {ANSWER_TEXT}"]
    for call in (
        "→ where_cat_is_hiding({})  [call_hide_1]",
        '→ get_items({"place": "the laundry basket"})  [call_items_2]',
        '→ cat_mood({"spot": "the laundry basket"})  [call_mood_3]',
        "  └ cat_mood → 'The cat is smug and very pleased with its hiding spot.'",
    ):
        assert call in lines, (source, call)
    inner = "\n".join(line.split(": ", 1)[1] for line in lines if line.startswith("  │ "))
    assert ITEMS_TEXT.splitlines()[-1] in inner and MOOD_TEXT in inner
    if source in ("modes", "callbacks"):  # it knows which tool each model ran in
        assert any(
            line.startswith("  │ cat_mood · ") and line.endswith(MOOD_TEXT) for line in lines
        )
