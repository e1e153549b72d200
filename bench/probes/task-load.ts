// What loading a bundled task costs, first and again in the same process (bench/RESULTS.md,
// eighteenth session: bundled tasks are read once per process). Bundle and run:
//   npx esbuild bench/probes/task-load.ts --bundle --platform=node --format=esm --outfile=scratch/task-load.mjs
//   node scratch/task-load.mjs [bundled:spam]
import { loadTask } from '../../src/eval/tasks.js';

const name = process.argv[2] ?? 'bundled:spam';
for (let i = 0; i < 3; i++) {
  const t0 = performance.now();
  const task = loadTask(name);
  console.log(`${name}: load ${i + 1} ${(performance.now() - t0).toFixed(0)} ms (${task.splits.train.length} training examples)`);
}
