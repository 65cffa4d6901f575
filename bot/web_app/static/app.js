// The playground page: one shared room, live over server-sent events.
// Everything a person typed (names, messages) is shown with textContent, never as HTML.
"use strict";

const $ = (id) => document.getElementById(id);
// The page's words in its language (the server picked it: ?lang=, else the browser's Accept-Language).
const T = JSON.parse($("page-texts").textContent);
const pageLang = document.documentElement.lang || "en";
const log = $("log");
const nameInput = $("name");
const textInput = $("text");
const shown = new Map(); // message id -> <li>
let source = null;
let noteCount = 0;
let roomEpoch = null;

// This browser's player id: random, kept in localStorage. Id plus typed name make the player,
// so two tabs with two names play as two people.
const clientId = (() => {
  let id = localStorage.getItem("figment.client");
  if (!id || !/^[A-Za-z0-9_-]{8,40}$/.test(id)) {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    id = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    localStorage.setItem("figment.client", id);
  }
  return id;
})();

nameInput.value = sessionStorage.getItem("figment.name") || localStorage.getItem("figment.name") || "";

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function nearBottom() {
  return window.innerHeight + window.scrollY >= document.body.scrollHeight - 80;
}

function place(item, number) {
  // keep server messages in id order even when a reply overtakes the stream
  for (const other of log.children) {
    const n = Number(other.dataset.n);
    if (n && number && n > number) { log.insertBefore(item, other); return; }
  }
  log.appendChild(item);
}

function create(m) {
  // the parts of a message, made once; later versions of it update them in place, so a button
  // being clicked is never swapped out from under the pointer
  const item = el("li", `msg kind-${m.kind}`);
  item.dataset.id = m.id;
  const roomNumber = /^m(\d+)$/.exec(m.id); // room messages are numbered; private ones go last
  item.dataset.n = roomNumber ? roomNumber[1] : "";
  item.appendChild(el("div", "who"));
  if (m.image && m.image.startsWith("/api/images/")) {
    const img = el("img");
    img.alt = m.kind === "round" || m.kind === "daily" ? T.QUIZ_IMAGE : T.FACE_IMAGE;
    img.src = m.image;
    img.addEventListener("load", () => {
      img.classList.toggle("pair", img.naturalWidth > img.naturalHeight); // two faces side by side
      if (nearBottom()) window.scrollTo(0, document.body.scrollHeight);
    });
    item.appendChild(img);
  }
  item.appendChild(el("p", "text"));
  item.appendChild(el("div", "answered"));
  const row = el("div", "buttons");
  for (const b of m.buttons || []) {
    const button = el("button", "answer", b.label);
    button.type = "button";
    button.dataset.guess = b.guess;
    button.addEventListener("click", () => (m.daily ? answerDaily(item, m.daily, b.guess)
                                                     : answer(item, m.round_id, b.guess)));
    row.appendChild(button);
  }
  item.appendChild(row);
  item.appendChild(el("div", "toast"));
  return item;
}

function render(m) {
  const follow = nearBottom();
  let item = shown.get(m.id);
  if (!item) {
    item = create(m);
    shown.set(m.id, item);
    place(item, Number(item.dataset.n));
  }
  item.querySelector(".who").textContent = m.kind === "user" ? m.name : "Figment";
  item.querySelector(".text").textContent = (m.texts && m.texts[pageLang]) || m.text; // the bot's own words in this page's language
  item.querySelector(".answered").textContent = m.answered && m.answered.length
    ? `${T.ANSWERED} ${m.answered.join(", ")}` : "";
  if (!m.buttons || !m.buttons.length) item.querySelector(".buttons").replaceChildren(); // revealed
  if (m.download && !item.querySelector("a.download")) {
    const link = el("a", "download", T.CREDENTIALS_LINK);
    link.href = m.download;
    link.setAttribute("download", "");
    item.querySelector(".buttons").appendChild(link);
  }
  if (follow) window.scrollTo(0, document.body.scrollHeight);
}

function note(text) {
  // a private reply (refusal, error): only this tab sees it
  const item = el("li", "msg note");
  item.dataset.id = `n${++noteCount}`;
  item.appendChild(el("div", "who", T.ONLY_YOU));
  item.appendChild(el("p", "text", text));
  log.appendChild(item);
  window.scrollTo(0, document.body.scrollHeight);
}

function handle(event) {
  switch (event.type) {
    case "reset":
      // a reconnect to the same room keeps what is shown (private notes too); a new room starts over
      if (event.room !== roomEpoch) {
        shown.clear();
        log.replaceChildren();
        roomEpoch = event.room;
      }
      break;
    case "message":
      render(event.message);
      break;
    case "presence":
      $("online").textContent = event.names.length ? `${T.ONLINE} ${event.names.join(", ")}` : "";
      break;
    case "board":
      $("board").textContent = event.text;
      break;
  }
}

function connect() {
  if (source) source.close();
  const query = new URLSearchParams({ client: clientId, name: nameInput.value.trim() });
  source = new EventSource(`/api/events?${query}`);
  source.onopen = () => { $("status").hidden = true; };
  source.onerror = () => {
    $("status").textContent = T.RECONNECTING;
    $("status").hidden = false;
  };
  source.onmessage = (e) => handle(JSON.parse(e.data));
}

async function post(path, body) {
  try {
    const response = await fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ client: clientId, name: nameInput.value, lang: pageLang, ...body }),
    });
    return await response.json();
  } catch (error) {
    return { ok: false, error: T.UNREACHABLE, messages: [] };
  }
}

async function say(text) {
  const reply = await post("/api/say", { text });
  for (const m of reply.messages || []) render(m);
  if (reply.error) note(reply.error);
  return reply.ok;
}

async function answer(item, roundId, guess) {
  const reply = await post("/api/answer", { round_id: roundId, guess });
  if (reply.error) { note(reply.error); return; }
  if (reply.status === "recorded") {
    for (const b of item.querySelectorAll("button.answer")) b.classList.toggle("chosen", b.dataset.guess === guess);
  }
  const toast = item.querySelector(".toast");
  if (toast) toast.textContent = reply.toast || "";
}

async function answerDaily(item, key, guess) {
  // a daily round is this tab's alone: the reply brings its result and the next round (or the finish)
  const reply = await post("/api/daily", { daily: key, guess });
  if (reply.error) { note(reply.error); return; }
  for (const m of reply.messages || []) render(m);
  const toast = item.querySelector(".toast");
  if (toast) toast.textContent = reply.toast || "";
}

$("check").addEventListener("change", async (e) => {
  // the file goes as the request body; the answer is for this tab only
  const file = e.target.files[0];
  e.target.value = "";
  if (!file) return;
  try {
    const response = await fetch(`/api/check?${new URLSearchParams({ client: clientId, lang: pageLang })}`, { method: "POST", body: file });
    const reply = await response.json();
    note(reply.reply || reply.error);
  } catch (error) {
    note(T.UNREACHABLE);
  }
});

$("composer").addEventListener("submit", async (e) => {
  e.preventDefault();
  const text = textInput.value;
  if (await say(text)) textInput.value = "";
  textInput.focus();
});

for (const button of document.querySelectorAll(".shortcuts button")) {
  button.addEventListener("click", () => say(button.dataset.say));
}

nameInput.addEventListener("change", () => {
  const name = nameInput.value.trim();
  sessionStorage.setItem("figment.name", name);
  localStorage.setItem("figment.name", name);
  connect(); // so the others see who is here
});

connect();

// The language picker: the page again in the chosen language (the choice stays in the address).
$("language").addEventListener("change", (event) => {
  const params = new URLSearchParams(location.search);
  params.set("lang", event.target.value);
  location.search = params.toString();
});
