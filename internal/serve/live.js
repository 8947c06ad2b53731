// conclave serve's live script: reloads the page when the site is rebuilt,
// and shows build errors over it until the next good build. Served only by
// the preview server, never published.
const me = document.querySelector('script[src$="/_conclave/live.js"]');
const version = me ? me.dataset.version : "";
let overlay = null;

function css() {
  if (document.querySelector('link[href="/_conclave/live.css"]')) return;
  const link = document.createElement("link");
  link.rel = "stylesheet";
  link.href = "/_conclave/live.css";
  document.head.append(link);
}

function showErrors(errors) {
  css();
  if (!overlay) {
    overlay = document.createElement("div");
    overlay.id = "conclave-build-error";
    overlay.setAttribute("role", "alert");
    document.body.append(overlay);
  }
  overlay.replaceChildren();
  const h = document.createElement("h2");
  h.textContent = document.querySelector('meta[name="conclave-no-build"]')
    ? "Build failed: the site has not built yet"
    : "Build failed: this page is the last good build";
  const list = document.createElement("ul");
  for (const e of errors) {
    const li = document.createElement("li");
    li.textContent = e;
    list.append(li);
  }
  const p = document.createElement("p");
  p.textContent = "Fix the source and save: the page reloads by itself.";
  overlay.append(h, list, p);
  document.documentElement.dataset.conclaveBuild = "error";
}

const events = new EventSource("/_conclave/events");
events.addEventListener("hello", (e) => {
  if (e.data !== version) location.reload(); // rebuilt while this page loaded
  else document.documentElement.dataset.conclaveBuild = "live";
});
events.addEventListener("reload", () => location.reload());
events.addEventListener("failed", (e) => showErrors(JSON.parse(e.data).errors));
