// The media upload page: the chosen file goes as the request body itself, streamed by the
// browser, to POST /api/v1/media/upload; XMLHttpRequest gives the upload's progress.
(() => {
  "use strict";
  const section = document.querySelector("[data-media-upload]");
  if (!section) return;
  const form = section.querySelector(".media-form");
  const bar = section.querySelector(".media-progress");
  const status = section.querySelector(".media-status");
  const csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  form.addEventListener("submit", (submit) => {
    submit.preventDefault();
    const file = form.elements.file.files[0];
    if (!file) return;
    const query = new URLSearchParams({ library: form.elements.library.value, name: file.name });
    if (form.elements.folder.value) query.set("folder", form.elements.folder.value);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `/api/v1/media/upload?${query}`);
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    xhr.setRequestHeader("X-CSRF-Token", csrf);
    xhr.upload.addEventListener("progress", (e) => {
      if (e.lengthComputable) bar.value = e.loaded / e.total;
    });
    xhr.addEventListener("load", () => {
      form.querySelector("button").disabled = false;
      let body = {};
      try { body = JSON.parse(xhr.responseText); } catch (_) { /* not JSON */ }
      const scan = body.scan || {};
      const plex = scan.item ? `in Plex as "${scan.item.title}"` : scan.status;
      status.textContent = xhr.status === 201
        ? `Imported ${body.path} (${body.type}); Plex: ${plex}`
        : `Refused (${xhr.status}): ${body.detail || xhr.statusText}`;
    });
    xhr.addEventListener("error", () => {
      form.querySelector("button").disabled = false;
      status.textContent = "The upload was interrupted; nothing was kept.";
    });
    form.querySelector("button").disabled = true;
    bar.hidden = false;
    bar.value = 0;
    status.textContent = `Uploading ${file.name}…`;
    xhr.upload.addEventListener("load", () => {
      status.textContent = `${file.name} sent; checking it and waiting for Plex to list it…`;
    });
    xhr.send(file);
  });
})();
