// Sums a `bench steps --profile --json` result's kernels by what they belong to (bench/RESULTS.md,
// sixteenth session: the last layer's queries at the selected rows). Usage, one JSON per run
// (alternate the checkouts being compared, one after the other):
//   node dist/cli.js bench steps --preset mini --batch 32 --objectives mlm --steps 3 --profile 200 --json > a1.json
//   node bench/probes/step-groups.mjs a1.json b1.json a2.json …
import { readFileSync } from 'node:fs';

const GROUPS = [
  ['q/k/v products', (k) => /\.(qkv|kv|query|key|value)\b/.test(k)],
  ['output projection', (k) => k.includes('attention.output.dense')],
  ['attention', (k) => k.includes('attention')],
  ['gathers, scatters', (k) => k.includes('gather_rows') || k.includes('query_rows')],
  ['xent', (k) => k.includes('xent')],
  ['ffn', (k) => k.includes('intermediate') || k.includes('output.dense')],
];

for (const file of process.argv.slice(2)) {
  const r = JSON.parse(readFileSync(file, 'utf8')).results[0];
  if (!r.profile) throw new Error(`${file}: no profile (run bench steps with --profile)`);
  const sums = new Map([...GROUPS.map(([g]) => [g, 0]), ['other', 0]]);
  for (const k of r.profile.kernels) {
    const name = `${k.phase} ${k.kernel}`;
    const g = GROUPS.find(([, test]) => test(name))?.[0] ?? 'other';
    sums.set(g, sums.get(g) + k.ms);
  }
  console.log(`${file}: step ${r.ms.toFixed(0)} ms; ${[...sums].map(([g, ms]) => `${g} ${ms.toFixed(1)}`).join(', ')}`);
}
