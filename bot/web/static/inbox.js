// The editors' inbox: what the bot failed at, grouped by meaning, with the conversations behind
// each group (personal data masked by the server) and what to do with it: add the messages to an
// article as question variants, start a new article, or dismiss. Every text customers, agents or
// editors wrote is set with textContent: nothing is parsed as HTML.
import { $, api, button, el, inOrder, when, wireEditorPage } from "/static/staff.js";

const PAGE = 20;
const SOURCES = {
  not_understood: "not understood",
  not_helpful: "didn't help",
  wrong_answer: "wrong answer (agent)",
  handoff: "handoff",
};
const AUTHORS = { customer: "Customer", bot: "Bot", agent: "Agent", system: "System" };
const state = { offset: 0, groups: [], group: null, articles: [] };

function announce(text) { $("announce").textContent = text; }
function plural(n, word) { return `${n.toLocaleString()} ${word}${n === 1 ? "" : "s"}`; }

function sourceBadges(sources) {
  const box = el("span", null, "badges");
  for (const [source, n] of Object.entries(sources)) box.append(el("span", `${SOURCES[source] || source}: ${n}`, "tag"));
  return box;
}

// --- The list of groups -------------------------------------------------------------------------

function listItem(group) {
  const li = el("li");
  const b = el("button");
  b.type = "button";
  b.dataset.group = group.id;
  b.setAttribute("aria-current", String(Boolean(state.group && state.group.id === group.id)));
  b.append(el("strong", group.label));
  b.append(el("span", `${plural(group.count, "message")} · newest ${when(group.newest)}`, "item-meta muted"));
  b.append(sourceBadges(group.sources));
  b.addEventListener("click", () => showGroup(group));
  li.append(b);
  return li;
}

const groupSearches = inOrder();

async function loadGroups() {
  const current = groupSearches();
  const params = new URLSearchParams({ offset: String(state.offset), limit: String(PAGE) });
  if ($("f-source").value) params.set("source", $("f-source").value);
  try {
    const found = await api("GET", `/api/editor/inbox?${params}`);
    if (!current()) return;
    state.groups = found.groups;
    $("groups").replaceChildren(...found.groups.map(listItem));
    let words = `${plural(found.total, "message")} to look at, in ${plural(found.group_count, "group")}`;
    if (found.read < found.total) words += ` (the newest ${found.read.toLocaleString()} are grouped)`;
    if (found.pending) words += `; ${plural(found.pending, "message")} still being read: refresh in a minute`;
    $("count").textContent = words;
    const pages = Math.max(1, Math.ceil(found.group_count / PAGE));
    $("page").textContent = `page ${Math.floor(state.offset / PAGE) + 1} of ${pages}`;
    $("previous").disabled = state.offset === 0;
    $("next").disabled = state.offset + PAGE >= found.group_count;
    if (state.group && !found.groups.some((g) => g.id === state.group.id)) closeGroup();
  } catch (e) {
    if (current()) $("count").textContent = e.message;
  }
}

// --- One group ----------------------------------------------------------------------------------

function closeGroup() {
  state.group = null;
  $("group").hidden = true;
  $("empty").hidden = false;
}

function clearMessages() {
  $("error").textContent = "";
  $("message").textContent = "";
}

function showGroup(group) {
  state.group = group;
  clearMessages();
  $("empty").hidden = true;
  $("group").hidden = false;
  $("group-label").textContent = group.label;
  $("group-meta").textContent = `${plural(group.count, "message")} from ${plural(group.conversation_count, "conversation")} · newest ${when(group.newest)}`;
  $("group-sources").replaceChildren(...sourceBadges(group.sources).childNodes);
  $("messages").replaceChildren(...group.messages.map((m, i) => {
    const li = el("li");
    const box = el("input");
    box.type = "checkbox";
    box.checked = true;
    box.id = `pick-${i}`;
    box.dataset.text = m.text;
    const label = el("label", m.count > 1 ? `${m.text} (×${m.count})` : m.text);
    label.htmlFor = box.id;
    li.append(box, " ", label, " ", el("span", m.sources.map((s) => SOURCES[s] || s).join(", "), "muted"));
    return li;
  }));
  const hidden = group.distinct_messages - group.messages.length;
  $("more-messages").textContent = hidden > 0 ? `and ${plural(hidden, "other message")} (handled with the group)` : "";
  $("conversations").replaceChildren(...group.conversations.map((c) => {
    const li = el("li");
    li.append(button(`Conversation ${c.conversation_id.slice(0, 12)}`, () => showConversation(c.conversation_id), `Read conversation ${c.conversation_id}`), " ", el("span", when(c.time), "muted"));
    return li;
  }));
  if (group.conversation_count > group.conversations.length) $("conversations").append(el("li", `and ${group.conversation_count - group.conversations.length} more`, "muted"));
  $("transcript-box").hidden = true;
  $("new-form").hidden = true;
  $("dismiss-note").value = "";
  const suggested = group.articles.length ? group.articles[0] : null;
  if (suggested && state.articles.some((a) => a.article_id === suggested)) $("article").value = `en/${suggested}`;
  for (const b of $("groups").querySelectorAll("button")) b.setAttribute("aria-current", String(b.dataset.group === group.id));
}

async function showConversation(conversationId) {
  try {
    const found = await api("GET", `/api/editor/inbox/conversations/${encodeURIComponent(conversationId)}`);
    $("transcript-title").textContent = found.shown_from ? `The conversation (its last ${found.lines.length} of ${found.line_count} lines)` : "The conversation";
    $("transcript").replaceChildren(...found.lines.map((line) => {
      const li = el("li");
      const who = line.author === "agent" && line.name ? `Agent ${line.name}` : AUTHORS[line.author] || line.author;
      li.append(el("span", who, "who"), el("span", line.text), " ", el("span", when(line.time), "muted"));
      if (line.intent) li.append(" ", el("span", `understood as ${line.intent}`, "muted"));
      return li;
    }));
    $("transcript-box").hidden = false;
  } catch (e) {
    $("error").textContent = e.message;
  }
}

function picked() {
  return [...$("messages").querySelectorAll("input[type=checkbox]")].filter((b) => b.checked).map((b) => b.dataset.text);
}

// An action on the group: when it is done, the group leaves the list and the page says so.
async function act(path, body, words) {
  clearMessages();
  $("done").textContent = "";
  try {
    await api("POST", path, { items: state.group.items, label: state.group.label, ...body });
  } catch (e) {
    $("error").textContent = e.message;
    return;
  }
  closeGroup();
  $("done").textContent = words;
  announce(words);
  await loadGroups();
}

async function addToArticle() {
  const questions = picked();
  if (!questions.length) { $("error").textContent = "Tick at least one message to add."; return; }
  const [language, articleId] = $("article").value.split("/");
  if (!articleId) { $("error").textContent = "Choose an article."; return; }
  const publish = $("publish-now").checked;
  await act("/api/editor/inbox/add-to-article", { article_id: articleId, language, questions, publish },
    `Added to ${articleId}${publish ? " and published" : " as a draft"}; the group left the inbox.`);
}

async function startNew() {
  clearMessages();
  try {
    const filled = await api("POST", "/api/editor/inbox/prefill", { items: state.group.items, label: state.group.label, questions: picked() });
    $("new-id").value = filled.article_id;
    $("new-title-input").value = filled.title;
    $("new-body").value = filled.body;
    $("new-questions").value = filled.questions.join("\n");
    $("new-note").textContent = filled.from_agent ? "The answer is what an agent replied in one of the conversations: check it before publishing." : "No agent replied in these conversations: write the answer.";
    $("new-form").hidden = false;
  } catch (e) {
    $("error").textContent = e.message;
  }
}

async function saveNew() {
  const articleId = $("new-id").value.trim();
  await act("/api/editor/inbox/new-article", {
    article_id: articleId,
    language: $("new-language").value,
    article: {
      title: $("new-title-input").value,
      body: $("new-body").value,
      questions: $("new-questions").value.split("\n"),
      tags: [],
      audience: "public",
    },
  }, `Draft ${articleId} saved: open it in Articles to publish it. The group left the inbox.`);
}

async function dismiss() {
  const note = $("dismiss-note").value.trim();
  await act("/api/editor/inbox/dismiss", note ? { note } : {}, "Dismissed; the group left the inbox.");
}

async function loadArticles() {
  try {
    const found = await api("GET", "/api/editor/articles");
    state.articles = found.articles;
    $("article").replaceChildren(el("option", "Choose…"), ...found.articles.map((a) => {
      const option = el("option", `${a.title} (${a.article_id}, ${a.language.toUpperCase()})`);
      option.value = `${a.language}/${a.article_id}`;
      return option;
    }));
    $("article").firstChild.value = "";
  } catch (e) {
    $("error").textContent = e.message;
  }
}

document.addEventListener("DOMContentLoaded", async () => {
  $("f-source").addEventListener("change", () => { state.offset = 0; closeGroup(); loadGroups(); });
  $("refresh").addEventListener("click", loadGroups);
  $("previous").addEventListener("click", () => { state.offset = Math.max(0, state.offset - PAGE); loadGroups(); });
  $("next").addEventListener("click", () => { state.offset += PAGE; loadGroups(); });
  $("add").addEventListener("click", addToArticle);
  $("start-new").addEventListener("click", startNew);
  $("new-form").addEventListener("submit", (event) => { event.preventDefault(); saveNew(); });
  $("dismiss").addEventListener("click", dismiss);
  wireEditorPage("inbox-desk", () => { loadArticles(); loadGroups(); }, closeGroup);
});
