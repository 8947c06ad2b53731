// conclave's browser unlock script.
//
// A page's sealed passages are placeholders <section class="sealed"
// data-packet="packets/HEX.age">: the names of the published output, which
// format.js has from internal/format (go generate writes it). Each packet is an age file encrypted to one
// audience key; the audience keys reach a reader in a keyring (an age file
// encrypted to the reader, listed in packets/keyrings.json) whose plaintext is
// an age identity file. This script asks for the reader's age identity, finds
// the keyrings it opens, and replaces every placeholder it can open with the
// passage. The reader's identity never leaves the page: the only requests are
// GETs of packets/keyrings.json and packets/HEX.age on the site's own origin.
//
// Nothing fetched is trusted. Packets and keyrings are named by a digest of
// their bytes (HEX is the first 16 bytes of their SHA-256), which is checked
// before anything is decrypted (an attachment's packet, too large to hold,
// as it is decrypted, and before anything of it is offered): a packet that
// was altered or swapped for another, or that does not decrypt, is shown as
// tampered, never opened. A passage is sanitized (sanitize.js) before it is
// put in the page.
//
// Built by build.mjs into themes/default/static/js/unlock.js.

import { Decrypter, armor } from "age-encryption";
import { bech32, base64nopad } from "@scure/base";
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { createSanitizer } from "./sanitize.js";
import {
  ATTACHMENT_MAGIC, ATTR_PACKET, ATTR_TLP, CLASS_ATTACHMENT, CLASS_NOT_FOR_YOU, CLASS_SEALED, CLASS_SEALED_HELP, CLASS_SEALED_LABEL, CLASS_TAMPERED,
  CLASS_UNSEALED, CLASS_UNSEALED_LABEL, DIGEST_BYTES, KEYRING_INDEX, KEYRING_INDEX_VERSION, KEYRING_NAME_PATTERN,
  LABEL_OPENED, LABEL_SEALED, MAX_ATTACHMENT_HEADER, MAX_ATTACHMENT_PACKET, MAX_NESTING, MAX_PASSPHRASE_KEYRINGS, PACKET_PATH_PATTERN, PLACEHOLDER_ELEMENT,
  PLACEHOLDER_SELECTOR, SCRIPT_TO_ROOT, SCRYPT_WORK_FACTOR,
} from "./format.js";

// The site's root: the bundle is ROOT/UNLOCK_SCRIPT (js/unlock.js).
const ROOT = new URL(SCRIPT_TO_ROOT, import.meta.url);
const STORE = "conclave:keys:" + ROOT.pathname;
const NO_MATCH = /no identity matched/;
const AGE_BINARY = "age-encryption.org/v1\n";
const AGE_ARMOR = "-----BEGIN AGE ENCRYPTED FILE-----";
const MAX_IDENTITY_FILE = 1 << 20;
const WARM = 64;
const html = document.documentElement;
const sanitize = createSanitizer(PACKET_PATH_PATTERN);

// RFC 8410 PKCS #8 wrapping of a 32-byte X25519 private key.
const PKCS8_X25519 = [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20];

// The prefixes of age secret keys are never written in one piece, here or in
// the bundle: conclave refuses to publish a file that holds one (a secret
// pasted by mistake), and this script ships in every site. build.mjs checks.
const SK = ["AGE", "SECRET", "KEY-"].join("-"); // the secret key prefix
const SK1 = SK + "1"; // an X25519 identity
const SKPQ1 = SK + "PQ-1"; // a post-quantum identity
const PLUGIN = ["AGE", "PLUGIN-"].join("-");

const MSG = {
  nothing: "Choose or paste your age identity first.",
  ssh: "That is an SSH key. SSH keys cannot be used in the browser: read this site with conclave open -i YOUR_KEY SITE (and the key or identity that signed it), or decrypt its packets with age -d -i YOUR_KEY, instead.",
  public: `That is a public key (age1…); unlocking needs your identity, the line starting ${SK1}.`,
  plugin: `That is an age plugin identity (${PLUGIN}…). Plugins cannot run in the browser: read this site with conclave open or age -d instead.`,
  notAge: `That is not an age identity: expected a line starting ${SK1} (or ${SKPQ1}), as age-keygen writes it; # comment lines may surround it.`,
  damaged: `That is not an age identity: its ${SK1}… line is damaged (a character is wrong or missing); expected the line exactly as age-keygen wrote it.`,
  insecure: "This page must be served over HTTPS (or from localhost) to unlock: the browser only offers its cryptography to secure pages. You can also read this site with conclave open.",
  fetch: "The browser cannot read this site's packets from here (a page opened as a file cannot fetch them). Serve the site's folder on localhost (for example python3 -m http.server -b 127.0.0.1 in it), or read it with conclave open.",
  needPass: "This identity file is protected by a passphrase: type it in the Passphrase field, then choose Unlock.",
  badPass: "The passphrase does not open this identity file.",
  locked: "Locked: the keys are forgotten.",
  tampered: "Altered: this passage was changed or replaced since the site was built, so it was not opened.",
};

// UserError carries a message meant for the reader, shown as it is.
class UserError extends Error {}

const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;

// ---------------------------------------------------------------------------
// Fetching: same origin, GET, no query strings, each URL once.

// get fetches path and returns the response, whose body is still to read.
// signal, if given, aborts the request (the fetch then throws signal's
// reason, not a UserError).
async function get(path, signal) {
  let res;
  try {
    res = await fetch(new URL(path, ROOT), { method: "GET", credentials: "same-origin", signal });
  } catch (e) {
    if (signal && signal.aborted) throw e;
    throw new UserError(MSG.fetch);
  }
  if (!res.ok) {
    throw new UserError(`The browser could not read ${path} from this site (HTTP ${res.status}).`);
  }
  return res;
}

async function getBytes(path) {
  const res = await get(path);
  try {
    return new Uint8Array(await res.arrayBuffer());
  } catch {
    throw new UserError(MSG.fetch);
  }
}

// digestOf returns the name of a file with these bytes: the first 16 bytes
// of their SHA-256, in hex (format.DigestName in conclave).
async function digestOf(bytes) {
  return digestName(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)));
}

// digestName returns the name a SHA-256 sum gives: its first 16 bytes, in
// hex.
function digestName(sum) {
  let hex = "";
  for (const b of sum.subarray(0, DIGEST_BYTES)) hex += b.toString(16).padStart(2, "0");
  return hex;
}

const packets = new Map(); // path -> Promise<{bytes, intact, hdr}>

// packet fetches a packet once, checks its bytes against its name and, if
// they match, reads its header for the X25519 test.
function packet(path) {
  let p = packets.get(path);
  if (!p) {
    p = getBytes(path).then(async (bytes) => {
      const intact = (await digestOf(bytes)) === PACKET_PATH_PATTERN.exec(path)[1];
      return { bytes, intact, hdr: intact ? header(bytes) : null };
    });
    packets.set(path, p);
    p.catch(() => packets.delete(path)); // a failed fetch is retried next time
  }
  return p;
}

let keyringsPromise = null;

// keyrings resolves to [{name, passphrase, bytes, intact}], base64 decoded
// and checked against their names once.
function keyrings() {
  if (!keyringsPromise) {
    keyringsPromise = getBytes(KEYRING_INDEX).then(parseKeyrings).then(checkKeyrings);
    keyringsPromise.catch(() => { keyringsPromise = null; });
  }
  return keyringsPromise;
}

// prepare reads a keyring's header once; the page does it while idle after
// loading, so that unlocking is left with the key agreements alone.
function prepare(k) {
  return k.header || (k.header = header(k.bytes));
}

// A throwaway X25519 identity (its scalar in hex: the bundle holds no
// identity line, which conclave's secret scan would rightly flag) and a file
// encrypted to it. At load, the page opens the file and tries the identity on
// some keyrings, so that the code and the browser's cryptography are ready
// (compiled, initialised) when the reader unlocks; and it reads the keyrings'
// headers once. It also runs the sanitizer once, whose first call costs
// most.
const SELFTEST_SCALAR = "acfd946c7508c4cb361769637266ffb841a5638dd359150bb96cd47f0639684a";
const SELFTEST_FILE = "YWdlLWVuY3J5cHRpb24ub3JnL3YxCi0+IFgyNTUxOSB6VjM0VjJUb1hkMFp5SnlEZjFKdUNMb0VKYjcyMW40RE9tNHNDREtwUkVjClB0aFhqMlRUUm0yM2o1bDM4YVdyOGZBQXUyQUwyQkxmWlhrc3o3V2N6RTQKLS0tIFFTMmlXS0pRR3Bham5xMzNRb1Y5czI2Z3dNbU8vMk11b0dmcmpQNzh4QlUKiG9CpRwIvB9mkMpq3QsGoSG4f1UkqXqSU9Ix0tHIhf6DyKjsXmdO2Q==";

async function warm(rings) {
  try {
    const open = rings.filter((k) => k.intact && !k.passphrase);
    const scalar = new Uint8Array(SELFTEST_SCALAR.match(/../g).map((h) => parseInt(h, 16)));
    const keys = await Keys.of(parseIdentities(bech32.encodeFromBytes(SK, scalar).toUpperCase()));
    await keys.open(fromBase64(SELFTEST_FILE));
    sanitize("<p>Warm.</p>");
    await Promise.all(open.slice(0, WARM).map((k) => keys.open(k.bytes, prepare(k)).catch(() => null)));
    await Promise.all(open.map(prepare));
  } catch {
    // only a head start
  }
}

function parseKeyrings(bytes) {
  let doc;
  try {
    doc = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new UserError(`This site's ${KEYRING_INDEX} is damaged: it is not JSON.`);
  }
  if (!doc || doc.version !== KEYRING_INDEX_VERSION || !Array.isArray(doc.keyrings)) {
    throw new UserError(`This site's ${KEYRING_INDEX} is not version ${KEYRING_INDEX_VERSION}, the version this page reads.`);
  }
  return doc.keyrings.map((k) => {
    try {
      return { name: String(k.name), passphrase: k.passphrase === true, bytes: fromBase64(k.data) };
    } catch {
      throw new UserError(`This site's ${KEYRING_INDEX} is damaged: keyring ${k && k.name} is not base64.`);
    }
  });
}

// checkKeyrings marks each keyring whose bytes match its name (the digest
// of its bytes, as internal/seal names it) intact; the others are never
// tried.
async function checkKeyrings(rings) {
  await Promise.all(rings.map(async (k) => {
    const m = KEYRING_NAME_PATTERN.exec(k.name);
    k.intact = m !== null && (await digestOf(k.bytes)) === m[1];
  }));
  return rings;
}

function fromBase64(s) {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

// ---------------------------------------------------------------------------
// Identities.

// parseIdentities reads an age identity file (or a bare key line) and returns
// [{pq, line, bytes}]. It throws a UserError naming what is wrong.
function parseIdentities(text) {
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n|\r/).map((l) => l.trim());
  if (/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-{5}/.test(text)) throw new UserError(MSG.ssh);
  const ids = [];
  const seen = new Set();
  for (const line of lines) {
    if (line === "" || line.startsWith("#")) continue;
    const upper = line.toUpperCase();
    if (/^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-|sk-(ssh|ecdsa)-)/.test(line)) throw new UserError(MSG.ssh);
    if (upper.startsWith("AGE1")) throw new UserError(MSG.public);
    if (upper.startsWith(PLUGIN)) throw new UserError(MSG.plugin);
    const pq = upper.startsWith(SKPQ1);
    if (!pq && !upper.startsWith(SK1)) throw new UserError(MSG.notAge);
    let decoded;
    try {
      decoded = bech32.decodeToBytes(upper); // never show its error: it quotes the key
    } catch {
      throw new UserError(MSG.damaged);
    }
    if (decoded.prefix !== (pq ? SK + "PQ-" : SK).toLowerCase()) throw new UserError(MSG.notAge);
    if (decoded.bytes.length !== 32) {
      throw new UserError(`That is not an age identity: an ${pq ? SKPQ1 : SK1}… key holds 32 bytes, this one ${plural(decoded.bytes.length, "byte", "bytes")}.`);
    }
    if (seen.has(upper)) continue;
    seen.add(upper);
    ids.push({ pq, line: upper, bytes: decoded.bytes });
  }
  if (ids.length === 0) throw new UserError(MSG.notAge);
  return ids;
}

// Keys opens age files with a set of identities. typage does all the
// decryption, but a file costs it a few streams, which adds up over hundreds
// of keyrings: so X25519 identities (non-extractable WebCrypto keys, imported
// once) first test each X25519 stanza of a file's header, the way typage's
// X25519 identity does, and typage then decrypts the file with the one
// identity that matched. Identities that cannot be tested that way
// (post-quantum keys, browsers without WebCrypto X25519) go to typage as they
// are, and a header this test cannot read goes to typage whole.
class Keys {
  static async of(ids) {
    const all = new Decrypter();
    const rest = [];
    const fast = [];
    const slowTypes = new Set();
    await Promise.all(ids.map(async (id) => {
      const k = id.pq ? id.line : await importX25519(id);
      all.addIdentity(k);
      if (typeof k === "string") {
        rest.push(k);
        slowTypes.add(id.pq ? "mlkem768x25519" : "X25519");
        return;
      }
      const one = new Decrypter();
      one.addIdentity(k);
      fast.push({ key: k, pub: await x25519(k, BASEPOINT), dec: one });
    }));
    let slow = null;
    if (rest.length) {
      slow = new Decrypter();
      for (const k of rest) slow.addIdentity(k);
    }
    return new Keys(all, fast, slow, slowTypes);
  }

  constructor(all, fast, slow, slowTypes) {
    this.all = all;
    this.fast = fast;
    this.slow = slow; // a Decrypter for the other identities, or null
    this.slowTypes = slowTypes; // the stanza types they can open
    this.groups = new Map();
  }

  // open returns the plaintext of an age file, or NOT_FOR_YOU when no
  // identity is among its recipients (it throws for a damaged file). hdr is
  // header(bytes), if already prepared. Files of one group (placeholders
  // with the same label, so for the same audience) try first the identity
  // that opened the first of them: a page with many passages for a few
  // audiences then costs about one key agreement per passage. as is
  // "text" (a string) or "uint8array". bytes may instead be a
  // ReadableStream of the file, with hdr the header() of its first bytes:
  // open then returns a ReadableStream of the plaintext, decrypted as it
  // is read (as is unused), having read no more of the file than its age
  // header and the payload's nonce; of a file not for the reader, no more
  // than what the first bytes held.
  async open(bytes, hdr, group, as = "text") {
    const h = await (hdr || header(bytes));
    if (!h) return this.all.decrypt(bytes, as);
    let order = this.fast;
    let found = null;
    let settle = null;
    if (group !== undefined && this.fast.length > 1) {
      const first = this.groups.get(group);
      if (first) {
        const id = await first;
        if (id) order = [id, ...this.fast.filter((f) => f !== id)];
      } else {
        this.groups.set(group, new Promise((resolve) => { settle = resolve; }));
      }
    }
    try {
      for (const stanza of h.x25519) {
        for (const id of order) {
          if (await unwraps(id, stanza)) {
            found = id;
            if (settle) settle(id);
            return await id.dec.decrypt(bytes, as);
          }
        }
      }
    } finally {
      if (settle) settle(found);
    }
    if (this.slow && h.types.some((t) => this.slowTypes.has(t))) return this.slow.decrypt(bytes, as);
    return NOT_FOR_YOU;
  }
}

// header prepares what the X25519 test needs from an age file's header: its
// stanza types, and its X25519 stanzas as [{share, body, peer}]; or resolves
// to null when the test cannot read the header (typage then reads the file,
// and says what is wrong).
async function header(bytes) {
  const stanzas = headerStanzas(bytes);
  if (!stanzas) return null;
  const x = [];
  const types = stanzas.map((s) => s.args[0]);
  for (const s of stanzas) {
    if (s.args[0] !== "X25519") continue;
    if (s.args.length !== 2) return null;
    try {
      const share = base64nopad.decode(s.args[1]);
      const body = base64nopad.decode(s.body);
      if (share.length !== 32 || body.length !== 32) return null;
      x.push({ share, body, peer: await crypto.subtle.importKey("raw", share, { name: "X25519" }, false, []) });
    } catch {
      return null;
    }
  }
  return { types, x25519: x };
}

const NOT_FOR_YOU = Symbol("not for you");

const BASEPOINT = new Uint8Array(32);
BASEPOINT[0] = 9;
const X25519_LABEL = new TextEncoder().encode("age-encryption.org/v1/X25519");
const ZERO_NONCE = new Uint8Array(12);

async function importX25519(id) {
  const der = new Uint8Array(48);
  der.set(PKCS8_X25519);
  der.set(id.bytes, 16);
  try {
    return await crypto.subtle.importKey("pkcs8", der, { name: "X25519" }, false, ["deriveBits"]);
  } catch (e) {
    if (e && e.name === "NotSupportedError") return id.line; // no WebCrypto X25519: typage falls back to JS
    throw e;
  } finally {
    der.fill(0);
    id.bytes.fill(0);
  }
}

async function x25519(key, point) {
  const peer = point instanceof CryptoKey ? point : await crypto.subtle.importKey("raw", point, { name: "X25519" }, false, []);
  return new Uint8Array(await crypto.subtle.deriveBits({ name: "X25519", public: peer }, key, 256));
}

// unwraps tells whether an X25519 stanza is addressed to id: the key
// HKDF-SHA-256(X25519(id, share), share || id's public key, label) must open
// its body, as in typage's X25519 identity.
async function unwraps(id, { share, body, peer }) {
  let secret;
  try {
    secret = await x25519(id.key, peer);
  } catch {
    return false; // a low-order share: typage refuses it too
  }
  const salt = new Uint8Array(64);
  salt.set(share);
  salt.set(id.pub, 32);
  const ikm = await crypto.subtle.importKey("raw", secret, "HKDF", false, ["deriveBits"]);
  secret.fill(0);
  const key = new Uint8Array(await crypto.subtle.deriveBits({ name: "HKDF", hash: "SHA-256", salt, info: X25519_LABEL }, ikm, 256));
  try {
    chacha20poly1305(key, ZERO_NONCE).decrypt(body);
    return true;
  } catch {
    return false;
  } finally {
    key.fill(0);
  }
}

// headerStanzas reads the stanzas of an age header ({args, body} with body
// still base64), or returns null if it is not one this test reads.
function headerStanzas(bytes) {
  const end = indexOf(bytes, "\n--- ");
  if (end < 0) return null;
  let text = "";
  for (let i = 0; i < end; i++) {
    const c = bytes[i];
    if (c > 0x7e) return null;
    text += String.fromCharCode(c);
  }
  const lines = text.split("\n");
  if (lines[0] !== "age-encryption.org/v1") return null;
  const stanzas = [];
  let i = 1;
  while (i < lines.length) {
    if (!lines[i].startsWith("-> ")) return null;
    const args = lines[i++].slice(3).split(" ");
    let body = "";
    for (;;) {
      if (i >= lines.length) return null;
      const l = lines[i++];
      body += l;
      if (l.length < 64) break;
    }
    stanzas.push({ args, body });
  }
  return stanzas;
}

function indexOf(bytes, s) {
  const first = s.charCodeAt(0);
  const limit = Math.min(bytes.length - s.length, 1 << 16);
  outer: for (let i = 0; i <= limit; i++) {
    if (bytes[i] !== first) continue;
    for (let j = 1; j < s.length; j++) if (bytes[i + j] !== s.charCodeAt(j)) continue outer;
    return i;
  }
  return -1;
}

// readSource returns what the reader gave: {kind: "none"}, {kind: "text",
// text} or {kind: "encrypted", bytes} (a passphrase-protected identity file).
async function readSource(ui) {
  const file = ui.file.files && ui.file.files[0];
  if (file) {
    if (file.size > MAX_IDENTITY_FILE) throw new UserError("That file is too large to be an age identity.");
    const bytes = new Uint8Array(await file.arrayBuffer());
    if (startsWith(bytes, AGE_BINARY)) return { kind: "encrypted", bytes };
    return fromText(new TextDecoder().decode(bytes));
  }
  return fromText(ui.text.value);
}

function fromText(text) {
  const t = text.trim();
  if (t === "") return { kind: "none" };
  if (t.startsWith(AGE_ARMOR)) {
    try {
      return { kind: "encrypted", bytes: armor.decode(t) };
    } catch {
      throw new UserError("That armored age file is damaged: paste it whole, from -----BEGIN to -----END.");
    }
  }
  if (t.startsWith(AGE_BINARY.trim())) {
    return { kind: "encrypted", bytes: new TextEncoder().encode(text.replace(/^\s+/, "")) };
  }
  return { kind: "text", text: t };
}

function startsWith(bytes, prefix) {
  if (bytes.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix.charCodeAt(i)) return false;
  return true;
}

function isScrypt(bytes) {
  const head = new TextDecoder().decode(bytes.subarray(0, 200));
  return head.startsWith(AGE_BINARY + "-> scrypt ");
}

async function decryptIdentityFile(bytes, passphrase) {
  if (!isScrypt(bytes)) {
    throw new UserError("That is an age-encrypted file, but not an identity file protected by a passphrase: give your age identity itself.");
  }
  const d = new Decrypter();
  d.addPassphrase(passphrase);
  try {
    return await d.decrypt(bytes, "text");
  } catch (e) {
    if (NO_MATCH.test(e && e.message)) throw new UserError(MSG.badPass);
    throw new UserError("That passphrase-protected identity file is damaged or uses an unsupported work factor.");
  }
}

// ---------------------------------------------------------------------------
// Keyrings and packets.

const AUDIENCE_KEY = new RegExp(`^${SK}(PQ-)?1[02-9AC-HJ-NP-Z]+$`);

async function tryOpen(open) {
  try {
    return await open();
  } catch {
    return null;
  }
}

// findKeys tries the reader's identities on every keyring (and the passphrase
// on the passphrase keyrings) and returns the audience keys of those that open.
// The passphrase is tried on at most MAX_PASSPHRASE_KEYRINGS keyrings, the most
// a site holds, and only on those of the work factor the build seals with:
// each try is an scrypt of 64 MiB, and a hostile site could ask for thousands,
// or for 1 GiB each.
async function findKeys(rings, reader, passphrase) {
  let guest = null;
  if (passphrase) {
    guest = new Decrypter();
    guest.addPassphrase(passphrase);
  }
  let tries = 0;
  const trials = rings.map((k) => {
    if (!k.intact) return null;
    if (k.passphrase) {
      if (!guest || !scryptWithin(k.bytes) || tries === MAX_PASSPHRASE_KEYRINGS) return null;
      tries++;
      return tryOpen(() => guest.decrypt(k.bytes, "text"));
    }
    return reader && tryOpen(() => reader.open(k.bytes, prepare(k)));
  });
  const keys = new Set();
  for (const text of await Promise.all(trials)) {
    if (typeof text === "string") for (const k of keyringKeys(text)) keys.add(k);
  }
  return [...keys];
}

// SCRYPT_STANZA is the first stanza of a passphrase keyring, with the work
// factor as its group.
const SCRYPT_STANZA = /^age-encryption\.org\/v1\n-> scrypt [A-Za-z0-9+/]{22} ([1-9][0-9]?)\n/;

// scryptWithin reports whether the age file bytes is a passphrase file whose
// work factor is at most SCRYPT_WORK_FACTOR.
function scryptWithin(bytes) {
  const m = SCRYPT_STANZA.exec(new TextDecoder("latin1").decode(bytes.subarray(0, 80)));
  return m !== null && Number(m[1]) <= SCRYPT_WORK_FACTOR;
}

// keyringKeys returns the audience keys of a keyring's plaintext, an age
// identity file: one key a line, between # comment lines and blank lines
// (the build pads every keyring to one size with them), with \n or \r\n
// line ends.
function keyringKeys(text) {
  const keys = [];
  for (const line of text.split(/\r?\n|\r/)) {
    const l = line.trim();
    if (l === "" || l.startsWith("#")) continue;
    if (AUDIENCE_KEY.test(l)) keys.push(l);
  }
  return keys;
}

// MAX_DEPTH is how deep passages nest at most: the build refuses deeper
// ones, and conclave open stops there too (format.MaxNesting).
const MAX_DEPTH = MAX_NESTING;

// openAll opens every placeholder under scope, nested ones included, and
// returns the counts. undo collects how to put each original node back.
// depth is the nesting of the placeholders under scope, 1 for the page's.
// (Packets named by their digest cannot nest in a cycle.)
async function openAll(scope, d, stats, undo, depth = 1) {
  const found = [...scope.querySelectorAll(PLACEHOLDER_SELECTOR)];
  if (depth > MAX_DEPTH) {
    if (found.length) stats.errors.add(`A sealed passage is nested more than ${MAX_DEPTH} deep, which conclave never builds: left sealed.`);
    return;
  }
  await Promise.all(found.map((sec) => openOne(sec, d, stats, undo, depth)));
}

// openOne opens one placeholder: it shows the passage, or marks the
// placeholder not for you or tampered. A packet whose bytes do not match its
// name is never decrypted; one that does not decrypt, or whose HTML the
// sanitizer cannot read, is not shown.
async function openOne(sec, d, stats, undo, depth) {
  stats.total++;
  const path = sec.getAttribute(ATTR_PACKET);
  let content;
  try {
    if (!PACKET_PATH_PATTERN.test(path)) throw new UserError(`A sealed passage names a packet this page does not read (${path}).`);
    const label = sec.querySelector("." + CLASS_SEALED_LABEL);
    const { bytes, intact, hdr } = await packet(path);
    if (!intact) return tampered(sec, stats, undo);
    let text;
    try {
      text = await d.open(bytes, hdr, label ? label.textContent : undefined);
    } catch (e) {
      if (NO_MATCH.test(e && e.message)) text = NOT_FOR_YOU;
      else return tampered(sec, stats, undo);
    }
    if (text === NOT_FOR_YOU) {
      stats.notForYou++;
      notForYou(sec, undo);
      return;
    }
    try {
      content = sanitize(text.replace(/\n+$/, ""));
    } catch {
      return tampered(sec, stats, undo);
    }
  } catch (e) {
    stats.errors.add(e instanceof UserError ? e.message : `The packet ${path} could not be read: ${e && e.message}.`);
    return;
  }
  const passage = unsealed(sec, content);
  attachments(passage, d, undo);
  await openAll(passage, d, stats, undo, depth + 1); // nested placeholders, before it is shown
  sec.replaceWith(passage);
  undo.push(() => passage.replaceWith(sec));
  stats.opened++;
}

// ---------------------------------------------------------------------------
// Attachments: files sealed as packets of their own (internal/format,
// attachment.go). A passage links one with a link or image of class
// CLASS_ATTACHMENT whose URL is the packet's. An image is decrypted at once
// and shown from a Blob; a link is decrypted when followed, and the file
// offered as a download under its own name. The packet is read as a stream
// (openAttachment): its bytes are checked against its name as they are
// decrypted, and nothing of it is offered before they all matched.

// The media types a file is offered with; any other is offered as bytes
// (application/octet-stream), so that no decrypted file opens as a page
// of the site (HTML, SVG and XML can run script in a document).
const IMAGE_TYPES = new Set(["image/png", "image/jpeg", "image/gif", "image/webp", "image/avif"]);
const FILE_TYPES = new Set([...IMAGE_TYPES, "application/pdf", "text/plain", "text/csv", "application/zip",
  "application/gzip", "application/x-tar", "application/json", "application/vnd.tcpdump.pcap"]);

// attachmentPath returns the packet path a link or image URL of the page
// names, or null.
function attachmentPath(url) {
  let u;
  try {
    u = new URL(url, document.baseURI);
  } catch {
    return null;
  }
  if (u.origin !== ROOT.origin || u.search || !u.pathname.startsWith(ROOT.pathname)) return null;
  const p = u.pathname.slice(ROOT.pathname.length);
  return PACKET_PATH_PATTERN.test(p) ? p : null;
}

// packetStream fetches a packet as a stream, for an attachment's, which
// may be too large to hold (up to MAX_ATTACHMENT_PACKET bytes). Its read()
// resolves to the packet's next bytes, hashed as they pass, or to null at
// the end once their digest has matched the packet's name; it throws the
// tampered UserError when the digest does not match or the packet is
// longer than any conclave seals, and MSG.fetch when the download fails.
// cancel() stops the download.
async function packetStream(path, signal) {
  const res = await get(path, signal);
  const src = (res.body || new ReadableStream({ start(c) { c.close(); } })).getReader();
  let over = false;
  const cancel = () => {
    over = true;
    src.cancel().catch(() => {});
  };
  if (Number(res.headers.get("Content-Length")) > MAX_ATTACHMENT_PACKET) {
    cancel();
    throw new UserError(MSG.tampered);
  }
  const name = PACKET_PATH_PATTERN.exec(path)[1];
  const hash = sha256.create();
  let size = 0;
  return {
    cancel,
    async read() {
      if (over) throw new UserError(MSG.tampered);
      let r;
      try {
        r = await src.read();
      } catch (e) {
        over = true;
        if (signal && signal.aborted) throw e;
        throw new UserError(MSG.fetch);
      }
      if (over) throw new UserError(MSG.tampered); // cancelled meanwhile
      if (r.done) {
        over = true;
        if (digestName(hash.digest()) !== name) throw new UserError(MSG.tampered);
        return null;
      }
      size += r.value.length;
      if (size > MAX_ATTACHMENT_PACKET) {
        cancel();
        throw new UserError(MSG.tampered);
      }
      hash.update(r.value);
      return r.value;
    },
  };
}

// openAttachment decrypts the attachment packet at path into
// {name, blob, image}, or resolves to NOT_FOR_YOU. It throws a UserError
// for a packet that is altered or not an attachment; signal aborts it
// (it then throws signal's reason). The packet is never held whole: it is
// fetched as a stream, and its bytes are hashed and decrypted as they
// arrive, chunk by chunk, into a Blob grown a few MiB at a time. The Blob
// is returned only once the whole packet has been read, its digest has
// matched its name and its last chunk has authenticated: an altered or
// swapped packet gives nothing, however much of it decrypted. Whether the
// reader may open it is known from its age header, before its body is
// fetched: the download stops there when it is not for them.
async function openAttachment(path, d, signal) {
  const packet = await packetStream(path, signal);
  try {
    return await decryptAttachment(path, packet, d);
  } finally {
    packet.cancel(); // the download, if it has not ended
  }
}

async function decryptAttachment(path, packet, d) {
  // The first bytes, up to the end of the age header, for the X25519 test.
  let first = new Uint8Array(0);
  let ended = false;
  while (first.length <= 1 << 16 && indexOf(first, "\n--- ") < 0) {
    const chunk = await packet.read();
    if (chunk === null) {
      ended = true;
      break;
    }
    first = concat(first, chunk);
  }
  let failure = null; // why the packet stopped, when it was packet.read
  const ciphertext = new ReadableStream({
    start(c) {
      c.enqueue(first);
      if (ended) c.close();
    },
    async pull(c) {
      let chunk;
      try {
        chunk = await packet.read();
      } catch (e) {
        failure = e;
        throw e;
      }
      if (chunk === null) c.close();
      else c.enqueue(chunk);
    },
    cancel() {
      packet.cancel();
    },
  });
  let plain;
  try {
    plain = await d.open(ciphertext, header(first));
  } catch (e) {
    if (failure) throw failure;
    if (NO_MATCH.test(e && e.message)) return NOT_FOR_YOU;
    throw new UserError(MSG.tampered);
  }
  if (plain === NOT_FOR_YOU) return NOT_FOR_YOU;
  const reader = plain.getReader();
  let head = new Uint8Array(0);
  let meta = null, bad = false, left = 0, blob = new Blob([]), batch = [], batched = 0;
  for (;;) {
    let chunk;
    try {
      const { done, value } = await reader.read();
      if (done) break;
      chunk = value;
    } catch {
      // A chunk that does not authenticate, or a packet that does not
      // match its name: what was decrypted is dropped.
      throw failure || new UserError(MSG.tampered);
    }
    if (bad) continue; // read to the end all the same, to tell an altered packet
    if (!meta) {
      const joined = concat(head, chunk);
      const end = joined.subarray(0, MAX_ATTACHMENT_HEADER).indexOf(10);
      if (end < 0) {
        head = joined;
        bad = joined.length >= MAX_ATTACHMENT_HEADER;
        continue;
      }
      meta = attachmentHeader(new TextDecoder().decode(joined.subarray(0, end)));
      if (!meta) {
        bad = true;
        continue;
      }
      left = meta.size;
      chunk = joined.subarray(end + 1);
    }
    const part = chunk.subarray(0, Math.min(left, chunk.length));
    left -= part.length;
    if (part.length) {
      batch.push(part);
      batched += part.length;
    }
    if (batched >= 4 << 20) {
      blob = new Blob([blob, ...batch]);
      batch = [];
      batched = 0;
    }
  }
  if (bad || !meta || left > 0) throw new UserError(`The attachment ${path} is not one conclave seals: not opened.`);
  const type = FILE_TYPES.has(meta.type) ? meta.type : "application/octet-stream";
  return { name: meta.name, blob: new Blob([blob, ...batch], { type }), image: IMAGE_TYPES.has(meta.type) };
}

function concat(a, b) {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

// attachmentHeader reads an attachment's header line into {size, type,
// name}, or returns null if it is not one.
function attachmentHeader(line) {
  if (!line.startsWith(ATTACHMENT_MAGIC + " ")) return null;
  const fields = new Map();
  for (const f of line.slice(ATTACHMENT_MAGIC.length + 1).split(" ")) {
    const i = f.indexOf("=");
    if (i > 0) fields.set(f.slice(0, i), f.slice(i + 1));
  }
  const size = Number(fields.get("size"));
  if (!/^[0-9]+$/.test(fields.get("size") || "") || !Number.isSafeInteger(size)) return null;
  let type = "", name = "attachment";
  try {
    type = decodeURIComponent(fields.get("type") || "").split(";")[0].trim().toLowerCase();
    name = decodeURIComponent((fields.get("path") || "").split("/").pop()) || name;
  } catch {
    // a damaged field: bytes under a plain name
  }
  // No control or format characters (U+202E would show "gpj.exe" as
  // "exe.jpg"), and nothing a file system reads as a folder or a drive.
  return { size, type, name: name.replace(/[\p{Cc}\p{Cf}/\\:*?"<>|]/gu, "_") };
}

// attachments prepares the attachments a passage links, before it is
// shown: its images are decrypted and shown, its links decrypt on use.
// undo puts the URLs back, frees the decrypted files and stops the
// downloads under way.
function attachments(passage, d, undo) {
  for (const img of passage.querySelectorAll(`img.${CLASS_ATTACHMENT}`)) {
    const src = img.getAttribute("src");
    const path = attachmentPath(src);
    if (!path) continue;
    img.removeAttribute("src"); // never fetched as an image
    let url = null;
    const stop = new AbortController();
    undo.push(() => {
      stop.abort();
      if (url) URL.revokeObjectURL(url);
      url = "";
      img.setAttribute("src", src);
    });
    openAttachment(path, d, stop.signal).then((a) => {
      if (url === "" || a === NOT_FOR_YOU || !a.image) return;
      url = URL.createObjectURL(a.blob);
      img.src = url;
    }, (e) => {
      if (stop.signal.aborted) return;
      img.alt = `${img.alt} (${e instanceof UserError ? e.message : "could not be opened"})`;
    });
  }
  for (const a of passage.querySelectorAll(`a.${CLASS_ATTACHMENT}`)) {
    const path = attachmentPath(a.getAttribute("href"));
    if (!path) continue;
    let url = null;
    let opening = false;
    const stop = new AbortController();
    const onClick = async (ev) => {
      if (url) return; // decrypted: the link downloads it
      ev.preventDefault();
      if (opening) return; // once at a time
      opening = true;
      try {
        const file = await openAttachment(path, d, stop.signal);
        if (stop.signal.aborted) return; // locked meanwhile
        if (file === NOT_FOR_YOU) throw new UserError("This file is sealed for another audience.");
        url = URL.createObjectURL(file.blob);
        a.href = url;
        a.download = file.name;
        a.click();
      } catch (e) {
        if (!stop.signal.aborted) say(e instanceof UserError ? e.message : `The attachment ${path} could not be opened.`);
      } finally {
        opening = false;
      }
    };
    const href = a.getAttribute("href");
    a.addEventListener("click", onClick);
    undo.push(() => {
      stop.abort();
      a.removeEventListener("click", onClick);
      if (url) URL.revokeObjectURL(url);
      a.removeAttribute("download");
      a.setAttribute("href", href);
    });
  }
}

function unsealed(sec, content) {
  const out = document.createElement(PLACEHOLDER_ELEMENT);
  for (const c of sec.classList) out.classList.add(c === CLASS_SEALED ? CLASS_UNSEALED : c);
  for (const a of [ATTR_PACKET, ATTR_TLP]) {
    const v = sec.getAttribute(a);
    if (v !== null) out.setAttribute(a, v);
  }
  out.setAttribute("aria-label", "Restricted passage");
  const label = sec.querySelector("." + CLASS_SEALED_LABEL);
  if (label) {
    const l = label.cloneNode(true);
    l.className = CLASS_UNSEALED_LABEL;
    for (const n of l.childNodes) {
      if (n.nodeType === Node.TEXT_NODE) n.data = n.data.replace(LABEL_SEALED, LABEL_OPENED);
    }
    out.append(l);
  }
  out.append(content);
  return out;
}

function notForYou(sec, undo) {
  mark(sec, CLASS_NOT_FOR_YOU, "Not for you: sealed for another audience.", undo);
}

function tampered(sec, stats, undo) {
  stats.tampered++;
  mark(sec, CLASS_TAMPERED, MSG.tampered, undo);
}

// mark gives a placeholder a class and replaces its help with a note.
function mark(sec, state, text, undo) {
  sec.classList.add(state);
  const help = sec.querySelector("." + CLASS_SEALED_HELP);
  const note = document.createElement("p");
  note.className = CLASS_SEALED_HELP;
  note.textContent = text;
  if (help) help.replaceWith(note);
  else sec.append(note);
  undo.push(() => {
    sec.classList.remove(state);
    if (help) note.replaceWith(help);
    else note.remove();
  });
}

// ---------------------------------------------------------------------------
// The panel.

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === true) e.setAttribute(k, "");
    else if (v !== false && v != null) e.setAttribute(k, v);
  }
  e.append(...children);
  return e;
}

function panel(count, searching) {
  const ui = {};
  ui.file = el("input", { type: "file", id: "conclave-identity-file" });
  ui.text = el("textarea", {
    id: "conclave-identity", rows: "3", autocomplete: "off", spellcheck: "false",
    autocapitalize: "off", autocorrect: "off", placeholder: `${SK1}…`,
  });
  ui.pass = el("input", { type: "password", id: "conclave-passphrase", autocomplete: "off" });
  ui.passLabel = el("label", { for: "conclave-passphrase" }, "Passphrase (guests)");
  ui.passField = el("div", { class: "unlock-field", hidden: true }, ui.passLabel, ui.pass);
  ui.remember = el("input", { type: "checkbox", id: "conclave-remember" });
  ui.unlock = el("button", { type: "submit", id: "conclave-unlock-button" }, "Unlock");
  ui.lock = el("button", { type: "button", id: "conclave-lock-button", class: "unlock-secondary", hidden: true }, "Lock");
  ui.status = el("p", { id: "conclave-status", class: "unlock-status", role: "status", "aria-live": "polite", tabindex: "-1" });
  ui.fields = el("div", { class: "unlock-fields" },
    el("div", { class: "unlock-field" }, el("label", { for: "conclave-identity-file" }, "Identity file"), ui.file),
    el("div", { class: "unlock-field" }, el("label", { for: "conclave-identity" }, "or paste it"), ui.text),
    ui.passField);
  ui.form = el("form", { class: "unlock-form", novalidate: true, "aria-label": "Unlock sealed passages" },
    ui.fields,
    el("div", { class: "unlock-check" }, ui.remember, el("label", { for: "conclave-remember" }, "Remember for this tab")),
    el("div", { class: "unlock-actions" }, ui.unlock, ui.lock));
  ui.root = el("section", { id: "conclave-unlock", class: "unlock", "aria-labelledby": "conclave-unlock-title" },
    el("h2", { id: "conclave-unlock-title" }, count === 0 && searching ? "Search restricted passages" : `Sealed passages on this page: ${count}`),
    el("p", { class: "unlock-note" }, (count === 0 && searching ? "Unlock with your identity to search the passages sealed for you as well. " : "") +
      "Your identity stays in this page: it is never sent anywhere, and the passages are decrypted here, in your browser."),
    ui.form,
    ui.status);
  return ui;
}

// ---------------------------------------------------------------------------
// State.

const state = {
  ui: null,
  keys: null,  // the audience keys in use, while unlocked
  undo: [],
  busy: false,
  guests: false, // keyrings.json holds passphrase keyrings
};

function say(message, status) {
  state.ui.status.textContent = message;
  if (status) html.dataset.conclave = status;
}

function fail(e) {
  const message = e instanceof UserError ? e.message : `Unlocking failed: ${(e && e.message) || e}`;
  say(message, "error");
}

function showUnlocked(unlocked) {
  const { ui } = state;
  ui.fields.hidden = unlocked;
  ui.unlock.hidden = unlocked;
  ui.lock.hidden = !unlocked;
}

function showPassphrase(forIdentityFile) {
  const { ui } = state;
  ui.passLabel.textContent = forIdentityFile ? "Passphrase of the identity file" : "Passphrase (guests)";
  ui.passField.hidden = !(forIdentityFile || state.guests);
}

function clearInputs() {
  const { ui } = state;
  ui.text.value = "";
  ui.file.value = "";
  ui.pass.value = "";
  showPassphrase(false);
}

function remember(keys) {
  try {
    if (keys && state.ui.remember.checked) sessionStorage.setItem(STORE, JSON.stringify(keys));
    else sessionStorage.removeItem(STORE);
  } catch {
    // storage disabled: nothing is remembered
  }
}

function setBusy(busy) {
  state.busy = busy;
  state.ui.root.setAttribute("aria-busy", String(busy));
  state.ui.unlock.setAttribute("aria-disabled", String(busy));
}

const nextFrame = () => new Promise((r) => setTimeout(r, 20));

// apply opens the page's passages with the audience keys. It returns false
// (and leaves the page as it was) when auto is set and they open none.
async function apply(keys, auto) {
  const d = await Keys.of(parseIdentities(keys.join("\n")));
  const stats = { total: 0, opened: 0, notForYou: 0, tampered: 0, errors: new Set() };
  const undo = [];
  await openAll(document, d, stats, undo);
  const errors = [...stats.errors].join(" ");
  if (stats.total > 0 && stats.opened === 0 && (auto || (errors && stats.tampered === 0))) {
    for (const u of undo.reverse()) u();
    if (errors) throw new UserError(errors);
    return false;
  }
  performance.mark("conclave:unlock-end");
  performance.measure("conclave:unlock", "conclave:unlock-start", "conclave:unlock-end");
  state.keys = keys;
  state.undo = undo;
  html.setAttribute("data-conclave-opened", String(stats.opened));
  html.setAttribute("data-conclave-not-for-you", String(stats.notForYou));
  html.setAttribute("data-conclave-tampered", String(stats.tampered));
  showUnlocked(true);
  document.dispatchEvent(new CustomEvent(KEYS_EVENT));
  const others = stats.notForYou === 0 ? "" :
    stats.notForYou === 1 ? " 1 is sealed for another audience." : ` ${stats.notForYou} are sealed for other audiences.`;
  const altered = stats.tampered === 0 ? "" :
    stats.tampered === 1 ? " 1 was altered since the site was built and was not opened." :
      ` ${stats.tampered} were altered since the site was built and were not opened.`;
  if (stats.total === 0) say("Unlocked: the search includes the restricted passages sealed for you.", "unlocked");
  else say(`Unlocked ${stats.opened} of ${stats.total} sealed passages, nested ones included.${others}${altered}` +
    (errors ? ` ${errors}` : ""), "unlocked");
  return true;
}

async function onUnlock(ev) {
  ev.preventDefault();
  performance.mark("conclave:unlock-start");
  if (state.busy || state.keys) return;
  const { ui } = state;
  setBusy(true);
  try {
    if (!window.isSecureContext || !window.crypto || !crypto.subtle) throw new UserError(MSG.insecure);
    for (const sec of document.querySelectorAll(PLACEHOLDER_SELECTOR)) {
      const path = sec.getAttribute(ATTR_PACKET);
      if (PACKET_PATH_PATTERN.test(path)) packet(path); // fetched at load; again if that failed
    }
    const rings = keyrings();
    const source = await readSource(ui);
    const passphrase = ui.pass.value;
    let ids = [];
    let guestPass = "";
    if (source.kind === "encrypted") {
      if (!passphrase) {
        showPassphrase(true);
        ui.pass.focus();
        throw new UserError(MSG.needPass);
      }
      say("Opening the identity file with its passphrase…", "busy");
      await nextFrame();
      ids = parseIdentities(await decryptIdentityFile(source.bytes, passphrase));
    } else {
      if (source.kind === "text") ids = parseIdentities(source.text);
      if (state.guests) guestPass = passphrase;
      if (ids.length === 0 && !guestPass) {
        throw new UserError(state.guests ? `${MSG.nothing} Guests type their passphrase.` : MSG.nothing);
      }
    }
    say(guestPass ? "Trying the passphrase on the guest keyrings (this takes a few seconds)…" : "Unlocking…", "busy");
    if (guestPass) await nextFrame();
    const [reader, all] = await Promise.all([ids.length ? Keys.of(ids) : null, rings]);
    const keys = await findKeys(all, reader, guestPass);
    if (keys.length === 0) {
      const g = all.filter((k) => k.passphrase).length;
      const bad = all.filter((k) => !k.intact).length;
      const altered = bad === 0 ? "" : bad === 1 ? " 1 keyring was altered since the site was built and was not tried." :
        ` ${bad} keyrings were altered since the site was built and were not tried.`;
      if (reader) {
        throw new UserError(`This identity is not a recipient of this site: none of its ${plural(all.length, "keyring", "keyrings")} opens with it.` +
          (guestPass ? " Nor does the passphrase open a guest keyring." : "") + altered);
      }
      throw new UserError(`This passphrase opens none of this site's ${plural(g, "guest keyring", "guest keyrings")}.${altered}`);
    }
    clearInputs();
    await apply(keys, false);
    remember(keys);
    ui.status.focus();
  } catch (e) {
    fail(e);
  } finally {
    setBusy(false);
  }
}

function onLock() {
  const { ui } = state;
  state.keys = null;
  try {
    sessionStorage.removeItem(STORE);
  } catch {
    // storage disabled
  }
  clearInputs();
  for (const u of state.undo.reverse()) u();
  state.undo = [];
  html.removeAttribute("data-conclave-opened");
  html.removeAttribute("data-conclave-not-for-you");
  html.removeAttribute("data-conclave-tampered");
  showUnlocked(false);
  document.dispatchEvent(new CustomEvent(KEYS_EVENT));
  say(MSG.locked, "locked");
  ui.unlock.focus();
}

function storedKeys() {
  try {
    const raw = sessionStorage.getItem(STORE);
    if (raw === null) return null;
    const keys = JSON.parse(raw);
    if (Array.isArray(keys) && keys.length > 0 && keys.every((k) => typeof k === "string" && AUDIENCE_KEY.test(k))) return keys;
    sessionStorage.removeItem(STORE);
  } catch {
    // storage disabled or entry damaged: unlock by hand
  }
  return null;
}

async function autoUnlock(keys) {
  performance.mark("conclave:unlock-start");
  setBusy(true);
  say("Unlocking with the keys remembered for this tab…", "busy");
  try {
    if (!window.isSecureContext || !window.crypto || !crypto.subtle) throw new UserError(MSG.insecure);
    if (!(await apply(keys, true))) {
      say("The keys remembered for this tab open none of the sealed passages on this page. Unlock with your identity to read them.", "locked");
    }
  } catch (e) {
    fail(e);
  } finally {
    setBusy(false);
  }
}

async function main() {
  const sealed = document.querySelectorAll(PLACEHOLDER_SELECTOR);
  // The search page has the panel too, on a site with sealed indexes: its
  // keys open the indexes of the reader's audiences (search.js).
  const searching = document.getElementById("search-results") !== null;
  if (sealed.length === 0 && !searching) return;
  const ui = panel(sealed.length, searching);
  state.ui = ui;
  // After the briefing's title and label, or the search form; else first.
  const header = document.querySelector("main article.briefing > header");
  const form = document.getElementById("search-form");
  if (header) header.after(ui.root);
  else if (form) form.after(ui.root);
  else (document.querySelector("main") || document.body).prepend(ui.root);

  ui.form.addEventListener("submit", onUnlock);
  ui.lock.addEventListener("click", onLock);
  ui.file.addEventListener("change", () => { if (ui.file.files.length) ui.text.value = ""; });
  ui.text.addEventListener("input", () => { if (ui.text.value) ui.file.value = ""; });
  ui.remember.addEventListener("change", () => { if (state.keys) remember(state.keys); else if (!ui.remember.checked) remember(null); });

  // The packets are public, like keyrings.json: fetched now, they are at
  // hand when the reader unlocks.
  for (const sec of sealed) {
    const path = sec.getAttribute(ATTR_PACKET);
    if (PACKET_PATH_PATTERN.test(path)) packet(path);
  }
  const keys = storedKeys();
  if (keys) ui.remember.checked = true;
  try {
    const rings = await keyrings();
    state.guests = rings.some((k) => k.passphrase);
    if (window.isSecureContext && window.crypto && crypto.subtle) await warm(rings);
  } catch (e) {
    if (!keys) say(e instanceof UserError ? e.message : MSG.fetch);
  }
  showPassphrase(false);
  if (!window.isSecureContext) say(MSG.insecure);
  if (keys) await autoUnlock(keys);
  else html.dataset.conclave = "locked";
}

// ---------------------------------------------------------------------------
// For the search script (search.js), which imports this module when the
// tab holds keys: the audience keys this page was unlocked with, and a
// sealed index's packets opened with them. KEYS_EVENT is dispatched on the
// document when the page is unlocked or locked.

const KEYS_EVENT = "conclave:keys";

// unlockedKeys returns the audience keys this page was unlocked with, or
// null.
export function unlockedKeys() {
  return state.keys ? [...state.keys] : null;
}

// openSealed returns the plaintext of the packet at path (a packet of a
// sealed search index) opened with the audience keys, checked against its
// name first; it throws for a packet altered, damaged or not for them.
export async function openSealed(path, keys) {
  if (!PACKET_PATH_PATTERN.test(path)) throw new Error(`not a packet path: ${path}`);
  const { bytes, intact, hdr } = await packet(path);
  if (!intact) throw new Error(`the packet ${path} was altered since the site was built`);
  const d = await Keys.of(parseIdentities(keys.join("\n")));
  const text = await d.open(bytes, hdr);
  if (text === NOT_FOR_YOU) throw new Error(`the packet ${path} is not for these keys`);
  return text;
}

main().catch(() => {
  // Nothing may reach the console; the page stays as it was built.
});
