// Behaviour shared by every page. No inline scripts: the CSP allows only 'self'.
document.addEventListener("click", (event) => {
  // Copy buttons: <button data-copy-target="#id">.
  const button = event.target.closest("[data-copy-target]");
  if (!button) return;
  const source = document.querySelector(button.dataset.copyTarget);
  if (!source) return;
  navigator.clipboard.writeText(source.value ?? source.textContent.trim()).then(() => {
    const label = button.innerHTML;
    button.innerHTML = '<i class="bi bi-check2"></i> コピーしました';
    setTimeout(() => { button.innerHTML = label; }, 1500);
  });
});

document.addEventListener("change", (event) => {
  // Select-all checkboxes: <input type="checkbox" data-select-all="name-of-row-checkboxes">.
  const all = event.target.closest("[data-select-all]");
  if (!all) return;
  document.querySelectorAll(`input[type=checkbox][name="${all.dataset.selectAll}"]`).forEach((box) => {
    box.checked = all.checked;
    box.dispatchEvent(new Event("change", { bubbles: true }));
  });
});

document.addEventListener("submit", (event) => {
  // Confirmation before destructive actions: <form data-confirm="本当に削除しますか？">.
  const message = event.target.dataset?.confirm;
  if (message && !window.confirm(message)) event.preventDefault();
});

// A LINE sticker whose picture cannot be loaded (LINE's CDN unreachable, e.g. an offline demo)
// shows a sticker icon and 「スタンプ」 instead of a broken image.
function showStickerFallback(img) {
  const fallback = document.createElement("span");
  fallback.className = "d-inline-flex align-items-center gap-1 text-body-secondary";
  fallback.dataset.stickerFallback = "";
  fallback.innerHTML = '<i class="bi bi-emoji-smile fs-3" aria-hidden="true"></i> スタンプ';
  img.replaceWith(fallback);
}
document.addEventListener("error", (event) => {
  if (event.target instanceof HTMLImageElement && event.target.closest("[data-line-sticker]")) {
    showStickerFallback(event.target);
  }
}, true);
document.querySelectorAll("[data-line-sticker] img").forEach((img) => {
  if (img.complete && img.naturalWidth === 0) showStickerFallback(img);
});

// Regions that poll for changes ([data-live]: the LINE tab, the timeline, the inbox, the
// navigation badge) rest while the browser tab is hidden, and ask at once when it is shown.
document.addEventListener("htmx:beforeRequest", (event) => {
  if (document.visibilityState === "hidden" && event.detail.elt.matches("[data-live]")) event.preventDefault();
});
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState !== "visible" || !window.htmx) return;
  document.querySelectorAll("[data-live]").forEach((region) => window.htmx.trigger(region, "live:shown"));
});
