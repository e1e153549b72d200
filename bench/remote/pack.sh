#!/usr/bin/env bash
# Makes the remote benchmark bundle: everything `run.sh` needs on a bare Linux x86-64 machine
# with an NVIDIA driver but no Node.js — this machine's Node binary, the CLI as one file
# (build.mjs buildStandalone), Dawn's addon for linux-x64, the bundled SOTU corpus prepared as
# `bench train` reads it, and the Vulkan loader's Debian package (its library unpacked too,
# for machines whose driver install left no libvulkan.so.1). xz-compressed; must stay under
# 60 MiB.
#   bench/remote/pack.sh [OUT.tar.xz]     (default bench/remote/electrolite-remote.tar.xz, git-ignored)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$root/bench/remote/electrolite-remote.tar.xz}
limit=$((60 * 1024 * 1024))
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
stage=$tmp/electrolite-remote
mkdir -p "$stage/bin" "$stage/app/node_modules/webgpu/dist/linux-x64" "$stage/lib" "$stage/debs" "$stage/data"
cd "$root"

echo "pack: node $(node --version) from $(command -v node)" >&2
cp "$(command -v node)" "$stage/bin/node"

echo "pack: the CLI as one file" >&2
node build.mjs
node -e "import('./build.mjs').then((m) => m.buildStandalone(process.argv[1]))" "$stage/app/cli.mjs"
web=node_modules/webgpu
[ -s "$stage/app/cli.mjs" ] || { echo "pack: the standalone CLI was not built" >&2; exit 1; }
cp "$web/package.json" "$web/index.js" "$stage/app/node_modules/webgpu/"
cp "$web/dist/linux-x64/dawn.node" "$stage/app/node_modules/webgpu/dist/linux-x64/"

echo "pack: the bundled SOTU corpus, prepared (vocabulary 8192, sequences of 128)" >&2
node dist/cli.js prepare --corpus bundled:sotu --vocab-size 8192 --seq-len 128 --out "$stage/data/sotu" >/dev/null

echo "pack: the Vulkan loader's Debian package" >&2
(cd "$stage/debs" && apt-get download libvulkan1 2>/dev/null) || { echo "pack: apt-get download libvulkan1 failed (is a Debian mirror reachable?)" >&2; exit 1; }
dpkg-deb -x "$stage"/debs/libvulkan1_*.deb "$tmp/vulkan"
cp -P "$tmp"/vulkan/usr/lib/x86_64-linux-gnu/libvulkan.so.1* "$stage/lib/"
cp "$root/bench/remote/run.sh" "$stage/run.sh"
git -C "$root" rev-parse HEAD > "$stage/COMMIT" 2>/dev/null || echo unknown > "$stage/COMMIT"

echo "pack: compressing" >&2
mkdir -p "$(dirname "$out")"
tar -C "$tmp" -cf - electrolite-remote | xz -T0 -6 > "$out.partial"
mv "$out.partial" "$out"
size=$(stat -c %s "$out")
echo "pack: $out: $((size / 1024 / 1024)) MiB ($size bytes; unpacked $(du -sm "$stage" | cut -f1) MiB)" >&2
if [ "$size" -ge "$limit" ]; then echo "pack: the bundle is above 60 MiB" >&2; exit 1; fi
