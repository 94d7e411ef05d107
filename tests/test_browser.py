"""The page in a real browser: headless Chromium (Debian's ``chromium``) via Playwright.

uvicorn serves the demo app from a background thread; the cat agent runs on ChatOpenAI
against the local OpenAI-compatible server, slowed down so the page really streams.
A ``MutationObserver`` installed before the question is asked records every state of
the answer bubble and of the ``get_items`` card, so the test sees how they streamed,
not only where they ended. Screenshots go to ``artifacts/``: ``browser_cat_streaming.png``
(mid-run) and ``browser_cat.png`` (done), at 1280 px; ``browser_cat_420.png``, two
questions on a 420 px wide screen.

Playwright never downloads a browser here: it drives ``/usr/bin/chromium``. Without
it the test skips, except under CI (``CI`` set), where it fails.
"""

from __future__ import annotations

import json
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from eventstream.adapters import RunRegistry

from eventstream._serve import create_app
from eventstream.testing import (
    ANSWER_TEXT,
    CAT_QUESTION,
    CAT_SCRIPTS,
    HIDING_SPOT,
    ITEMS_TEXT,
    MOOD_TEXT,
    OpenAIServer,
    openai_cat_agent,
)

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"

# Records, in the page, each distinct state of the answer and of the get_items card.
RECORDER = """
window.__states = [];
const snapshot = () => {
  const answer = document.querySelector('[data-testid="answer"]');
  const card = document.querySelector('.tool-card[data-name="get_items"]');
  const text = (selector) => (card && card.querySelector(selector).textContent) || "";
  const state = {
    answer: answer ? answer.textContent : "",
    card: Boolean(card),
    args: text(".tool-args"),
    inner: text(".tool-inner"),
    result: text(".tool-result"),
  };
  const last = window.__states[window.__states.length - 1];
  if (!last || JSON.stringify(last) !== JSON.stringify(state)) window.__states.push(state);
};
new MutationObserver(snapshot).observe(document.body,
  {subtree: true, childList: true, characterData: true});
"""


def require_chromium() -> None:
    if CHROMIUM.exists():
        return
    reason = f"{CHROMIUM} is missing: apt-get install chromium (Debian's package)"
    if os.environ.get("CI"):
        pytest.fail(f"CI must run the browser test: {reason}")
    pytest.skip(reason)


@pytest.fixture
def page_url() -> Iterator[str]:
    """The demo app served by uvicorn in a thread, with a model that streams slowly."""
    with OpenAIServer(CAT_SCRIPTS, delay=0.02) as model_server:
        app = create_app(lambda: openai_cat_agent(model_server), registry=RunRegistry())
        # IPPROTO_TCP, not 0: asyncio turns Nagle's algorithm off (TCP_NODELAY) only
        # on sockets that say they are TCP; with it on, frames stall 20-40 ms.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.bind(("127.0.0.1", 0))
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        try:
            ready = threading.Event()
            for _ in range(500):
                if server.started or not thread.is_alive():
                    break
                ready.wait(0.01)
            assert server.started, "uvicorn did not start"
            yield f"http://127.0.0.1:{sock.getsockname()[1]}/"
        finally:
            server.should_exit = True
            thread.join(30)
            sock.close()


def test_the_page_streams_the_answer_and_the_tool_calls_in_chromium(page_url: str) -> None:
    require_chromium()
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1200})
            problems: list[str] = []
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.on(
                "console",
                lambda message: problems.append(message.text) if message.type == "error" else None,
            )
            page.goto(page_url)
            page.evaluate(RECORDER)
            notice = page.text_content("#scripted") or ""
            page.fill("#question", CAT_QUESTION)
            page.click("#send")
            asked = page.input_value("#question")
            # Mid-run: the get_items tool's own LLM is streaming into its card.
            page.wait_for_function(
                """() => {
                    const inner = document.querySelector(
                        '.tool-card[data-name="get_items"] .tool-inner');
                    return inner && inner.textContent.length > 0;
                }""",
                timeout=60_000,
            )
            page.screenshot(path=str(ARTIFACTS / "browser_cat_streaming.png"))
            page.wait_for_selector('[data-testid="answer"][data-state="done"]', timeout=60_000)
            page.screenshot(path=str(ARTIFACTS / "browser_cat.png"))

            answer = page.text_content('[data-testid="answer"]')
            status = page.text_content("#status")
            cards = page.eval_on_selector_all(
                ".tool-card",
                """cards => cards.map(card => ({
                    name: card.dataset.name,
                    state: card.dataset.state,
                    args: card.querySelector('.tool-args').textContent,
                    inner: card.querySelector('.tool-inner').textContent,
                    result: card.querySelector('.tool-result').textContent,
                }))""",
            )
            states: list[dict[str, Any]] = page.evaluate("window.__states")
            shown_once = page.eval_on_selector_all(
                ".tool-card",
                """cards => cards.map(card => [
                    getComputedStyle(card.querySelector('.part.inner')).display,
                    getComputedStyle(card.querySelector('.part.result')).display,
                    card.querySelector('.part.inner .label').textContent,
                ])""",
            )
        finally:
            browser.close()

    assert problems == []
    assert status == "done"
    assert "scripted" in notice.lower() and len(notice) < 100  # one line says the model is scripted
    assert asked == ""  # the input is cleared once the question is asked
    # Each tool's result is the text its LLM streamed: shown once, labelled as both.
    assert shown_once == [["block", "none", "inside the tool, and its result"]] * 3
    # The answer is the agent's, and only the agent's: no tool-internal text in it.
    assert answer == ANSWER_TEXT
    for tool_text in (ITEMS_TEXT, MOOD_TEXT, "lost sock: warm and fuzzy", "smug and very"):
        assert all(tool_text not in state["answer"] for state in states)

    by_name = {card["name"]: card for card in cards}
    assert list(by_name) == ["where_cat_is_hiding", "get_items", "cat_mood"]
    items = by_name["get_items"]
    assert json.loads(items["args"]) == {"place": HIDING_SPOT}
    assert items["inner"] == ITEMS_TEXT  # the tool's own LLM streamed into its card
    assert items["result"] == ITEMS_TEXT
    assert items["state"] == "done"
    assert by_name["cat_mood"]["result"] == MOOD_TEXT
    assert by_name["where_cat_is_hiding"]["result"] == HIDING_SPOT

    # How it streamed: the card came with its name, then its arguments grew fragment by
    # fragment, its LLM's tokens before its result; the answer grew token by token.
    card_states = [s for s in states if s["card"]]
    assert card_states[0]["args"] == card_states[0]["result"] == ""
    streamed_args = json.dumps({"place": HIDING_SPOT})
    partial_args = {
        s["args"] for s in card_states if s["args"] and streamed_args.startswith(s["args"])
    }
    assert len(partial_args) >= 3 and streamed_args in partial_args
    partial_inner = {s["inner"] for s in card_states if s["inner"] and not s["result"]}
    assert len(partial_inner) >= 3 and ITEMS_TEXT in partial_inner
    partial_answers = {s["answer"] for s in states if s["answer"] and s["answer"] != ANSWER_TEXT}
    assert len(partial_answers) >= 3
    assert all(ANSWER_TEXT.startswith(text) for text in partial_answers)


NARROW = {"width": 420, "height": 860}
SECOND = "And where is the dog?"


def test_two_questions_on_a_narrow_screen(page_url: str) -> None:
    """At 420 px: each question keeps its own tool cards (grouped under it), the newest
    turn is scrolled into view as it streams, the input is cleared, and nothing is wider
    than the screen (tool names wrap, never clipped)."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=NARROW)
            problems: list[str] = []
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.goto(page_url)
            cleared = []
            for number, question in enumerate((CAT_QUESTION, SECOND), 1):
                page.fill("#question", question)
                page.press("#question", "Enter")
                cleared.append(page.input_value("#question"))
                page.wait_for_selector(
                    f'.turn[data-turn="{number}"] [data-testid="answer"][data-state="done"]',
                    timeout=60_000,
                )
            page.screenshot(path=str(ARTIFACTS / "browser_cat_420.png"))
            turns = page.eval_on_selector_all(
                ".turn",
                """turns => turns.map(turn => ({
                    question: turn.querySelector('.bubble.user').textContent,
                    cards: [...turn.querySelectorAll('.tool-card')].map(c => c.dataset.name),
                    answer: turn.querySelector('[data-testid="answer"]').textContent,
                }))""",
            )
            layout = page.evaluate(
                """() => {
                    const chat = document.getElementById('chat').getBoundingClientRect();
                    const answers = document.querySelectorAll('[data-testid="answer"]');
                    const last = answers[answers.length - 1].getBoundingClientRect();
                    const first = document.querySelector('.turn .bubble.user')
                        .getBoundingClientRect();
                    const names = [...document.querySelectorAll('.tool-name')];
                    return {
                        pageWidth: document.documentElement.scrollWidth,
                        lastAnswerInView: last.top >= chat.top && last.bottom <= chat.bottom,
                        firstQuestionScrolledAway: first.bottom <= chat.top,
                        clipped: names.filter(n => n.scrollWidth > n.clientWidth + 1)
                            .map(n => n.textContent),
                        narrowest: Math.min(...names.map(n => n.closest('.tool-card')
                            .getBoundingClientRect().width)),
                        notice: document.getElementById('scripted').getBoundingClientRect()
                            .height,
                    };
                }"""
            )
        finally:
            browser.close()

    assert problems == []
    assert cleared == ["", ""]
    assert [t["question"] for t in turns] == [CAT_QUESTION, SECOND]
    calls = ["where_cat_is_hiding", "get_items", "cat_mood"]
    assert [t["cards"] for t in turns] == [calls, calls]  # each question's own cards
    assert [t["answer"] for t in turns] == [ANSWER_TEXT, ANSWER_TEXT]
    assert layout["pageWidth"] <= NARROW["width"]  # no sideways scrolling
    assert layout["clipped"] == []
    assert layout["narrowest"] > 300  # one card per row, the width of the screen
    assert layout["lastAnswerInView"] and layout["firstQuestionScrolledAway"]
    assert layout["notice"] < 24  # the notice that the model is scripted: one line
