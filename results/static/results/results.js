// The candidate page's 選考結果 form: under the form, what notice the chosen step and result
// will send (the company's settings, rendered into #result-notices as JSON).
(() => {
  const form = document.getElementById("record-result");
  const data = document.getElementById("result-notices");
  if (!form || !data) return;
  const notices = JSON.parse(data.textContent);
  const text = form.querySelector("[data-result-notice-text]");
  const update = () => {
    const stage = form.querySelector("[data-result-stage]").value;
    const outcome = form.querySelector("[data-result-outcome]:checked");
    if (!outcome) return;
    const notice = (notices[stage] || {})[outcome.value];
    if (notice) text.textContent = notice;
  };
  form.addEventListener("change", update);
  update();
})();
