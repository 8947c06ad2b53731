// conclave's browser search (DESIGN §11; the files are internal/format's
// search.go, built by internal/search).
//
// Every page has a search box (form.site-search); "/" focuses it. The
// search page, search/?q=…, answers as the reader types: it loads the
// public index's root, then only the shards of the terms typed (a shard
// holds the terms under one prefix), ranks pages by BM25 (the build
// stored each term's weight in each document; the idf comes from the
// number of postings), and loads the text of the ten best documents for
// their snippets.
//
// Restricted passages are searched only in a tab that holds audience keys:
// remembered by the unlock script for this tab (sessionStorage), or those
// this page was unlocked with. The root lists each audience's sealed index
// under a tag, a digest of the audience's key: the tags of the reader's
// keys name the only indexes fetched. They are opened by the unlock
// script (imported on first use, with its digest and decryption checks),
// never by this one, which holds no cryptography. A passage the reader
// cannot open never shows: its index is not theirs.
//
// The only requests are GETs on the site's own origin. Nothing is written
// to the page but text (textContent), and <mark> elements around matches.
//
// Built by build.mjs into themes/default/static/js/search.js.

import {
  SCRIPT_TO_ROOT, SEARCH_DIR, SEARCH_DOC_DIR, SEARCH_DOCS_PER_FILE, SEARCH_INDEX, SEARCH_K1, SEARCH_MAX_TERM,
  SEARCH_SHARD_DIR, SEARCH_TAG_CONTEXT, SEARCH_VERSION, UNLOCK_SCRIPT,
} from "./format.js";

const ROOT = new URL(SCRIPT_TO_ROOT, import.meta.url);
const STORE = "conclave:keys:" + ROOT.pathname; // the unlock script's
const KEYS_EVENT = "conclave:keys";
const PAGE_SIZE = 10;
const SNIPPET_DELAY = 150; // ms
const PREFETCH_DOCS = 80; // hits whose titles load ahead as a word is typed (at most 80 files of about 1.6 kB, fewer when they are neighbours)
const EXTENSION = 0.5; // a longer word that starts with the one typed counts half
const K1 = SEARCH_K1 / 100;
const html = document.documentElement;

// tokens splits text as the build does (internal/search.Tokens).
const WORD = /[\p{L}\p{N}\p{M}]+/gu;
export function tokens(text) {
  const out = [];
  for (const m of text.matchAll(WORD)) {
    const chars = [...m[0]];
    if (chars.length < 2) continue;
    out.push(chars.slice(0, SEARCH_MAX_TERM).map((c) => c.toLowerCase()).join(""));
  }
  return out;
}

const enc = new TextEncoder();
const dec = new TextDecoder();
const hexOf = (s) => [...enc.encode(s)].map((b) => b.toString(16).padStart(2, "0")).join("");
const fromHex = (h) => dec.decode(new Uint8Array((h.match(/../g) || []).map((x) => parseInt(x, 16))));

async function getJSON(url) {
  const res = await fetch(url, { credentials: "same-origin", cache: "no-cache" });
  if (!res.ok) throw new Error(`${res.status} for ${url.pathname}`);
  return res.json();
}

// postings decodes a term's postings: the documents, in increasing order,
// and the weight of the term in each.
function postings(b64) {
  const raw = atob(b64);
  const docs = new Int32Array(raw.length >> 1);
  const weights = new Uint8Array(raw.length >> 1);
  let n = 0;
  let doc = -1;
  for (let i = 0; i < raw.length;) {
    let delta = 0;
    let shift = 1;
    for (;;) {
      const b = raw.charCodeAt(i++);
      delta += (b & 0x7f) * shift;
      if (b < 0x80) break;
      shift *= 128;
    }
    doc += delta;
    docs[n] = doc;
    weights[n++] = raw.charCodeAt(i++);
  }
  return { docs: docs.subarray(0, n), weights: weights.subarray(0, n) };
}

// An index is the public one or an audience's: shards by prefix, loaded on
// demand, and its number of documents.
class Index {
  constructor(docs, prefixes, load) {
    this.docs = docs;
    this.prefixes = prefixes.map(fromHex); // sorted as the build lists them
    this.load = load; // prefix -> Promise<{term: postings}>
    this.shards = new Map();
    this.decoded = new Map(); // term -> postings(), decoded once
  }

  shard(prefix) {
    let p = this.shards.get(prefix);
    if (!p) {
      p = this.load(prefix);
      this.shards.set(prefix, p);
      p.catch(() => this.shards.delete(prefix));
    }
    return p;
  }

  // matches returns, for the word w typed, the postings of its terms
  // (those that start with w), each with its factor: its idf, whole for
  // the word itself and EXTENSION for a longer one.
  async matches(w) {
    let home = "";
    const more = [];
    for (const p of this.prefixes) {
      if (w.startsWith(p) && p.length >= home.length) home = p;
      else if (p.startsWith(w)) more.push(p);
    }
    const shards = await Promise.all([home, ...more].filter((p) => this.prefixes.includes(p)).map((p) => this.shard(p)));
    const out = [];
    for (const terms of shards) {
      for (const term in terms) {
        if (!term.startsWith(w)) continue;
        let list = this.decoded.get(term);
        if (!list) this.decoded.set(term, list = postings(terms[term]));
        const df = list.docs.length;
        const idf = Math.log(1 + (this.docs - df + 0.5) / (df + 0.5));
        out.push({ list, f: (term === w ? 1 : EXTENSION) * idf * (K1 + 1) / 255 });
      }
    }
    return out;
  }
}

let rootPromise = null;
function root() {
  if (!rootPromise) {
    rootPromise = getJSON(new URL(SEARCH_INDEX, ROOT)).then((r) => {
      if (!r || r.version !== SEARCH_VERSION || !Array.isArray(r.shards)) throw new Error("this site's search index is of another version");
      const index = new Index(r.docs, r.shards, (p) => getJSON(new URL(`${SEARCH_SHARD_DIR}/x${hexOf(p)}.json`, ROOT)).then((s) => s.terms || {}));
      return { index, sealed: Array.isArray(r.sealed) ? r.sealed : [], opened: Array.isArray(r.opened) ? r.opened : [] };
    });
    rootPromise.catch(() => { rootPromise = null; });
  }
  return rootPromise;
}

// Public documents come SEARCH_DOCS_PER_FILE to a file: file k holds
// those numbered from k * SEARCH_DOCS_PER_FILE on, in order.
const docFiles = new Map(); // file number -> Promise<array of docs>
function publicDoc(n) {
  const k = Math.floor(n / SEARCH_DOCS_PER_FILE);
  let p = docFiles.get(k);
  if (!p) {
    p = getJSON(new URL(`${SEARCH_DOC_DIR}/${k}.json`, ROOT));
    docFiles.set(k, p);
    p.catch(() => docFiles.delete(k));
  }
  return p.then((docs) => {
    const d = Array.isArray(docs) ? docs[n % SEARCH_DOCS_PER_FILE] : null;
    if (!d || typeof d !== "object") throw new Error(`no document ${n} in ${SEARCH_DOC_DIR}/${k}.json`);
    return d;
  });
}

// ---------------------------------------------------------------------------
// Sealed indexes.

let unlockModule = null;
function unlock() {
  if (!unlockModule) {
    unlockModule = import(new URL(UNLOCK_SCRIPT, ROOT).href);
    unlockModule.catch(() => { unlockModule = null; });
  }
  return unlockModule;
}

// keys returns the audience keys this tab holds: remembered for the tab, or
// those this page was unlocked with.
async function keys() {
  const found = new Set();
  try {
    const raw = sessionStorage.getItem(STORE);
    const stored = raw ? JSON.parse(raw) : null;
    if (Array.isArray(stored)) for (const k of stored) if (typeof k === "string") found.add(k);
  } catch {
    // storage disabled or damaged: the unlock script says so
  }
  if (document.querySelector(`script[src$="${UNLOCK_SCRIPT}"]`)) {
    try {
      const page = (await unlock()).unlockedKeys();
      if (page) for (const k of page) found.add(k);
    } catch {
      // no unlock script: no keys from the page
    }
  }
  return [...found];
}

async function tagOf(key) {
  const sum = new Uint8Array(await crypto.subtle.digest("SHA-256", enc.encode(SEARCH_TAG_CONTEXT + key)));
  return [...sum.slice(0, 16)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

const sealedIndexes = new Map(); // packet path -> Promise<{index, docs}>
function openSealed(ref, ks) {
  let p = sealedIndexes.get(ref.packet);
  if (!p) {
    p = (async () => {
      const m = await unlock();
      const r = JSON.parse(await m.openSealed(ref.packet, ks));
      if (!r || r.version !== SEARCH_VERSION || !Array.isArray(r.docs)) throw new Error("a sealed index of another version");
      const shards = r.shards || { "": null };
      const load = (prefix) => {
        if (r.terms) return Promise.resolve(r.terms);
        const path = shards[hexOf(prefix)];
        return m.openSealed(path, ks).then((t) => JSON.parse(t).terms || {});
      };
      return { index: new Index(r.docs.length, r.terms ? [""] : Object.keys(shards).sort(), load), docs: r.docs };
    })();
    sealedIndexes.set(ref.packet, p);
    p.catch(() => sealedIndexes.delete(ref.packet));
  }
  return p;
}

// opened returns the sealed indexes a readable copy holds opened (conclave
// open writes them in clear, for its reader).
async function opened(paths) {
  const out = await Promise.allSettled(paths.map(async (p) => {
    const r = await getJSON(new URL(p, ROOT));
    if (!r || r.version !== SEARCH_VERSION || !Array.isArray(r.docs)) throw new Error("an index of another version");
    const terms = r.terms || {};
    return { index: new Index(r.docs.length, [""], () => Promise.resolve(terms)), docs: r.docs };
  }));
  return out.filter((r) => r.status === "fulfilled").map((r) => r.value);
}

// sealed returns the sealed indexes this tab can open.
async function sealed(refs) {
  if (refs.length === 0 || !window.crypto || !crypto.subtle) return [];
  const ks = await keys();
  if (ks.length === 0) return [];
  const mine = new Set(await Promise.all(ks.map((k) => tagOf(k.toUpperCase()))));
  const out = await Promise.allSettled(refs.filter((r) => mine.has(r.tag)).map((r) => openSealed(r, ks)));
  return out.filter((r) => r.status === "fulfilled").map((r) => r.value);
}

// ---------------------------------------------------------------------------
// Queries.

// Hits are a query's hits, best first, made into objects only as they
// are shown: a word on most pages of a large site has thousands. Each is
// a number, its score in fixed point above its rank below, so that a
// typed array's numeric sort orders them (the best last): by score, then,
// among equals, public documents by number, the newest first, then pages
// restricted as a whole (their ranks are below the public ones').
const RANK = 2 ** 21; // ranks: pages restricted as a whole, then public documents
const SCALE = 2 ** 16; // a score's fixed point
class Hits {
  static pack(score, rank) { return Math.round(score * SCALE) * RANK + rank; }

  constructor(sorted, alone, publicHit) {
    this.sorted = sorted; // ascending
    this.alone = alone;
    this.publicHit = publicHit;
    this.length = sorted.length;
  }

  at(i) {
    const rank = this.sorted[this.length - 1 - i] % RANK;
    if (rank < this.alone.length) return { pub: -1, url: this.alone[rank].doc.url, sealed: this.alone[rank].doc };
    return this.publicHit(rank - this.alone.length);
  }

  slice(from, to) {
    const out = [];
    for (let i = from; i < Math.min(to, this.length); i++) out.push(this.at(i));
    return out;
  }
}

// run answers a query: the pages whose documents hold every word, public
// and sealed together, best first. A page's score for a word is the best
// of its documents' (its public text, the passages the reader opens); a
// page's score the sum over the words. The public documents' scores are
// kept in arrays by document number, so that a word on every page of a
// large site costs a pass over its postings, not a map of them.
async function run(query) {
  const words = [...new Set(tokens(query))];
  if (words.length === 0) return { words, hits: new Hits(new Float64Array(0), [], null) };
  const { index, sealed: refs, opened: copies } = await root();
  const [pub, theirs] = await Promise.all([
    Promise.all(words.map((w) => index.matches(w))),
    sealed(refs).then(async (s) => [...s, ...await opened(copies)]),
  ]);
  const n = index.docs;
  const best = words.map(() => new Float64Array(n)); // [word][public doc]
  const touched = words.map(() => []); // [word]: postings lists, and sealed docs, that reach each
  pub.forEach((ms, i) => {
    for (const { list, f } of ms) {
      const b = best[i];
      const { docs, weights } = list;
      for (let j = 0; j < docs.length; j++) {
        const d = docs[j];
        if (d >= n) continue;
        const s = f * weights[j];
        if (s > b[d]) b[d] = s;
      }
      touched[i].push(list.docs);
    }
  });
  // Sealed documents: added to their page's public document, or, for a
  // page restricted as a whole, a page of their own.
  const alone = new Map(); // url -> {best: [per word], doc}
  const sealedBest = new Map(); // public doc -> {doc, score}
  for (const s of theirs) {
    const per = new Map(); // sealed doc -> [per word]
    const ms = await Promise.all(words.map((w) => s.index.matches(w)));
    ms.forEach((m, i) => {
      for (const { list, f } of m) {
        for (let j = 0; j < list.docs.length; j++) {
          const d = list.docs[j];
          let a = per.get(d);
          if (!a) per.set(d, a = new Array(words.length).fill(0));
          a[i] = Math.max(a[i], f * list.weights[j]);
        }
      }
    });
    for (const [d, a] of per) {
      const doc = s.docs[d];
      if (!doc) continue;
      const total = a.reduce((x, y) => x + y, 0);
      if (Number.isInteger(doc.page) && doc.page >= 0 && doc.page < n) {
        a.forEach((v, i) => {
          if (v > best[i][doc.page]) best[i][doc.page] = v;
          if (v > 0) touched[i].push([doc.page]);
        });
        const was = sealedBest.get(doc.page);
        if (!was || total > was.score) sealedBest.set(doc.page, { doc, score: total });
      } else {
        let p = alone.get(doc.url);
        if (!p) alone.set(doc.url, p = { best: new Array(words.length).fill(0), doc, score: 0 });
        a.forEach((v, i) => { p.best[i] = Math.max(p.best[i], v); });
        if (total > p.score) p.doc = doc, p.score = total;
      }
    }
  }
  // Candidates: the documents the rarest word reaches; a page holds every
  // word if each word's best for it is above zero.
  let rarest = 0;
  const reach = touched.map((ls) => ls.reduce((x, l) => x + l.length, 0));
  reach.forEach((r, i) => { if (r < reach[rarest]) rarest = i; });
  const alonePages = [...alone.values()].filter((p) => p.best.every((v) => v > 0));
  const a = alonePages.length;
  const seen = new Uint8Array(n);
  const order = []; // score and rank packed in a number each (see Hits)
  for (const l of touched[rarest]) {
    for (const d of l) {
      if (seen[d]) continue;
      seen[d] = 1;
      let score = 0;
      let all = true;
      for (let i = 0; i < words.length && all; i++) {
        const v = best[i][d];
        if (v > 0) score += v;
        else all = false;
      }
      if (all) order.push(Hits.pack(score, a + d));
    }
  }
  alonePages.forEach((p, i) => order.push(Hits.pack(p.best.reduce((x, y) => x + y, 0), i)));
  const hits = new Hits(Float64Array.from(order).sort(), alonePages, (d) => {
    let score = 0;
    for (const b of best) score += b[d];
    const sb = sealedBest.get(d);
    return { pub: d, sealed: sb && sb.score >= score / 2 ? sb.doc : null };
  });
  return { words, hits };
}

// pageText returns the public text of a page of the site, for snippets:
// its content, without sealed placeholders. The page is parsed, never
// run (DOMParser runs no script).
const texts = new Map();
function pageText(url) {
  let p = texts.get(url);
  if (!p) {
    p = fetch(new URL(url, ROOT), { credentials: "same-origin" }).then((r) => {
      if (!r.ok) throw new Error(`${r.status} for ${url}`);
      return r.text();
    }).then((body) => {
      const doc = new DOMParser().parseFromString(body, "text/html");
      const main = doc.querySelector("main .content") || doc.querySelector("main") || doc.body;
      for (const e of main.querySelectorAll("section.sealed, .sealed-help, script, style")) e.remove();
      return main.textContent.replace(/\s+/g, " ").trim();
    });
    texts.set(url, p);
    p.catch(() => texts.delete(url));
  }
  return p;
}

// describe loads what a hit shows: its page's public document, or, for a
// page restricted as a whole, its sealed one; and whether its snippet
// comes from a sealed passage (the best one of the page for the query,
// when it counts for half its score or more) or from the page.
async function describe(hit) {
  const page = hit.pub >= 0 ? await publicDoc(hit.pub) : hit.sealed;
  return { page, from: hit.sealed || page, sealed: !!hit.sealed };
}

// ---------------------------------------------------------------------------
// The page.

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

// snippet returns about 30 words of text around the first match, with
// the words that match marked.
function snippet(text, words) {
  const parts = text.split(/(\s+)/);
  const matches = (w) => {
    const t = tokens(w);
    return t.length > 0 && t.some((x) => words.some((q) => x.startsWith(q)));
  };
  let first = parts.findIndex((w, i) => i % 2 === 0 && matches(w));
  if (first < 0) first = 0;
  const start = Math.max(0, first - 20);
  const end = Math.min(parts.length, start + 60);
  const p = el("p", { class: "search-snippet" });
  if (start > 0) p.append("… ");
  for (let i = start; i < end; i++) {
    if (i % 2 === 0 && matches(parts[i])) p.append(el("mark", null, parts[i]));
    else p.append(i % 2 === 1 ? " " : parts[i]);
  }
  if (end < parts.length) p.append(" …");
  return p;
}

function hitItem(d, words) {
  const { page, from, sealed: isSealed } = d;
  const li = el("li", { class: "search-hit" + (isSealed ? " search-hit-sealed" : "") });
  const a = el("a", { class: "search-hit-title", href: new URL(page.url, ROOT).href }, page.title || page.url);
  const meta = el("p", { class: "search-hit-meta" });
  if (from.tlp) meta.append(el("span", { class: "tlp-chip" + (from.class ? " tlp-" + from.class : "") }, from.tlp), " ");
  if (page.date) meta.append(el("time", page.iso ? { datetime: page.iso } : null, page.date));
  // A passage's snippet is at hand; a page's comes from the page, and
  // fills in when it arrives (fill, called once the reader pauses).
  const snip = isSealed ? snippet(from.text || "", words) : el("p", { class: "search-snippet", "aria-busy": "true" });
  li.append(el("h2", { class: "search-hit-heading" }, a), meta, snip);
  let fill = null;
  if (!isSealed) {
    fill = () => pageText(page.url).then((text) => snip.replaceWith(snippet(text, words)), () => snip.removeAttribute("aria-busy"));
  }
  if (isSealed) {
    li.append(el("p", { class: "search-hit-note" }, `Found in a restricted passage for ${from.audience || "your audience"}: unlock the page to read it.`));
  }
  return { li, fill };
}

const ui = {};
let seq = 0;
let shown = null; // {query, words, hits, count}

async function render(query, t0) {
  const mine = ++seq;
  html.dataset.search = "busy";
  let result;
  try {
    result = await run(query);
  } catch (e) {
    if (mine !== seq) return;
    ui.status.textContent = `The search index could not be loaded (${e && e.message}).`;
    html.dataset.search = "error";
    return;
  }
  if (mine !== seq) return;
  shown = { query, words: result.words, hits: result.hits, count: 0 };
  ui.results.replaceChildren();
  await more(mine);
  if (mine !== seq) return;
  performance.measure("conclave:search", { start: t0, end: performance.now() });
  // A few hits: the next key narrows them, so their titles are fetched
  // now, while the reader types, rather than after the last key.
  const { hits } = result;
  if (hits.length > PAGE_SIZE && hits.length <= PREFETCH_DOCS) {
    setTimeout(() => {
      if (mine !== seq) return;
      for (const h of hits.slice(PAGE_SIZE, PREFETCH_DOCS)) if (h.pub >= 0) publicDoc(h.pub).catch(() => {});
    }, 0);
  }
}

// more shows the next PAGE_SIZE hits.
async function more(mine) {
  const { words, hits, query } = shown;
  const next = hits.slice(shown.count, shown.count + PAGE_SIZE);
  const items = await Promise.all(next.map(describe));
  if (mine !== seq) return;
  const fills = [];
  for (const d of items) {
    const { li, fill } = hitItem(d, words);
    ui.results.append(li);
    if (fill) fills.push(fill);
  }
  // The pages of the snippets load once the query has stood for
  // SNIPPET_DELAY: a reader typing a word does not load the pages of each
  // prefix's hits, which would hold up the next prefix's.
  if (fills.length > 0) setTimeout(() => { if (mine === seq) for (const f of fills) f(); }, SNIPPET_DELAY);
  shown.count += next.length;
  ui.more.hidden = shown.count >= hits.length;
  const q = query.trim();
  if (words.length === 0) ui.status.textContent = q ? "Type a word of two letters or more." : "";
  else if (hits.length === 0) ui.status.textContent = `No briefing matches “${q}”.`;
  else ui.status.textContent = `${hits.length} ${hits.length === 1 ? "briefing matches" : "briefings match"} “${q}”` +
    (hits.length > shown.count ? `; showing ${shown.count}.` : ".");
  html.dataset.search = "done";
  html.dataset.searchHits = String(hits.length);
}

function setURL(query, push) {
  const url = new URL(location.href);
  if (query) url.searchParams.set("q", query);
  else url.searchParams.delete("q");
  if (url.href === location.href) return;
  history[push ? "pushState" : "replaceState"](null, "", url);
}

function searchPage() {
  ui.input = document.getElementById("search-q");
  ui.form = document.getElementById("search-form");
  ui.status = document.getElementById("search-status");
  ui.results = document.getElementById("search-results");
  if (!ui.input || !ui.status || !ui.results) return;
  ui.more = el("button", { type: "button", class: "search-more", hidden: "" }, "Show more results");
  ui.results.after(ui.more);
  ui.more.addEventListener("click", () => more(seq));
  const fromURL = () => new URL(location.href).searchParams.get("q") || "";
  ui.input.value = fromURL();
  ui.input.addEventListener("input", () => {
    const t0 = performance.now();
    setURL(ui.input.value, false);
    render(ui.input.value, t0);
  });
  ui.form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    setURL(ui.input.value, true);
    render(ui.input.value, performance.now());
  });
  addEventListener("popstate", () => {
    ui.input.value = fromURL();
    render(ui.input.value, performance.now());
  });
  // Unlocked or locked in this page: the sealed hits change.
  document.addEventListener(KEYS_EVENT, () => render(ui.input.value, performance.now()));
  const header = document.getElementById("site-search-q");
  if (header) header.value = ui.input.value;
  render(ui.input.value, 0);
}

// "/" focuses the search box, unless the reader is typing somewhere.
function shortcut(ev) {
  if (ev.key !== "/" || ev.ctrlKey || ev.metaKey || ev.altKey) return;
  const t = ev.target;
  if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) return;
  const box = document.getElementById("search-q") || document.getElementById("site-search-q");
  if (!box) return;
  ev.preventDefault();
  box.focus();
  box.select();
}

document.addEventListener("keydown", shortcut);
if (new URL(`${SEARCH_DIR}/`, ROOT).pathname === location.pathname) searchPage();
