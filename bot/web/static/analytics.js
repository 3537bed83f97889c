// The editors' analytics: the period's numbers, charts drawn as inline SVG with DOM methods
// (each with a title, a description and the same numbers as a table), and CSV downloads.
// Everything from the server is set with textContent or as an SVG attribute's number.
import { $, api, el, inOrder, wireEditorPage } from "/static/staff.js";

const SVG = "http://www.w3.org/2000/svg";
const API = "/api/editor/analytics";
// Lines differ in colour and in dash, so that colour is never the only difference.
const STYLES = [
  { color: "#0b5cad", dash: "" },
  { color: "#a3121b", dash: "6 4" },
  { color: "#6b4600", dash: "2 3" },
];
let counter = 0;

// "the customer asked for a person" -> "The customer asked for a person"
function sentence(words) { return words ? words[0].toUpperCase() + words.slice(1) : ""; }
function percent(value) { return value === null || value === undefined ? "—" : `${Math.round(value * 1000) / 10}%`; }
function number(value) { return value === null || value === undefined ? "—" : String(value); }
function duration(value) {
  if (value === null || value === undefined) return "—";
  return value < 120 ? `${Math.round(value)} s` : `${(value / 60).toFixed(1)} min`;
}

function svg(tag, attributes) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, String(value));
  return node;
}

function svgText(x, y, text, attributes) {
  const node = svg("text", { x, y, ...(attributes || {}) });
  node.textContent = text;
  return node;
}

// --- Charts -------------------------------------------------------------------------------------

// A chart in a <figure>: an <svg role="img"> named by its title and described in words, a legend,
// and a button that saves it as an SVG image.
function figure(title, description, drawing, legend) {
  const id = `chart-${++counter}`;
  const box = el("figure", null, "chart");
  const caption = el("figcaption", title);
  caption.id = `${id}-title`;
  drawing.setAttribute("role", "img");
  drawing.setAttribute("aria-labelledby", `${id}-title ${id}-desc`);
  const desc = svg("desc", { id: `${id}-desc` });
  desc.textContent = description;
  drawing.prepend(desc);
  box.append(caption, drawing);
  if (legend && legend.length > 1) {
    const list = el("ul", null, "legend");
    legend.forEach((name, i) => {
      const item = el("li");
      const key = svg("svg", { width: 28, height: 10, "aria-hidden": "true" });
      key.append(svg("line", { x1: 0, y1: 5, x2: 28, y2: 5, stroke: STYLES[i].color, "stroke-width": 3, "stroke-dasharray": STYLES[i].dash }));
      item.append(key, document.createTextNode(` ${name}`));
      list.append(item);
    });
    box.append(list);
  }
  const save = el("button", "Save as image (SVG)", "secondary small");
  save.type = "button";
  save.addEventListener("click", () => saveImage(drawing, title));
  box.append(save);
  return box;
}

function saveImage(drawing, title) {
  const copy = drawing.cloneNode(true);
  copy.setAttribute("xmlns", SVG);
  copy.prepend(svg("rect", { x: 0, y: 0, width: "100%", height: "100%", fill: "#fff" }));
  const blob = new Blob([new XMLSerializer().serializeToString(copy)], { type: "image/svg+xml" });
  const link = el("a");
  link.href = URL.createObjectURL(blob);
  link.download = `${title.toLowerCase().replace(/[^a-z0-9]+/g, "-")}.svg`;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}

const SIZE = { width: 640, height: 220, left: 56, right: 24, top: 12, bottom: 30 };

function frame(labels, max, format) {
  const drawing = svg("svg", { viewBox: `0 0 ${SIZE.width} ${SIZE.height}`, class: "plot" });
  const plotWidth = SIZE.width - SIZE.left - SIZE.right;
  const plotHeight = SIZE.height - SIZE.top - SIZE.bottom;
  const x = (i) => SIZE.left + (labels.length === 1 ? plotWidth / 2 : (i * plotWidth) / (labels.length - 1));
  const y = (v) => SIZE.top + plotHeight - (v / max) * plotHeight;
  for (let step = 0; step <= 4; step++) {
    const value = (max * step) / 4;
    drawing.append(svg("line", { x1: SIZE.left, x2: SIZE.width - SIZE.right, y1: y(value), y2: y(value), class: "grid" }));
    drawing.append(svgText(SIZE.left - 6, y(value) + 4, format(value), { "text-anchor": "end", class: "tick" }));
  }
  const every = Math.max(1, Math.ceil(labels.length / 6));
  labels.forEach((label, i) => {
    if (i % every === 0 || i === labels.length - 1) {
      drawing.append(svgText(x(i), SIZE.height - 8, label.slice(5), { "text-anchor": "middle", class: "tick" }));
    }
  });
  return { drawing, x, y, plotHeight };
}

// Lines over the buckets; a bucket without a value (nothing to divide by) breaks the line.
function lineChart(title, description, labels, lines, options) {
  const values = lines.flatMap((line) => line.values).filter((v) => v !== null && v !== undefined);
  const max = options.max || Math.max(1, ...values) * 1.1;
  const { drawing, x, y } = frame(labels, max, options.tick);
  lines.forEach((line, n) => {
    const style = STYLES[n % STYLES.length];
    let points = [];
    const flush = () => {
      if (points.length > 1) {
        drawing.append(svg("polyline", { points: points.join(" "), fill: "none", stroke: style.color, "stroke-width": 2.5, "stroke-dasharray": style.dash }));
      }
      points = [];
    };
    line.values.forEach((value, i) => {
      if (value === null || value === undefined) { flush(); return; }
      points.push(`${x(i).toFixed(1)},${y(value).toFixed(1)}`);
      const dot = svg("circle", { cx: x(i).toFixed(1), cy: y(value).toFixed(1), r: 3.5, fill: style.color, class: "point", "data-series": line.label, "data-bucket": labels[i] });
      const tip = svg("title");
      tip.textContent = `${line.label}, ${labels[i]}: ${options.format(value)}`;
      dot.append(tip);
      drawing.append(dot);
    });
    flush();
  });
  return figure(title, description, drawing, lines.map((line) => line.label));
}

function barChart(title, description, labels, values, format) {
  const max = Math.ceil(Math.max(1, ...values) / 4) * 4; // whole numbers on the axis
  const { drawing, x, y } = frame(labels, max, (v) => String(Math.round(v)));
  const slot = (SIZE.width - SIZE.left - SIZE.right) / Math.max(1, labels.length);
  const width = Math.max(2, Math.min(28, slot * 0.6));
  values.forEach((value, i) => {
    const top = y(value);
    const bar = svg("rect", { x: (x(i) - width / 2).toFixed(1), y: top.toFixed(1), width: width.toFixed(1), height: Math.max(0, y(0) - top).toFixed(1), fill: STYLES[0].color, class: "bar", "data-bucket": labels[i] });
    const tip = svg("title");
    tip.textContent = `${labels[i]}: ${format(value)}`;
    bar.append(tip);
    drawing.append(bar);
  });
  return figure(title, description, drawing, [title]);
}

function reasonsChart(rows) {
  const height = 26 * rows.length + 10;
  const drawing = svg("svg", { viewBox: `0 0 ${SIZE.width} ${height}`, class: "plot reasons" });
  const max = Math.max(1, ...rows.map((r) => r.handoffs));
  const left = 290;
  rows.forEach((row, i) => {
    const top = 6 + i * 26;
    drawing.append(svgText(left - 8, top + 14, sentence(row.words), { "text-anchor": "end", class: "tick" }));
    const width = ((SIZE.width - left - 80) * row.handoffs) / max;
    const bar = svg("rect", { x: left, y: top, width: width.toFixed(1), height: 18, fill: STYLES[1].color, class: "bar", "data-reason": row.reason });
    drawing.append(bar);
    drawing.append(svgText(left + width + 6, top + 14, `${row.handoffs} (${percent(row.rate)})`, { class: "tick" }));
  });
  const words = rows.filter((r) => r.handoffs).map((r) => `${sentence(r.words)}: ${r.handoffs}`);
  return figure("Handoffs by reason", words.length ? words.join("; ") : "No handoffs in the period.", drawing, []);
}

// --- Tables and numbers -------------------------------------------------------------------------

function table(node, caption, columns, rows) {
  const head = el("tr");
  columns.forEach((column, i) => {
    const th = el("th", column.label, i === 0 || column.format === String ? "" : "number");
    th.scope = "col";
    head.append(th);
  });
  const body = el("tbody");
  for (const row of rows) {
    const tr = el("tr");
    columns.forEach((column, i) => {
      const cell = el(i === 0 ? "th" : "td", (column.format || number)(row[column.key]));
      if (i === 0) cell.scope = "row";
      cell.className = i === 0 || column.format === String ? "text" : "number";
      tr.append(cell);
    });
    body.append(tr);
  }
  if (!rows.length) {
    const td = el("td", "Nothing in this period.", "muted");
    td.colSpan = columns.length;
    body.append(el("tr")).append(td);
  }
  const thead = el("thead");
  thead.append(head);
  node.replaceChildren(el("caption", caption, "visually-hidden"), thead, body);
}

function card(list, key, label, value, note) {
  const box = el("div", null, "card");
  const dd = el("dd", value);
  dd.dataset.metric = key;
  box.append(el("dt", label), dd);
  if (note) box.append(el("dd", note, "muted note"));
  list.append(box);
}

function showSummary(s) {
  const list = $("summary");
  list.replaceChildren();
  card(list, "resolution_rate", "Self-service resolution", percent(s.resolution_rate), `${s.resolved} of ${s.decided} decided conversations`);
  card(list, "handoff_rate", "Handoff rate", percent(s.handoff_rate), `${s.with_handoff} of ${s.conversations} conversations`);
  card(list, "wrong_answer_rate", "Wrong-answer rate", percent(s.wrong_answer_rate), `${s.unhelpful} "didn't help" of ${s.answers} answers; agents reported ${s.agent_wrong_answer_reports}`);
  card(list, "csat_mean", "CSAT", s.csat_mean === null ? "—" : `${s.csat_mean} of 5`, `${percent(s.csat_satisfied_share)} gave 4 or 5 (${s.surveys} surveys)`);
  card(list, "wait_median", "Wait for a person (median)", duration(s.wait_seconds.median), `90% within ${duration(s.wait_seconds.p90)}; ${s.wait_seconds.count} handoffs`);
  card(list, "first_response_median", "First response (median)", duration(s.first_response_seconds.median), `90% within ${duration(s.first_response_seconds.p90)}`);
  card(list, "abandonment_rate", "Left the queue", percent(s.abandonment_rate), `${s.abandoned} of ${s.queued} queued; ${s.still_waiting} still waiting`);
  card(list, "conversations", "Conversations", number(s.conversations), `${s.open} still open, ${s.waiting_for_come_back_window} within their 24 hours`);
}

function showSeries(series, bucket) {
  const labels = series.map((row) => row.bucket);
  const per = bucket === "week" ? "week" : "day";
  const pick = (key) => series.map((row) => row[key]);
  const rates = [
    { label: "Self-service resolution", values: pick("resolution_rate") },
    { label: "Handoff rate", values: pick("handoff_rate") },
    { label: "Wrong-answer rate", values: pick("wrong_answer_rate") },
  ];
  const describe = (line) => {
    const known = line.values.map((v, i) => [labels[i], v]).filter(([, v]) => v !== null);
    return known.length ? `${line.label}: ${known.map(([b, v]) => `${b} ${percent(v)}`).join(", ")}` : `${line.label}: no data`;
  };
  const charts = $("charts");
  charts.replaceChildren(
    lineChart(`Rates by ${per}`, rates.map(describe).join(". "), labels, rates, { max: 1, tick: percent, format: percent }),
    barChart(`Conversations by ${per}`, labels.map((b, i) => `${b}: ${series[i].conversations}`).join(", "), labels, pick("conversations"), number),
    lineChart(`Waiting times by ${per} (median)`, "Wait for a person and first response, median per period, in minutes.", labels, [
      { label: "Wait for a person", values: pick("wait_median_seconds").map((v) => (v === null ? null : v / 60)) },
      { label: "First response", values: pick("first_response_median_seconds").map((v) => (v === null ? null : v / 60)) },
    ], { tick: (v) => `${v.toFixed(1)} min`, format: (v) => `${v.toFixed(1)} min` }),
    lineChart(`CSAT by ${per} (mean, 1 to 5)`, labels.map((b, i) => `${b}: ${number(series[i].csat_mean)}`).join(", "), labels, [{ label: "CSAT", values: pick("csat_mean") }], { max: 5, tick: (v) => v.toFixed(1), format: number }),
  );
  table($("series-table"), `Over time, by ${per}`, [
    { key: "bucket", label: per === "week" ? "Week from" : "Day", format: String },
    { key: "conversations", label: "Conversations" },
    { key: "resolution_rate", label: "Self-service resolution", format: percent },
    { key: "handoff_rate", label: "Handoff rate", format: percent },
    { key: "answers", label: "Answers" },
    { key: "wrong_answer_rate", label: "Wrong-answer rate", format: percent },
    { key: "csat_mean", label: "CSAT" },
    { key: "wait_median_seconds", label: "Wait (median)", format: duration },
    { key: "first_response_median_seconds", label: "First response (median)", format: duration },
  ], series);
}

function show(report) {
  const s = report.summary;
  showSummary(s);
  showSeries(report.series, report.period.bucket);
  $("reasons-chart").replaceChildren(reasonsChart(report.handoff_reasons));
  table($("reasons-table"), "Handoffs by reason", [
    { key: "words", label: "Reason", format: sentence },
    { key: "handoffs", label: "Handoffs" },
    { key: "rate", label: "Of conversations", format: percent },
  ], report.handoff_reasons);
  table($("articles-table"), "Articles", [
    { key: "article_id", label: "Article", format: String },
    { key: "language", label: "Language", format: String },
    { key: "views", label: "Shown" },
    { key: "helped", label: "Helped" },
    { key: "did_not_help", label: "Didn't help" },
    { key: "helpful_share", label: "Helpful", format: percent },
    { key: "handoffs_after", label: "Handoffs after it" },
    { key: "handoff_after_rate", label: "Of its conversations", format: percent },
  ], report.articles);
  const topics = report.unanswered.map((t) => ({ ...t, also: t.wordings.filter((w) => w !== t.topic).join(" · ") || "—" }));
  table($("unanswered-table"), "Top unanswered topics", [
    { key: "topic", label: "What customers wrote", format: String },
    { key: "count", label: "Times" },
    { key: "conversations", label: "Conversations" },
    { key: "also", label: "Also written as", format: String },
  ], topics);
  const leftOut = report.unanswered_left_out || 0;
  $("unanswered-note").hidden = !leftOut;
  $("unanswered-note").textContent = leftOut ? `${number(leftOut)} more messages, each worded differently from the rest and rarely, are not grouped into topics.` : "";
  const p = report.period;
  $("status").textContent = `${p.from} to ${p.to}, by ${p.bucket}, ${p.timezone}${p.language ? `, language ${p.language}` : ", all languages"}. Computed ${new Date(p.computed_at).toLocaleString()}.`;
}

// --- The period ---------------------------------------------------------------------------------

function params() {
  const query = new URLSearchParams();
  query.set("from", $("from").value);
  query.set("to", $("to").value);
  query.set("bucket", $("bucket").value);
  if ($("language").value) query.set("language", $("language").value);
  query.set("tz", $("tz").value.trim() || "UTC");
  return query.toString();
}

const reports = inOrder();

async function load() {
  const current = reports();
  $("error").textContent = "";
  $("status").textContent = "Loading…";
  const query = params();
  for (const name of ["summary", "series", "handoff_reasons", "articles", "unanswered"]) {
    $(`csv-${name}`).href = `${API}/${name}.csv?${query}`;
  }
  try {
    const report = await api("GET", `${API}?${query}`);
    if (current()) show(report);
  } catch (e) {
    if (!current()) return;
    $("status").textContent = "";
    $("error").textContent = e.message;
  }
}

function localDate(date) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

document.addEventListener("DOMContentLoaded", () => {
  const today = new Date();
  $("to").value = localDate(today);
  $("from").value = localDate(new Date(today.getFullYear(), today.getMonth(), today.getDate() - 29));
  $("tz").value = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  $("period").addEventListener("submit", (event) => { event.preventDefault(); load(); });
  wireEditorPage("analytics", load);
});
