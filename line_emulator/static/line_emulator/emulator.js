// LINE emulator UI. No inline scripts; everything works without JavaScript except these niceties.
document.addEventListener("click", (event) => {
  // Copy buttons: <button data-copy-target="#id">.
  const button = event.target.closest("[data-copy-target]");
  if (!button) return;
  const source = document.querySelector(button.dataset.copyTarget);
  if (!source) return;
  const text = source.value ?? source.textContent.trim();
  const done = () => {
    const label = button.innerHTML;
    button.innerHTML = '<i class="bi bi-check2"></i> コピーしました';
    setTimeout(() => { button.innerHTML = label; }, 1500);
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done);
  } else {
    source.select?.();
    document.execCommand("copy");
    done();
  }
});

document.addEventListener("submit", (event) => {
  // Confirmation before irreversible actions: <form data-confirm="...">.
  const message = event.target.dataset?.confirm;
  if (message && !window.confirm(message)) event.preventDefault();
});

document.addEventListener("change", (event) => {
  // A file picked in the phone's attach form is sent at once.
  const input = event.target.closest("[data-autosubmit]");
  if (input && input.files?.length) input.form.requestSubmit();
});

// The chat keeps the newest message in view, unless the user scrolled up to read.
function stickToBottom(body, force) {
  const nearBottom = body.scrollHeight - body.scrollTop - body.clientHeight < 120;
  if (force || nearBottom) body.scrollTop = body.scrollHeight;
}
document.addEventListener("DOMContentLoaded", () => {
  const body = document.querySelector("[data-chat-body]");
  if (body) stickToBottom(body, true);
  document.querySelector("[data-autofocus]")?.focus();
});
document.addEventListener("htmx:beforeSwap", (event) => {
  const body = event.detail.target.closest?.("[data-chat-body]") ?? event.detail.target;
  if (body?.matches?.("[data-chat-body]")) body.dataset.wasNearBottom =
    String(body.scrollHeight - body.scrollTop - body.clientHeight < 120);
});
document.addEventListener("htmx:afterSwap", (event) => {
  const body = event.detail.target;
  if (body?.matches?.("[data-chat-body]") && body.dataset.wasNearBottom !== "false") body.scrollTop = body.scrollHeight;
});
