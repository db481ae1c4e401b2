// Jarvis's chat pane: ask, then watch the answer stream in over the panel's WebSocket.
// Loaded after nebula.js (a plugin asset), on top of what it offers: window.nebula.
(() => {
  "use strict";
  const { api, onEvent } = window.nebula || {};
  const jarvis = document.querySelector("[data-jarvis]");
  const mine = new Set(); // conversations started from this page: only theirs are shown
  let conversation = null;
  let answer = null; // the item the current answer streams into
  const tools = new Map(); // "conversation tool" -> the item showing that call's status
  let asking = false;
  const early = [];

  function jarvisLine(cls, text) {
    const log = jarvis.querySelector(".jarvis-log");
    const item = document.createElement("li");
    item.className = cls;
    item.textContent = text;
    log.append(item);
    log.scrollTop = log.scrollHeight;
    return item;
  }

  function approvalButtons(item, approvalId, tool) {
    item.dataset.approval = approvalId;
    if (jarvis.dataset.admin !== "true" || item.querySelector("form")) return;
    [["approve", "Approve", "primary"], ["deny", "Deny", "danger"]].forEach(([verb, label, cls]) => {
      const form = document.createElement("form");
      form.className = "inline";
      form.dataset.api = `/api/v1/approvals/${encodeURIComponent(approvalId)}/${verb}`;
      form.dataset.confirm = `${label} ${tool}?`;
      const button = document.createElement("button");
      button.type = "submit";
      button.className = `btn small ${cls}`;
      button.textContent = label;
      form.append(button);
      item.append(" ", form);
    });
  }

  function jarvisBusy(busy) {
    const send = jarvis.querySelector(".jarvis-form button");
    if (send) send.disabled = busy;
  }

  function jarvisEvent(event) {
    if (!jarvis) return;
    const data = event.data || {};
    if (event.topic.startsWith("approval.")) {
      const item = data.id && jarvis.querySelector(`[data-approval="${CSS.escape(String(data.id))}"]`);
      if (item && data.status && data.status !== "pending") {
        item.querySelectorAll("form").forEach((f) => f.remove());
        item.querySelector(".state").textContent = data.status;
      }
      return;
    }
    const cid = data.conversation_id;
    if (!mine.has(cid)) {
      // The answer may start streaming before our POST has told us its conversation id.
      if (asking) early.push(event);
      return;
    }
    if (event.topic === "jarvis.delta") {
      if (!answer) answer = jarvisLine("jarvis-answer", "");
      answer.textContent += data.text || "";
    } else if (event.topic === "jarvis.tool_call" || event.topic === "jarvis.waiting") {
      const key = `${cid} ${data.tool}`;
      let item = tools.get(key);
      if (!item || (event.topic === "jarvis.tool_call" && data.status === "running")) {
        item = jarvisLine("jarvis-tool", "");
        const args = data.arguments === undefined ? "" : JSON.stringify(data.arguments);
        const name = document.createElement("code");
        name.textContent = `${data.tool}(${args})`;
        const state = document.createElement("span");
        state.className = "state";
        item.append("⚙ ", name, " ", state);
        tools.set(key, item);
        answer = null; // text after a tool call is a new part of the answer
      }
      const status = event.topic === "jarvis.waiting" ? "pending_approval" : data.status;
      item.querySelector(".state").textContent =
        status === "pending_approval" ? "waiting for an admin's approval" : status;
      if (status === "pending_approval" && data.approval_id) {
        approvalButtons(item, data.approval_id, data.tool);
      }
    } else if (event.topic === "jarvis.done") {
      if (!answer && data.answer) jarvisLine("jarvis-answer", data.answer);
      answer = null;
      jarvisBusy(false);
    } else if (event.topic === "jarvis.error") {
      jarvisLine("jarvis-error error", `Jarvis failed: ${data.error}`);
      answer = null;
      jarvisBusy(false);
    }
  }

  async function jarvisStatus() {
    const status = jarvis.querySelector(".jarvis-status");
    const form = jarvis.querySelector(".jarvis-form");
    try {
      const { data } = await api("GET", "/api/v1/jarvis/status");
      if (!data.enabled) {
        status.textContent = `Jarvis disabled: ${data.reason || "not configured"}`;
        return;
      }
      status.textContent = data.model ? `Model ${data.model}` : "Ready";
      if (form) form.hidden = false;
    } catch (_) {
      status.textContent = "Jarvis is not available on this agent.";
    }
  }

  function wireJarvis() {
    const form = jarvis.querySelector(".jarvis-form");
    if (!form) return;
    const box = form.querySelector("textarea");
    box.addEventListener("keydown", (ev) => { // Enter sends, Shift+Enter is a new line
      if (ev.key === "Enter" && !ev.shiftKey) { ev.preventDefault(); form.requestSubmit(); }
    });
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const message = box.value.trim();
      if (!message) return;
      jarvisLine("jarvis-you", message);
      box.value = "";
      answer = null;
      jarvisBusy(true);
      asking = true;
      try {
        const path = conversation
          ? `/api/v1/jarvis/conversations/${encodeURIComponent(conversation)}/messages`
          : "/api/v1/jarvis/conversations";
        const { data } = await api("POST", path, { message });
        conversation = data.conversation_id;
        mine.add(conversation);
      } catch (err) {
        jarvisLine("jarvis-error error", err.message);
        jarvisBusy(false);
      } finally {
        asking = false;
        early.splice(0).forEach(jarvisEvent);
      }
    });
    jarvisStatus();
  }

  if (jarvis && api) {
    onEvent((event) => {
      if (event.topic.startsWith("jarvis.") || event.topic.startsWith("approval.")) {
        jarvisEvent(event);
      }
    });
    wireJarvis();
  }
})();
