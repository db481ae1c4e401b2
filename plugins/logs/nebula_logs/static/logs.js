// The Logs page (plugins/logs): search, histogram, context and live tail. Log text is
// always inserted as text nodes; hits are wrapped in <mark> by their offsets.
(function () {
  "use strict";
  const page = document.getElementById("logs-page");
  if (!page || !window.nebula) return;
  const form = document.getElementById("logs-search");
  const list = document.getElementById("logs-lines");
  const status = document.getElementById("logs-status");
  const more = document.getElementById("logs-more");
  const histogram = document.getElementById("logs-histogram");
  const tailButton = document.getElementById("logs-tail-toggle");
  const pauseButton = document.getElementById("logs-pause");
  let cursor = null;
  let socket = null;
  let paused = false;

  function params() {
    const data = new FormData(form);
    const query = new URLSearchParams();
    for (const [key, value] of data.entries()) if (value) query.set(key, value);
    return query;
  }

  function lineItem(line, extraClass) {
    const item = document.createElement("li");
    item.dataset.id = line.id;
    if (extraClass) item.className = extraClass;
    const meta = document.createElement("span");
    meta.className = "meta lvl-" + (line.level === null ? "none" : line.level);
    meta.textContent = `${line.time} ${line.source}${line.unit ? "/" + line.unit : ""} ` +
      (line.level_name || "-");
    item.appendChild(meta);
    let at = 0;
    for (const [start, end] of line.highlights || []) {
      item.appendChild(document.createTextNode(line.message.slice(at, start)));
      const mark = document.createElement("mark");
      mark.textContent = line.message.slice(start, end);
      item.appendChild(mark);
      at = end;
    }
    item.appendChild(document.createTextNode(line.message.slice(at)));
    return item;
  }

  function addContextButton(item, line) {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = "context";
    button.addEventListener("click", async () => {
      button.disabled = true;
      const { data } = await nebula.api("GET", `${page.dataset.api}/context/${line.id}?lines=5`);
      data.before.forEach((l) => item.before(lineItem(l, "context")));
      data.after.slice().reverse().forEach((l) => item.after(lineItem(l, "context")));
    });
    item.appendChild(button);
  }

  function drawHistogram(data) {
    histogram.replaceChildren();
    const top = Math.max(1, ...data.buckets.map((b) => b.count));
    for (const bucket of data.buckets) {
      const bar = document.createElement("span");
      bar.style.height = `${(100 * bucket.count) / top}%`;
      bar.title = `${new Date(bucket.ts * 1000).toISOString()}: ${bucket.count}`;
      histogram.appendChild(bar);
    }
  }

  async function search(older) {
    const query = params();
    if (older && cursor) query.set("cursor", cursor);
    try {
      const { data } = await nebula.api("GET", `${page.dataset.api}?${query}`);
      if (!older) list.replaceChildren();
      for (const line of data.lines) {
        const item = lineItem(line);
        addContextButton(item, line);
        list.appendChild(item);
      }
      cursor = data.next_cursor;
      more.hidden = !cursor;
      status.textContent = `${list.children.length} lines` +
        (data.query !== query.get("q") && query.get("q") ? ` (searched ${data.query})` : "");
      if (!older) drawHistogram((await nebula.api("GET", `${page.dataset.api}/histogram?${query}`)).data);
    } catch (error) {
      status.textContent = error.message;
    }
  }

  function stopTail() {
    if (socket) socket.close();
    socket = null;
    tailButton.textContent = "Live tail";
    pauseButton.hidden = true;
  }

  function startTail() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    socket = new WebSocket(`${scheme}//${location.host}${page.dataset.tail}?${params()}`);
    list.replaceChildren();
    more.hidden = true;
    paused = false;
    pauseButton.textContent = "Pause";
    pauseButton.hidden = false;
    tailButton.textContent = "Stop tail";
    status.textContent = "connecting…";
    socket.addEventListener("open", () => { status.textContent = "following new lines…"; });
    socket.addEventListener("message", (event) => {
      const line = JSON.parse(event.data);
      if (line.error) { status.textContent = line.error; return; }
      if (line.control) {  // the agent's acknowledgement of a pause or a resume
        status.textContent = line.control === "paused" ? "paused; new lines wait"
          : "following new lines…";
        return;
      }
      list.prepend(lineItem(line));
      while (list.children.length > 1000) list.lastChild.remove();
    });
    socket.addEventListener("close", () => { if (socket) status.textContent = "tail ended"; });
  }

  form.addEventListener("submit", (event) => { event.preventDefault(); stopTail(); search(false); });
  more.addEventListener("click", () => search(true));
  tailButton.addEventListener("click", () => (socket ? stopTail() : startTail()));
  pauseButton.addEventListener("click", () => {
    paused = !paused;
    if (socket) socket.send(JSON.stringify({ pause: paused }));
    pauseButton.textContent = paused ? "Resume" : "Pause";
  });
  search(false);
})();
