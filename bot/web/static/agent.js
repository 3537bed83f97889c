// Agent console. Every text from customers, the bot or other agents is set with textContent:
// nothing they write is ever parsed as HTML.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { me: null, current: null, seenQueued: new Set(), timers: [] };

async function api(method, path, body) {
  const options = { method, headers: { "Accept": "application/json" }, credentials: "same-origin" };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(path, options);
  let data = null;
  try { data = await response.json(); } catch (e) { data = null; }
  if (response.status === 401 && path !== "/api/session") { showLogin(); }
  if (!response.ok) {
    const detail = data && data.detail ? data.detail : `error ${response.status}`;
    const error = new Error(typeof detail === "string" ? detail : "invalid input");
    error.status = response.status;
    throw error;
  }
  return data;
}

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

function minutes(seconds) {
  if (seconds === null || seconds === undefined) return "";
  const m = Math.floor(seconds / 60);
  return m < 1 ? "<1 min" : `${m} min`;
}

function showLogin() {
  state.timers.forEach(clearInterval);
  state.timers = [];
  state.me = null;
  $("login").hidden = false;
  $("desk").hidden = true;
  $("me").hidden = true;
}

function showDesk(me) {
  state.me = me;
  $("login").hidden = true;
  $("desk").hidden = false;
  $("me").hidden = false;
  $("me-name").textContent = me.display_name;
  $("presence").value = me.presence === "offline" ? "online" : me.presence;
  setPresence($("presence").value);
  refreshLists();
  state.timers.push(setInterval(refreshLists, 2000));
  state.timers.push(setInterval(refreshConversation, 1500));
  state.timers.push(setInterval(() => setPresence($("presence").value), 20000));
}

async function setPresence(presence) {
  try { await api("POST", "/api/presence", { presence }); } catch (e) { /* shown on next call */ }
}

function listItem(handoff) {
  const li = el("li");
  const button = el("button");
  button.type = "button";
  button.dataset.id = handoff.id;
  button.setAttribute("aria-current", String(state.current === handoff.id));
  const wait = handoff.waiting_seconds !== null ? ` · waiting ${minutes(handoff.waiting_seconds)}` : "";
  button.append(el("strong", `${handoff.reference} · ${handoff.language.toUpperCase()}`), el("br"));
  button.append(el("span", `${handoff.reason.replaceAll("_", " ")}${wait}`, "muted"), el("br"));
  button.append(el("span", handoff.last_question || ""));
  button.addEventListener("click", () => openConversation(handoff.id));
  li.append(button);
  return li;
}

async function refreshLists() {
  if (!state.me) return;
  try {
    const [queued, mine] = await Promise.all([
      api("GET", "/api/handoffs?view=queued"),
      api("GET", "/api/handoffs?view=mine"),
    ]);
    $("queue").replaceChildren(...queued.map(listItem));
    $("mine").replaceChildren(...mine.map(listItem));
    $("queue-count").textContent = String(queued.length);
    const fresh = queued.filter((h) => !state.seenQueued.has(h.id));
    queued.forEach((h) => state.seenQueued.add(h.id));
    document.title = queued.length ? `(${queued.length}) Agent console · Amberline` : "Agent console · Amberline";
    if (fresh.length && document.hidden && "Notification" in window && Notification.permission === "granted") {
      new Notification("New customer waiting", { body: fresh[0].last_question || fresh[0].reason });
    }
  } catch (e) { /* keep the last lists */ }
}

function renderContext(pkg) {
  const dl = $("context");
  dl.replaceChildren();
  const customer = pkg.customer || {};
  const rows = [
    ["Reason", pkg.reason],
    ["Last question", pkg.last_question],
    ["Language / channel", `${pkg.language || ""} / ${pkg.channel || ""}`],
    ["Page / device", `${pkg.page || "—"} / ${pkg.device || "—"}`],
    ["Customer", customer.verified ? `${customer.name || ""} ${customer.email || ""} order ${customer.order_number || ""}` : "not verified"],
    ["Articles shown", (pkg.articles || []).map((a) => `${a.article_id} v${a.version} (${a.helpful === true ? "helped" : a.helpful === false ? "did not help" : "not rated"})`).join(", ") || "none"],
    ["What the bot understood", (pkg.understood || []).map((u) => `${u.text} → ${u.intent} ${u.confidence}`).join("\n")],
  ];
  for (const [term, value] of rows) {
    dl.append(el("dt", term), el("dd", value || "—"));
  }
}

async function openConversation(id) {
  state.current = id;
  $("chat-error").textContent = "";
  $("transcript").replaceChildren();
  await refreshConversation();
  refreshLists();
}

async function refreshConversation() {
  if (!state.current) return;
  try {
    const handoff = await api("GET", `/api/handoffs/${state.current}`);
    $("empty").hidden = true;
    $("chat").hidden = false;
    $("chat-title").textContent = `${handoff.reference} · ${handoff.status}`;
    $("chat-meta").textContent = `${handoff.language.toUpperCase()} · team ${handoff.team || "—"} · ${handoff.agent ? "with " + handoff.agent : "waiting"}`;
    $("summary").textContent = handoff.summary;
    renderContext(handoff.package);
    const mine = handoff.mine && handoff.status === "assigned";
    $("claim").disabled = handoff.status !== "queued";
    $("hand-back").disabled = !mine;
    $("resolve").disabled = !(mine || handoff.status === "queued");
    $("reply").disabled = !mine;
    const lines = await api("GET", `/api/handoffs/${state.current}/transcript`);
    const list = $("transcript");
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    list.replaceChildren(...lines.map((line) => {
      const li = el("li", null, line.author);
      const who = line.author === "agent" ? line.name || "Agent" : line.author;
      li.append(el("span", who, "who"), el("span", line.text));
      if (line.time) li.title = new Date(line.time).toLocaleString();
      return li;
    }));
    if (atBottom) list.scrollTop = list.scrollHeight;
  } catch (e) {
    $("chat-error").textContent = e.message;
  }
}

async function act(path, body) {
  $("chat-error").textContent = "";
  try {
    const result = await api("POST", `/api/handoffs/${state.current}/${path}`, body);
    if (result && result.customer_told === false) {
      $("chat-error").textContent = "Done, but the customer's chat could not be updated yet.";
    }
  } catch (e) {
    $("chat-error").textContent = e.message;
  }
  await refreshConversation();
  refreshLists();
}

document.addEventListener("DOMContentLoaded", async () => {
  $("login-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("login-error").textContent = "";
    try {
      const me = await api("POST", "/api/session", { username: $("username").value, password: $("password").value });
      $("password").value = "";
      if ("Notification" in window && Notification.permission === "default") Notification.requestPermission();
      showDesk(me);
    } catch (e) {
      $("login-error").textContent = e.message;
    }
  });
  $("logout").addEventListener("click", async () => { await api("DELETE", "/api/session"); showLogin(); });
  $("presence").addEventListener("change", () => setPresence($("presence").value));
  $("claim").addEventListener("click", () => act("claim"));
  $("hand-back").addEventListener("click", () => act("hand-back", { note: null }));
  $("resolve").addEventListener("click", () => act("resolve", { outcome: $("outcome").value }));
  $("reply-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = $("reply").value.trim();
    if (!text) return;
    try {
      await api("POST", `/api/handoffs/${state.current}/messages`, { text });
      $("reply").value = "";
      $("chat-error").textContent = "";
    } catch (e) {
      $("chat-error").textContent = e.message;
    }
    refreshConversation();
  });
  $("reply").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); $("reply-form").requestSubmit(); }
  });
  try { showDesk(await api("GET", "/api/session")); } catch (e) { showLogin(); }
});
