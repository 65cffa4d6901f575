// The playground's face editor: sliders for age and smile that send /face SEED [age A] [smile S]
// through the same path as a typed message (say() in app.js), so every check of the core applies.
"use strict";

(() => {
  const seed = document.getElementById("edit-seed");
  const age = document.getElementById("edit-age");
  const smile = document.getElementById("edit-smile");
  const ageValue = document.getElementById("edit-age-value");
  const smileValue = document.getElementById("edit-smile-value");
  let ageTouched = false; // until the age slider moves, the face keeps its own age

  function command() {
    const words = ["/face", seed.value.trim()];
    if (ageTouched) words.push("age", age.value);
    if (Number(smile.value) !== 0) words.push("smile", smile.value);
    return words.join(" "); // nothing moved: the face as it is

  }

  function send() { say(command()); } // say: app.js

  age.addEventListener("input", () => { ageTouched = true; ageValue.textContent = age.value; });
  smile.addEventListener("input", () => { smileValue.textContent = smile.value; });
  age.addEventListener("change", send);
  smile.addEventListener("change", send);
  document.getElementById("editor").addEventListener("submit", (e) => { e.preventDefault(); send(); });
})();
