"""The README's example runs as printed and shows what it promises."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from eventstream.testing import ANSWER_TEXT, CAT_SCRIPTS, Text

README = Path(__file__).resolve().parent.parent / "README.md"


def example(heading: str) -> str:
    section = README.read_text().split(heading, 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, f"no python block under {heading!r}"
    return match.group(1)


def test_fifteen_line_example_streams_the_answer_and_tool_activity() -> None:
    code = example("## Stream an agent in 15 lines")
    assert len([line for line in code.splitlines() if line.strip()]) <= 15
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    answer = "".join(s.text for s in CAT_SCRIPTS["agent"][2] if isinstance(s, Text))
    assert answer in out
    assert "[calling get_items with {'place': 'the laundry basket'}]" in out
    assert "[get_items answered 'In the laundry basket" in out
    # Tool-internal text appears only in the tool results' short previews, never streamed.
    assert "warm and fuzzy" not in out
    assert "smug and very pleased" not in out


def test_astream_log_example_gives_the_same_answer() -> None:
    snippet = example("## The same events from `astream_log`")
    setup = example("## Stream an agent in 15 lines").split("async def main")[0]
    body = "\n".join("    " + line for line in snippet.splitlines())
    code = f"{setup}async def main() -> None:\n{body}\n\nasyncio.run(main())\n"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    answer = "".join(s.text for s in CAT_SCRIPTS["agent"][2] if isinstance(s, Text))
    assert out == answer


def test_fastapi_endpoint_example_serves_the_agent() -> None:
    from fastapi.testclient import TestClient

    from eventstream.testing import ANSWER_TEXT, CAT_SCRIPTS, ScriptedChatModel, build_cat_agent

    code = example("## Serve it: SSE, NDJSON, WebSocket")
    assert len([line for line in code.splitlines() if line.strip()]) < 15
    namespace = {"agent": build_cat_agent(lambda role: ScriptedChatModel(turns=CAT_SCRIPTS[role]))}
    exec(compile(code, "README.md", "exec"), namespace)
    with TestClient(namespace["app"]) as client:
        run_id = client.post("/runs", json={"input": "Where is the cat?"}).json()["run_id"]
        body = client.get(
            f"/runs/{run_id}/events", params={"types": "token", "tags": "agent_llm"}
        ).text
    texts = [
        json.loads(line[len("data: ") :])["text"]
        for frame in body.split("\n\n")
        if "event: token" in frame
        for line in frame.splitlines()
        if line.startswith("data: ")
    ]
    assert "".join(texts) == ANSWER_TEXT


# -- Only the answer ---------------------------------------------------------------------


def shown_output(heading: str) -> str:
    section = README.read_text().split(heading, 1)[1]
    match = re.search(r"```python\n.*?```\n\n```text\n(.*?)```", section, re.S)
    assert match, f"no output block under {heading!r}"
    return match.group(1)


def run_example(heading: str, cwd: Path | None = None) -> str:
    return subprocess.run(
        [sys.executable, "-c", example(heading)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        cwd=cwd,
    ).stdout


def test_only_the_answer_default_mode_prints_what_the_readme_shows() -> None:
    heading = "### The agent's own text, turn by turn"
    assert run_example(heading) == shown_output(heading)


def test_only_the_answer_tool_mode_prints_what_the_readme_shows() -> None:
    heading = "### An answer tool's argument, as it streams"
    assert run_example(heading) == shown_output(heading)


def test_only_the_answer_prefix_mode_prints_what_the_readme_shows(tmp_path: Path) -> None:
    heading = "### ReAct text after a prefix"
    assert run_example(heading, cwd=tmp_path) == shown_output(heading)
    assert (tmp_path / "react.jsonl").exists()


def test_arguments_so_far_snippet() -> None:
    from eventstream.testing import MATH_ANSWER

    snippet = example("### Arguments so far")
    setup = example("### An answer tool's argument, as it streams").split("async def main")[0]
    body = "\n".join("    " + line for line in snippet.splitlines())
    code = (
        f"{setup}from eventstream import partial_tool_calls\n\n"
        "async def main() -> None:\n"
        '    raw = agent.astream_events({"messages": [("user", MATH_QUESTION)]}, version="v2")\n'
        f"{body}\n\nasyncio.run(main())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    ).stdout.splitlines()
    assert out[0] == "False {}"
    assert "False {'answer': '10 + 10 = **2'}" in out
    assert out[-1] == "True " + repr({"answer": MATH_ANSWER, "tools_used": ["add"]})


def test_chat_ui_endpoints_example_serves_both_protocols() -> None:
    from fastapi.testclient import TestClient

    from eventstream.testing import (
        ANSWER_TEXT,
        CAT_QUESTION,
        CAT_SCRIPTS,
        ScriptedChatModel,
        build_cat_agent,
    )

    code = example("## Chat UIs: AG-UI and the AI SDK")
    assert len([line for line in code.splitlines() if line.strip()]) <= 16
    namespace = {"agent": build_cat_agent(lambda role: ScriptedChatModel(turns=CAT_SCRIPTS[role]))}
    exec(compile(code, "README.md", "exec"), namespace)
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
    with TestClient(namespace["app"]) as client:
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


# -- Sources ------------------------------------------------------------------------------


def run_block(heading: str) -> str:
    code = example(heading)
    return subprocess.run(
        [sys.executable, "-W", "ignore", "-c", code],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout


def test_stream_modes_example_prints_what_the_readme_shows() -> None:
    out = run_block("### LangGraph's stream modes")
    section = README.read_text().split("### LangGraph's stream modes", 1)[1]
    shown = re.search(r"```text\n(.*?)```", section, re.S)
    assert shown is not None
    # Parallel tools finish in either order; everything else is as printed.
    assert sorted(out.splitlines()) == sorted(shown.group(1).splitlines())
    assert out.rstrip().endswith(ANSWER_TEXT)


def test_v3_example_streams_the_agents_answer() -> None:
    assert run_block('### `astream_events(version="v3")`') == ANSWER_TEXT


# -- Sources: callbacks and raw OpenAI streams ------------------------------------------


def test_callbacks_example_prints_what_the_readme_shows() -> None:
    heading = "### Callbacks: `CallbackSource`"
    assert run_example(heading) == shown_output(heading)


def test_callbacks_thread_snippet_streams_the_answer() -> None:
    heading = "### Callbacks: `CallbackSource`"
    section = README.read_text().split(heading, 1)[1].split("\n### ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) == 2
    setup = blocks[0].split("async def main")[0]
    code = (
        f"{setup}from concurrent.futures import ThreadPoolExecutor\n\n"
        f"source = CallbackSource()\n{blocks[1]}"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    assert out == ANSWER_TEXT


def test_openai_stream_example_prints_what_the_readme_shows() -> None:
    heading = "### Raw OpenAI chat completion streams"
    assert run_example(heading) == shown_output(heading)
