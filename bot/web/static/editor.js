// The article editor. Every text an author wrote is set with textContent, and the answer's
// Markdown is turned into DOM nodes by the widget's own safe renderer (/editor/markdown.js, the
// same file the customer's chat uses): nothing anybody writes is ever parsed as HTML.
// Every save carries the version the editor loaded (base_version); when somebody saved since,
// the server refuses it (409) and the page says who and when, keeping the editor's text.
import { render } from "/editor/markdown.js";
import { $, api, button, el, inOrder, when, wireEditorPage } from "/static/staff.js";

const REASONS = {
  asked_for_person: "the customer asks for a person",
  sensitive_topic: "a sensitive topic",
  frustration: "the customer sounds frustrated",
  not_understood_twice: "the bot did not understand",
};
const fresh = () => ({ me: null, article: null, isNew: false, searchTimer: null });
let state = fresh();


function announce(text) { $("announce").textContent = text; }
function percent(confidence) { return `${Math.round(confidence * 100)}%`; }

// As the bot sends an answer (bot/kb/text.py unwrap): hard-wrapped lines joined, paragraphs,
// list items, headings, quotes and table rows kept.
function unwrap(markdown) {
  const block = /^\s*([-*+]\s|\d+[.)]\s|#|>|\|)/;
  return markdown.trim().split(/\n\s*\n/).map((paragraph) => {
    const lines = [];
    for (const line of paragraph.split("\n")) {
      if (lines.length && !block.test(line) && line.trim()) lines[lines.length - 1] = `${lines[lines.length - 1].trimEnd()} ${line.trim()}`;
      else if (line.trim()) lines.push(line.trimEnd());
    }
    return lines.join("\n");
  }).join("\n\n");
}

function markdown(text) {
  const box = el("div");
  box.append(render(document, unwrap(text)));
  return box;
}

// --- Signing in ---------------------------------------------------------------------------------

function showLogin() {
  clearTimeout(state.searchTimer);
  state = fresh();
  $("articles").replaceChildren();
  closeArticle();
}

function showDesk(me) {
  state.me = me;
  loadList();
}

// --- The list -----------------------------------------------------------------------------------

function filters() {
  const params = new URLSearchParams();
  const add = (name, value) => { if (value) params.set(name, value); };
  add("q", $("q").value.trim());
  add("language", $("f-language").value);
  add("tag", $("f-tag").value);
  add("status", $("f-status").value);
  add("helpfulness", $("f-helpfulness").value);
  add("file_state", $("f-file-state").value);
  return params.toString();
}

// How the article stands with its file in data/kb (docs/editing.md, "Articles and git").
const FILE_STATES = {
  in_git: { badge: "In git", words: "In git: its file in data/kb holds what customers get.", warn: false },
  not_exported: { badge: "Not exported yet", words: "Not exported yet: published here since its file in data/kb was last written. Whoever works in git runs `python -m bot kb export` to write it.", warn: true },
  file_changed: { badge: "File changed in git", words: "Its file in data/kb changed since: `python -m bot kb sync` imports it as a new version.", warn: true },
  conflict: { badge: "Conflict with git", words: "Conflict: its file in data/kb and this editor both changed it. Nothing is overwritten until someone runs `python -m bot kb sync --prefer files` or `--prefer editor` for it.", warn: true },
  error: { badge: "File cannot be read", words: "Its file in data/kb cannot be read (or its id cannot name a file): `python -m bot kb sync` says why.", warn: true },
};

function fileStateBadge(article) {
  const known = FILE_STATES[article.file_state];
  if (!known) return null;
  const badge = el("span", known.badge, known.warn ? "tag warn" : "tag");
  badge.dataset.fileState = article.file_state;
  badge.title = known.words;
  return badge;
}

function stateWords(article) {
  return { published: "Published", draft: "Draft, not published", changed: "Published, with a newer draft" }[article.state] || article.state;
}

function badges(article, container) {
  container.replaceChildren();
  if (article.state !== "published") container.append(el("span", article.state === "draft" ? "Draft" : "Unpublished changes", "tag draft"));
  if (article.needs_retraining) container.append(el("span", "Needs retraining", "tag warn"));
  else if (article.state !== "published" && article.publishing_needs_retraining) container.append(el("span", "Publishing needs retraining", "tag warn"));
  const r = article.ratings || {};
  if (r.share !== null && r.share !== undefined) {
    container.append(el("span", `Helped ${r.helpful} of ${r.helpful + r.unhelpful}`, r.share < 0.5 ? "tag warn" : "tag"));
  }
  const file = fileStateBadge(article);
  if (file) container.append(file);
  return container;
}

function listItem(article) {
  const li = el("li");
  const b = el("button");
  b.type = "button";
  b.dataset.key = `${article.language}/${article.article_id}`;
  const current = state.article && !state.isNew && state.article.article_id === article.article_id && state.article.language === article.language;
  b.setAttribute("aria-current", String(Boolean(current)));
  b.append(el("strong", article.title));
  b.append(el("span", `${article.article_id} · ${article.language.toUpperCase()} · ${stateWords(article)} · v${article.version}`, "item-meta muted"));
  b.append(badges(article, el("span", null, "badges")));
  b.addEventListener("click", () => openArticle(article.language, article.article_id));
  li.append(b);
  return li;
}

const listSearches = inOrder();

async function loadList() {
  const current = listSearches();
  try {
    const found = await api("GET", `/api/editor/articles?${filters()}`);
    if (!current()) return;
    $("articles").replaceChildren(...found.articles.map(listItem));
    $("count").textContent = `${found.articles.length} article${found.articles.length === 1 ? "" : "s"}`;
    const tag = $("f-tag");
    const chosen = tag.value;
    tag.replaceChildren(el("option", "All"));
    tag.firstChild.value = "";
    for (const name of found.tags) {
      const option = el("option", name);
      option.value = name;
      tag.append(option);
    }
    tag.value = found.tags.includes(chosen) ? chosen : "";
  } catch (e) {
    if (current()) $("count").textContent = e.message;
  }
}

// --- One article --------------------------------------------------------------------------------

function closeArticle() {
  state.article = null;
  $("editor").hidden = true;
  $("empty").hidden = false;
}

function clearMessages() {
  $("error").textContent = "";
  $("message").textContent = "";
  $("conflict").hidden = true;
}

function fill(article) {
  $("title").value = article.title;
  $("body").value = article.body;
  $("questions").value = article.questions.join("\n");
  $("tags").value = article.tags.join(", ");
  $("audience").value = article.audience;
  $("note").value = "";
  renderPreview();
}

function showArticle(article) {
  state.article = article;
  state.isNew = false;
  $("empty").hidden = true;
  $("editor").hidden = false;
  $("new-fields").hidden = true;
  $("article-heading").textContent = article.title;
  const live = article.live_version ? `customers get version ${article.live_version}` : "customers do not see it";
  $("article-meta").textContent = `${article.article_id} · ${article.language.toUpperCase()} · ${stateWords(article)} · version ${article.version} by ${article.updated_by}, ${when(article.updated_at)} · ${live}`;
  badges(article, $("badges"));
  $("file-state").textContent = (FILE_STATES[article.file_state] || { words: "" }).words;
  fill(article);
  renderVersions(article);
  $("publish").textContent = "Publish";
  for (const item of $("articles").querySelectorAll("button[data-key]")) {
    item.setAttribute("aria-current", String(item.dataset.key === `${article.language}/${article.article_id}`));
  }
}

async function openArticle(language, articleId) {
  clearMessages();
  $("diff").hidden = true;
  $("try-results").hidden = true;
  $("try-note").textContent = "";
  try {
    showArticle(await api("GET", `/api/editor/articles/${encodeURIComponent(language)}/${encodeURIComponent(articleId)}`));
  } catch (e) {
    $("error").textContent = e.message;
  }
}

function newArticle() {
  clearMessages();
  state.article = { article_id: "", language: $("f-language").value || "en", version: 0, questions: [], tags: [] };
  state.isNew = true;
  $("empty").hidden = true;
  $("editor").hidden = false;
  $("new-fields").hidden = false;
  $("article-heading").textContent = "New article";
  $("article-meta").textContent = "Saved as a draft first: customers see it once you publish it.";
  $("badges").replaceChildren();
  $("file-state").textContent = "";
  $("versions").replaceChildren();
  $("diff").hidden = true;
  $("try-results").hidden = true;
  $("article-id").value = "";
  $("article-language").value = state.article.language;
  fill({ title: "", body: "", questions: [], tags: [], audience: "public" });
  $("article-id").focus();
}

function formText() {
  return {
    title: $("title").value,
    body: $("body").value,
    questions: $("questions").value.split("\n").map((q) => q.trim()).filter(Boolean),
    tags: $("tags").value.split(",").map((t) => t.trim()).filter(Boolean),
    audience: $("audience").value,
  };
}

function articlePath(suffix = "") {
  const a = state.article;
  return `/api/editor/articles/${encodeURIComponent(a.language)}/${encodeURIComponent(a.article_id)}${suffix}`;
}

function showFailure(e) {
  if (e.status === 409 && e.data && e.data.conflict) {
    const c = e.data.conflict;
    $("conflict-text").textContent = `${c.author || "Somebody"} saved version ${c.version} at ${when(c.saved_at)}, after you opened this article. Nothing of yours was saved, and nothing of theirs was overwritten. Your text is still in the form: load their version, then make your change again.`;
    $("conflict").hidden = false;
    announce("Not saved: somebody else saved this article meanwhile");
  } else {
    $("error").textContent = e.message;
  }
}

function retrainingNote(article) {
  return article.needs_retraining || (article.state !== "published" && article.publishing_needs_retraining)
    ? " Its question variants are found at once by search; the language model learns them at the next retraining."
    : "";
}

async function saveDraft() {
  clearMessages();
  const note = $("note").value.trim() || null;
  try {
    let saved;
    if (state.isNew) {
      saved = await api("POST", "/api/editor/articles", { ...formText(), article_id: $("article-id").value.trim(), language: $("article-language").value });
    } else {
      saved = await api("POST", articlePath("/draft"), { ...formText(), base_version: state.article.version, note });
    }
    showArticle(saved);
    const live = saved.live_version ? ` Customers still get version ${saved.live_version} until you publish.` : "";
    $("message").textContent = `Saved as a draft (version ${saved.version}).${live}${retrainingNote(saved)}`;
    announce("Draft saved");
    loadList();
    return saved;
  } catch (e) {
    showFailure(e);
    return null;
  }
}

async function publish() {
  clearMessages();
  if (state.isNew) {
    const created = await saveDraft();
    if (!created) return;
  }
  try {
    const done = await api("POST", articlePath("/publish"), {
      base_version: state.article.version,
      article: formText(),
      note: $("note").value.trim() || null,
    });
    showArticle(done);
    $("message").textContent = `Published version ${done.version}: customers get it from their next question, within seconds.${retrainingNote(done)}`;
    announce("Published");
    loadList();
  } catch (e) {
    showFailure(e);
  }
}

// --- History, diff and roll back ----------------------------------------------------------------

function renderVersions(article) {
  const list = $("versions");
  list.replaceChildren();
  for (const v of article.versions) {
    const li = el("li");
    if (v.version === article.live_version) li.classList.add("live");
    const status = v.version === article.live_version ? "published, what customers get" : v.status;
    const changes = v.changes.length ? `changed: ${v.changes.join(", ")}` : "";
    const rated = v.ratings.share !== null ? `helped ${v.ratings.helpful} of ${v.ratings.helpful + v.ratings.unhelpful}` : "";
    li.append(el("strong", `v${v.version}`));
    li.append(el("span", [status, `${v.author}, ${when(v.created_at)}`, changes, v.note || "", rated].filter(Boolean).join(" · "), "what"));
    if (v.version > 1) li.append(button("Changes", () => showDiff(v.version - 1, v.version), `Changes in version ${v.version}`));
    if (v.version !== article.version) {
      li.append(button("Compare with newest", () => showDiff(v.version, article.version), `Compare version ${v.version} with the newest`));
      li.append(button("Roll back to this", () => rollBack(v.version), `Roll back to version ${v.version}`));
    }
    list.append(li);
  }
}

function diffLines(lines) {
  const box = el("div", null, "diff-lines");
  const mark = { "+": ["+ ", "added"], "-": ["- ", "removed"], "=": ["  ", "same"], "@": ["", "jump"] };
  for (const line of lines) {
    const [prefix, kind] = mark[line.op] || ["  ", "same"];
    box.append(el("span", line.op === "@" ? "…" : prefix + line.text, kind));
  }
  return box;
}

async function showDiff(from, to) {
  try {
    const result = await api("GET", articlePath(`/diff?from=${from}&to=${to}`));
    $("diff-title").textContent = `From version ${result.from} to version ${result.to}`;
    const body = $("diff-body");
    body.replaceChildren();
    const names = { title: "Title", body: "Answer", questions: "Question variants", tags: "Tags", audience: "Audience", status: "Status" };
    const entries = Object.entries(result.changes);
    if (!entries.length) body.append(el("p", "No changes.", "muted"));
    for (const [field, change] of entries) {
      body.append(el("h4", names[field] || field));
      if (Array.isArray(change)) {
        body.append(diffLines(change));
      } else if ("added" in change) {
        const lines = [...change.added.map((t) => ({ op: "+", text: t })), ...change.removed.map((t) => ({ op: "-", text: t }))];
        body.append(lines.length ? diffLines(lines) : el("p", "Reordered.", "muted"));
      } else {
        body.append(el("p", `${change.before} → ${change.after}`));
      }
    }
    $("diff").hidden = false;
    $("history-panel").open = true;
  } catch (e) {
    $("error").textContent = e.message;
  }
}

async function rollBack(version) {
  clearMessages();
  try {
    const done = await api("POST", articlePath("/rollback"), { to_version: version, base_version: state.article.version });
    showArticle(done);
    const live = done.state === "draft" ? "as a draft" : `and published: customers get it from their next question`;
    $("message").textContent = `Rolled back to version ${version}: saved as version ${done.version} ${live}.`;
    announce(`Rolled back to version ${version}`);
    loadList();
  } catch (e) {
    showFailure(e);
  }
}

// --- Try it -------------------------------------------------------------------------------------

function outcomeWords(side) {
  if (side.outcome === "answer") return "Answers with this article";
  if (side.outcome === "suggest") return "Offers these articles to choose from";
  return "Says it does not know";
}

function handoffWords(side) {
  if (side.handoff) return `Hands over to a person: ${REASONS[side.handoff_reason] || side.handoff_reason}.`;
  if (side.handoff_on_next_miss) return "No person yet; one more miss in a row brings in a person.";
  return "No handoff.";
}

function renderSide(section, side, route) {
  section.dataset.outcome = side.outcome;
  section.dataset.handoff = String(side.handoff);
  const body = section.querySelector(".try-body");
  body.replaceChildren();
  if (route.to === "other") {
    body.append(el("p", `Another rule answers: the model reads this as "${route.intent}". The articles below are what the knowledge base would have found.`, "muted"));
  }
  body.append(el("p", outcomeWords(side), "outcome"));
  if (side.answer) {
    body.append(el("p", side.answer.title, "answer-title"));
    const answer = markdown(side.answer.text);
    answer.className = "try-answer";
    body.append(answer);
  } else if (side.outcome === "suggest") {
    const list = el("ul");
    for (const c of side.candidates) list.append(el("li", c.title));
    body.append(list);
  }
  body.append(el("p", handoffWords(side), "handoff"));
  const table = el("table");
  const caption = el("caption", "Best-matching articles");
  caption.className = "visually-hidden";
  const head = el("tr");
  head.append(el("th", "Article"), el("th", "Confidence"));
  table.append(caption, head);
  const chosen = new Set(side.candidates.map((c) => c.article_id));
  for (const c of side.ranking) {
    const row = el("tr");
    if (chosen.has(c.article_id) && side.outcome !== "unknown") row.className = "chosen";
    row.append(el("td", c.title), el("td", percent(c.confidence), "number"));
    table.append(row);
  }
  body.append(table);
}

async function tryIt() {
  const question = $("try-question").value.trim();
  if (!question) { $("try-note").textContent = "Write a question as a customer would."; return; }
  const a = state.article;
  const draft = a && (a.article_id || $("article-id").value.trim())
    ? { ...formText(), article_id: state.isNew ? $("article-id").value.trim() : a.article_id }
    : null;
  const language = state.isNew ? $("article-language").value : (a ? a.language : "en");
  $("try-note").textContent = "Asking…";
  $("try").disabled = true;
  try {
    const result = await api("POST", "/api/editor/try", { question, language, draft });
    const u = result.understanding;
    $("try-note").textContent = u.available
      ? `The language model reads this as "${u.intent}" (${percent(u.confidence)}).`
      : "The Rasa server is not answering: this is the knowledge base's search alone, without the language model.";
    renderSide($("try-published"), result.published, result.route);
    $("try-draft").hidden = !result.draft;
    if (result.draft) renderSide($("try-draft"), result.draft, result.route);
    $("try-results").hidden = false;
    announce(`Published: ${outcomeWords(result.published)}`);
  } catch (e) {
    $("try-note").textContent = e.message;
  } finally {
    $("try").disabled = false;
  }
}

function renderPreview() {
  $("preview").replaceChildren(render(document, unwrap($("body").value)));
}

// --- Wiring -------------------------------------------------------------------------------------

document.addEventListener("DOMContentLoaded", async () => {
  $("filters").addEventListener("submit", (event) => { event.preventDefault(); loadList(); });
  for (const id of ["f-language", "f-tag", "f-status", "f-helpfulness", "f-file-state"]) $(id).addEventListener("change", loadList);
  $("q").addEventListener("input", () => {
    clearTimeout(state.searchTimer);
    state.searchTimer = setTimeout(loadList, 300);
  });
  $("new-article").addEventListener("click", newArticle);
  $("article-form").addEventListener("submit", (event) => { event.preventDefault(); saveDraft(); });
  $("publish").addEventListener("click", publish);
  $("body").addEventListener("input", renderPreview);
  $("load-theirs").addEventListener("click", () => openArticle(state.article.language, state.article.article_id));
  $("try-form").addEventListener("submit", (event) => { event.preventDefault(); tryIt(); });
  wireEditorPage("desk", showDesk, showLogin);
});
