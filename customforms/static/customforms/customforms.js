// Custom forms. No inline scripts: the CSP allows only 'self'.

// Character counters under long answers: <textarea data-count-limit="4000">. The server
// enforces the limit; the counter only warns, so a pasted answer is never cut off silently.
function updateCounter(textarea) {
  const counter = document.getElementById(`${textarea.id}-counter`);
  if (!counter) return;
  const limit = Number(textarea.dataset.countLimit);
  const length = [...textarea.value].length;
  counter.textContent = `${length.toLocaleString()} / ${limit.toLocaleString()}文字`;
  counter.classList.toggle("cf-over", length > limit);
}
document.querySelectorAll("textarea[data-count-limit]").forEach(updateCounter);
document.addEventListener("input", (event) => {
  if (event.target.matches?.("textarea[data-count-limit]")) updateCounter(event.target);
});

// The field editor shows the settings of the chosen type only: [data-kind-section="choice|file"].
function showKindSections(select) {
  const kind = select.value;
  document.querySelectorAll("[data-kind-section]").forEach((section) => {
    const kinds = section.dataset.kindSection.split(" ");
    section.classList.toggle("d-none", !kinds.includes(kind));
  });
}
const kindSelect = document.querySelector("select[data-kind-select]");
if (kindSelect) {
  showKindSections(kindSelect);
  kindSelect.addEventListener("change", () => showKindSections(kindSelect));
}

// After htmx swaps the field list, keep the keyboard where it was: on the moved field's
// same button (or the other one when it reached the top or the bottom).
document.addEventListener("htmx:afterSwap", (event) => {
  const moved = document.querySelector("[data-moved]");
  if (!moved || !event.detail.requestConfig) return;
  const direction = event.detail.requestConfig.parameters?.direction;
  const buttons = moved.querySelectorAll("button[data-direction]:not([disabled])");
  const same = [...buttons].find((button) => button.dataset.direction === direction);
  (same || buttons[0])?.focus();
  setTimeout(() => moved.classList.remove("cf-moved"), 800);
});

// The recruiter's preview shows the candidate's page but never submits it.
document.addEventListener("submit", (event) => {
  if (event.target.matches?.("form[data-preview]")) event.preventDefault();
});
