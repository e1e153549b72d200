// `electrolite bench <suite>`: benchmarks live in bench/ and are bundled into the CLI.
import { UsageError } from './args.js';
import { benchKernels } from '../../bench/kernels.js';
import { benchData } from '../../bench/data.js';
import { benchSteps } from '../../bench/steps.js';

const SUITES: Record<string, (argv: string[]) => Promise<number>> = {
  kernels: benchKernels,
  data: benchData,
  steps: benchSteps,
};

export async function benchCommand(argv: string[]): Promise<number> {
  const [suite, ...rest] = argv;
  const run = suite ? SUITES[suite] : undefined;
  if (!run) throw new UsageError(`bench: ${suite ? `unknown suite '${suite}'` : 'which suite?'} (available: ${Object.keys(SUITES).join(', ')})`);
  return run(rest);
}
