#!/usr/bin/env bash
# Runs the gateway's behaviour tests against @apollo/gateway exactly as npm publishes it,
# without patches/@apollo+gateway+<version>.patch: the patch must not change any answer, and
# an upgrade that makes the patched and the published package answer differently fails here
# rather than in production. What each hunk does, and what would retire it: patches/README.md.
#
#   scripts/unpatched-gateway.sh            the files in TESTS below
#   scripts/unpatched-gateway.sh <files>    those test files instead
#
# The published tarball comes through `npm pack` (npm's cache first, else the registry) and
# must match package-lock.json's integrity; no copy of it means failure, never a skip. It is
# unpacked under node_modules/.cache/ (so it loads the project's graphql and @apollo/*) and
# vitest.config.ts points `@apollo/gateway` there (MOSAIC_UNPATCHED_GATEWAY). The installed,
# patched package is not touched.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"

# Result shaping pinned function by function, then whole requests through the gateway:
# its edge duties, the GraphQL-over-HTTP audit, failing subgraphs, a feed page whose posts,
# authors and media come from three subgraphs (the path the patch speeds up), follow lists
# paged across the graph and user subgraphs, and accounts (with a repeated query that must
# follow each request's @skip/@include variables: the remembered Operation).
TESTS=(
  gateway/test/result-shaping.test.ts
  gateway/test/gateway.test.ts
  gateway/test/graphql-over-http.test.ts
  gateway/test/upstream.test.ts
  subgraphs/feed/test/feed-e2e.test.ts
  subgraphs/graph/test/follows.test.ts
  subgraphs/user/test/accounts.test.ts
)
if [ $# -gt 0 ]; then TESTS=("$@"); fi

fail() { echo "unpatched-gateway: $*" >&2; exit 1; }

version=$(node -p 'require("./node_modules/@apollo/gateway/package.json").version')
patch="patches/@apollo+gateway+$version.patch"
[ -f "$patch" ] || fail "installed @apollo/gateway is $version but there is no $patch"
integrity=$(node -p 'require("./package-lock.json").packages["node_modules/@apollo/gateway"].integrity')

mkdir -p node_modules/.cache
work=$(mktemp -d node_modules/.cache/unpatched-gateway.XXXXXX)
trap 'rm -rf "$work"' EXIT

npm pack --loglevel=error --prefer-offline --pack-destination "$work" "@apollo/gateway@$version" >/dev/null ||
  fail "npm pack @apollo/gateway@$version failed (no npm cache entry and no registry?)"
tarball=("$work"/apollo-gateway-*.tgz)
[ -f "${tarball[0]}" ] || fail "npm pack left no tarball"
actual=$(node -e 'const c = require("node:crypto"), fs = require("node:fs");
  console.log("sha512-" + c.createHash("sha512").update(fs.readFileSync(process.argv[1])).digest("base64"))' "${tarball[0]}")
[ "$actual" = "$integrity" ] ||
  fail "the tarball's integrity $actual is not package-lock.json's $integrity"
tar -xzf "${tarball[0]}" -C "$work"
pristine="$work/package"

# The published copy must differ from the installed one in exactly the files the patch
# edits: anything else means node_modules is not what package-lock.json describes.
patched_files=$(sed -n 's|^+++ b/node_modules/@apollo/gateway/||p' "$patch" | sort | tr '\n' ' ')
differing=$( (diff -rq "$pristine" node_modules/@apollo/gateway || [ $? -eq 1 ]) |
  sed -n "s|^Files $pristine/\(.*\) and .* differ$|\1|p; t; s|^Only in .*|&|p" | sort | tr '\n' ' ')
[ "$differing" = "$patched_files" ] || fail "installed vs published @apollo/gateway $version:
differing: ${differing:-nothing}
patched:   $patched_files"
if grep -rq 'Mosaic patch' "$pristine/dist"; then fail "the published copy carries the patch"; fi

echo "unpatched-gateway: @apollo/gateway $version as published (patch-free: ${patched_files% })"
MOSAIC_UNPATCHED_GATEWAY="$pristine" vitest run "${TESTS[@]}"
