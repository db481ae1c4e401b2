// Nebula web panel: one WebSocket keeps the page live; forms run actions and approvals.
// No framework: the server renders every page, this script only patches it in place.
(() => {
  "use strict";
  const csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  const conn = document.getElementById("conn");
  let socket = null;
  let retry = 0;
  let connectedBefore = false;

  let offlineSince = null;

  // While the agent cannot be reached, what the page shows is as old as the moment it went
  // away: the body is marked stale (tiles dimmed) and the status line says since when.
  function setConn(state, text) {
    if (!conn) return;
    conn.dataset.state = state;
    if (state === "offline") {
      offlineSince = offlineSince || new Date();
      document.body.dataset.stale = "true";
      const at = offlineSince.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
      text = `agent offline since ${at}, reconnecting…`;
    } else {
      offlineSince = null;
      delete document.body.dataset.stale;
    }
    conn.querySelector(".conn-text").textContent = text;
  }

  async function api(method, path, body) {
    const response = await fetch(path, {
      method, credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    let data = null;
    try { data = await response.json(); } catch (_) { data = null; }
    if (!response.ok) {
      throw new Error((data && (data.detail || data.title)) || `HTTP ${response.status}`);
    }
    return { status: response.status, data };
  }

  function glob(pattern) {
    const re = pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
    return new RegExp(`^${re}$`);
  }

  // --- tiles and counts ---------------------------------------------------------------------
  function updateTile(check) {
    const tile = document.querySelector(`[data-check="${CSS.escape(check.name)}"]`);
    if (!tile) return;
    const status = check.status || "unknown";
    tile.classList.remove(`status-${tile.dataset.status}`);
    tile.classList.add(`status-${status}`);
    const changed = tile.dataset.status !== status;
    tile.dataset.status = status;
    const badge = tile.querySelector(".badge");
    badge.className = `badge status-${status}`; // the icon comes with the class
    badge.textContent = status;
    if (check.summary !== undefined) tile.querySelector(".summary").textContent = check.summary;
    if (check.last_run) {
      const when = new Date(check.last_run * 1000);
      tile.querySelector(".last-run").textContent = `${when.toISOString().slice(11, 19)} UTC`;
    }
    if (changed) {
      tile.classList.remove("changed");
      void tile.offsetWidth; // restart the highlight animation
      tile.classList.add("changed");
    }
    recount();
  }

  function recount() {
    const counters = document.querySelectorAll("[data-count]");
    if (!counters.length) return;
    const totals = {};
    document.querySelectorAll("[data-check]").forEach((t) => {
      totals[t.dataset.status] = (totals[t.dataset.status] || 0) + 1;
    });
    counters.forEach((c) => { c.textContent = totals[c.dataset.count] || 0; });
  }

  async function resyncTiles() {
    if (!document.querySelector("[data-check]")) return;
    try {
      const { data } = await api("GET", "/api/v1/checks");
      data.checks.forEach(updateTile);
    } catch (_) { /* the next event or reconnect tries again */ }
  }

  async function updatePending() {
    const pill = document.querySelector("[data-pending]");
    if (!pill) return;
    try {
      const { data } = await api("GET", "/api/v1/status");
      pill.textContent = data.pending_approvals;
      pill.setAttribute("aria-label", `${data.pending_approvals} pending`);
      pill.toggleAttribute("data-zero", data.pending_approvals === 0);
    } catch (_) { /* shown stale until the next event */ }
  }

  // --- the events feed ----------------------------------------------------------------------
  // The feed is server-rendered words ("system.memory ok → warning: 91 % used"), reloaded
  // as a fragment (data-refresh) when an event comes; data-skip names the internal topics
  // (progress ticks, streamed text) that do not reload it.

  // --- fragments refreshed when a matching event arrives ------------------------------------
  const timers = new WeakMap();
  // Replacing a fragment someone is using would throw away what they typed (a deny reason)
  // or the button they armed: it waits until they are done.
  function inUse(el) {
    return el.contains(document.activeElement) || el.querySelector("[data-armed]") !== null;
  }

  function refresh(el, force = false) {
    clearTimeout(timers.get(el));
    timers.set(el, setTimeout(async () => {
      if (!force && inUse(el)) { refresh(el); return; }
      try {
        const response = await fetch(el.dataset.refresh, { credentials: "same-origin" });
        if (!response.ok) return;
        const target = el.querySelector(":scope > .panel-body") || el;
        target.innerHTML = await response.text(); // our own server's escaped HTML
      } catch (_) { /* kept as it was */ }
    }, force || !inUse(el) ? 150 : 1000));
  }

  // An event concerns a plugin when the plugin sent it, or it names the plugin, or one of
  // its checks or actions (check.changed, action.ran and approval.* come from the core).
  function concerns(event, plugin) {
    const data = event.data || {};
    const prefix = `${plugin}.`;
    return event.source === plugin || data.plugin === plugin
      || [data.check, data.action].some((n) => typeof n === "string" && n.startsWith(prefix));
  }

  function refreshMatching(event) {
    document.querySelectorAll("[data-refresh]").forEach((el) => {
      const topics = (el.dataset.topics || "").split(" ").filter(Boolean);
      const skip = (el.dataset.skip || "").split(" ").filter(Boolean);
      if (skip.some((t) => glob(t).test(event.topic))) return;
      if (topics.some((t) => glob(t).test(event.topic))
          || (el.dataset.plugin && concerns(event, el.dataset.plugin))) {
        refresh(el);
      }
    });
  }

  function handle(event) {
    if (event.topic === "check.changed") {
      updateTile({ name: event.data.check, status: event.data.new, summary: event.data.summary,
                   last_run: event.ts });
    }
    // A first result is not a change, but until it comes the tile reads "not run yet".
    if (event.topic === "check.first_results") {
      (event.data.checks || []).forEach((c) => updateTile({
        name: c.check, status: c.new, summary: c.summary, last_run: c.last_run }));
    }
    if (event.topic.startsWith("approval.")) updatePending();
    refreshMatching(event);
    listeners.forEach((listener) => {
      try { listener(event); } catch (_) { /* one plugin's script does not stop the rest */ }
    });
  }

  // --- what plugins' scripts (nebula_web_assets) build on -----------------------------------
  // They load after this one: `nebula.api(method, path, body)` calls the API with the
  // session's CSRF token, `nebula.onEvent(fn)` gets every event of the live WebSocket, and
  // a `form[data-api]` they add is submitted (with a confirming second press) like ours.
  const listeners = [];
  window.nebula = Object.freeze({ api, onEvent: (fn) => { listeners.push(fn); } });

  // --- the WebSocket, reconnecting with backoff ---------------------------------------------
  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${location.host}/api/v1/events`);
    socket.addEventListener("open", () => {
      retry = 0;
      setConn("online", "live");
      if (connectedBefore) { // what changed while we were away
        resyncTiles();
        updatePending();
        document.querySelectorAll("[data-refresh]").forEach((el) => refresh(el));
      }
      connectedBefore = true;
    });
    socket.addEventListener("message", (msg) => {
      try { handle(JSON.parse(msg.data)); } catch (_) { /* one bad message is skipped */ }
    });
    socket.addEventListener("close", () => {
      setConn("offline", "offline, reconnecting…");
      const delay = Math.min(10000, 500 * 2 ** retry) + Math.random() * 250;
      retry += 1;
      setTimeout(connect, delay);
    });
  }

  // --- actions: form → confirmation → run (or request approval) -----------------------------
  function readParams(form) {
    const params = {};
    form.querySelectorAll(".fields [name]").forEach((input) => {
      const type = input.dataset.type;
      if (type === "boolean") { params[input.name] = input.checked; return; }
      if (input.value === "") return;
      if (type === "number") params[input.name] = Number(input.value);
      else if (type === "json") {
        try { params[input.name] = JSON.parse(input.value); } catch (_) {
          throw new Error(`${input.name}: not valid JSON`);
        }
      } else params[input.name] = input.value;
    });
    return params;
  }

  function show(output, cls, text, link) {
    output.replaceChildren();
    const span = document.createElement("span");
    span.className = cls;
    span.textContent = text;
    output.append(span);
    if (link) {
      const a = document.createElement("a");
      a.href = link.href;
      a.textContent = link.text;
      output.append(" ", a);
    }
  }

  // The outcome as the server renders it (tables, key-values, units), never a JSON blob.
  async function showOutcome(output, data) {
    const runId = typeof data.run === "string" ? data.run : (data.run && data.run.id);
    if (!runId) { show(output, data.status === "error" ? "error" : "ok", data.error || "Done."); return; }
    try {
      const response = await fetch(`/runs/${encodeURIComponent(runId)}/result`,
                                   { credentials: "same-origin" });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      output.innerHTML = await response.text(); // our own server's escaped HTML
      output.dataset.run = runId;
    } catch (err) { show(output, "error", `Ran, but the result could not be shown: ${err.message}`); }
  }

  async function runAction(name, params, output) {
    show(output, "muted", "running…");
    try {
      const { status, data } = await api("POST",
        `/api/v1/actions/${encodeURIComponent(name)}/run`, { params });
      if (status === 202 && data.approval) {
        show(output, "pending", "Waiting for approval: an admin must approve it.",
             { href: "/approvals", text: "Review approvals" });
      } else {
        await showOutcome(output, data);
      }
    } catch (err) { show(output, "error", err.message); }
  }

  // "word hello, times 2": what is about to run, in words.
  function describeParams(params) {
    const parts = Object.entries(params).map(([k, v]) =>
      `${k.replace(/_/g, " ")} ${typeof v === "object" ? JSON.stringify(v) : v}`);
    return parts.length ? ` with ${parts.join(", ")}` : "";
  }

  function wireAction(form) {
    const output = form.querySelector(".result");
    const confirmBox = form.querySelector(".confirm");
    let params = null;
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      if (!form.reportValidity()) return;
      try { params = readParams(form); } catch (err) { show(output, "error", err.message); return; }
      // A read-only action changes nothing: it runs without a confirmation step.
      if (form.dataset.readOnly === "true") { runAction(form.dataset.action, params, output); return; }
      const verb = form.dataset.destructive === "true" ? "Ask an admin to approve" : "Run";
      confirmBox.querySelector(".confirm-text").textContent =
        `${verb} ${form.dataset.title || form.dataset.action}${describeParams(params)}?`;
      confirmBox.hidden = false;
      form.querySelector(".run").hidden = true;
      confirmBox.querySelector(".do-confirm").focus();
    });
    const close = () => {
      confirmBox.hidden = true;
      form.querySelector(".run").hidden = false;
    };
    confirmBox.querySelector(".do-cancel").addEventListener("click", () => {
      close();
      form.querySelector(".run").focus();
    });
    confirmBox.querySelector(".do-confirm").addEventListener("click", () => {
      close();
      runAction(form.dataset.action, params, output);
    });
  }

  // --- per-row buttons in table panels: a read-only one runs at once, others on a second
  // press (the button says what it will do); delegated, as panels are refreshed in place.
  document.addEventListener("click", (ev) => {
    const button = ev.target.closest("button.row-action");
    if (!button) return;
    const output = button.closest("section.panel").querySelector(".row-result");
    const params = JSON.parse(button.dataset.params);
    const label = button.getAttribute("aria-label") || button.textContent;
    const disarm = () => {
      if (!button.dataset.armed) return;
      button.textContent = button.dataset.armed;
      button.setAttribute("aria-label", button.dataset.label);
      delete button.dataset.armed;
    };
    if (button.dataset.readOnly !== "true" && !button.dataset.armed) {
      // "Terminate…" becomes "Confirm terminate" (for "Terminate postgres": "Confirm
      // terminate postgres"), as Approve becomes "Confirm approve".
      button.dataset.armed = button.textContent;
      button.dataset.label = label;
      const verb = button.textContent.replace(/…$/, "").toLowerCase();
      button.textContent = `Confirm ${verb}`;
      button.setAttribute("aria-label", `Confirm ${label.charAt(0).toLowerCase()}${label.slice(1)}`);
      setTimeout(disarm, 6000);
      return;
    }
    disarm();
    runAction(button.dataset.action, params, output);
  });

  // --- approve / deny: a second press confirms ----------------------------------------------
  // Delegated, because these forms live in fragments that are replaced on refresh.
  async function submitApiForm(form) {
    const button = form.querySelector("button[type=submit]");
    if (!form.dataset.armed) {
      form.dataset.armed = button.textContent;
      button.textContent = `Confirm ${button.textContent.toLowerCase()}`;
      button.title = form.dataset.confirm || "";
      setTimeout(() => {
        if (form.dataset.armed) { button.textContent = form.dataset.armed; delete form.dataset.armed; }
      }, 6000);
      return;
    }
    delete form.dataset.armed;
    button.disabled = true;
    const body = {};
    form.querySelectorAll("[name]").forEach((input) => {
      if (input.value.trim()) body[input.name] = input.value.trim();
    });
    try {
      await api("POST", form.dataset.api, body);
    } catch (err) {
      button.disabled = false;
      button.textContent = `Failed: ${err.message}`;
    }
    const holder = form.closest("[data-refresh]");
    if (holder) refresh(holder, true);
    updatePending();
  }

  document.addEventListener("submit", (ev) => {
    if (ev.target.matches("form[data-api]")) {
      ev.preventDefault();
      submitApiForm(ev.target);
    }
  });

  document.querySelectorAll("form.action").forEach(wireAction);
  document.querySelectorAll("[data-pending]").forEach((p) => {
    p.toggleAttribute("data-zero", p.textContent.trim() === "0");
  });
  if (conn) connect();
})();
