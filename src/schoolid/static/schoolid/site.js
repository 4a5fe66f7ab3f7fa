// Progressive enhancement only; every page works without it.
document.addEventListener("DOMContentLoaded", () => {
  for (const select of document.querySelectorAll("select.autosubmit")) {
    select.addEventListener("change", () => select.form.submit());
    const go = select.form.querySelector(".lang-go");
    if (go) go.classList.add("visually-hidden");
  }
  for (const button of document.querySelectorAll("button.show-password")) {
    const input = document.getElementById(button.dataset.target);
    if (!input) continue;
    button.addEventListener("click", () => {
      const showing = input.type === "text";
      input.type = showing ? "password" : "text";
      button.textContent = showing ? button.dataset.show : button.dataset.hide;
      button.setAttribute("aria-pressed", String(!showing));
    });
  }
});

document.addEventListener("DOMContentLoaded", () => {
  const all = document.getElementById("select-all");
  if (!all) return;
  all.addEventListener("change", () => {
    for (const box of document.querySelectorAll("input.row-check")) box.checked = all.checked;
  });
});

// Numbers in the page's digits (Persian, Bengali), by the server's rule (core/numerals.py).
const NATIVE_ZERO = { fa: 0x06F0, bn: 0x09E6 };
function localDigits(text) {
  const zero = NATIVE_ZERO[document.documentElement.lang.split("-")[0]];
  if (!zero) return text;
  return text.split(/(\s+)/).map((word) => /[A-Za-z@]/.test(word) ? word
    : word.replace(/[0-9]/g, (d) => String.fromCharCode(zero + Number(d)))).join("");
}

// Live password policy hints: the length as you type, and the server's reasons after a pause.
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("change-password-form");
  if (!form) return;
  const input = document.getElementById("id_new_password");
  const rule = document.querySelector('#policy-hints [data-rule="length"]');
  const count = document.getElementById("length-count");
  const problems = document.getElementById("policy-problems");
  const token = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  let timer = null;
  input.addEventListener("input", () => {
    const length = [...input.value.normalize("NFC")].length;
    const min = Number(rule.dataset.min), max = Number(rule.dataset.max);
    count.textContent = localDigits(`(${length})`);
    rule.classList.toggle("met", length >= min && length <= max);
    clearTimeout(timer);
    timer = setTimeout(async () => {
      if (!input.value) { problems.hidden = true; return; }
      const body = new URLSearchParams({ password: input.value });
      const answer = await fetch(form.dataset.checkUrl, { method: "POST", body, headers: { "X-CSRFToken": token }, credentials: "same-origin" });
      if (!answer.ok) return;
      const result = await answer.json();
      problems.textContent = localDigits(result.problems.join(" "));
      problems.hidden = result.ok;
    }, 350);
  });
});
