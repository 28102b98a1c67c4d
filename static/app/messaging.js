// Sending screens. No inline scripts: the CSP allows only 'self'.
(() => {
  const form = document.querySelector("form[data-compose]");

  function syncCompose() {
    if (!form) return;
    const timing = form.querySelector("input[name=timing]:checked");
    const scheduled = timing && timing.value === "scheduled";
    const fields = form.querySelector("[data-schedule-fields]");
    if (fields) fields.classList.toggle("d-none", !scheduled);
    const label = form.querySelector("[data-submit-label]");
    const button = label && label.closest("button");
    if (label && button && timing) {
      label.textContent = scheduled ? button.dataset.submitLabelScheduled : button.dataset.submitLabelNow;
    }
    const line = form.querySelector("[data-send-line]");
    const lineOn = line && line.checked;
    const files = form.querySelector("[data-attachments]");
    const note = form.querySelector("[data-line-attachment-note]");
    if (note) note.classList.toggle("d-none", !(lineOn && files && files.files.length > 0));
    document.querySelectorAll("[data-line-preview]").forEach((el) => el.classList.toggle("d-none", !lineOn));
    document.querySelectorAll("[data-line-only]").forEach((el) => el.classList.toggle("d-none", !lineOn));
    const body = form.querySelector("[data-body]");
    const count = form.querySelector("[data-char-count]");
    if (body && count) count.textContent = body.value.length.toLocaleString("ja-JP");
  }

  if (form) {
    form.addEventListener("change", syncCompose);
    form.addEventListener("input", syncCompose);
    syncCompose();
    form.addEventListener("click", (event) => {
      const item = event.target.closest("[data-insert-placeholder]");
      if (!item) return;
      const body = form.querySelector("[data-body]");
      if (!body) return;
      const text = item.dataset.insertPlaceholder;
      const start = body.selectionStart ?? body.value.length;
      const end = body.selectionEnd ?? body.value.length;
      body.value = body.value.slice(0, start) + text + body.value.slice(end);
      body.focus();
      body.selectionStart = body.selectionEnd = start + text.length;
      body.dispatchEvent(new Event("input", { bubbles: true }));
    });
    form.addEventListener("submit", (event) => {
      const button = form.querySelector("[data-confirm-count]");
      const count = button ? Number(button.dataset.confirmCount) : 0;
      if (count > 1) {
        const timing = form.querySelector("input[name=timing]:checked");
        const verb = timing && timing.value === "scheduled" ? "送信を予約" : "送信";
        if (!window.confirm(`${count.toLocaleString("ja-JP")}名に${verb}します。よろしいですか？`)) {
          event.preventDefault();
          return;
        }
      }
      form.querySelectorAll("button[type=submit]").forEach((b) => { b.disabled = true; });
    });
    // htmx re-renders the preview: keep LINE parts in step with the checkbox.
    document.body.addEventListener("htmx:afterSwap", syncCompose);
  }

  // The send page: when the polled progress reports the end, reload once so the per-recipient
  // list below shows the final statuses too (and a 送信予約 that went out loses its 変更/キャンセル).
  const progress = document.getElementById("send-progress");
  if (progress && ["scheduled", "queued", "in_progress"].includes(progress.dataset.sendStatus)) {
    document.body.addEventListener("htmx:afterSwap", () => {
      const now = document.getElementById("send-progress");
      if (now && ["done", "cancelled"].includes(now.dataset.sendStatus)) window.location.reload();
    });
  }

  // The LINE chat opens at the newest message, at the bottom.
  document.querySelectorAll("[data-line-chat]").forEach((chat) => { chat.scrollTop = chat.scrollHeight; });
})();
