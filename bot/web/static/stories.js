// Stories and rules for editors: the training stories, rules and test stories read as
// conversations; real conversations (or new ones) corrected and saved as training stories, rules
// or test stories; what the editor saved changed or deleted. Every text (what customers wrote,
// names, responses) is set with textContent: nothing is ever parsed as HTML.
import { $, api, el, inOrder, when, wireEditorPage } from "/static/staff.js";

const FRESH = { me: null, words: null, conversation: null, turns: [], timer: null, story: null, editing: null };
let state = { ...FRESH };
// What the list calls a training story ("story") is saved as kind "training".
const SAVED_KIND = { story: "training", rule: "rule", test: "test" };

function option(value, text) {
  const o = el("option", text);
  o.value = value;
  return o;
}

// --- Signing in ---------------------------------------------------------------------------------

function showLogin() {
  state = { ...FRESH };
}

async function showDesk(me) {
  state.me = me;
  try { state.words = await api("GET", "/api/editor/stories/vocabulary"); } catch (e) { $("story-count").textContent = e.message; }
  loadStories();
  loadConversations();
  // A link from elsewhere (the inbox, the agent console) opens one conversation at once.
  const linked = new URLSearchParams(window.location.search).get("conversation");
  if (linked) openConversation(linked);
}

// --- Training stories and rules -----------------------------------------------------------------

function intentWords(intent) {
  const example = intent.examples && intent.examples.length ? `, like “${intent.examples.join("”, “")}”` : "";
  return `${intent.words}${example}`;
}

function storyTurn(turn) {
  const li = el("li");
  if (turn.kind === "customer") {
    li.className = "customer";
    li.append(el("span", "Customer", "who"));
    const intents = turn.intents.map(intentWords).join(" — or — ");
    li.append(el("span", turn.text ? turn.text : intents, "said"));
    if (turn.text) li.append(el("span", intents, "intent"));
    li.append(el("span", `intent: ${turn.intents.map((i) => i.name).join(" or ")}`, "intent"));
    if (turn.entities.length) li.append(el("span", `with ${turn.entities.map((e) => e.value === null || e.value === undefined ? e.entity : `${e.entity} = ${e.value}`).join(", ")}`, "intent"));
  } else if (turn.kind === "slot") {
    li.className = "memory";
    li.textContent = `The bot remembers ${turn.name} = ${turn.value === null ? "nothing" : turn.value}`;
  } else if (turn.kind === "form") {
    li.className = "memory";
    li.textContent = turn.name ? `The form ${turn.name} runs` : "The form ends";
  } else {
    li.className = "bot";
    li.append(el("span", "Bot", "who"));
    li.append(el("span", turn.text ? turn.text : turn.words, "said"));
    li.append(el("span", `${turn.type}: ${turn.name}`, "intent"));
  }
  if (turn.condition) {
    li.classList.add("condition");
    li.prepend(el("span", "Only when, before:", "intent"));
  }
  return li;
}

const KIND_WORDS = { rule: "Rule", story: "Training story", test: "Test story" };

function ruleWords(story) {
  if (story.kind !== "rule") return "";
  const where = story.conversation_start ? "Only at the start of a conversation" : "Always, whatever came before";
  return `${where}; ${story.wait_for_user_input ? "then the bot waits for the customer" : "then the bot goes on without waiting"}.`;
}

function showStory(story) {
  state.story = story;
  $("empty").hidden = true;
  $("done").hidden = true;
  $("correct-view").hidden = true;
  $("story-view").hidden = false;
  $("story-name").textContent = story.name;
  $("story-kind-badge").textContent = KIND_WORDS[story.kind] || story.kind;
  $("story-file").textContent = story.file;
  $("story-shape").textContent = ruleWords(story);
  $("story-actions").hidden = !story.editable;
  $("delete-confirm").hidden = true;
  $("delete-error").textContent = "";
  $("read-only").hidden = story.editable;
  $("read-only").textContent = story.editable ? "" : `Read-only: written by the developers in ${story.file}. Save a changed copy under another name to make it yours.`;
  $("story-turns").replaceChildren(...story.turns.map(storyTurn));
}

// A story's turns as the correction view edits them.
function editableTurns(story) {
  return story.turns.map((t) => {
    if (t.kind === "customer") {
      return { kind: "customer", text: t.text, message: t.text, intent: t.intents.length ? t.intents[0].name : "", entities: t.entities.map((e) => ({ ...e, kept: true })), condition: t.condition, dropped: false };
    }
    if (t.kind === "bot") return { kind: "bot", action: t.name, said: t.text ? [t.text] : [], condition: t.condition, dropped: false };
    return { kind: t.kind, name: t.name, value: t.value, condition: t.condition, dropped: false };
  });
}

function setKind(kind, locked) {
  for (const radio of document.querySelectorAll("input[name=kind]")) {
    radio.checked = radio.value === kind;
    radio.disabled = locked && radio.value !== kind;
  }
  $("rule-options").hidden = kind !== "rule";
}

function openEditor({ heading, turns, name, kind, editing, conversation }) {
  state.conversation = conversation;
  state.editing = editing;
  state.turns = turns;
  $("empty").hidden = true;
  $("done").hidden = true;
  $("story-view").hidden = true;
  $("correct-view").hidden = false;
  $("load-error").textContent = "";
  $("conversation-heading").textContent = heading;
  $("conversation-turns").replaceChildren(...state.turns.map(conversationTurn));
  $("problems").hidden = true;
  $("saved").hidden = true;
  if (name !== undefined) $("story-title").value = name;
  setKind(kind, Boolean(editing));
  $("save-story").textContent = editing ? "Save changes" : "Save story";
}

function changeStory() {
  const story = state.story;
  openEditor({
    heading: `Changing “${story.name}” (${story.file})`,
    turns: editableTurns(story),
    name: story.name,
    kind: SAVED_KIND[story.kind],
    editing: { name: story.name, kind: SAVED_KIND[story.kind] },
    conversation: null,
  });
  $("conversation-start").checked = Boolean(story.conversation_start);
  $("wait-for-user").checked = story.wait_for_user_input !== false;
}

function newStory() {
  openEditor({ heading: "A new story or rule", turns: [], name: "", kind: "rule", editing: null, conversation: null });
  $("conversation-start").checked = false;
  $("wait-for-user").checked = true;
  for (const b of $("conversations").querySelectorAll("button[data-id]")) b.setAttribute("aria-current", "false");
}

async function deleteStory() {
  const story = state.story;
  $("delete-error").textContent = "";
  try {
    await api("DELETE", `/api/editor/stories?${new URLSearchParams({ name: story.name, kind: SAVED_KIND[story.kind] })}`);
    $("story-view").hidden = true;
    $("done").textContent = `Deleted “${story.name}” from ${story.file}.`;
    $("done").hidden = false;
    $("announce").textContent = "Story deleted";
    state.story = null;
    loadStories();
  } catch (e) {
    $("delete-error").textContent = e.message;
  }
}

const storySearches = inOrder();
const conversationSearches = inOrder();

async function loadStories() {
  const current = storySearches();
  const params = new URLSearchParams();
  if ($("story-q").value.trim()) params.set("q", $("story-q").value.trim());
  if ($("story-kind").value) params.set("kind", $("story-kind").value);
  try {
    const found = await api("GET", `/api/editor/stories?${params}`);
    if (!current()) return;
    $("stories").replaceChildren(...found.stories.map((story) => {
      const li = el("li");
      const b = el("button");
      b.type = "button";
      b.append(el("strong", story.name));
      b.append(el("span", `${KIND_WORDS[story.kind] || story.kind} · ${story.file}${story.editable ? " · the editors'" : " · read-only"}`, "item-meta muted"));
      b.addEventListener("click", () => showStory(story));
      li.append(b);
      return li;
    }));
    $("story-count").textContent = `${found.stories.length} found`;
    $("retraining").replaceChildren();
    if (found.needs_retraining) $("retraining").append(el("span", "Needs retraining: the training data changed since the model was trained", "tag warn"));
  } catch (e) {
    if (current()) $("story-count").textContent = e.message;
  }
}

// --- Real conversations -------------------------------------------------------------------------

async function loadConversations() {
  const current = conversationSearches();
  const params = new URLSearchParams();
  if ($("conversation-q").value.trim()) params.set("q", $("conversation-q").value.trim());
  if ($("conversation-id").value.trim()) params.set("id", $("conversation-id").value.trim());
  try {
    const found = await api("GET", `/api/editor/conversations?${params}`);
    if (!current()) return;
    $("conversations").replaceChildren(...found.conversations.map((c) => {
      const li = el("li");
      const b = el("button");
      b.type = "button";
      b.dataset.id = c.conversation_id;
      b.append(el("strong", c.snippet));
      b.append(el("span", `${when(c.last_at)} · ${c.messages} message${c.messages === 1 ? "" : "s"} · ${c.conversation_id}`, "item-meta muted"));
      b.addEventListener("click", () => openConversation(c.conversation_id));
      li.append(b);
      return li;
    }));
    $("conversation-count").textContent = found.conversations.length ? `${found.conversations.length} found, newest first` : "No conversation found.";
  } catch (e) {
    if (current()) $("conversation-count").textContent = e.message;
  }
}

function intentChooser(turn) {
  const select = el("select");
  select.setAttribute("aria-label", "What the customer meant");
  const known = state.words.intents.map((i) => i.name);
  if (!turn.intent || !known.includes(turn.intent)) select.append(option("", turn.intent ? `${turn.intent} (not in the domain: choose)` : "(not understood: choose)"));
  for (const intent of state.words.intents) select.append(option(intent.name, `${intent.name}: ${intentWords(intent)}`));
  select.value = turn.intent && known.includes(turn.intent) ? turn.intent : "";
  select.addEventListener("change", () => { turn.intent = select.value; });
  return select;
}

function actionChooser(turn) {
  const select = el("select");
  select.setAttribute("aria-label", "What the bot does next");
  const known = state.words.actions.map((a) => a.name);
  if (!known.includes(turn.action)) select.append(option(turn.action, `${turn.action} (not in the domain: choose)`));
  for (const action of state.words.actions) select.append(option(action.name, `${action.name}: ${action.words}`));
  select.value = turn.action;
  select.addEventListener("change", () => { turn.action = select.value; });
  return select;
}

function dropButton(turn, li) {
  const b = el("button", "Drop");
  b.type = "button";
  b.className = "secondary";
  b.addEventListener("click", () => {
    turn.dropped = !turn.dropped;
    li.classList.toggle("dropped", turn.dropped);
    b.textContent = turn.dropped ? "Keep" : "Drop";
    b.setAttribute("aria-pressed", String(turn.dropped));
  });
  b.setAttribute("aria-pressed", "false");
  return b;
}

function conversationTurn(turn) {
  const li = el("li");
  if (turn.kind === "customer") {
    li.className = "customer";
    li.append(el("span", turn.time ? `Customer · ${when(turn.time)}` : "Customer", "who"));
    if (turn.typed) {
      const input = el("input");
      input.maxLength = 2000;
      input.value = turn.message || "";
      input.setAttribute("aria-label", "What the customer writes (kept in a test story)");
      input.addEventListener("input", () => { turn.message = input.value; });
      li.append(input);
    } else if (turn.text) {
      li.append(el("span", turn.text, "said"));
    }
    const label = el("label", "Meant: ");
    label.append(intentChooser(turn));
    const confidence = typeof turn.confidence === "number" ? ` (the bot understood ${turn.original || "nothing"} at ${Math.round(turn.confidence * 100)}%)` : "";
    li.append(label, el("span", confidence, "intent"));
    for (const entity of turn.entities) li.append(entityChooser(entity));
  } else if (turn.kind === "bot") {
    li.className = "bot";
    li.append(el("span", turn.time ? `Bot · ${when(turn.time)}` : "Bot", "who"));
    for (const text of turn.said) li.append(el("span", text, "said"));
    const label = el("label", "Does next: ");
    label.append(actionChooser(turn));
    li.append(label);
  } else if (turn.kind === "said") {
    li.className = "note";
    li.textContent = `${turn.author === "agent" ? "A person" : turn.author === "system" ? "The system" : "The bot"} said (not part of a story): ${turn.text}`;
    return li;
  } else {
    li.className = "memory";
    li.append(el("span", turn.kind === "form" ? (turn.name ? `The form ${turn.name} runs` : "The form ends") : `The bot remembers ${turn.name} = ${turn.value === null ? "nothing" : turn.value}`));
    li.append(conditionChooser(turn, li));
  }
  li.append(dropButton(turn, li));
  return li;
}

function entityChooser(entity) {
  const label = el("label", `keep ${entity.entity} = ${entity.value}`, "intent");
  const box = el("input");
  box.type = "checkbox";
  box.checked = entity.kept !== false;
  box.addEventListener("change", () => { entity.kept = box.checked; });
  label.prepend(box);
  return label;
}

function conditionChooser(turn, li) {
  const label = el("label", "a condition of the rule (before it)");
  const box = el("input");
  box.type = "checkbox";
  box.checked = Boolean(turn.condition);
  li.classList.toggle("condition", box.checked);
  box.addEventListener("change", () => { turn.condition = box.checked; li.classList.toggle("condition", box.checked); });
  label.prepend(box);
  return label;
}

function addTurn(kind) {
  const turn = kind === "customer"
    ? { kind, intent: "", text: null, message: "", entities: [], typed: true, dropped: false }
    : { kind, action: state.words.actions.length ? state.words.actions[0].name : "", said: [], dropped: false };
  state.turns.push(turn);
  const li = conversationTurn(turn);
  $("conversation-turns").append(li);
  li.querySelector("select, input").focus();
}

async function openConversation(id) {
  $("load-error").textContent = "";
  try {
    const conversation = await api("GET", `/api/editor/conversations/${encodeURIComponent(id)}`);
    const kind = state.editing ? "test" : (document.querySelector("input[name=kind]:checked") || {}).value || "test";
    openEditor({
      heading: `Conversation ${conversation.conversation_id}, ${when(conversation.started_at)}`,
      turns: conversation.turns.map((t) => ({ ...t, original: t.intent, dropped: false, entities: (t.entities || []).map((e) => ({ ...e, kept: true })) })),
      name: state.editing || !$("story-title").value ? `corrected conversation ${conversation.conversation_id.slice(0, 8)}` : undefined,
      kind,
      editing: null,
      conversation,
    });
    for (const b of $("conversations").querySelectorAll("button[data-id]")) b.setAttribute("aria-current", String(b.dataset.id === id));
  } catch (e) {
    $("load-error").textContent = e.message;
  }
}

function storyTurns(kind) {
  const turns = [];
  for (const t of state.turns) {
    if (t.dropped || t.kind === "said") continue;
    const entities = t.kind === "customer" ? t.entities.filter((e) => e.kept !== false).map((e) => ({ entity: e.entity, value: e.value === null || e.value === undefined ? null : String(e.value) })) : [];
    if (t.kind === "customer") turns.push({ kind: "customer", intent: t.intent || "", text: kind === "test" ? (t.message || null) : null, entities });
    else if (t.kind === "bot") turns.push({ kind: "bot", action: t.action });
    else turns.push({ kind: t.kind, name: t.name, value: t.value === undefined ? null : t.value, condition: kind === "rule" && Boolean(t.condition) });
  }
  return turns;
}

async function saveStory() {
  $("problems").hidden = true;
  $("saved").hidden = true;
  const kind = document.querySelector("input[name=kind]:checked").value;
  const button = $("save-story");
  button.disabled = true;
  $("announce").textContent = "Checking the story with Rasa…";
  try {
    const body = {
      name: $("story-title").value,
      kind,
      turns: storyTurns(kind),
      conversation_id: state.conversation ? state.conversation.conversation_id : null,
      conversation_start: kind === "rule" && $("conversation-start").checked,
      wait_for_user_input: kind !== "rule" || $("wait-for-user").checked,
    };
    const saved = state.editing
      ? await api("PUT", "/api/editor/stories", { ...body, replaces: state.editing.name })
      : await api("POST", "/api/editor/stories", body);
    if (state.editing) {
      state.editing.name = saved.name;
      $("conversation-heading").textContent = `Changing “${saved.name}” (${saved.file})`;
    }
    $("saved-text").textContent = `Saved “${saved.name}” to ${saved.file}.${saved.needs_retraining ? " The bot learns it after retraining." : ""}`;
    $("saved-yaml").textContent = saved.yaml;
    $("saved").hidden = false;
    $("announce").textContent = "Story saved";
    loadStories();
  } catch (e) {
    const listed = e.data && Array.isArray(e.data.problems) ? e.data.problems.map((p) => p.problem) : [];
    const problems = listed.length ? listed : [e.message];
    $("problem-list").replaceChildren(...problems.map((p) => el("li", p)));
    $("problems").hidden = false;
    $("announce").textContent = "The story was not saved";
  } finally {
    button.disabled = false;
  }
}

// --- Wiring -------------------------------------------------------------------------------------

document.addEventListener("DOMContentLoaded", async () => {
  $("story-filters").addEventListener("submit", (event) => { event.preventDefault(); loadStories(); });
  $("story-kind").addEventListener("change", loadStories);
  $("story-q").addEventListener("input", () => { clearTimeout(state.timer); state.timer = setTimeout(loadStories, 300); });
  $("conversation-filters").addEventListener("submit", (event) => { event.preventDefault(); loadConversations(); });
  $("save-form").addEventListener("submit", (event) => { event.preventDefault(); saveStory(); });
  for (const radio of document.querySelectorAll("input[name=kind]")) radio.addEventListener("change", () => { $("rule-options").hidden = radio.value !== "rule" || !radio.checked; });
  $("new-story").addEventListener("click", newStory);
  $("add-customer").addEventListener("click", () => addTurn("customer"));
  $("add-bot").addEventListener("click", () => addTurn("bot"));
  $("change-story").addEventListener("click", changeStory);
  $("delete-story").addEventListener("click", () => {
    $("delete-question").textContent = `Delete “${state.story.name}” from ${state.story.file}?`;
    $("delete-confirm").hidden = false;
    $("delete-yes").focus();
  });
  $("delete-no").addEventListener("click", () => { $("delete-confirm").hidden = true; });
  $("delete-yes").addEventListener("click", deleteStory);
  wireEditorPage("desk", showDesk, showLogin);
});
