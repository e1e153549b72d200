#!/usr/bin/env bash
# Runs the GPU benchmarks from the remote bundle (pack.sh) on a bare Linux x86-64 machine:
# unpacks it, finds the NVIDIA Vulkan driver, and runs `info --json`, `bench kernels --json`
# (f32 and f16 matmuls, both attention algorithms in f32 and f16), `bench kernels --tilings`
# (square and BERT-step matmuls with every tile the autotuner tries, workgroup-memory GPU
# tiles included, f32 and f16 inputs; each fused attention pass with every tile it tries),
# and `bench train --json` for small and base in f32 and f16, each
# part under its own time limit, writing OUTDIR/<part>.json, <part>.log and one line per
# part in OUTDIR/parts.jsonl; a part that fails or runs out of time does not stop the
# others, and one stopped at its limit still writes what it measured (`"partial": true`).
# The limits add up to under 8 minutes. Then a summary on stdout.
#   run.sh [--stand-in] OUTDIR    (the bundle: electrolite-remote.tar.xz beside this script, or $ELECTROLITE_BUNDLE)
# --stand-in: no NVIDIA lookup, the system's lavapipe instead, sizes a CPU can run (kernels:
# the 256 cases; train: tiny, batch 8) and 3× the limits (lavapipe compiles and tunes each
# kernel far slower than a GPU's driver) — to test the scripts without a GPU.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
standin=0
if [ "${1:-}" = --stand-in ]; then standin=1; shift; fi
[ $# = 1 ] || { echo "usage: run.sh [--stand-in] OUTDIR" >&2; exit 2; }
out=$1
mkdir -p "$out" && out=$(cd "$out" && pwd)
bundle=${ELECTROLITE_BUNDLE:-$here/electrolite-remote.tar.xz}
[ -f "$bundle" ] || { echo "run: no bundle at $bundle (make it with bench/remote/pack.sh)" >&2; exit 2; }
t0=$(date +%s)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tar -xJf "$bundle" -C "$work" || { echo "run: could not unpack $bundle" >&2; exit 1; }
app=$work/electrolite-remote
node=$app/bin/node cli=$app/app/cli.mjs
export LD_LIBRARY_PATH=$app/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
# The autotuner's cache and any prepared data stay inside the work directory.
export ELECTROLITE_CACHE_DIR=$work/cache
: > "$out/parts.jsonl"

if [ $standin = 1 ]; then
  adapter=lavapipe scale=3
  models=tiny batch=8 kernels_filter=(--filter 256) tilings_filter="tiling 256x"
  echo "run: stand-in: lavapipe, tiny at batch 8" >&2
else
  adapter=gpu scale=1
  models=small,base batch=32 kernels_filter=() tilings_filter=tiling
  icd=""
  for f in /usr/share/vulkan/icd.d/nvidia_icd*.json /etc/vulkan/icd.d/nvidia_icd*.json /usr/local/share/vulkan/icd.d/nvidia_icd*.json; do
    [ -f "$f" ] && { icd=$f; break; }
  done
  if [ -z "$icd" ]; then
    # No ICD manifest installed: point the loader at the driver's library directly.
    lib=$(ldconfig -p 2>/dev/null | awk '/libGLX_nvidia\.so\.0/ {print $NF; exit}')
    for d in /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/local/nvidia/lib64 /usr/lib; do
      [ -z "$lib" ] && [ -f "$d/libGLX_nvidia.so.0" ] && lib=$d/libGLX_nvidia.so.0
    done
    if [ -z "$lib" ]; then
      echo "run: no NVIDIA Vulkan driver found (no nvidia_icd.json, no libGLX_nvidia.so.0); --stand-in runs on lavapipe" >&2
      echo '{"part":"driver","rc":1,"seconds":0,"error":"no NVIDIA Vulkan driver found"}' >> "$out/parts.jsonl"
      exit 1
    fi
    icd=$work/nvidia_icd.json
    printf '{"file_format_version": "1.0.0", "ICD": {"library_path": "%s", "api_version": "1.3.0"}}\n' "$lib" > "$icd"
  fi
  export VK_DRIVER_FILES=$icd VK_ICD_FILENAMES=$icd
  echo "run: Vulkan driver $icd" >&2
  command -v nvidia-smi >/dev/null && nvidia-smi > "$out/nvidia-smi.txt" 2>&1
fi

# part NAME SECONDS ARGS…: one CLI command under a time limit; its JSON, its log, its line.
part() {
  local name=$1 limit=$(( $2 * scale )) start rc
  shift 2
  start=$(date +%s)
  echo "run: $name ($*), at most ${limit} s" >&2
  timeout --kill-after=10 "$limit" "$node" "$cli" "$@" > "$out/$name.json" 2> "$out/$name.log"
  rc=$?
  printf '{"part":"%s","rc":%d,"seconds":%d}\n' "$name" "$rc" "$(( $(date +%s) - start ))" >> "$out/parts.jsonl"
  [ $rc = 0 ] || echo "run: $name failed (exit $rc; $( [ $rc = 124 ] && echo 'out of time' || tail -n 1 "$out/$name.log"))" >&2
}

# Limits (s) on a GPU: 470 in all. The training parts get the most: each tunes its models'
# products first (tens of shape classes per model and precision).
part info 20 info --json --adapter "$adapter"
part kernels 120 bench kernels --json --no-tfjs --adapter "$adapter" "${kernels_filter[@]}"
part kernels-tilings 60 bench kernels --json --no-tfjs --tilings --filter "$tilings_filter" --adapter "$adapter"
part train-f32 130 bench train --json --model "$models" --batch "$batch" --steps 6 --adapter "$adapter" --data "$app/data/sotu"
# f16 beside f32 in one run (each objective's f16 step right after its f32 one: vs_f32); the
# f32-only part above comes first, so a failure here loses nothing of it.
part train-f16 140 bench train --json --model "$models" --batch "$batch" --steps 6 --precision f32,f16 --adapter "$adapter" --data "$app/data/sotu"

# The summary: what each part produced (a part's JSON may be empty or partial).
"$node" - "$out" <<'JS'
const fs = require('node:fs'), path = require('node:path');
const out = process.argv[2]; // node - OUTDIR: argv is [node, '-', OUTDIR]
const read = (n) => { try { return JSON.parse(fs.readFileSync(path.join(out, n + '.json'), 'utf8')); } catch { return null; } };
const parts = fs.readFileSync(path.join(out, 'parts.jsonl'), 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
// A part stopped at its limit (rc 124) may still have written its report so far (partial).
const kept = (p) => { const r = read(p.part); return r?.partial ? `, partial: ${r.results.length} results kept` : ''; };
console.log('parts: ' + parts.map((p) => `${p.part} ${p.rc === 0 ? 'ok' : (p.rc === 124 ? 'OUT OF TIME' : 'FAILED ' + p.rc) + kept(p)} (${p.seconds} s)`).join(', '));
const info = read('info');
if (info) console.log(`adapter: ${info.adapter?.description ?? '?'} (${info.kind}, ${info.backend}); f16 ${info.capabilities?.f16}, subgroups ${info.capabilities?.subgroups}; matmul ${info.matmulGflops ?? '?'} GFLOP/s`);
const k = read('kernels');
if (k) for (const r of k.results.filter((r) => r.kernel.startsWith('matmul')).sort((a, b) => (b.gflops ?? 0) - (a.gflops ?? 0)).slice(0, 5)) console.log(`kernel ${r.kernel} ${r.shape}: ${r.gflops} GFLOP/s`);
const t = read('kernels-tilings');
if (t) {
  // The best tile per shape and input storage: what the autotuner should pick on this device.
  const best = new Map();
  for (const r of t.results) if (r.gflops !== undefined) { const key = `${r.kernel} ${r.shape}`; if (!best.has(key) || best.get(key).gflops < r.gflops) best.set(key, r); }
  for (const [key, r] of best) console.log(`tiling ${key}: best ${r.tile} ${r.gflops} GFLOP/s (${t.results.filter((x) => `${x.kernel} ${x.shape}` === key && x.error).length} tiles did not fit)`);
}
for (const name of ['train-f32', 'train-f16']) {
  const t = read(name);
  if (t) for (const r of t.results) console.log(`${name} ${r.model} ${r.objective} ${r.precision}: ${r.tokens_per_s} tokens/s, ${r.step_ms} ms/step, MFU ${(100 * r.mfu_vs_matmul).toFixed(0)} % of the ${r.best_matmul_gflops} GFLOP/s matmul${r.mfu_vs_peak !== undefined ? `, ${(100 * r.mfu_vs_peak).toFixed(1)} % of peak` : ''}, ${r.peak_mem_mb} MB${r.vs_f32 !== undefined ? `, ${r.vs_f32}× the f32 step` : ''}`);
}
JS
echo "run: done in $(( $(date +%s) - t0 )) s; results in $out" >&2
