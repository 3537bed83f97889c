// Agent console. Every text from customers, the bot or other agents is set with textContent:
// nothing they write is ever parsed as HTML. Lists and the transcript are updated in place
// (only what changed), so that focus, selection and screen readers are not disturbed by updates.
// The server pushes changes over Server-Sent Events (/api/agent/events); the console polls only
// while that stream is unavailable. <body data-live> says which: connected, reconnecting, polling.
import { $, api, el, showSignedIn, showSignedOut, wireSignIn } from "/static/staff.js";

const fresh = () => ({
  me: null, current: null, conversationId: null, language: "en", seenQueued: new Set(), timers: [], polling: [],
  source: null, lists: {}, listData: {}, listsAt: 0, listsDue: null, lines: [], detail: null, typingTimer: null,
});
let state = fresh();

function announce(text) { $("announce").textContent = text; }

// A short, quiet two-note chime for a new customer (no sound file to download).
function chime() {
  try {
    const audio = new (window.AudioContext || window.webkitAudioContext)();
    [660, 880].forEach((frequency, i) => {
      const tone = audio.createOscillator();
      const volume = audio.createGain();
      tone.frequency.value = frequency;
      volume.gain.value = 0.05;
      tone.connect(volume).connect(audio.destination);
      tone.start(audio.currentTime + i * 0.15);
      tone.stop(audio.currentTime + i * 0.15 + 0.12);
    });
    setTimeout(() => audio.close(), 1000);
  } catch (e) { /* no audio: the title and the badge still show it */ }
}

function minutes(seconds) {
  if (seconds === null || seconds === undefined) return "";
  const m = Math.floor(seconds / 60);
  return m < 1 ? "<1 min" : `${m} min`;
}

function showLogin() {
  state.timers.forEach(clearInterval);
  stopPolling();
  if (state.source) state.source.close();
  delete document.body.dataset.live;
  state = fresh();
  for (const id of ["queue", "mine", "follow-ups", "transcript", "notes", "earlier", "kb-results", "context"]) $(id).replaceChildren();
  $("chat").hidden = true;
  $("empty").hidden = false;
  showSignedOut();
  $("desk").hidden = true;
  document.title = "Agent console · Amberline";
}

function showDesk(me) {
  state.me = me;
  showSignedIn(me);
  $("desk").hidden = false;
  $("presence").value = me.presence === "offline" ? "online" : me.presence;
  setPresence($("presence").value);
  refreshLists();
  connectLive();
  state.timers.push(setInterval(() => setPresence($("presence").value), 20000));
  state.timers.push(setInterval(renderLists, 30000)); // waiting times move on, without a request
}

// --- Live updates -------------------------------------------------------------------------------

function startPolling() {
  if (!state.polling.length) {
    state.polling.push(setInterval(refreshLists, 2000), setInterval(refreshConversation, 1500));
  }
  document.body.dataset.live = "polling";
}

function stopPolling() {
  state.polling.forEach(clearInterval);
  state.polling = [];
}

// Lists are fetched again once for a burst of changes.
function listsChanged() {
  if (state.listsDue) return;
  state.listsDue = setTimeout(() => { state.listsDue = null; refreshLists(); }, 50);
}

function connectLive() {
  if (!("EventSource" in window)) { startPolling(); return; }
  const source = new EventSource("/api/agent/events");
  state.source = source;
  let failures = 0;
  const on = (kind, handle) => source.addEventListener(kind, (event) => {
    if (state.source === source) handle(JSON.parse(event.data));
  });
  on("ready", (data) => {
    failures = 0;
    stopPolling();
    document.body.dataset.live = "connected";
    if (!data.resumed) { // a first connection, or too much missed: load everything again
      state.lists = {};
      refreshLists();
      refreshConversation();
    }
  });
  on("handoff", (change) => {
    listsChanged();
    if (change.id === state.current) refreshConversation();
  });
  on("follow_up", listsChanged);
  on("note", (change) => {
    if (change.handoff === state.current) { state.detail = null; refreshConversation(); }
  });
  on("line", (change) => {
    if (change.conversation_id !== state.conversationId) return;
    appendLines([change.line]);
    // How many lines of the open chat came by push (shown to tests and to curious agents).
    document.body.dataset.pushedLines = String(Number(document.body.dataset.pushedLines || 0) + 1);
  });
  on("typing", (change) => {
    if (change.conversation_id !== state.conversationId) return;
    state.typingSeen = Date.now();
    showTyping(change.typing);
  });
  source.addEventListener("error", () => {
    if (state.source !== source) return;
    failures += 1;
    if (source.readyState === EventSource.CLOSED) { // refused (signed out, server full): poll
      state.source = null;
      startPolling();
      setTimeout(() => { if (state.me && !state.source) connectLive(); }, 15000);
    } else if (failures >= 2) {
      startPolling(); // the browser keeps reconnecting; polling stops when it is back
    } else {
      document.body.dataset.live = "reconnecting";
    }
  });
}

function showTyping(typing) {
  clearTimeout(state.typingTimer);
  $("customer-typing").textContent = typing ? "The customer is typing…" : "";
  if (typing) state.typingTimer = setTimeout(() => { $("customer-typing").textContent = ""; }, 6000);
}

async function setPresence(presence) {
  try { await api("POST", "/api/presence", { presence }); } catch (e) { /* shown on next call */ }
}

// Seconds waited now: as the server said, plus the time since it said it.
function waited(handoff) {
  if (handoff.waiting_seconds === null || handoff.waiting_seconds === undefined) return null;
  return handoff.waiting_seconds + (Date.now() - state.listsAt) / 1000;
}

function listItem(handoff) {
  const li = el("li");
  const button = el("button");
  button.type = "button";
  button.dataset.id = handoff.id;
  button.setAttribute("aria-current", String(state.current === handoff.id));
  const wait = waited(handoff) !== null ? ` · waiting ${minutes(waited(handoff))}` : "";
  button.append(el("strong", `${handoff.reference} · ${handoff.language.toUpperCase()}`), el("br"));
  button.append(el("span", `${handoff.reason.replaceAll("_", " ")}${wait}`, "muted"), el("br"));
  button.append(el("span", handoff.last_question || ""));
  button.addEventListener("click", () => openConversation(handoff.id));
  li.append(button);
  return li;
}

// Replace a list's items only when what they show changed; keep keyboard focus on the same item.
function renderList(id, handoffs) {
  const key = JSON.stringify(handoffs.map((h) => [h.id, h.status, h.reason, h.last_question, minutes(waited(h)), state.current === h.id]));
  if (state.lists[id] === key) return;
  state.lists[id] = key;
  const list = $(id);
  const focused = list.contains(document.activeElement) ? document.activeElement.dataset.id : null;
  list.replaceChildren(...handoffs.map(listItem));
  if (focused) {
    const again = list.querySelector(`button[data-id="${CSS.escape(focused)}"]`);
    if (again) again.focus();
  }
}

async function refreshLists() {
  if (!state.me) return;
  try {
    const [queued, mine, followUps] = await Promise.all([
      api("GET", "/api/handoffs?view=queued"),
      api("GET", "/api/handoffs?view=mine"),
      api("GET", "/api/handoffs?view=follow_up"),
    ]);
    state.listData = { queue: queued, mine, "follow-ups": followUps };
    state.listsAt = Date.now();
    renderLists();
    state.followUps = new Set(followUps.map((h) => h.id));
    $("queue-count").textContent = String(queued.length);
    const arrived = queued.filter((h) => !state.seenQueued.has(h.id));
    queued.forEach((h) => state.seenQueued.add(h.id));
    document.title = queued.length ? `(${queued.length}) Agent console · Amberline` : "Agent console · Amberline";
    if (arrived.length) {
      announce(`${arrived.length} new customer${arrived.length > 1 ? "s" : ""} waiting`);
      chime();
      if (document.hidden && "Notification" in window && Notification.permission === "granted") {
        new Notification("New customer waiting", { body: arrived[0].last_question || arrived[0].reason });
      }
    }
  } catch (e) { /* keep the last lists */ }
}

function renderLists() {
  for (const [id, handoffs] of Object.entries(state.listData)) renderList(id, handoffs);
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

function lineItem(line, index, lines) {
  const li = el("li", null, line.author);
  const who = line.author === "agent" ? line.name || "Agent" : line.author;
  li.append(el("span", who, "who"), el("span", line.text));
  if (line.time) li.title = new Date(line.time).toLocaleString();
  if (line.author === "bot") {
    const report = el("button", "Wrong?", "report");
    report.type = "button";
    report.setAttribute("aria-label", "The bot got this wrong");
    report.addEventListener("click", () => reportWrongAnswer(line, lines.slice(0, index), li));
    li.append(report);
  }
  return li;
}

// Append new transcript lines; rebuild only if earlier lines changed. Lines carry their place in
// the conversation (id): pushed lines newer than a transcript just fetched are kept.
function renderTranscript(fetched) {
  const top = fetched.length ? fetched[fetched.length - 1].id : 0;
  const lines = fetched.concat(state.lines.filter((l) => l.id > top));
  const list = $("transcript");
  const key = (l) => JSON.stringify([l.id, l.time, l.author, l.name || null, l.text]);
  const same = state.lines.length <= lines.length && state.lines.every((l, i) => key(l) === key(lines[i]));
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  if (!same) {
    list.replaceChildren(...lines.map((l, i) => lineItem(l, i, lines)));
  } else {
    const added = lines.slice(state.lines.length);
    added.forEach((l, i) => list.append(lineItem(l, state.lines.length + i, lines)));
    const fromCustomer = added.filter((l) => l.author === "customer");
    if (state.lines.length && fromCustomer.length) announce(`Customer: ${fromCustomer[fromCustomer.length - 1].text}`);
  }
  state.lines = lines;
  if (atBottom || !same) list.scrollTop = list.scrollHeight;
}

function appendLines(pushed) {
  const top = state.lines.length ? state.lines[state.lines.length - 1].id : 0;
  const added = pushed.filter((l) => l.id > top);
  if (added.length) renderTranscript(state.lines.concat(added));
}

function renderNotes(notes) {
  $("notes").replaceChildren(...notes.map((n) => el("li", `${n.author} · ${new Date(n.time).toLocaleString()}\n${n.text}`)));
  $("notes-count").textContent = String(notes.length);
}

async function openConversation(id) {
  state.current = id;
  state.conversationId = null;
  state.lines = [];
  state.detail = null;
  state.lists = {};
  state.typingSeen = 0;
  $("chat-error").textContent = "";
  $("transcript").replaceChildren();
  $("kb-results").replaceChildren();
  await refreshConversation();
  refreshLists();
  loadEarlier();
}

async function refreshConversation() {
  if (!state.current) return;
  const asked = Date.now();
  try {
    const handoff = await api("GET", `/api/handoffs/${state.current}`);
    $("empty").hidden = true;
    $("chat").hidden = false;
    state.language = handoff.language;
    state.conversationId = handoff.conversation_id;
    $("chat-title").textContent = `${handoff.reference} · ${handoff.status}`;
    $("chat-meta").textContent = `${handoff.language.toUpperCase()} · team ${handoff.team || "—"} · ${handoff.agent ? "with " + handoff.agent : "waiting"}`;
    const detailKey = JSON.stringify([handoff.summary, handoff.package, handoff.notes]);
    if (state.detail !== detailKey) {
      state.detail = detailKey;
      $("summary").textContent = handoff.summary;
      renderContext(handoff.package);
      renderNotes(handoff.notes || []);
    }
    // A typing signal pushed after this request left is newer than its answer: kept.
    if (!(state.typingSeen >= asked)) showTyping(handoff.customer_typing);
    const mine = handoff.mine && handoff.status === "assigned";
    $("claim").disabled = handoff.status !== "queued";
    $("hand-back").disabled = !mine;
    $("resolve").disabled = !(mine || handoff.status === "queued");
    $("reply").disabled = !mine;
    $("send").disabled = !mine;
    for (const control of $("transfer-form").elements) control.disabled = !mine;
    $("email-panel").hidden = !handoff.customer_email;
    $("follow-up-panel").hidden = !(state.followUps && state.followUps.has(handoff.id));
    $("email-to").textContent = handoff.customer_email || "";
    const lines = await api("GET", `/api/handoffs/${state.current}/transcript`);
    renderTranscript(lines);
  } catch (e) {
    $("chat-error").textContent = e.message;
  }
}

async function loadEarlier() {
  try {
    const earlier = await api("GET", `/api/handoffs/${state.current}/earlier`);
    $("earlier").replaceChildren(...earlier.map((h) => el("li",
      `${h.reference} · ${new Date(h.created_at).toLocaleDateString()} · ${h.reason.replaceAll("_", " ")} · ${h.outcome || h.status}\n${h.last_question || ""}${(h.notes || []).map((n) => `\n— ${n.author}: ${n.text}`).join("")}`)));
    if (!earlier.length) $("earlier").append(el("li", "None."));
  } catch (e) { /* optional panel */ }
}

async function loadTransferTargets() {
  try {
    const [agents, teams] = await Promise.all([api("GET", "/api/agents"), api("GET", "/api/teams")]);
    const agentSelect = $("transfer-agent");
    agentSelect.replaceChildren(el("option", "—"));
    agentSelect.firstChild.value = "";
    for (const a of agents) {
      const option = el("option", `${a.display_name} (${a.load}/${a.capacity}, ${a.languages.join(" ")})`);
      option.value = a.username;
      agentSelect.append(option);
    }
    const teamSelect = $("transfer-team");
    teamSelect.replaceChildren(el("option", "—"));
    teamSelect.firstChild.value = "";
    for (const t of teams) {
      const option = el("option", `${t.name}${t.open ? "" : " (closed now)"}`);
      option.value = t.name;
      teamSelect.append(option);
    }
  } catch (e) { $("chat-error").textContent = e.message; }
}

// "The bot got this wrong": a small form under the bot's message, the comment for the editors.
function reportWrongAnswer(line, before, li) {
  if (li.querySelector("form")) return;
  const form = el("form", null, "report-form");
  const label = el("label", "What was wrong? (for the editors)");
  const comment = el("textarea");
  comment.rows = 2;
  comment.maxLength = 2000;
  label.append(comment);
  const submit = el("button", "Report to the editors");
  submit.type = "submit";
  form.append(label, submit);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const customer = [...before].reverse().find((l) => l.author === "customer");
    try {
      await api("POST", `/api/handoffs/${state.current}/wrong-answer`, {
        bot_text: line.text, customer_text: customer ? customer.text : null, comment: comment.value.trim() || null,
      });
      form.replaceWith(el("span", "Reported to the editors.", "muted"));
      announce("Reported to the editors");
    } catch (e) { $("chat-error").textContent = e.message; }
  });
  li.append(form);
  comment.focus();
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
  state.lists = {};
  await refreshConversation();
  refreshLists();
}

document.addEventListener("DOMContentLoaded", async () => {
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
      typingSent = 0;
      $("reply").value = "";
      $("chat-error").textContent = "";
    } catch (e) {
      $("chat-error").textContent = e.message;
    }
    refreshConversation();
  });
  // The customer sees "typing…" while the agent writes: at most one signal every 3 s.
  let typingSent = 0;
  $("reply").addEventListener("input", () => {
    if (!state.current || Date.now() - typingSent < 3000) return;
    typingSent = Date.now();
    api("POST", `/api/handoffs/${state.current}/typing`, { typing: true }).catch(() => {});
  });
  $("reply").addEventListener("blur", () => {
    if (!state.current || !typingSent) return;
    typingSent = 0;
    api("POST", `/api/handoffs/${state.current}/typing`, { typing: false }).catch(() => {});
  });
  $("reply").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); $("reply-form").requestSubmit(); }
  });
  $("kb-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const q = $("kb-query").value.trim();
    if (!q) return;
    const language = state.language || "en";
    try {
      const found = await api("GET", `/api/kb/search?q=${encodeURIComponent(q)}&language=${encodeURIComponent(language)}`);
      $("kb-results").replaceChildren(...found.map((a) => {
        const li = el("li");
        li.append(el("strong", a.title), el("div", a.body));
        const insert = el("button", "Insert into reply");
        insert.type = "button";
        insert.addEventListener("click", () => {
          const reply = $("reply");
          reply.value = (reply.value ? reply.value + "\n\n" : "") + a.body;
          reply.focus();
        });
        li.append(insert);
        return li;
      }));
      if (!found.length) $("kb-results").append(el("li", "No article found."));
    } catch (e) { $("chat-error").textContent = e.message; }
  });
  $("note-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = $("note").value.trim();
    if (!text) return;
    try {
      await api("POST", `/api/handoffs/${state.current}/notes`, { text });
      $("note").value = "";
      state.detail = null;
      refreshConversation();
    } catch (e) { $("chat-error").textContent = e.message; }
  });
  $("transfer-panel").addEventListener("toggle", () => { if ($("transfer-panel").open) loadTransferTargets(); });
  $("transfer-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const agent = $("transfer-agent").value || null;
    const team = $("transfer-team").value || null;
    await act("transfer", { agent, team, note: $("transfer-note").value.trim() || null });
    $("transfer-note").value = "";
  });
  $("follow-up-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = $("follow-up-text").value.trim();
    if (!text) return;
    try {
      const result = await api("POST", `/api/handoffs/${state.current}/follow-up`, { text });
      $("follow-up-text").value = "";
      $("chat-error").textContent = `Follow-up sent (${result.delivered_by}).`;
      state.lists = {};
      refreshLists();
    } catch (e) { $("chat-error").textContent = e.message; }
  });
  $("email-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = $("email-text").value.trim();
    if (!text) return;
    try {
      await api("POST", `/api/handoffs/${state.current}/email`, { text });
      $("email-text").value = "";
      $("chat-error").textContent = "E-mail sent.";
      state.detail = null;
    } catch (e) { $("chat-error").textContent = e.message; }
  });
  wireSignIn((me, fromForm) => {
    if (fromForm && "Notification" in window && Notification.permission === "default") Notification.requestPermission();
    showDesk(me);
  }, showLogin);
});
