// What the staff's pages (the agent console and the editor's pages) share: the JSON API call, DOM
// building with textContent only, and signing in and out. Nothing anybody wrote is ever parsed as
// HTML.

export const $ = (id) => document.getElementById(id);
export const EDITOR_ROLES = ["editor", "admin"];

let signedOut = () => {};

// What to do when the session has ended (a 401 from the API).
export function onSignedOut(handler) { signedOut = handler; }

export async function api(method, path, body) {
  const options = { method, headers: { "Accept": "application/json" }, credentials: "same-origin" };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(path, options);
  let data = null;
  try { data = await response.json(); } catch (e) { data = null; }
  if (response.status === 401 && path !== "/api/session") signedOut();
  if (!response.ok) {
    const detail = data && typeof data.detail === "string" ? data.detail : `error ${response.status}`;
    const problems = data && data.problems ? data.problems.map((p) => `${p.field}: ${p.problem}`) : [];
    const unique = problems.filter((p) => !p.endsWith(detail));
    const error = new Error(unique.length ? `${detail} (${unique.join("; ")})` : detail);
    error.status = response.status;
    error.data = data;
    throw error;
  }
  return data;
}

export function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

export function button(text, onClick, label) {
  const b = el("button", text);
  b.type = "button";
  if (label) b.setAttribute("aria-label", label);
  b.addEventListener("click", onClick);
  return b;
}

export function when(iso) { return iso ? new Date(iso).toLocaleString() : ""; }

// A list's searches in order: `const current = searches();` before a request and
// `if (!current()) return;` after it, so an answer to an earlier search (the whole list a page
// loads first is the slowest on a big database) never replaces what a later one found.
export function inOrder() {
  let latest = 0;
  return () => {
    const mine = ++latest;
    return () => mine === latest;
  };
}

// The sign-in form, the sign-out button, and the first look at the session: ``show(me, fromForm)``
// runs with the signed-in user (``fromForm`` true when they have just signed in with the form),
// ``hide()`` when nobody is (or no longer) signed in.
export function wireSignIn(show, hide) {
  onSignedOut(hide);
  $("login-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("login-error").textContent = "";
    try {
      const me = await api("POST", "/api/session", { username: $("username").value, password: $("password").value });
      $("password").value = "";
      show(me, true);
    } catch (e) {
      $("login-error").textContent = e.message;
    }
  });
  $("logout").addEventListener("click", async () => { await api("DELETE", "/api/session"); hide(); });
  api("GET", "/api/session").then(show, hide);
}

// The header and the sign-in form for a signed-in user, and for nobody.
export function showSignedIn(me) {
  $("login").hidden = true;
  $("me").hidden = false;
  $("me-name").textContent = me.display_name;
}

export function showSignedOut() {
  $("login").hidden = false;
  $("me").hidden = true;
}

// An editor's page: signing in as ``wireSignIn`` does, the page's ``desk`` (an element's id)
// shown to editors and the notice to anyone else. ``open(me)`` runs when an editor is signed in,
// ``close()`` when nobody is (or no longer).
export function wireEditorPage(desk, open, close = () => {}) {
  wireSignIn((me) => {
    showSignedIn(me);
    const editor = (me.roles || []).some((r) => EDITOR_ROLES.includes(r));
    $("not-editor").hidden = editor;
    $(desk).hidden = !editor;
    if (editor) open(me);
  }, () => {
    showSignedOut();
    $("not-editor").hidden = true;
    $(desk).hidden = true;
    close();
  });
}
