"""Every Python block of the README runs, as printed, and shows what it promises.

``CHECKS`` lists every block, by the heading it sits under (``#2`` for a second block
under one heading); the first test fails when the README has a block this file does not
check, or this file checks a block the README no longer has. A block is a complete
program, run as it is printed (``python -c``, in a fresh folder, or in the repository's
root when it reads a shipped recording), unless an HTML comment ``<!-- fragment: ... -->``
right above it says it is a fragment: this file then completes it explicitly. The
examples run on the test kit's scripted models; the FastAPI example is served by a real
uvicorn.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from eventstream.testing import ANSWER_TEXT, CAT_QUESTION, CAT_SCRIPTS, MATH_ANSWER, Text
from tests.redis_server import REDIS_SERVER, RedisServer

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
TOOL_TEXTS = ("warm and fuzzy", "smug and very pleased")  # the tools' own LLMs' text


@dataclass(frozen=True)
class Block:
    heading: str
    code: str
    fragment: str | None
    """What the ``<!-- fragment: ... -->`` comment above it says; None: a program."""
    shown: str | None
    """The ``text`` block right after it: what it prints."""


def readme_blocks() -> dict[str, Block]:
    blocks: dict[str, Block] = {}
    heading = ""
    lines = README.read_text().splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.startswith("#"):
            heading = line
        elif line.startswith("```") and line != "```python":  # a shell or text block
            index = lines.index("```", index + 1)
        elif line == "```python":
            end = lines.index("```", index + 1)
            before = next((x for x in reversed(lines[:index]) if x.strip()), "")
            fragment = re.fullmatch(r"<!-- fragment: (.*) -->", before)
            after = lines[end + 1 : end + 3]
            shown = None
            if after[:2] == ["", "```text"]:
                stop = lines.index("```", end + 3)
                shown = "\n".join(lines[end + 3 : stop]) + "\n"
            key = heading
            number = 2
            while key in blocks:
                key = f"{heading} #{number}"
                number += 1
            blocks[key] = Block(
                heading,
                "\n".join(lines[index + 1 : end]) + "\n",
                fragment.group(1) if fragment else None,
                shown,
            )
            index = end
        index += 1
    return blocks


BLOCKS = readme_blocks()


def run(code: str, cwd: Path, timeout: float = 120) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def block(key: str) -> Block:
    found = BLOCKS[key]
    assert found.fragment is None, f"{key} is marked a fragment: complete it in its check"
    return found


# -- the checks, one per block -----------------------------------------------------------


def fifteen_lines(key: str, tmp: Path) -> None:
    code = block(key).code
    assert len([line for line in code.splitlines() if line.strip()]) <= 15
    out = run(code, tmp)
    assert ANSWER_TEXT in out
    assert "[calling get_items with {'place': 'the laundry basket'}]" in out
    assert "[get_items answered 'In the laundry basket" in out
    # Tool-internal text appears only in the tool results' short previews, never streamed.
    assert not any(text in out for text in TOOL_TEXTS)


def stream_modes(key: str, tmp: Path) -> None:
    found = block(key)
    out = run(found.code, tmp)
    assert found.shown is not None
    # Parallel tools finish in either order; everything else is as printed.
    assert sorted(out.splitlines()) == sorted(found.shown.splitlines())
    assert out.rstrip().endswith(ANSWER_TEXT)


def only_the_agents_answer(key: str, tmp: Path) -> None:
    assert run(block(key).code, tmp) == ANSWER_TEXT


def prints_what_is_shown(key: str, tmp: Path) -> None:
    found = block(key)
    assert found.shown is not None, f"{key}: no text block after it"
    assert run(found.code, tmp) == found.shown


def react_prefix(key: str, tmp: Path) -> None:
    prints_what_is_shown(key, tmp)
    assert (tmp / "react.jsonl").exists()


def arguments_so_far(key: str, tmp: Path) -> None:
    """A fragment: the body of main() in the answer tool's program, with its import."""
    found = BLOCKS[key]
    assert found.fragment is not None and "An answer tool's argument" in found.fragment
    program = block("### An answer tool's argument, as it streams").code
    head, _, _ = program.partition("    async for item in answer(")
    assert "raw = agent.astream_events(" in head
    body = "".join("    " + line + "\n" for line in found.code.splitlines())
    code = f"from eventstream import partial_tool_calls\n{head}{body}\nasyncio.run(main())\n"
    out = run(code, tmp).splitlines()
    assert out[0] == "False {}"
    assert "False {'answer': '10 + 10 = **2'}" in out
    assert out[-1] == "True " + repr({"answer": MATH_ANSWER, "tools_used": ["add"]})


def callbacks_in_a_thread(key: str, tmp: Path) -> None:
    """A fragment: read from this thread while the run runs on another thread's loop,
    completed with the first callbacks program's setup."""
    found = BLOCKS[key]
    assert found.fragment is not None
    setup = block("### Callbacks: `CallbackSource`").code.split("async def main")[0]
    code = (
        f"{setup}from concurrent.futures import ThreadPoolExecutor\n\n"
        f"source = CallbackSource()\n{found.code}"
    )
    assert run(code, tmp) == ANSWER_TEXT


def subscriptions(key: str, tmp: Path) -> None:
    found = block(key)
    assert '"fixtures/cat_agent.v2.jsonl"' in found.code  # read from the repository's root
    assert run(found.code, ROOT) == found.shown


def record_and_replay(key: str, tmp: Path) -> None:
    out = run(block(key).code, tmp)
    assert re.fullmatch(r"\d+ events; end cat_agent\n", out), out
    assert (tmp / "run.jsonl").read_text().startswith('{"format":"eventstream-recording"')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def served_answer(code: str, tmp: Path) -> str:
    """The agent's answer, from ``code`` saved as app.py and served by ``uvicorn app:app``
    as the README says: one run started with ``POST /runs``, its tokens read as SSE."""
    (tmp / "app.py").write_text(code)
    port = free_port()
    log = tmp / "uvicorn.log"
    with log.open("w") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "app:app", "--port", str(port)],
            cwd=tmp,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                httpx.get(base + "/docs", timeout=1)
                break
            except httpx.TransportError:
                assert server.poll() is None, log.read_text()
                time.sleep(0.05)
        started = httpx.post(base + "/runs", json={"input": CAT_QUESTION}, timeout=10)
        assert started.status_code == 200, started.text
        run_id = started.json()["run_id"]
        body = httpx.get(
            f"{base}/runs/{run_id}/events",
            params={"types": "token", "tags": "agent_llm"},
            timeout=60,
        ).text
    finally:
        server.terminate()
        server.wait(30)
    return "".join(
        json.loads(line[len("data: ") :])["text"]
        for frame in body.split("\n\n")
        if "event: token" in frame
        for line in frame.splitlines()
        if line.startswith("data: ")
    )


def serve_it(key: str, tmp: Path) -> None:
    assert served_answer(block(key).code, tmp) == ANSWER_TEXT


def scaling_out(key: str, tmp: Path) -> None:
    """The same, on a real Redis in place of the one the README names."""
    if REDIS_SERVER is None:
        pytest.skip("redis-server is not installed (.ci/run installs it)")
    code = block(key).code
    assert "redis://127.0.0.1:6379/0" in code
    (tmp / "redis").mkdir()
    redis = RedisServer(tmp / "redis").start()
    try:
        answer = served_answer(code.replace("redis://127.0.0.1:6379/0", redis.url), tmp)
    finally:
        redis.stop()
    assert answer == ANSWER_TEXT


def chat_uis(key: str, tmp: Path) -> None:
    from fastapi.testclient import TestClient

    code = block(key).code
    namespace: dict[str, object] = {"__name__": "readme_chat_uis"}
    exec(compile(code, "README.md", "exec"), namespace)  # a complete module: nothing injected
    run_input = {
        "threadId": "t",
        "runId": "r",
        "messages": [{"id": "u", "role": "user", "content": CAT_QUESTION}],
    }
    chat = {
        "id": "c",
        "trigger": "submit-message",
        "messages": [
            {"id": "u", "role": "user", "parts": [{"type": "text", "text": CAT_QUESTION}]}
        ],
    }
    with TestClient(namespace["app"]) as client:  # type: ignore[arg-type]
        agui = client.post("/agui", json=run_input)
        ui = client.post("/api/chat", json=chat)
    assert agui.headers["content-type"].startswith("text/event-stream")
    events = [json.loads(line[6:]) for line in agui.text.splitlines() if line.startswith("data: ")]
    assert events[0]["type"] == "RUN_STARTED" and events[-1]["type"] == "RUN_FINISHED"
    texts = [e["delta"] for e in events if e["type"] == "TEXT_MESSAGE_CONTENT"]
    assert "".join(texts) == ANSWER_TEXT
    assert ui.headers["x-vercel-ai-ui-message-stream"] == "v1"
    assert ui.text.endswith("data: [DONE]\n\n")
    chunks = [
        json.loads(line[6:])
        for line in ui.text.splitlines()
        if line.startswith("data: ") and line != "data: [DONE]"
    ]
    assert "".join(c["delta"] for c in chunks if c["type"] == "text-delta") == ANSWER_TEXT
    outputs = [
        c for c in chunks if c["type"] == "tool-output-available" and not c.get("preliminary")
    ]
    assert len(outputs) == 3


CHECKS: dict[str, Callable[[str, Path], None]] = {
    "## Stream an agent in 15 lines": fifteen_lines,
    "### LangGraph's stream modes": stream_modes,
    '### `astream_events(version="v3")`': only_the_agents_answer,
    "### The same events from `astream_log`": only_the_agents_answer,
    "### Callbacks: `CallbackSource`": prints_what_is_shown,
    "### Callbacks: `CallbackSource` #2": callbacks_in_a_thread,
    "### Raw OpenAI chat completion streams": prints_what_is_shown,
    "### The agent's own text, turn by turn": prints_what_is_shown,
    "### An answer tool's argument, as it streams": prints_what_is_shown,
    "### ReAct text after a prefix": react_prefix,
    "### Arguments so far": arguments_so_far,
    "## Subscriptions": subscriptions,
    "## Record and replay": record_and_replay,
    "## Serve it: SSE, NDJSON, WebSocket": serve_it,
    "## Scaling out: several workers on one Redis": scaling_out,
    "## Chat UIs: AG-UI and the AI SDK": chat_uis,
}
"""Every Python block of the README and how it is checked. Fragments: the second
callbacks block (the program's reading loop, from a thread) and "Arguments so far" (two
lines meant to replace a loop of the program before it)."""


def test_every_python_block_of_the_readme_is_checked() -> None:
    assert list(BLOCKS) == list(CHECKS)
    fragments = [key for key, found in BLOCKS.items() if found.fragment is not None]
    assert fragments == ["### Callbacks: `CallbackSource` #2", "### Arguments so far"]


@pytest.mark.parametrize("key", list(CHECKS))
def test_readme_block(key: str, tmp_path: Path) -> None:
    CHECKS[key](key, tmp_path)


def test_the_answer_text_is_the_scripted_one() -> None:
    assert "".join(s.text for s in CAT_SCRIPTS["agent"][2] if isinstance(s, Text)) == ANSWER_TEXT
