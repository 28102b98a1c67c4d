// Candidate screens: the bulk-selection bar and the inline "new agent" fields.
// Event delegation throughout, so it keeps working after htmx swaps the results in.
(() => {
  const form = () => document.getElementById("bulk-form");
  const rowBoxes = (f) => Array.from(f.querySelectorAll('input[type=checkbox][name="ids"]'));
  const show = (el, visible) => el && el.classList.toggle("d-none", !visible);

  function setAllMatching(f, on) {
    f.querySelector("[data-all-matching-input]").value = on ? "1" : "0";
    f.dataset.allMatching = on ? "1" : "0";
  }

  function refresh() {
    const f = form();
    if (!f) return;
    const boxes = rowBoxes(f);
    const checked = boxes.filter((box) => box.checked).length;
    const allOnPage = boxes.length > 0 && checked === boxes.length;
    const total = Number(f.dataset.total || 0);
    if (!allOnPage) setAllMatching(f, false);
    const allMatching = f.dataset.allMatching === "1";
    const selectAll = f.querySelector("[data-select-all]");
    if (selectAll) {
      selectAll.checked = allOnPage;
      selectAll.indeterminate = checked > 0 && !allOnPage;
    }
    show(f.querySelector("[data-bulk-bar]"), checked > 0);
    show(f.querySelector("[data-bulk-idle]"), checked === 0);
    f.querySelector("[data-selected-count]").textContent = (allMatching ? total : checked).toLocaleString("ja-JP");
    show(f.querySelector("[data-select-all-matching-prompt]"), allOnPage && !allMatching && total > boxes.length);
    show(f.querySelector("[data-all-matching-note]"), allMatching);
  }

  // app.js's select-all fires one change per row box; refresh once, after all of them,
  // or the header box would be reset half-way through its own loop.
  let scheduled = false;
  function scheduleRefresh() {
    if (scheduled) return;
    scheduled = true;
    setTimeout(() => { scheduled = false; refresh(); }, 0);
  }

  document.addEventListener("change", (event) => {
    if (event.target.closest("#bulk-form")) scheduleRefresh();
  });

  document.addEventListener("click", (event) => {
    const f = form();
    if (!f) return;
    if (event.target.closest("[data-select-all-matching]")) {
      setAllMatching(f, true);
      refresh();
    } else if (event.target.closest("[data-clear-selection]")) {
      rowBoxes(f).forEach((box) => { box.checked = false; });
      setAllMatching(f, false);
      refresh();
    }
  });

  document.addEventListener("submit", (event) => {
    // Ask before a bulk change: the count says how many rows it will touch.
    const button = event.submitter;
    const template = button?.dataset?.confirmBulk;
    if (!template || event.target.id !== "bulk-form") return;
    const count = event.target.querySelector("[data-selected-count]").textContent;
    if (!window.confirm(template.replace("{count}", count))) event.preventDefault();
  });

  // The agent select's "＋ 新しいエージェントを登録…" option reveals the inline fields.
  document.addEventListener("change", (event) => {
    if (event.target.name !== "agent_choice") return;
    show(document.querySelector("[data-new-agent-fields]"), event.target.value === "new");
  });

  document.addEventListener("htmx:afterSwap", refresh);
  document.addEventListener("DOMContentLoaded", refresh);
  // Back/forward may restore checked boxes from the page cache.
  window.addEventListener("pageshow", refresh);
})();
