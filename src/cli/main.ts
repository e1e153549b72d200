// electrolite command line: dispatches to one module per command.
import { NoAdapterError } from '../gpu/adapter.js';
import { infoCommand } from './info.js';
import { demoCommand } from './demo.js';
import { benchCommand } from './bench.js';
import { prepareCommand } from './prepare.js';
import { tokenizeCommand } from './tokenize.js';
import { exportCommand } from './export.js';
import { predictCommand } from './predict.js';
import { pretrainCommand } from './pretrain.js';
import { finetuneCommand } from './finetune.js';
import { studyCommand, STUDY_DEFAULTS as SD } from './study.js';
import { webCommand } from './web.js';
import { UsageError } from './args.js';
import { relayNativeOutput } from './native-output.js';

const COMMANDS: Record<string, { run: (argv: string[]) => Promise<number>; help: string }> = {
  info: { run: infoCommand, help: 'adapter, backend, features, limits and a matmul throughput probe  [--json] [--adapter A]' },
  demo: { run: demoCommand, help: 'the default job of `npm start`  [--adapter A]' },
  bench: { run: benchCommand, help: 'benchmarks: `bench kernels [--json] [--adapter A]`' },
  prepare: { run: prepareCommand, help: 'corpus → tokenizer, packed shards, counts, clusters  --corpus P|bundled:NAME… --vocab-size N --seq-len L --out DIR' },
  pretrain: { run: pretrainCommand, help: 'pre-train an encoder  --objective mlm|slm|rts|crts|electra --model tiny|mini|small|base --data DIR --out RUN [--budget 2000|5M tokens|10m] [--batch B] [--lr LR] [--seed S] [--generator uniform|unigram --alpha A] [--generator-size 1/2] [--pre-ln] [--init-from HF_DIR] [--precision f32|f16] [--resume]' },
  finetune: { run: finetuneCommand, help: 'a classification head trained on a task, lr picked on validation, test scored once  --model RUN|HF_DIR|scratch:PRESET --task glue:NAME|as2|tsv:FILE|jsonl:FILE|bundled:NAME --out DIR [--epochs 3] [--lr 1e-4,3e-4] [--batch 32] [--max-len 128] [--data DIR] [--tokenizer DIR]' },
  study: { run: studyCommand, help: `every objective under one budget, fine-tuned and probed beside the no-pre-training floor; report.md/json and plots  --out DIR [--objectives ${SD.objectives}] [--model ${SD.model}] [--budget ${SD.budget}] [--tasks ${SD.tasks}] [--seeds ${SD.seeds}] [--checkpoints ${SD.checkpoints}]` },
  tokenize: { run: tokenizeCommand, help: 'token ids of each stdin line  --tokenizer DIR [--json]' },
  export: { run: exportCommand, help: 'a run as a Hugging Face model directory  --run RUN [--step N] --out DIR [--as auto|bert-mlm|electra-discriminator|electra-generator|bert]' },
  web: { run: webCommand, help: 'serve the web page (kernel check, benchmark and a pre-training run in your browser, dist/web/) on localhost  [--port 8080] [--host 127.0.0.1] [--data DIR] [--export DIR]' },
  predict: { run: predictCommand, help: 'top-5 at [MASK] / replaced-token probabilities per stdin line  --model RUN|DIR [--json] [--text T] [--ids]' },
};

function usage(): string {
  return (
    'usage: electrolite <command> [options]\n\ncommands:\n' +
    Object.entries(COMMANDS).map(([n, c]) => `  ${n.padEnd(8)} ${c.help}`).join('\n') +
    '\n\ncommon options:\n  --adapter auto|gpu|lavapipe|opengl|swiftshader   (or ELECTROLITE_ADAPTER)\n'
  );
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    process.stdout.write(usage());
    return cmd ? 0 : 2;
  }
  const c = COMMANDS[cmd];
  if (!c) {
    process.stderr.write(`electrolite: unknown command '${cmd}'\n\n${usage()}`);
    return 2;
  }
  return c.run(rest);
}

function flushThenExit(code: number): void {
  // Dawn's teardown races with Node's exit: always leave through process.exit once the
  // streams are flushed.
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}

// Dawn's native log lines are filtered by a relaying parent process (see native-output.ts).
if (!relayNativeOutput()) main(process.argv.slice(2)).then(flushThenExit, (e: unknown) => {
  const exitCode = (e as { exitCode?: unknown })?.exitCode;
  if (e instanceof NoAdapterError || typeof exitCode === 'number') {
    process.stderr.write(`electrolite: ${(e as Error).message}\n`);
    flushThenExit(exitCode as number);
  } else if (e instanceof UsageError) {
    process.stderr.write(`electrolite: ${e.message}\n`);
    flushThenExit(2);
  } else {
    const err = e as Error;
    process.stderr.write(`electrolite: ${err?.message ?? String(e)}\n`);
    if (process.env.ELECTROLITE_DEBUG) process.stderr.write(`${err?.stack}\n`);
    flushThenExit(1);
  }
});
