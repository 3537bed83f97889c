// Retraining from the editor: start a training job, follow it (the page asks every two seconds
// while it runs; the job lives on the server, so a reload shows it again) with its stage, how far
// the whole job is and how long it still takes, cancel it (after a confirmation), and see whether
// the new model was loaded or the current one kept, with what got worse. Text only, never HTML.
import { $, api, el, when, wireEditorPage } from "/static/staff.js";

const STAGES = [
  ["export", "Export the articles"],
  ["train", "Train"],
  ["evaluate", "Evaluate both models"],
  ["compare", "Compare"],
  ["load", "Load into the assistant"],
];
const POLL_MS = 2000;
let timer = null;
let signedIn = false;
let shownJob = null; // the job on the page: the one a cancel is for

function showLogin() {
  signedIn = false;
  clearTimeout(timer);
}

function showDesk() {
  signedIn = true;
  refresh();
}

function duration(seconds) {
  const s = Math.round(seconds);
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}

function left(seconds) {
  if (seconds === null || seconds === undefined) return "";
  if (seconds < 5) return "almost done";
  return seconds < 60 ? "less than a minute left" : `about ${Math.round(seconds / 60)} min left`;
}

function share(value) { return value === null || value === undefined ? "–" : `${(value * 100).toFixed(1)}%`; }

function renderMarks(marked) {
  $("marks").textContent = marked.length
    ? `${marked.length} published article${marked.length === 1 ? "" : "s"} need${marked.length === 1 ? "s" : ""} retraining: the language model has not learned ${marked.length === 1 ? "its" : "their"} question variants yet (search finds them meanwhile).`
    : "Nothing needs retraining: the language model knows every published article as it is.";
  $("marked").replaceChildren(...marked.map((a) => el("li", `${a.title} (${a.article_id}, ${a.language})`)));
}

function renderStages(job) {
  const at = STAGES.findIndex(([name]) => name === job.stage);
  const times = job.stage_times || {};
  $("stages").replaceChildren(...STAGES.map(([name, words], i) => {
    const took = times[name] !== undefined && !(i === at && job.status === "running");
    const item = el("li", took ? `${words} · ${duration(times[name])}` : words);
    if (i < at || (job.status === "finished" && i <= at)) item.className = "done";
    else if (i === at && job.status === "running") { item.className = "current"; item.setAttribute("aria-current", "step"); }
    return item;
  }));
}

function statusWords(job) {
  if (job.status === "running") {
    const stage = (STAGES.find(([name]) => name === job.stage) || [job.stage, "Waiting to start"])[1];
    const progress = job.progress !== null && job.progress !== undefined ? ` ${Math.round(job.progress)}%` : "";
    const detail = job.detail ? ` · ${job.detail}` : "";
    return `Running: ${stage}${progress} (${duration(job.stage_seconds)} in this stage)${detail}`;
  }
  return `Ended ${when(job.finished_at)}, after ${duration(job.elapsed_seconds)}.`;
}

function overallWords(job) {
  if (job.status !== "running" || job.overall_progress === null || job.overall_progress === undefined) return "";
  const basis = job.estimated_from ? "an estimate from how long the last retraining took" : "a rough estimate: no retraining has been timed yet";
  return `All in all ${Math.round(job.overall_progress)}% done: ${duration(job.elapsed_seconds)} so far, ${left(job.remaining_seconds)} (${basis}).`;
}

function renderOutcome(job) {
  const box = $("outcome");
  box.hidden = job.status === "running";
  box.className = `outcome ${job.status === "finished" ? job.outcome || "" : job.status}`;
  if (job.status === "failed") {
    box.textContent = `Retraining failed: ${job.reason}. The assistant keeps its current model.`;
  } else if (job.status === "cancelled") {
    box.textContent = `Retraining ${job.reason}. Nothing was loaded: the assistant keeps its current model.`;
  } else if (job.outcome === "loaded") {
    box.textContent = `The new model is loaded: the assistant uses it from now on (${job.candidate_model}). Conversations in progress went on.`;
  } else if (job.outcome === "kept") {
    box.textContent = `The current model is kept (${job.current_model || "none"}): ${job.reason}.`;
  }
}

function renderResult(job) {
  const comparison = job.metrics && job.metrics.comparison;
  $("result").hidden = !comparison;
  if (!comparison) return;
  const current = job.metrics.current || null;
  const candidate = job.metrics.candidate;
  const rows = [
    ["Top-1 accuracy (right article answered)", share(comparison.top1.current), share(comparison.top1.candidate)],
    ["Wrong answers", comparison.wrong_answers.current ?? "–", comparison.wrong_answers.candidate],
    ["Right article among the suggestions", share(current && current.covered.suggested_with_right_article), share(candidate.covered.suggested_with_right_article)],
    ["Unrelated questions answered anyway", share(current && current.uncovered.wrong_answer_rate), share(candidate.uncovered.wrong_answer_rate)],
    ["Questions asked", current ? current.covered.questions + current.uncovered.questions : "–", candidate.covered.questions + candidate.uncovered.questions],
  ];
  $("comparison").querySelector("tbody").replaceChildren(...rows.map(([name, a, b]) => {
    const row = el("tr");
    row.append(el("th", name), el("td", a, "number"), el("td", b, "number"));
    row.firstChild.scope = "row";
    return row;
  }));
  const list = (items, count, id) => {
    $(`${id}-title`).hidden = !items.length;
    $(`${id}-title`).textContent = `Questions that got ${id} (${count ?? items.length})`;
    $(id).replaceChildren(...items.map((q) => el("li", `“${q.text}”: ${q.current} before, ${q.candidate} now${q.expected.length ? ` (should answer ${q.expected.join(" or ")})` : " (no article covers it)"}`)));
  };
  list(comparison.worse || [], comparison.worse_count, "worse");
  list(comparison.better || [], comparison.better_count, "better");
}

function renderCancel(job) {
  const cancellable = Boolean(job) && job.status === "running" && job.stage !== "load";
  $("cancel-area").hidden = !cancellable;
  if (!cancellable) $("cancel-confirm").hidden = true;
}

function renderJob(job) {
  $("job").hidden = !job;
  if (job && (!shownJob || shownJob.id !== job.id)) $("cancel-confirm").hidden = true;
  shownJob = job;
  renderCancel(job);
  if (!job) return;
  $("job").dataset.status = job.status;
  $("job").dataset.outcome = job.outcome || "";
  $("job-meta").textContent = `Started by ${job.started_by}, ${when(job.started_at)}`;
  renderStages(job);
  $("job-status").textContent = statusWords(job);
  const bar = $("job-progress");
  bar.hidden = job.status !== "running" || job.progress === null || job.progress === undefined;
  if (!bar.hidden) bar.value = job.progress;
  $("job-overall").textContent = overallWords(job);
  const overall = $("job-overall-progress");
  overall.hidden = !$("job-overall").textContent;
  if (!overall.hidden) overall.value = job.overall_progress;
  renderOutcome(job);
  renderResult(job);
  $("log").textContent = job.log_tail || "";
}

async function refresh() {
  clearTimeout(timer);
  try {
    const overview = await api("GET", "/api/editor/training");
    renderMarks(overview.needs_retraining);
    $("rule").textContent = overview.rule;
    $("eval-set").textContent = overview.eval_set;
    renderJob(overview.job);
    $("retrain").disabled = overview.running;
    if (overview.running) timer = setTimeout(refresh, POLL_MS);
  } catch (e) {
    if (e.status !== 401) {
      $("start-error").textContent = `Could not read the retraining state: ${e.message}`;
      if (signedIn) timer = setTimeout(refresh, POLL_MS * 2);
    }
  }
}

async function retrain() {
  $("start-error").textContent = "";
  $("retrain").disabled = true;
  try {
    const started = await api("POST", "/api/editor/training");
    renderJob(started.job);
  } catch (e) {
    $("start-error").textContent = e.message;
    if (e.data && e.data.job) renderJob(e.data.job);
  }
  refresh();
}

function askToCancel() {
  $("cancel-error").textContent = "";
  $("cancel-confirm").hidden = false;
  $("cancel-yes").focus();
}

function keepRunning() {
  $("cancel-confirm").hidden = true;
  $("cancel").focus();
}

async function cancel() {
  if (!shownJob) return;
  $("cancel-error").textContent = "";
  $("cancel-yes").disabled = true;
  try {
    const cancelled = await api("POST", `/api/editor/training/${shownJob.id}/cancel`);
    renderJob(cancelled.job);
  } catch (e) {
    $("cancel-error").textContent = `Could not cancel: ${e.message}`;
  } finally {
    $("cancel-yes").disabled = false;
    $("cancel-confirm").hidden = true;
  }
  refresh();
}

document.addEventListener("DOMContentLoaded", async () => {
  $("retrain").addEventListener("click", retrain);
  $("cancel").addEventListener("click", askToCancel);
  $("cancel-yes").addEventListener("click", cancel);
  $("cancel-no").addEventListener("click", keepRunning);
  wireEditorPage("training", showDesk, showLogin);
});
