"""The Jarvis pane in real headless Chromium, against a local server speaking the OpenAI
wire protocol: ask, watch the answer stream in, see a destructive tool call wait for an
admin and approve it from the pane."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.jarvis.openai_server import FakeOpenAI, text, tool_call
from tests.web.conftest import sign_in


@pytest.fixture
def model() -> Iterator[FakeOpenAI]:
    """The scripted model, serving from its own thread's event loop."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server = FakeOpenAI()
    asyncio.run_coroutine_threadsafe(server.__aenter__(), loop).result(10)
    try:
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(server.__aexit__(None, None, None), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


COUNT_ANSWER_UPDATES = """() => {
  window.answerUpdates = 0;
  new MutationObserver((records) => {
    window.answerUpdates += records.filter((r) => r.target.matches?.(".jarvis-answer")).length;
  }).observe(document.querySelector(".jarvis-log"), { childList: true, subtree: true });
}"""


@pytest.fixture
def live_config(model):
    return {"jarvis": {"base_url": model.base_url, "max_retries": 0, "timeout": 10}}


def test_ask_jarvis_stream_the_answer_and_approve_its_destructive_call(page, live_agent,
                                                                     model):
    model.add(text("All checks are fine; nothing needs you."),
              tool_call("switchable__delete_tool", {"target": "db9"}),
              text("Deleted db9 as approved."))
    sign_in(page)
    pane = page.locator("[data-jarvis]")
    expect(pane.locator(".jarvis-status")).to_contain_text("Model")
    expect(page.locator("#conn")).to_have_attribute("data-state", "online")
    page.evaluate(COUNT_ANSWER_UPDATES)
    pane.get_by_label("Ask Jarvis").fill("How is the server?")
    pane.get_by_role("button", name="Send").click()
    expect(pane.locator(".jarvis-you")).to_have_text("How is the server?")
    # The first question loads the model client and builds the tool catalogue: on a loaded
    # machine that alone can take longer than the default 5 s.
    expect(pane.locator(".jarvis-answer")).to_have_text(
        "All checks are fine; nothing needs you.", timeout=30_000)
    # Streamed: the answer grew once per jarvis.delta event, not once at the end.
    deltas = [e for e in live_agent.agent.bus.recent if e["topic"] == "jarvis.delta"]
    assert deltas and page.evaluate("window.answerUpdates") == len(deltas)

    pane.get_by_label("Ask Jarvis").fill("Delete db9 please")
    pane.get_by_label("Ask Jarvis").press("Enter")
    tool = pane.locator(".jarvis-tool")
    expect(tool).to_contain_text('switchable.delete_tool({"target":"db9"})')
    expect(tool).to_contain_text("waiting for an admin's approval")
    assert live_agent.plugins["switchable"].deleted == []
    tool.get_by_role("button", name="Approve").click()
    tool.get_by_role("button", name="Confirm approve").click()
    expect(tool.locator(".state")).to_have_text("ok")
    expect(pane.locator(".jarvis-answer").last).to_have_text("Deleted db9 as approved.")
    assert live_agent.plugins["switchable"].deleted == ["db9"]
    _, audit = live_agent.api("GET", "/api/v1/audit?action=switchable.delete")
    assert audit["audit"][0]["detail"].startswith("approved by user:admin")
