// The sanitizer of decrypted passages.
//
// A passage is HTML that conclave's renderer wrote (internal/markdown, with
// goldmark, its GFM extensions, footnotes and chroma's classes;
// internal/markdown/restricted for the placeholders of nested passages;
// internal/seal for the header of a page restricted as a whole). Whoever can
// write to the site and holds an audience key could forge one, so nothing in
// it is trusted: DOMPurify keeps exactly the elements and attributes that
// renderer emits, with the values it emits, and drops everything else (the
// text of a dropped element stays, except inside script, style, iframe and
// the like, which goes with it). No script, style, meta, base, link, form,
// iframe, object or embed; no event handler, style attribute or name
// attribute; no URL but http(s), ftp, mailto, tel, a relative one, or an
// image in data: of the four types goldmark lets through.
//
// themes/unlock_sanitize_test.go renders every construct of the renderer,
// unlocks it in Chromium and checks the sanitizer removed nothing: when the
// renderer learns a new element or attribute, that test says what to add.

import createDOMPurify from "dompurify";
import { ATTR_PACKET, ATTR_TLP, PLACEHOLDER_ELEMENT } from "./format.js";

const HEADING = ["id", "class"];

// ALLOWED maps each element the renderer emits in a passage to the
// attributes it may carry there.
const ALLOWED = {
  a: ["href", "title", "class", "role"], // links; footnote-ref and footnote-backref
  blockquote: [],
  br: [],
  code: ["class"], // language-NAME
  del: [],
  div: ["class", "role", "tabindex", "aria-label"], // footnotes; a table's scrolling box
  em: [],
  h1: HEADING, h2: HEADING, h3: HEADING, h4: HEADING, h5: HEADING, h6: HEADING,
  header: ["class"], // sealed-header, of a page restricted as a whole
  [PLACEHOLDER_ELEMENT]: ["class", ATTR_PACKET, ATTR_TLP, "aria-label"], // nested placeholders; attachments, of a bundle
  hr: [],
  img: ["src", "alt", "title", "class"], // attachment
  input: ["type", "checked", "disabled", "aria-label"], // task lists: disabled checkboxes, "done" or "not done"
  li: ["id"], // footnotes
  ol: ["start"],
  p: ["class"], // sealed-label, sealed-help, summary, tags
  pre: ["class"], // chroma
  span: ["class"], // chroma tokens, tlp-label
  strong: [],
  sup: ["id"], // footnote references
  table: [], thead: [], tbody: [], tr: [],
  th: ["align"], td: ["align"],
  ul: [],
};

// The values an attribute may take, where the renderer writes few.
const VALUES = {
  align: /^(left|center|right)$/,
  [ATTR_TLP]: /^[a-z]+(\+[a-z]+)?$/,
  role: /^(doc-(noteref|backlink|endnotes)|region)$/,
  tabindex: /^0$/,
  start: /^[0-9]{1,9}$/,
  type: /^checkbox$/,
};

// Characters a browser ignores or strips in a URL, which could hide its
// scheme ("java\tscript:"): removed before the scheme is read.
const URL_NOISE = /[\u0000-\u0020\u007f-\u00a0\u1680\u180e\u2000-\u2029\u205f\u3000\ufeff]/g;
const SCHEME = /^([a-z][a-z0-9+.-]*):/i;
const SAFE_SCHEMES = new Set(["http", "https", "ftp", "mailto", "tel"]);
const DATA_IMAGE = /^data:image\/(png|gif|jpeg|webp);/i;

// safeURL tells whether a link or image URL is one the renderer could write
// and a reader may follow: a relative URL or one of SAFE_SCHEMES; for an
// image, also an inline png, gif, jpeg or webp.
function safeURL(value, image) {
  const v = value.replace(URL_NOISE, "");
  const m = SCHEME.exec(v);
  if (!m) return true; // relative: a path, a #fragment or a ?query
  if (image && DATA_IMAGE.test(v)) return true;
  return SAFE_SCHEMES.has(m[1].toLowerCase());
}

// safeID tells whether an ID may stay: the renderer writes heading IDs
// (goldmark's, or {#id} in the markdown) and footnotes' fn:N and fnref:N,
// never one the page already has (public headings get theirs first) nor
// one of the unlock panel's.
const ID = /^[^\s"'<>`]{1,200}$/;

function safeID(value) {
  return ID.test(value) && !value.startsWith("conclave-") && !document.getElementById(value);
}

export function createSanitizer(packetPath) {
  const purify = createDOMPurify(window);
  const tags = Object.keys(ALLOWED);
  const attrs = [...new Set(Object.values(ALLOWED).flat())];
  const config = {
    ALLOWED_TAGS: tags,
    ALLOWED_ATTR: attrs,
    ALLOW_DATA_ATTR: false,
    ALLOW_ARIA_ATTR: false,
    ALLOW_UNKNOWN_PROTOCOLS: false,
    // DOM clobbering: no name attribute at all, and IDs only on headings,
    // footnotes' li and sup: a document exposes none of these as a named
    // property (only embed, form, iframe, img and object), and there is
    // no form, so document.X and form.X stay what they are. On those, the
    // hook below decides (safeID) instead of DOMPurify's check, which
    // drops every ID that is also a property of document or of a form,
    // legitimate heading IDs such as "timeline", "title" or "images"
    // included. The check stays on for anything the hook lets through.
    SANITIZE_DOM: true,
    RETURN_DOM_FRAGMENT: true,
  };
  purify.addHook("uponSanitizeAttribute", (node, data) => {
    const tag = node.localName;
    const name = data.attrName;
    const value = data.attrValue;
    const allowed = ALLOWED[tag];
    if (!allowed || !allowed.includes(name) || (VALUES[name] && !VALUES[name].test(value))) {
      data.keepAttr = false;
      return;
    }
    if (tag === "div" && name === "aria-label" && value !== "Table") {
      data.keepAttr = false;
      return;
    }
    if (tag === "input" && name === "aria-label" && value !== "done" && value !== "not done") {
      data.keepAttr = false;
      return;
    }
    switch (name) {
      case "href":
      case "src":
        if (!safeURL(value, tag === "img")) data.keepAttr = false;
        break;
      case ATTR_PACKET:
        if (!packetPath.test(value)) data.keepAttr = false;
        break;
      case "id":
        if (safeID(value)) data.forceKeepAttr = true;
        else data.keepAttr = false;
        break;
    }
  });
  purify.addHook("afterSanitizeAttributes", (node) => {
    // A task list's box, whatever the packet said: never a field to type in.
    if (node.localName === "input") {
      node.setAttribute("type", "checkbox");
      node.setAttribute("disabled", "");
    }
  });

  // sanitize returns a DocumentFragment of what html may show. It throws
  // if the browser cannot sanitize (the passage is then not shown).
  return function sanitize(html) {
    if (!purify.isSupported) throw new Error("this browser cannot sanitize HTML");
    const out = purify.sanitize(html, config);
    if (!out || out.nodeType !== Node.DOCUMENT_FRAGMENT_NODE) {
      throw new Error("the sanitizer returned no document fragment");
    }
    return out;
  };
}
