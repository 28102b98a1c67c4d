// イベントの作成・編集：「日程を追加」で空の日程を足し、追加した日程は取り消せる。
document.addEventListener("DOMContentLoaded", () => {
  const list = document.getElementById("date-forms");
  const template = document.getElementById("date-form-template");
  const total = document.querySelector('input[name="dates-TOTAL_FORMS"]');
  if (!list || !template || !total) return;
  document.querySelector("[data-add-date]")?.addEventListener("click", () => {
    const index = Number(total.value);
    const html = template.innerHTML.replaceAll("__prefix__", String(index));
    list.insertAdjacentHTML("beforeend", html);
    total.value = String(index + 1);
  });
  list.addEventListener("click", (event) => {
    const button = event.target.closest("[data-remove-date]");
    if (!button) return;
    const card = button.closest("[data-date-form]");
    card.querySelector("[data-remove-flag]").value = "on";
    card.hidden = true;
  });
});
