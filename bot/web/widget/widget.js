// The customer's chat widget. A site adds it with one script tag (README "The chat widget"):
//
//   <script>window.AmberlineChat = { language: "lt", greeting: "Labas!" };</script>  (optional)
//   <script src="https://chat.example/widget.js" async></script>
//
// It lives in a shadow root under a fixed-position element, so the host page's styles do not
// reach it and its own do not leak out, and it never moves the page's layout. It talks to Rasa's
// socket.io channel (connection.js) and to the web app's customer API (bot/web/customer_api.py,
// bot/web/live.py) for what Rasa does not carry: the conversation so far when the chat comes
// back (GET .../messages), and, once a person is involved, the conversation's live stream (GET
// .../events: the place in the queue as it moves, what a person wrote, their typing), polling
// .../messages only while that stream is unavailable. A person's message may come both ways
// (socket.io and the stream): it is shown once, by its message_id. No cookie is set or sent: the
// conversation id lives in the site's own localStorage.
//
// Safety: every text from the bot, agents or customers is put into the page as text nodes (the
// Markdown renderer builds DOM nodes, markdown.js); nothing is ever assigned to innerHTML.

import css from "./widget.css";
import { render } from "./markdown.js";
import { translator, LANGUAGES } from "./strings.js";
import { Connection, newId } from "./connection.js";

const KEY = "amberline-chat";
const POLL_MS = 5000; // while the live stream is unavailable
const STREAM_RETRY_MS = 15000; // a stream the server refused is asked for again after this
const RESTORED = 200; // the end of the conversation shown when the chat comes back
const TYPING_SIGNAL_MS = 3000;
const TYPING_SHOWN_MS = 8000;
const RATING = ["/affirm", "/deny"];
const SVG = "http://www.w3.org/2000/svg";

// Storage that never throws (storage can be disabled, full, or refused in private modes).
function storage(area) {
  const memory = {};
  return {
    get(key) {
      try { return window[area].getItem(key); } catch (e) { return memory[key] !== undefined ? memory[key] : null; }
    },
    set(key, value) {
      memory[key] = value;
      try { window[area].setItem(key, value); } catch (e) { /* memory only */ }
    },
  };
}
const local = storage("localStorage");
const perTab = storage("sessionStorage");

function h(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name in node && !name.includes("-")) node[name] = value;
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

function icon(path) {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  const p = document.createElementNS(SVG, "path");
  p.setAttribute("d", path);
  svg.append(p);
  return svg;
}
const CHAT_ICON = "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z";
const CLOSE_ICON = "M6 6l12 12M18 6L6 18";
const SEND_ICON = "M3 20l18-8L3 4v6l12 2-12 2z";

// Relative luminance and contrast (WCAG 2) for picking readable text on the site's colour.
function luminance(color) {
  const probe = document.createElement("canvas").getContext("2d");
  if (!probe) return 0;
  probe.fillStyle = "#000";
  probe.fillStyle = color;
  const hex = probe.fillStyle; // normalised to #rrggbb
  const channels = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255)
    .map((c) => (c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4)));
  return 0.2126 * channels[0] + 0.7152 * channels[1] + 0.0722 * channels[2];
}
function readableOn(color) {
  const l = luminance(color);
  return (1.05) / (l + 0.05) >= (l + 0.05) / 0.05 ? "#ffffff" : "#111111";
}

// A message as the web app reads it back (GET .../messages, the live stream), in the shape the
// socket.io channel sends it: buttons as quick_replies, the time in seconds (to the millisecond).
function fromServer(m) {
  const time = typeof m.time === "string" ? Date.parse(m.time.replace(/(\.\d{3})\d+/, "$1")) / 1000 : NaN;
  return {
    author: m.author, name: m.name, text: m.text, custom: m.custom, message_id: m.message_id,
    quick_replies: Array.isArray(m.buttons) ? m.buttons : undefined,
    time: Number.isFinite(time) ? time : undefined,
  };
}

function timeLabel(seconds) {
  const date = new Date(seconds * 1000);
  return { iso: date.toISOString(), short: date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) };
}

class Widget {
  constructor(config) {
    this.config = config;
    this.language = config.language;
    this.t = translator(config.language);
    this.server = config.server;
    this.handoff = { status: "bot" };
    this.card = null; // what the card area shows: { kind: queue|ticket|survey, state }
    this.restoring = false;
    this.buffer = [];
    this.replies = null; // the quick replies on show
    this.lastBot = null;
    this.lastAnswer = null;
    this.unread = 0;
    this.typingSent = 0;
    this.agentTypingTimer = null;
    this.bySend = new Map(); // outbox id -> the customer's message element
    this.shown = new Set(); // "<message_id>:text|custom": parts of messages on show
    this.cursor = 0; // the last message id read from the web app (GET .../messages, the stream)
    this.following = false; // the live stream (or polling) is on: a person has been involved
    this.source = null;
    this.pollTimer = null;
    this.catching = false;
  }

  // ---- building ----------------------------------------------------------------------------

  mount() {
    const t = this.t;
    this.host = document.createElement("amberline-chat");
    const shadow = this.host.attachShadow({ mode: "open" });
    if ("adoptedStyleSheets" in shadow && window.CSSStyleSheet && CSSStyleSheet.prototype.replaceSync) {
      const sheet = new CSSStyleSheet(); // allowed by a strict style-src, unlike a <style>
      sheet.replaceSync(css);
      shadow.adoptedStyleSheets = [sheet];
    } else {
      shadow.append(h("style", { text: css }));
    }
    const accent = this.config.colors.accent;
    this.root = h("div", { class: `root ${this.config.position === "left" ? "left" : "right"}` });
    if (accent) {
      this.root.style.setProperty("--accent", accent);
      this.root.style.setProperty("--on-accent", this.config.colors.accentText || readableOn(accent));
    }
    this.badge = h("span", { class: "badge", hidden: true, "aria-hidden": "true" });
    this.launcher = h("button", {
      type: "button", class: "launcher", "aria-expanded": "false", "aria-controls": "amberline-panel",
      "aria-label": t("open"), onclick: () => this.toggle(),
    }, icon(CHAT_ICON), this.badge);

    this.statusLine = h("p", { class: "state", id: "amberline-state", text: t("stateBot") });
    this.personButton = h("button", { type: "button", class: "link", text: t("person"), onclick: () => this.askForPerson() });
    this.closeButton = h("button", { type: "button", class: "close", "aria-label": t("close"), onclick: () => this.close() }, icon(CLOSE_ICON));
    this.connection = h("p", { class: "connection", role: "status" });
    this.list = h("ol", { class: "messages" });
    this.log = h("div", { class: "log", role: "log", "aria-live": "polite", "aria-label": t("conversation"), tabindex: "0" }, this.list);
    this.typing = h("p", { class: "typing", hidden: true });
    this.cards = h("div", { class: "cards" });
    this.input = h("textarea", {
      id: "amberline-input", rows: 1, maxLength: 2000, placeholder: t("placeholder"), autocomplete: "off",
      onkeydown: (event) => {
        if (event.key === "Enter" && !event.shiftKey && !event.isComposing) { event.preventDefault(); this.submit(); }
      },
      oninput: () => this.customerTyping(true),
      onblur: () => this.customerTyping(false),
    });
    const form = h("form", { class: "composer", onsubmit: (event) => { event.preventDefault(); this.submit(); } },
      h("label", { for: "amberline-input", class: "sr", text: t("inputLabel") }),
      this.input,
      h("button", { type: "submit", class: "send", "aria-label": t("send") }, icon(SEND_ICON)));
    this.panel = h("section", {
      id: "amberline-panel", class: "panel", role: "dialog", "aria-modal": "false",
      "aria-labelledby": "amberline-title", "aria-describedby": "amberline-state", hidden: true,
      onkeydown: (event) => { if (event.key === "Escape") { event.stopPropagation(); this.close(); } },
    },
    h("header", {},
      h("div", { class: "titles" }, h("h2", { id: "amberline-title", text: this.config.title || t("title") }), this.statusLine),
      this.personButton, this.closeButton),
    this.connection, this.log, this.typing, this.cards, form);
    this.root.append(this.panel, this.launcher);
    shadow.append(this.root);
    document.body.append(this.host);
    this.addMessage({ author: "bot", text: this.config.greeting || t("greeting"), greeting: true });
  }

  // ---- opening and closing ----------------------------------------------------------------

  toggle() { if (this.panel.hidden) this.open(); else this.close(); }

  open(focus = true) {
    this.panel.hidden = false;
    this.root.classList.add("open");
    this.launcher.setAttribute("aria-expanded", "true");
    local.set(`${KEY}:open`, "1");
    this.unread = 0;
    this.showUnread();
    this.scrollDown();
    if (focus) this.input.focus();
  }

  close() {
    this.panel.hidden = true;
    this.root.classList.remove("open");
    this.launcher.setAttribute("aria-expanded", "false");
    local.set(`${KEY}:open`, "0");
    this.launcher.focus();
  }

  showUnread() {
    this.badge.hidden = this.unread === 0;
    this.badge.textContent = String(this.unread);
    this.launcher.setAttribute("aria-label", this.unread ? `${this.t("open")} (${this.t("unread", { n: this.unread })})` : this.t("open"));
  }

  scrollDown() { this.log.scrollTop = this.log.scrollHeight; }

  // ---- messages ----------------------------------------------------------------------------

  addMessage({ author, name, text, time, greeting, markdown = true }) {
    const t = this.t;
    const who = author === "customer" ? t("you") : author === "agent" ? (name || t("assistant")) : t("assistant");
    const li = h("li", { class: `message ${author}${greeting ? " greeting" : ""}` });
    if (author !== "system") {
      const meta = h("p", { class: "meta" }, h("span", { class: "who", text: who }));
      if (time) {
        const { iso, short } = timeLabel(time);
        meta.append(" ", h("time", { dateTime: iso, text: short }));
      }
      li.append(meta);
    }
    const bubble = h("div", { class: "bubble" });
    if (markdown && author !== "customer") bubble.append(render(document, text));
    else bubble.append(...String(text).split("\n").flatMap((line, i) => (i ? [h("br"), line] : [line])));
    li.append(bubble);
    this.list.append(li);
    if (author === "bot" || author === "agent") this.lastBot = li;
    this.scrollDown();
    return li;
  }

  // A message from the channel or the live stream (live) or from the server's read (replay), in
  // the same shape. A message with an id that came another way already is not shown again.
  handle(message, { replay = false } = {}) {
    if (!message || typeof message !== "object") return;
    if (this.restoring && !replay) { this.buffer.push(message); return; }
    const author = ["agent", "system", "customer"].includes(message.author) ? message.author : "bot";
    const key = typeof message.message_id === "string" && message.message_id ? message.message_id : null;
    const firstTime = (part) => {
      if (!key) return true;
      if (this.shown.has(`${key}:${part}`)) return false;
      this.shown.add(`${key}:${part}`);
      return true;
    };
    if (typeof message.text === "string" && message.text && firstTime("text")) {
      if (author === "customer") {
        this.clearReplies();
        this.addMessage({ author, text: message.text, time: message.time });
      } else {
        const li = this.addMessage({ author, name: message.name, text: message.text, time: message.time });
        if (Array.isArray(message.quick_replies) && message.quick_replies.length) this.showReplies(li, message.quick_replies);
        if (!replay) this.arrived(author);
      }
    }
    const custom = message.custom;
    if (custom && typeof custom === "object" && firstTime("custom")) {
      if (custom.kb_answer && this.lastBot) {
        this.lastAnswer = this.lastBot;
        this.lastBot.classList.add("answer");
      }
      if (custom.handoff && typeof custom.handoff === "object") this.applyHandoff(custom.handoff, { replay });
    }
  }

  arrived(author) {
    if (author === "agent") this.showAgentTyping(false);
    if (this.panel.hidden) { this.unread += 1; this.showUnread(); }
  }

  showReplies(li, replies) {
    this.clearReplies();
    const payloads = replies.map((r) => r.payload);
    const rating = payloads.length === 2 && payloads.every((p, i) => p === RATING[i]);
    const group = h("div", { class: `replies${rating ? " rating" : ""}`, role: "group", "aria-label": li.textContent.slice(0, 80) });
    replies.forEach((reply) => {
      const label = rating ? (reply.payload === "/affirm" ? this.t("helped") : this.t("notHelped")) : null;
      group.append(h("button", {
        type: "button", class: "reply", text: String(reply.title), "aria-label": label,
        onclick: () => { this.clearReplies(); this.send(String(reply.payload), String(reply.title)); },
      }));
    });
    li.append(group);
    this.replies = group;
    this.scrollDown();
  }

  clearReplies() {
    if (!this.replies) return;
    const focused = this.replies.contains(this.host.shadowRoot.activeElement);
    this.replies.remove();
    this.replies = null;
    if (focused) this.input.focus();
  }

  // ---- sending -----------------------------------------------------------------------------

  submit() {
    const text = this.input.value.trim();
    if (!text) return;
    this.input.value = "";
    this.send(text, text);
  }

  send(text, shown) {
    this.clearReplies();
    this.customerTyping(false);
    const item = this.conn.send(text, shown);
    this.showPending(item);
    if (this.channel) this.channel.postMessage({ type: "sent", text: item.shown, time: item.time, id: item.id });
  }

  showPending(item) {
    const li = this.addMessage({ author: "customer", text: item.shown, time: item.time });
    li.dataset.id = item.id;
    li.append(h("p", { class: "delivery", text: "" }));
    this.bySend.set(item.id, li);
    this.markPending();
  }

  // Every message not yet acknowledged says so, in words, until it is.
  markPending() {
    for (const [id, li] of this.bySend) {
      const note = li.querySelector(".delivery");
      const sending = this.conn.confirmed;
      li.dataset.state = sending ? "sending" : "queued";
      note.textContent = sending ? this.t("sending") : this.t("waiting");
      void id;
    }
  }

  delivered(item) {
    const li = this.bySend.get(item.id);
    this.bySend.delete(item.id);
    if (li) {
      li.dataset.state = "delivered";
      const note = li.querySelector(".delivery");
      if (note) note.remove();
    }
    this.showBotTyping(false);
  }

  failed(item, reason) {
    const li = this.bySend.get(item.id);
    this.bySend.delete(item.id);
    if (li) {
      li.dataset.state = "failed";
      li.querySelector(".delivery").textContent = this.t("notSent", { reason });
    }
    this.showBotTyping(false);
  }

  askForPerson() {
    if (this.panel.hidden) this.open();
    this.send("/request_human", this.t("person"));
  }

  // ---- typing ------------------------------------------------------------------------------

  showBotTyping(on) {
    if (on && this.personOwns()) return;
    this.typing.hidden = !on;
    this.typing.replaceChildren();
    if (on) this.typing.append(h("span", { class: "dots", "aria-hidden": "true" }, h("i"), h("i"), h("i")), " ", this.t("botTyping"));
  }

  showAgentTyping(on, name) {
    clearTimeout(this.agentTypingTimer);
    this.typing.hidden = !on;
    this.typing.replaceChildren();
    if (!on) return;
    this.typing.append(h("span", { class: "dots", "aria-hidden": "true" }, h("i"), h("i"), h("i")), " ",
      this.t("agentTyping", { name: name || this.handoff.agent || "" }));
    this.agentTypingTimer = setTimeout(() => this.showAgentTyping(false), TYPING_SHOWN_MS);
  }

  // The customer is typing: the agent's console shows it (at most one signal every 3 s).
  customerTyping(on) {
    if (!this.personOwns()) return;
    if (on && Date.now() - this.typingSent < TYPING_SIGNAL_MS) return;
    if (!on && !this.typingSent) return;
    this.typingSent = on ? Date.now() : 0;
    this.api("POST", "typing", { typing: on }).catch(() => {});
  }

  personOwns() { return this.handoff.status === "queued" || this.handoff.status === "assigned"; }

  // ---- handoff -----------------------------------------------------------------------------

  applyHandoff(state, { replay = false } = {}) {
    const t = this.t;
    const status = state.status;
    if (status === "queued") {
      this.handoff = state;
      this.statusLine.textContent = t("stateQueued");
      this.showAgentTyping(false);
      this.setCard({ kind: "queue", state });
      if (typeof state.position !== "number" && !replay) {
        this.refreshHandoff(); // e.g. a transfer: ask for the place (the stream may not resend it)
      }
    } else if (status === "assigned") {
      this.handoff = state;
      this.statusLine.textContent = t("stateAssigned", { name: state.agent || "" });
      if (this.card && this.card.kind !== "survey") this.setCard(null);
    } else if (status === "offline") {
      this.handoff = { status: "bot" };
      this.statusLine.textContent = t("stateBot");
      this.setCard({ kind: "ticket", state });
    } else {
      // bot (handed back, resolved), ticket, abandoned: the assistant is back.
      const wasPerson = this.personOwns();
      this.handoff = { status: "bot" };
      this.statusLine.textContent = t("stateBot");
      if (wasPerson && !replay) this.showAgentTyping(false);
      if (state.survey && !this.surveyed(state.reference)) this.setCard({ kind: "survey", state });
      else if (this.card && this.card.kind !== "survey") this.setCard(null);
    }
    this.personButton.hidden = this.personOwns();
    if (this.personOwns() && !this.restoring) this.follow();
  }

  // ---- the live stream ---------------------------------------------------------------------
  // From the moment a person is involved until the page closes, the conversation's live stream
  // (GET .../events). <div class="root" data-live> says how: connected, reconnecting, polling.
  // Event ids are message ids: a reconnecting EventSource resumes after the last (Last-Event-ID).

  follow() {
    if (this.following) return;
    this.following = true;
    this.connectStream();
  }

  connectStream() {
    if (!("EventSource" in window)) { this.startPolling(); return; }
    const source = new EventSource(`${this.conversationUrl()}/events?after=${this.cursor}`);
    this.source = source;
    let failures = 0;
    const on = (kind, handle) => source.addEventListener(kind, (event) => {
      if (this.source !== source) return;
      let data = null;
      try { data = JSON.parse(event.data); } catch (e) { return; }
      if (data && typeof data === "object") handle(data);
    });
    source.addEventListener("open", () => {
      if (this.source !== source) return;
      failures = 0;
      this.stopPolling();
      this.root.dataset.live = "connected";
    });
    on("message", (message) => this.liveMessage(message));
    on("handoff", (state) => this.liveState(state));
    on("typing", (event) => { if (event.who === "agent") this.showAgentTyping(Boolean(event.typing), event.name); });
    source.addEventListener("error", () => {
      if (this.source !== source) return;
      failures += 1;
      if (source.readyState === EventSource.CLOSED) { // refused (too many streams, a proxy): poll
        this.source = null;
        this.startPolling();
        setTimeout(() => { if (!this.source) this.connectStream(); }, STREAM_RETRY_MS);
      } else if (failures >= 2) {
        this.startPolling(); // the browser keeps reconnecting (Last-Event-ID); polling stops then
      } else {
        this.root.dataset.live = "reconnecting";
      }
    });
  }

  // Something said, read from the web app: a person's message or a change of the handoff
  // (pushed) is shown unless socket.io brought it already; replies came with the socket.
  liveMessage(message) {
    this.advance(message.id);
    if (message.pushed) this.handle(fromServer(message));
  }

  // The last message id read from the web app; <div class="root" data-cursor> shows it.
  advance(id) {
    if (typeof id !== "number" || id <= this.cursor) return;
    this.cursor = id;
    this.root.dataset.cursor = String(id);
  }

  // The handoff's state, as the stream (or the fallback's read) says it now.
  liveState(state) {
    const now = this.handoff;
    if (state.status === now.status && state.position === now.position && state.agent === now.agent
      && state.estimated_wait_seconds === now.estimated_wait_seconds) return;
    // Back to the bot from a person: the hand-back message says so (with the survey); from the
    // queue (left in another tab, a ticket), this does.
    if (state.status !== "bot" || now.status === "queued") this.applyHandoff(state);
  }

  startPolling() {
    this.root.dataset.live = "polling";
    if (!this.pollTimer) this.pollTimer = setInterval(() => this.catchUp(), POLL_MS);
  }

  stopPolling() { clearInterval(this.pollTimer); this.pollTimer = null; }

  // What the stream would have sent: the messages after the cursor, and the state.
  async catchUp() {
    if (this.catching) return;
    this.catching = true;
    try {
      let read;
      do {
        read = await this.api("GET", `messages?after=${this.cursor}`);
        for (const message of read.messages || []) this.liveMessage(message);
        this.advance(read.cursor);
      } while (read.more);
      if (read.handoff) this.liveState(read.handoff);
    } catch (e) { /* the next tick */ }
    this.catching = false;
  }

  surveyed(reference) {
    return (local.get(`${KEY}:surveyed`) || "").split(" ").includes(String(reference));
  }

  markSurveyed(reference) {
    const done = (local.get(`${KEY}:surveyed`) || "").split(" ").filter(Boolean).slice(-20);
    local.set(`${KEY}:surveyed`, [...done, String(reference)].join(" "));
  }

  setCard(card) {
    const same = card && this.card && card.kind === this.card.kind && this.cards.firstChild;
    this.card = card;
    if (!card) { this.cards.replaceChildren(); return; }
    if (this.restoring) return; // drawn once the history is in (the last state wins)
    if (same && card.kind === "queue") { this.fillQueue(card.state); return; }
    const focusInside = this.cards.contains(this.host.shadowRoot.activeElement);
    this.cards.replaceChildren(this[`${card.kind}Card`](card.state));
    if (focusInside) this.input.focus();
  }

  queueCard(state) {
    const t = this.t;
    this.queueText = h("p", { class: "queue-text" });
    this.queueActions = h("div", { class: "actions" });
    const card = h("section", { class: "card queue", role: "status", "aria-label": t("stateQueued") }, this.queueText, this.queueActions);
    this.fillQueue(state);
    return card;
  }

  fillQueue(state) {
    const t = this.t;
    const seconds = state.estimated_wait_seconds;
    let wait = t("waitUnknown");
    if (typeof seconds === "number" && !state.long_wait) {
      wait = t("wait", { wait: seconds < 60 ? t("lessThanMinute") : t("minutes", { n: Math.ceil(seconds / 60) }) });
    } else if (typeof seconds === "number") {
      wait = `${t("wait", { wait: t("minutes", { n: Math.ceil(seconds / 60) }) })} ${t("waitUnknown")}`;
    }
    const reference = state.reference ? ` ${t("reference", { reference: state.reference })}` : "";
    const place = typeof state.position === "number" ? t("queued", { position: state.position }) : `${t("stateQueued")}.`;
    this.queueText.textContent = `${place} ${wait}${reference}`;
    if (this.queueActions.childElementCount === (state.long_wait ? 2 : 1)) return;
    this.queueActions.replaceChildren(h("button", { type: "button", class: "secondary", text: t("leaveQueue"), onclick: () => this.leaveQueue() }));
    if (state.long_wait) {
      this.queueActions.append(h("button", { type: "button", class: "secondary", text: t("leaveMessage"), onclick: () => this.setCard({ kind: "ticket", state: { ...state, from_queue: true } }) }));
    }
  }

  async leaveQueue() {
    try {
      const result = await this.api("POST", "leave");
      this.applyHandoff({ status: "abandoned", reference: result.reference });
      if (!result.customer_told) this.addMessage({ author: "system", text: this.t("leftQueue") });
    } catch (e) {
      this.refreshHandoff();
    }
  }

  ticketCard(state) {
    const t = this.t;
    const error = h("p", { class: "error", role: "alert", id: "amberline-ticket-error" });
    const email = h("input", { id: "amberline-email", type: "email", required: true, autocomplete: "email", maxLength: 320, "aria-describedby": "amberline-ticket-error" });
    const text = h("textarea", { id: "amberline-ticket", rows: 3, maxLength: 4000 });
    const submit = h("button", { type: "submit", text: t("sendMessage") });
    const form = h("form", {
      class: "card ticket", "aria-labelledby": "amberline-ticket-title", noValidate: true,
      onsubmit: async (event) => {
        event.preventDefault();
        error.textContent = "";
        email.removeAttribute("aria-invalid");
        if (!email.value.trim() || !email.checkValidity()) {
          error.textContent = t("emailInvalid");
          email.setAttribute("aria-invalid", "true");
          email.focus();
          return;
        }
        submit.disabled = true;
        try {
          const result = await this.api("POST", "ticket", { email: email.value.trim(), message: text.value.trim() || null });
          this.setCard(null);
          if (!result.customer_told) this.addMessage({ author: "system", text: t("ticketSent", { reference: result.reference }) });
          this.input.focus();
        } catch (e) {
          error.textContent = e.message || t("error");
          submit.disabled = false;
          email.focus();
        }
      },
    },
    h("h3", { id: "amberline-ticket-title", text: t("ticketTitle") }),
    state.from_queue ? null : h("p", { text: t("ticketIntro") }),
    h("label", { for: "amberline-email", text: t("email") }), email,
    h("label", { for: "amberline-ticket", text: t("message") }), text,
    error,
    h("div", { class: "actions" }, submit,
      h("button", { type: "button", class: "secondary", text: t("cancel"), onclick: () => { this.setCard(state.from_queue ? { kind: "queue", state: this.handoff } : null); this.input.focus(); } })));
    return form;
  }

  surveyCard(state) {
    const t = this.t;
    const error = h("p", { class: "error", role: "alert" });
    const scale = h("div", { class: "scale" });
    for (let score = 1; score <= 5; score += 1) {
      const id = `amberline-score-${score}`;
      scale.append(h("input", { type: "radio", name: "score", id, value: String(score), required: true }), h("label", { for: id, text: String(score) }));
    }
    const comment = h("textarea", { id: "amberline-comment", rows: 2, maxLength: 2000 });
    const form = h("form", {
      class: "card survey",
      onsubmit: async (event) => {
        event.preventDefault();
        const chosen = form.querySelector("input[name=score]:checked");
        if (!chosen) return;
        try {
          await this.api("POST", "survey", { score: Number(chosen.value), comment: comment.value.trim() || null });
          this.markSurveyed(state.reference);
          this.setCard(null);
          this.addMessage({ author: "system", text: t("surveyThanks") });
          this.input.focus();
        } catch (e) { error.textContent = e.message || t("error"); }
      },
    },
    h("fieldset", {},
      h("legend", { text: t("surveyTitle") }),
      h("p", { class: "hint", id: "amberline-scale", text: t("surveyScale") }),
      scale),
    h("label", { for: "amberline-comment", text: t("comment") }), comment,
    error,
    h("div", { class: "actions" },
      h("button", { type: "submit", text: t("submit") }),
      h("button", { type: "button", class: "secondary", text: t("skip"), onclick: () => { this.markSurveyed(state.reference); this.setCard(null); this.input.focus(); } })));
    scale.setAttribute("aria-describedby", "amberline-scale");
    return form;
  }

  async refreshHandoff() {
    try { this.applyHandoff(await this.api("GET", "handoff")); } catch (e) { /* keep what we show */ }
  }

  // ---- the web app's customer API ---------------------------------------------------------

  conversationUrl() { return `${this.server}/api/conversations/${encodeURIComponent(this.sessionId)}`; }

  async api(method, action, body) {
    const url = `${this.conversationUrl()}/${action}`;
    const response = await fetch(url, {
      method,
      mode: "cors",
      credentials: "omit",
      headers: body === undefined ? {} : { "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    let data = null;
    try { data = await response.json(); } catch (e) { data = null; }
    if (!response.ok) {
      const problems = data && Array.isArray(data.problems) ? data.problems.map((p) => p.problem).join("; ") : "";
      throw new Error(problems || (data && typeof data.detail === "string" ? data.detail : this.t("error")));
    }
    return data;
  }

  // ---- connection --------------------------------------------------------------------------

  status(status) {
    this.root.dataset.connection = status;
    const words = { offline: this.t("offline"), reconnecting: this.t("reconnecting") }[status] || "";
    this.connection.textContent = words;
    this.connection.hidden = !words;
    if (status !== "online") this.showBotTyping(false);
    this.markPending();
  }

  metadata() {
    return {
      language: this.language,
      page: `${location.origin}${location.pathname}`,
      device: window.matchMedia && window.matchMedia("(max-width: 600px)").matches ? "phone" : "desktop",
    };
  }

  async start() {
    const stored = local.get(`${KEY}:session`);
    this.sessionId = stored && /^[A-Za-z0-9_-]{16,128}$/.test(stored) ? stored : newId();
    local.set(`${KEY}:session`, this.sessionId);
    this.mount();
    const outboxKey = `${KEY}:outbox:${this.sessionId}`;
    this.conn = new Connection({
      url: this.config.socketUrl,
      path: this.config.socketPath,
      sessionId: this.sessionId,
      metadata: () => this.metadata(),
      store: {
        load() { try { return JSON.parse(perTab.get(outboxKey) || "[]"); } catch (e) { return []; } },
        save(items) { perTab.set(outboxKey, JSON.stringify(items)); },
      },
      on: {
        status: (status) => this.status(status),
        message: (message) => this.handle(message),
        typing: (event) => { if (event && event.who === "agent") this.showAgentTyping(Boolean(event.typing), event.name); },
        sending: () => { this.markPending(); if (!this.personOwns()) this.showBotTyping(true); },
        delivered: (item) => this.delivered(item),
        failed: (item, reason) => this.failed(item, reason),
        error: () => {},
      },
    });
    this.conn.held = Boolean(stored);
    if ("BroadcastChannel" in window) {
      // Another tab of the same site: show what the customer wrote there, too.
      this.channel = new BroadcastChannel(`${KEY}:${this.sessionId}`);
      this.channel.onmessage = (event) => {
        const data = event.data || {};
        if (data.type === "sent" && typeof data.text === "string") this.handle({ author: "customer", text: data.text, time: data.time }, { replay: true });
      };
    }
    if (local.get(`${KEY}:open`) === "1") this.open(false);
    this.restoring = Boolean(stored);
    this.conn.start();
    if (stored) await this.restore();
    for (const item of this.conn.pending) this.showPending(item);
    this.conn.held = false;
    this.conn.flush();
  }

  // The end of the conversation so far, from the server: a reload, another tab or page of the
  // same site. The stream, if a person is involved, goes on from there (the cursor).
  async restore() {
    let lastTime = 0;
    try {
      const read = await this.api("GET", `messages?last=true&limit=${RESTORED}`);
      const ids = [];
      this.advance(read.cursor);
      for (const message of read.messages || []) {
        const item = fromServer(message);
        if (item.author === "customer" && item.message_id) ids.push(item.message_id);
        if (typeof item.time === "number") lastTime = Math.max(lastTime, item.time);
        this.handle(item, { replay: true });
      }
      this.conn.forget(ids);
      if (read.handoff) {
        const current = read.handoff;
        if (current.status === "queued" || current.status === "assigned") this.applyHandoff(current, { replay: true });
        else if (this.personOwns()) this.applyHandoff({ status: "bot" }, { replay: true });
      }
    } catch (e) { /* the live conversation goes on; the history shows next time */ }
    this.restoring = false;
    this.setCard(this.card);
    if (this.personOwns()) this.follow();
    const buffered = this.buffer;
    this.buffer = [];
    for (const message of buffered) {
      // Read already (times from the server are to the millisecond; a reply's to the microsecond)
      if (typeof message.time === "number" && message.time <= lastTime + 0.001) continue;
      this.handle(message);
    }
  }
}

function configuration() {
  const given = window.AmberlineChat && typeof window.AmberlineChat === "object" ? window.AmberlineChat : {};
  const script = document.currentScript;
  const origin = script && script.src ? new URL(script.src, location.href).origin : location.origin;
  const language = String(given.language || document.documentElement.lang || "en").slice(0, 2).toLowerCase();
  return {
    server: String(given.server || origin).replace(/\/+$/, ""),
    socketUrl: given.socketUrl ? String(given.socketUrl).replace(/\/+$/, "") : null,
    socketPath: given.socketPath || "/socket.io",
    language: LANGUAGES.includes(language) ? language : "en",
    colors: given.colors && typeof given.colors === "object" ? given.colors : {},
    greeting: typeof given.greeting === "string" ? given.greeting : null,
    title: typeof given.title === "string" ? given.title : null,
    position: given.position === "left" ? "left" : "right",
  };
}

async function boot(config) {
  if (!config.socketUrl) {
    // Where Rasa's socket.io is, as the web app that served this script knows it.
    const response = await fetch(`${config.server}/api/widget/config`, { credentials: "omit", mode: "cors" });
    const found = await response.json();
    config.socketUrl = found.socket_url;
    config.socketPath = found.socket_path || config.socketPath;
  }
  const widget = new Widget(config);
  window.AmberlineChat = Object.assign(window.AmberlineChat || {}, {
    open: () => widget.open(),
    close: () => widget.close(),
  });
  await widget.start();
}

if (!window.__amberlineChatLoaded) {
  window.__amberlineChatLoaded = true;
  const config = configuration(); // document.currentScript is only there while the script runs
  const go = () => boot(config).catch((error) => console.error("Amberline chat could not start:", error));
  if (document.body) go();
  else document.addEventListener("DOMContentLoaded", go);
}
