// What the editor's pages (articles, inbox) share: the JSON API helper and DOM builders. Text is
// always set with textContent: nothing anybody wrote is parsed as HTML.

let signedOut = () => {};

// Called when the server answers 401 (the session ended) to any request but the session's own.
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

export const EDITOR_ROLES = ["editor", "admin"];
