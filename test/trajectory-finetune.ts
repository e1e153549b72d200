// The fine-tuning trajectory's set-up, shared by its fixture dumper and its test: the MLM
// trajectory fixture's initial encoder written as a Hugging Face BertModel directory with the
// prepared corpus's tokenizer (an imported checkpoint, through the real export and import
// code), and the fine-tuning task and trainer built on it exactly as `finetune` builds them.
import { join } from 'node:path';
import type { Runtime } from '../src/gpu/runtime.js';
import { loadSafetensors, toFloat32 } from '../src/io/safetensors.js';
import { writeHfCheckpoint } from '../src/io/hf.js';
import { writeHfTokenizer } from '../src/io/export.js';
import { WordPieceTokenizer } from '../src/data/tokenizer.js';
import { encoderParams, makeConfig } from '../src/model/config.js';
import { Trainer } from '../src/train/trainer.js';
import { finetuneOptimizer, finetuningTask, prepareFinetune, type FinetuneGraph } from '../src/eval/finetune.js';
import { finetuneTrajectoryConfig, trajectoryConfig } from './trajectory-config.js';

/** `mlmInit`: test/fixtures/trajectory/mlm/init.safetensors. */
export async function finetuneTrajectoryTrainer(rt: Runtime, data: string, root: string, mlmInit: string): Promise<Trainer<FinetuneGraph>> {
  const mlm = trajectoryConfig('mlm');
  const init = loadSafetensors(mlmInit).tensors;
  const tok = WordPieceTokenizer.load(data);
  const cfg = makeConfig(mlm.preset, { vocabSize: tok.size, ...mlm.model });
  const encoder = new Map(encoderParams(cfg, '').map((s) => [s.name, toFloat32(init[s.name], s.name)]));
  const hf = join(root, 'imported');
  writeHfCheckpoint(hf, 'bert', cfg, encoder);
  writeHfTokenizer(hf, tok, cfg.maxPositions);
  const c = { ...finetuneTrajectoryConfig(), model: hf, out: join(root, 'finetune') };
  const { task, start, splits, seqLen } = prepareFinetune(c);
  const ft = finetuningTask(task, start, { ...c, splits, seqLen });
  return Trainer.forTask(rt, ft, finetuneOptimizer(ft, c, c.lrs[0], join(c.out, 'lr-0.001')));
}
