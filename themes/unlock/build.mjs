// Builds the browser scripts into the default theme:
//
//   node build.mjs           writes ../default/static/js/unlock.js (the unlock
//                            script) and ../default/static/js/search.js (the
//                            search script, which imports the unlock script
//                            for sealed indexes)
//   node build.mjs --check   rebuilds into temporary files and fails if they
//                            differ from the committed bundles
//
// The build is deterministic: the same package-lock.json gives the same bytes.
import * as esbuild from "esbuild";
import { mkdtempSync, readFileSync, rmSync, existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, "../..");
const bundles = [
  { entry: "src/unlock.js", out: resolve(here, "../default/static/js/unlock.js"), name: "unlock" },
  { entry: "src/search.js", out: resolve(here, "../default/static/js/search.js"), name: "search" },
];
const check = process.argv.includes("--check");

// typage ships no legal comment of its own, so its BSD-3-Clause licence (which
// asks binary redistributions to reproduce it) is appended from the installed
// package; esbuild keeps the noble and scure /*! ... */ notices at the end.
function licence(pkg, name) {
  const meta = JSON.parse(readFileSync(resolve(here, "node_modules", pkg, "package.json"), "utf8"));
  const text = readFileSync(resolve(here, "node_modules", pkg, "LICENSE"), "utf8").trim().replaceAll("*/", "* /");
  return `/*! ${name} ${meta.version} (${meta.license}) */\n/*!\n${text}\n*/`;
}
// conclave refuses to publish a file that holds the start of an age secret
// key, a plugin identity or a PEM private key header (internal/secret), and
// this bundle ships in every site: so typage's literals such as the X25519
// identity prefix are rewritten as ["AGE", "SECRET", ...].join("-"), which
// esbuild does not fold back, and the result is checked.
const needles = [["AGE", "SECRET", "KEY-"].join("-"), ["AGE", "PLUGIN-"].join("-")];
const splitNeedles = {
  name: "split-secret-prefixes",
  setup(build) {
    build.onLoad({ filter: /[\\/]age-encryption[\\/]dist[\\/].*\.js$/ }, async (args) => {
      const source = await readFile(args.path, "utf8");
      const contents = source.replace(/"([A-Z0-9-]*)"/g, (lit, s) =>
        needles.some((n) => s.includes(n)) ? `(${JSON.stringify(s.split("-"))}.join("-"))` : lit);
      return { contents, loader: "js" };
    });
  },
};

function secretsIn(code) {
  const found = needles.filter((n) => code.includes(n));
  for (const line of code.split("\n")) {
    const i = line.indexOf("-----BEGIN ");
    if (i >= 0 && line.includes("PRIVATE KEY-----", i)) found.push("a PEM private key header");
  }
  return found;
}

const mitNoble = readFileSync(resolve(here, "node_modules/@noble/hashes/LICENSE"), "utf8").trim().replaceAll("*/", "* /");

const unlockOptions = {
  entryPoints: [resolve(here, "src/unlock.js")],
  absWorkingDir: here,
  bundle: true,
  format: "esm",
  platform: "browser",
  target: "es2022",
  minify: true,
  legalComments: "eof",
  sourcemap: false,
  charset: "utf8",
  logLevel: "warning",
  plugins: [splitNeedles],
  banner: {
    js: "/* conclave unlock script. Generated from themes/unlock: npm --prefix themes/unlock ci && npm --prefix themes/unlock run build. Do not edit. */",
  },
  footer: {
    js: [
      licence("age-encryption", "age-encryption (typage, https://github.com/FiloSottile/typage)"),
      `/*! @noble/ciphers, @noble/curves, @noble/hashes, @noble/post-quantum, @scure/base (MIT) */\n/*!\n${mitNoble}\n*/`,
    ].join("\n"),
  },
};

// The search script bundles nothing but its own code and format.js: no
// licence to carry.
const searchOptions = {
  ...unlockOptions,
  entryPoints: [resolve(here, "src/search.js")],
  plugins: [],
  banner: {
    js: "/* conclave search script. Generated from themes/unlock: npm --prefix themes/unlock ci && npm --prefix themes/unlock run build. Do not edit. */",
  },
  footer: undefined,
};
const optionsOf = { unlock: unlockOptions, search: searchOptions };

async function build(name, outfile) {
  await esbuild.build({ ...optionsOf[name], outfile });
  const found = secretsIn(readFileSync(outfile, "latin1"));
  if (found.length) {
    console.error(`build failed: ${outfile} holds ${found.join(", ")}, which conclave refuses to publish`);
    process.exit(1);
  }
}

for (const { out: bundle, name } of bundles) {
  if (!check) {
    await build(name, bundle);
    console.log(`wrote ${relative(repo, bundle)} (${readFileSync(bundle).length} bytes)`);
    continue;
  }
  const dir = mkdtempSync(join(tmpdir(), "conclave-unlock-"));
  try {
    const fresh = join(dir, name + ".js");
    await build(name, fresh);
    const want = readFileSync(fresh);
    if (!existsSync(bundle)) {
      console.error(`check failed: ${relative(repo, bundle)} is missing; run: npm --prefix themes/unlock run build`);
      process.exit(1);
    }
    if (!readFileSync(bundle).equals(want)) {
      console.error(`check failed: ${relative(repo, bundle)} differs from a fresh build of themes/unlock/src; run: npm --prefix themes/unlock run build, and commit the result`);
      process.exit(1);
    }
    console.log(`${relative(repo, bundle)} matches a fresh build (${want.length} bytes)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
