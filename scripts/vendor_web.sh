#!/usr/bin/env bash
# Copies the web app's browser libraries from npm (web/package-lock.json, exact versions) into
# fastapi_app/web/static/vendor/, with their licences and VENDOR.json (package, version, licence,
# sha256 of each file). The copies are committed: ./start_dev.sh and production need no node, no
# build step and no internet. Run this only to change a library's version (edit web/package.json,
# `npm install --save-exact` in web/, then this script, then commit vendor/ and the lock file).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WEB="$ROOT/web"
VENDOR="$ROOT/fastapi_app/web/static/vendor"

command -v npm >/dev/null || { echo "vendor_web.sh: npm is needed (apt-get install npm)" >&2; exit 1; }
(cd "$WEB" && npm ci --no-audit --no-fund --ignore-scripts)

rm -rf "$VENDOR"
mkdir -p "$VENDOR"
NM="$WEB/node_modules"

# dest|source (relative to node_modules)|package whose version and licence it carries
FILES=(
  "htm-preact-standalone.module.js|htm/preact/standalone.module.js|htm"
  "LICENSE-htm.txt|htm/LICENSE|htm"
  "chart.umd.js|chart.js/dist/chart.umd.js|chart.js"
  "LICENSE-chart.js.txt|chart.js/LICENSE.md|chart.js"
  "LICENSE-kurkle-color.txt|@kurkle/color/LICENSE.md|@kurkle/color"
  # GraphiQL at /api/v1/graphql (fastapi_app/api/graphql): its UMD build (graphql and graphql-ws inside)
  # over React 18's UMD builds, the last React with UMD builds.
  "graphiql.min.js|graphiql/graphiql.min.js|graphiql"
  "graphiql.min.css|graphiql/graphiql.min.css|graphiql"
  "LICENSE-graphiql.txt|graphiql/LICENSE|graphiql"
  "react.production.min.js|react/umd/react.production.min.js|react"
  "LICENSE-react.txt|react/LICENSE|react"
  "react-dom.production.min.js|react-dom/umd/react-dom.production.min.js|react-dom"
  "LICENSE-react-dom.txt|react-dom/LICENSE|react-dom"
)
for entry in "${FILES[@]}"; do
  IFS='|' read -r dest src _ <<<"$entry"
  cp "$NM/$src" "$VENDOR/$dest"
done
# htm's standalone build bundles Preact, whose licence text htm's package does not ship.
cp "$WEB/licenses/preact-LICENSE.txt" "$VENDOR/LICENSE-preact.txt"

# VENDOR.json from the lock file's versions and the package manifests' licences.
FILES_SPEC="$(printf '%s\n' "${FILES[@]}")" node - "$WEB" "$VENDOR" <<'JS'
const fs = require("fs");
const path = require("path");
const crypto = require("crypto");
const [web, vendor] = process.argv.slice(2);
const lock = JSON.parse(fs.readFileSync(path.join(web, "package-lock.json"), "utf8"));
const out = {};
const sha = (f) => crypto.createHash("sha256").update(fs.readFileSync(path.join(vendor, f))).digest("hex");
for (const line of process.env.FILES_SPEC.trim().split("\n")) {
  const [dest, , pkg] = line.split("|");
  const meta = lock.packages["node_modules/" + pkg];
  out[dest] = { package: pkg, version: meta.version, licence: meta.license, sha256: sha(dest) };
}
// Preact inside htm's standalone bundle: its version is htm's build's, recorded as bundled.
out["LICENSE-preact.txt"] = { package: "preact", version: "bundled in htm " + lock.packages["node_modules/htm"].version, licence: "MIT", sha256: sha("LICENSE-preact.txt") };
const sorted = Object.fromEntries(Object.keys(out).sort().map((k) => [k, out[k]]));
fs.writeFileSync(path.join(vendor, "VENDOR.json"), JSON.stringify(sorted, null, 2) + "\n");
JS
echo "vendored into $VENDOR:"
ls -l "$VENDOR"
