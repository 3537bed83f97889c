// The connection to Rasa's socket.io channel (rasa_ext/socketio.py): the session, messages in
// and out, reconnection with backoff, and the outbox.
//
// Every message the customer writes goes to the outbox first (kept in sessionStorage, so a reload
// of the tab keeps it) with an idempotency key, and is sent one at a time, in order, while the
// session is confirmed. It leaves the outbox only when the server acknowledges it (the ack comes
// once the message is handled). After a dropped connection it is sent again with the same key;
// the channel ignores a key it has seen, so a message arrives exactly once.

import { io } from "socket.io-client";

const ACK_TIMEOUT_MS = 60000;

function newId() {
  if (window.crypto && crypto.randomUUID) return crypto.randomUUID().replace(/-/g, "");
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export { newId };

export class Connection {
  constructor({ url, path, sessionId, metadata, store, on }) {
    this.url = url;
    this.path = path;
    this.sessionId = sessionId;
    this.metadata = metadata; // () => the metadata sent with each message
    this.store = store; // { load(), save(items) } for the outbox
    this.on = on; // { status, message, typing, delivered, failed, error }
    this.outbox = store.load();
    this.confirmed = false;
    this.inFlight = null;
    this.held = false; // true: keep the outbox until the widget has restored the history
    this.socket = null;
  }

  start() {
    const socket = io(this.url, {
      path: this.path,
      // A websocket first: it is one connection, so it stays on one Rasa process when several
      // serve the port (SANIC_WORKERS), where long-polling's separate requests would reach a
      // process that does not know the session. Long-polling where no websocket can be opened.
      transports: ["websocket", "polling"],
      tryAllTransports: true,
      autoConnect: false,
      reconnectionDelay: 1000,
      reconnectionDelayMax: 15000,
      randomizationFactor: 0.5,
      withCredentials: false,
    });
    this.socket = socket;
    socket.on("connect", () => {
      this.on.status("connecting");
      socket.emit("session_request", { session_id: this.sessionId });
    });
    socket.on("session_confirm", (id) => {
      if (typeof id === "string" && id !== this.sessionId) return; // not ours
      this.confirmed = true;
      this.on.status("online");
      this.flush();
    });
    socket.on("disconnect", () => {
      this.confirmed = false;
      this.inFlight = null;
      this.on.status(navigator.onLine === false ? "offline" : "reconnecting");
    });
    socket.on("connect_error", () => this.on.status(navigator.onLine === false ? "offline" : "reconnecting"));
    socket.on("bot_uttered", (message) => this.on.message(message));
    socket.on("typing", (event) => this.on.typing(event));
    socket.on("error", (event) => this.on.error(event && event.error));
    // The browser knows first when the network is gone (an open websocket may not notice for a
    // long time): go offline at once, and come back when it says the network is back.
    window.addEventListener("offline", () => {
      if (socket.connected) socket.disconnect();
      this.confirmed = false;
      this.inFlight = null;
      this.on.status("offline");
    });
    window.addEventListener("online", () => {
      if (!socket.connected) socket.connect();
    });
    if (navigator.onLine === false) this.on.status("offline");
    else socket.connect();
  }

  get pending() {
    return this.outbox.slice();
  }

  // Queue a message for sending; returns its outbox entry.
  send(text, shown) {
    const item = { id: newId(), text, shown: shown || text, time: Date.now() / 1000 };
    this.outbox.push(item);
    this.store.save(this.outbox);
    this.flush();
    return item;
  }

  // Messages the server already has (seen in the history) leave the outbox.
  forget(ids) {
    const known = new Set(ids);
    const before = this.outbox.length;
    this.outbox = this.outbox.filter((item) => !known.has(item.id));
    if (this.outbox.length !== before) this.store.save(this.outbox);
  }

  flush() {
    if (this.held || !this.confirmed || this.inFlight || !this.outbox.length) return;
    const item = this.outbox[0];
    const attempt = { id: item.id };
    this.inFlight = attempt;
    this.on.sending(item);
    this.socket.timeout(ACK_TIMEOUT_MS).emit(
      "user_uttered",
      {
        message: item.text,
        session_id: this.sessionId,
        // shown: what the customer saw of a button's payload (the history shows it again)
        metadata: { ...this.metadata(), message_id: item.id, ...(item.shown !== item.text ? { shown: item.shown } : {}) },
      },
      (err, ack) => {
        if (this.inFlight !== attempt) return; // the connection dropped meanwhile
        this.inFlight = null;
        if (err) { // no answer in time: send it again (same key: the channel handles it once)
          this.flush();
          return;
        }
        this.outbox = this.outbox.filter((other) => other.id !== item.id);
        this.store.save(this.outbox);
        if (ack && ack.delivered === false) this.on.failed(item, ack.error || "");
        else this.on.delivered(item);
        this.flush();
      },
    );
  }
}
