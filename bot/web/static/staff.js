// What the editor's pages share: the JSON API client, DOM helpers (text only, never HTML) and
// signing in and out with the page's #login form.

export const $ = (id) => document.getElementById(id);
export const EDITOR_ROLES = ["editor", "admin"];

// A client of the web app's API; `onSignedOut` runs when the session is gone (401).
export function makeApi(onSignedOut) {
  return async function api(method, path, body) {
    const options = { method, headers: { "Accept": "application/json" }, credentials: "same-origin" };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    const response = await fetch(path, options);
    let data = null;
    try { data = await response.json(); } catch (e) { data = null; }
    if (response.status === 401 && path !== "/api/session") onSignedOut();
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
  };
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

// The #login form, the #logout button and the session already open: `showDesk(me)` after
// signing in, `showLogin()` after signing out or without a session.
export async function wireSession(api, showDesk, showLogin) {
  $("login-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("login-error").textContent = "";
    try {
      const me = await api("POST", "/api/session", { username: $("username").value, password: $("password").value });
      $("password").value = "";
      showDesk(me);
    } catch (e) {
      $("login-error").textContent = e.message;
    }
  });
  $("logout").addEventListener("click", async () => { await api("DELETE", "/api/session"); showLogin(); });
  try { showDesk(await api("GET", "/api/session")); } catch (e) { showLogin(); }
}
