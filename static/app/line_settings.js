// LINE連携設定: 連携を開始 asks LINE several things; show that it is working and block double submits.
document.addEventListener("submit", (event) => {
  if (event.defaultPrevented) return; // e.g. a data-confirm dialog was cancelled
  const button = event.target.querySelector("button[data-disable-on-submit]");
  if (!button) return;
  button.disabled = true;
  button.innerHTML = '<span class="spinner-border spinner-border-sm" aria-hidden="true"></span> LINEに確認しています…';
});
