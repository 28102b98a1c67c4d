// Sending screens. No inline scripts: the CSP allows only 'self'.
(() => {
  const forms = document.querySelectorAll("form[data-compose]");

  function syncCompose(form) {
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
    if (line) {
      document.querySelectorAll("[data-line-preview]").forEach((el) => el.classList.toggle("d-none", !lineOn));
      document.querySelectorAll("[data-line-only]").forEach((el) => el.classList.toggle("d-none", !lineOn));
      document.querySelectorAll("[data-line-off]").forEach((el) => el.classList.toggle("d-none", lineOn));
    }
    const body = form.querySelector("[data-body]");
    const count = form.querySelector("[data-char-count]");
    if (body && count) count.textContent = body.value.length.toLocaleString("ja-JP");
  }

  // A placeholder goes where the recruiter was typing: the last focused subject or body
  // (`data-placeholder-target`), else the body.
  function insertPlaceholder(form, text) {
    const field = form.placeholderTarget || form.querySelector("[data-body]");
    if (!field) return;
    const start = field.selectionStart ?? field.value.length;
    const end = field.selectionEnd ?? field.value.length;
    field.value = field.value.slice(0, start) + text + field.value.slice(end);
    field.focus();
    field.selectionStart = field.selectionEnd = start + text.length;
    field.dispatchEvent(new Event("input", { bubbles: true }));
  }

  forms.forEach((form) => {
    form.addEventListener("change", () => syncCompose(form));
    form.addEventListener("input", () => syncCompose(form));
    syncCompose(form);
    form.addEventListener("focusin", (event) => {
      if (event.target.matches("[data-placeholder-target]")) form.placeholderTarget = event.target;
    });
    form.addEventListener("click", (event) => {
      const item = event.target.closest("[data-insert-placeholder]");
      if (item) insertPlaceholder(form, item.dataset.insertPlaceholder);
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
  });
  // htmx re-renders the preview: keep LINE parts in step with the checkbox.
  if (forms.length) document.body.addEventListener("htmx:afterSwap", () => forms.forEach(syncCompose));

  // The template picker (compose, the LINE tab, a scheduled send's edit page): fetch the chosen
  // template and fill the subject and body with it, keeping a reply's quote (`data-fill-keep`)
  // under the body. The input events wake the live preview. Asks first when the text was edited.
  document.querySelectorAll("[data-template-picker]").forEach((picker) => {
    const select = picker.querySelector("select");
    if (!select) return;
    const subject = picker.dataset.fillSubject ? document.querySelector(picker.dataset.fillSubject) : null;
    const body = document.querySelector(picker.dataset.fillBody);
    const status = picker.querySelector("[data-template-status]");
    let filled = null;
    let current = "";
    const edited = () => {
      const base = filled || { subject: subject ? subject.defaultValue : "", body: body.defaultValue };
      return (subject && subject.value !== base.subject) || body.value !== base.body;
    };
    select.addEventListener("change", async () => {
      const option = select.selectedOptions[0];
      if (!body || !option || !option.dataset.url) return;
      const what = subject ? "件名と本文" : "本文";
      if (edited() && !window.confirm(`入力中の${what}を「${option.textContent}」の内容に置き換えます。よろしいですか？`)) {
        select.value = current;
        return;
      }
      try {
        const response = await fetch(option.dataset.url, { headers: { Accept: "application/json" } });
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        const template = await response.json();
        if (subject && template.subject) subject.value = template.subject;
        body.value = template.body + (picker.dataset.fillKeep || "");
        filled = { subject: subject ? subject.value : "", body: body.value };
        current = select.value;
        [subject, body].forEach((field) => {
          if (!field) return;
          field.dispatchEvent(new Event("input", { bubbles: true }));
          field.dispatchEvent(new Event("change", { bubbles: true }));
        });
        if (status) status.textContent = `「${template.name}」の${what}を入れました。必要に応じて書き換えてください。`;
      } catch (error) {
        select.value = current;
        if (status) status.textContent = "テンプレートを読み込めませんでした。ページを再読み込みしてお試しください。";
      }
    });
  });

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

  // Live regions ([data-live]) poll with the version they show; the server answers 204 while
  // nothing changed, or the region anew. A visible tab says so, so what arrives counts as read.
  document.body.addEventListener("htmx:configRequest", (event) => {
    if (event.detail.elt.matches("[data-live]") && document.visibilityState === "visible") {
      event.detail.headers["X-Live-Seen"] = "1";
    }
  });

  // The view keeps its place when a region is replaced: a chat scrolled to the bottom stays at
  // the bottom (the new message shows); otherwise the item at the top of the view stays where
  // it was, whatever arrived above or below it (at the very top of a newest-first list, the
  // new items show).
  const nearEdge = 24;
  let kept = null;
  document.body.addEventListener("htmx:beforeSwap", (event) => {
    const region = event.detail.target;
    if (!region.matches("[data-live]") || !event.detail.shouldSwap) return;
    const box = region.closest("[data-live-scroll]");
    const view = box || document.scrollingElement;
    const top = box ? box.getBoundingClientRect().top : 0;
    const anchor = Array.from(region.querySelectorAll("[data-live-item]")).find(
      (item) => item.getBoundingClientRect().bottom > top,
    );
    kept = {
      box,
      atBottom: box !== null && box.scrollHeight - box.scrollTop - box.clientHeight < nearEdge,
      atTop: view.scrollTop < nearEdge,
      anchor: anchor ? anchor.id : "",
      offset: anchor ? anchor.getBoundingClientRect().top : 0,
    };
  });
  document.body.addEventListener("htmx:afterSwap", () => {
    const was = kept;
    kept = null;
    if (!was) return;
    if (was.box && was.atBottom) {
      was.box.scrollTop = was.box.scrollHeight;
      return;
    }
    if (!was.box && was.atTop) return;
    const anchor = was.anchor && document.getElementById(was.anchor);
    if (!anchor) return;
    const shift = anchor.getBoundingClientRect().top - was.offset;
    if (was.box) was.box.scrollTop += shift;
    else window.scrollBy(0, shift);
  });
})();
