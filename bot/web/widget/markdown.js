// Markdown to DOM nodes, a safe subset: paragraphs, line breaks, bulleted and numbered lists,
// **bold**, *italics*, `code`, [links](https://...) and bare http(s) addresses.
// Every piece of text becomes a text node; no author's text is ever parsed as HTML. Links go
// only to http:, https: and mailto: addresses; any other link is shown as the text it was.

const SAFE_URL = /^(https?:\/\/|mailto:)[^\s<>"]+$/i;
// Longest first: bold before italics. Each alternative captures what it wraps.
// (Underscores are left alone: they are common in addresses and names.)
const INLINE = /\*\*([^*\n]+?)\*\*|\*([^*\s][^*\n]*?)\*|`([^`\n]+)`|\[([^\]\n]+)\]\(([^)\s]+)\)|(https?:\/\/[^\s<>()"]+[^\s<>()".,;:!?'])/g;

export function safeUrl(url) {
  const trimmed = String(url).trim();
  return SAFE_URL.test(trimmed) ? trimmed : null;
}

function link(doc, href, label) {
  const a = doc.createElement("a");
  a.href = href;
  a.target = "_blank";
  a.rel = "noopener noreferrer nofollow";
  a.textContent = label;
  return a;
}

// Inline Markdown of one line into `parent`.
export function inline(doc, text, parent) {
  let last = 0;
  for (const m of text.matchAll(INLINE)) {
    if (m.index > last) parent.append(doc.createTextNode(text.slice(last, m.index)));
    last = m.index + m[0].length;
    const [whole, bold, italic, code, label, url, bare] = m;
    if (bold !== undefined) {
      parent.append(inline(doc, bold, doc.createElement("strong")));
    } else if (italic !== undefined) {
      parent.append(inline(doc, italic, doc.createElement("em")));
    } else if (code !== undefined) {
      const c = doc.createElement("code");
      c.textContent = code;
      parent.append(c);
    } else if (label !== undefined) {
      const href = safeUrl(url);
      parent.append(href ? link(doc, href, label) : doc.createTextNode(whole));
    } else if (bare !== undefined) {
      parent.append(link(doc, bare, bare));
    }
  }
  if (last < text.length) parent.append(doc.createTextNode(text.slice(last)));
  return parent;
}

const BULLET = /^\s*[-*+]\s+(.*)$/;
const NUMBERED = /^\s*(\d{1,3})[.)]\s+(.*)$/;

// A whole message into a DocumentFragment of <p>, <ul> and <ol>.
export function render(doc, text) {
  const fragment = doc.createDocumentFragment();
  let paragraph = null;
  let list = null;
  for (const raw of String(text).replace(/\r\n?/g, "\n").split("\n")) {
    const line = raw.replace(/\s+$/, "");
    const bullet = BULLET.exec(line);
    const numbered = bullet ? null : NUMBERED.exec(line);
    if (bullet || numbered) {
      const tag = bullet ? "UL" : "OL";
      if (!list || list.tagName !== tag) {
        list = doc.createElement(tag.toLowerCase());
        if (numbered && numbered[1] !== "1") list.start = Number(numbered[1]);
        fragment.append(list);
      }
      list.append(inline(doc, bullet ? bullet[1] : numbered[2], doc.createElement("li")));
      paragraph = null;
    } else if (!line.trim()) {
      paragraph = null;
      list = null;
    } else if (list && /^\s{2,}\S/.test(raw)) {
      // A continuation of the list item above.
      const item = list.lastElementChild;
      item.append(doc.createTextNode(" "));
      inline(doc, line.trim(), item);
    } else {
      list = null;
      if (paragraph) {
        paragraph.append(doc.createElement("br"));
      } else {
        paragraph = doc.createElement("p");
        fragment.append(paragraph);
      }
      inline(doc, line, paragraph);
    }
  }
  return fragment;
}
