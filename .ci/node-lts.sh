#!/usr/bin/env bash
# Fetch a Node.js runtime from the npm registry (package node-linux-<arch>: the official binary and its
# headers) and print the directory it unpacked to (its bin/node is the runtime, the directory itself is
# the --nodedir for native rebuilds). Cached under $H3LIX_NODE_CACHE (default ~/.cache/h3lix-node).
# Usage: .ci/node-lts.sh [MAJOR=24] [ARCH=x64]
set -euo pipefail
major="${1:-24}"
arch="${2:-x64}"
cache="${H3LIX_NODE_CACHE:-$HOME/.cache/h3lix-node}"
mkdir -p "$cache"
version=$(npm view "node-linux-$arch@$major" version --json 2>/dev/null | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const v=JSON.parse(s);const l=Array.isArray(v)?v:[v];l.sort((a,b)=>{const x=a.split(".").map(Number),y=b.split(".").map(Number);return x[0]-y[0]||x[1]-y[1]||x[2]-y[2]});console.log(l.pop())})')
dir="$cache/node-linux-$arch-$version"
if [ ! -x "$dir/bin/node" ]; then
  tmp=$(mktemp -d "$cache/.fetch-XXXXXX")
  (cd "$tmp" && npm pack "node-linux-$arch@$version" --silent >/dev/null)
  tar -xzf "$tmp"/node-linux-"$arch"-"$version".tgz -C "$tmp"
  rm -rf "$dir"
  mv "$tmp/package" "$dir"
  rm -rf "$tmp"
fi
echo "$dir"
