// LINE連携設定: 連携を開始 asks LINE several things; show that it is working and block double submits.
document.addEventListener("submit", (event) => {
  if (event.defaultPrevented) return; // e.g. a data-confirm dialog was cancelled
  const button = event.target.querySelector("button[data-disable-on-submit]");
  if (!button) return;
  button.disabled = true;
  button.innerHTML = '<span class="spinner-border spinner-border-sm" aria-hidden="true"></span> LINEに確認しています…';
});

// After a failed 連携を開始 / 変更して再連携 the page comes back at the top, but the error sits by the
// channel inputs further down (below the fold once linked): bring it into view.
document.querySelector("#line-link-error, #line-form-errors, #line-link-form .is-invalid")?.scrollIntoView({ block: "center" });
