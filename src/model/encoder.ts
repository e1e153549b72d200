// The BERT encoder on the GPU, as explicit forward and backward op lists over named
// parameters (Hugging Face's names): embeddings (word + position + type, LayerNorm,
// dropout) → N post-LN layers (QKV projection, fused attention, output projection,
// dropout + residual LayerNorm, FFN with GELU, dropout + residual LayerNorm: with f32
// activations each branch's dropout runs inside the LayerNorm that follows it, forward and
// backward). Padded positions are not computed (EncoderInputs.lengths). The ELECTRA
// generator builds it with another encoder's embeddings (EncoderOptions.embeddingsPrefix)
// and, when their width differs from its hidden size, its own embeddings_project.
//
// Everything is built once for a (batch, sequence) shape: activations live in an arena
// allocated here, ops are recorded every step with no allocation. Memory: what backward reads
// is kept per layer; what it does not (a branch's dense output and, in f16, its dropout;
// GELU's output where it is recomputed in backward) is one scratch for all layers; and an evaluation encoder borrows the
// training encoder's tensors (EncoderShare). Parameter gradients
// ACCUMULATE (the trainer zeroes them at the start of an optimizer step), so gradient
// accumulation over micro-batches needs nothing special. Activation gradients are
// overwritten. src/model/reference.ts is the float64 twin of this file.
//
// Pre-LN (EncoderConfig.preLayerNorm; Xiong et al. 2020, "On Layer Normalization in the
// Transformer Architecture"): the embeddings are as above (with their LayerNorm), then per
// layer
//     x ← x + Dropout(Attn(LN₁(x)));   x ← x + Dropout(FFN(LN₂(x)))
// and a final LayerNorm after the last layer, so the heads read normalised states. The
// per-layer LayerNorms keep BERT's parameter names: LN₁ (before attention) is
// `encoder.layer.i.attention.output.LayerNorm`, LN₂ (before the FFN) is
// `encoder.layer.i.output.LayerNorm`; the final one is `encoder.final_layer_norm` (only
// present in pre-LN models; transformers' BERT/ELECTRA cannot represent them, and export
// refuses). Every residual add except the first layer's input is fused into the LayerNorm
// that follows it (the residual variant writes the sum — the new stream — and its
// normalisation): x + branch → (stream, LN₂(stream)) and, at the end of a layer, (next
// stream, next layer's LN₁ or the final LN of it). Backward: the stream gradient passes each
// branch, the branch's LayerNorm backward gives that branch's part, and an elementwise add
// sums the two (two stream buffers, alternated: no buffer is read and written by one op).
//
// Output rows (EncoderOptions.outputRows): when a head reads only some positions of the final
// hidden states (the MLM head its selection), a post-LN encoder's last layer computes the
// rest only where those rows need it. Keys and values stay every position's; the queries,
// attention and output projection run at the rows regrouped per sequence (query_rows; with
// the materialised attention, whose products take a query count per sequence) and the FFN at
// the rows as listed (gathered); each branch's output is scattered back to [N, h], zero
// elsewhere, for its residual LayerNorm, which keeps every row so its dropout masks are
// unchanged. For BERT's 15 % that layer costs about what its k, v products do.
//
// Mixed precision (EncoderOptions.mixed; src/model/precision.ts): every activation and
// activation gradient below is f16 (LayerNorm stats and attention's lse stay f32), and the
// matmuls read f16 copies of their weights, refreshed from the f32 masters by casts at the
// start of the forward. Nothing else changes: the same ops, f16 variants of the same kernels.
import type { Runtime, Op } from '../gpu/runtime.js';
import { spanOf, type Tensor } from '../gpu/tensor.js';
import { attention, attentionBackward, releaseAttentionScratch, type AttentionAlgorithm, type AttentionForward, type AttentionScratch } from '../kernels/attention.js';
import { layerNorm, layerNormBackward } from '../kernels/layernorm.js';
import { gelu, geluBackward } from '../kernels/gelu.js';
import { dropout, dropoutBackward } from '../kernels/dropout.js';
import { embedding, embeddingBackward } from '../kernels/embedding.js';
import { binary } from '../kernels/elementwise.js';
import { gatherRows, queryRows, scatterRows } from '../kernels/gather.js';
import { geluForm, type EncoderConfig } from './config.js';
import { grad, param, type ModelParams } from './params.js';
import { DROPOUT_SITES } from './dropout-sites.js';
import { linearBackward, linearForward, view2d, type Padding, type RowLimit } from './linear.js';
import { halfOf, type MixedPrecision } from './precision.js';

export interface EncoderInputs {
  /** [B, T] u32 token ids (already corrupted by the objective). */
  ids: Tensor;
  /** [B, T] u32 token types. */
  types: Tensor;
  /**
   * [B] u32 valid lengths (padding at the end). Positions at or past them are not computed:
   * the linear layers skip them, so their hidden states are not BERT's (zero before each
   * layer norm); nothing real reads them.
   */
  lengths: Tensor;
}

export interface EncoderOptions {
  /** u32 [seed, step] tensor for hidden-dropout masks (written by the trainer each step). */
  dropoutRng: Tensor;
  /** Seed of attention dropout. */
  seed: number;
  /** Offset of this encoder's dropout streams (the ELECTRA generator uses another). */
  streamBase?: number;
  /**
   * Prefix of the embeddings module's parameters (default: this encoder's prefix). The
   * ELECTRA generator passes '' to share the discriminator's. When the embeddings' width
   * (the word table's columns) differs from hiddenSize, `${prefix}embeddings_project`
   * (Linear, embedding size → hidden) follows the embedding LayerNorm and dropout, as in
   * Hugging Face's ElectraModel.
   */
  embeddingsPrefix?: string;
  /** Build no backward (inference, evaluation). */
  forwardOnly?: boolean;
  /** Attention algorithm (default 'auto': the autotuner's choice; see src/kernels/attention.ts). */
  attention?: AttentionAlgorithm | 'auto';
  /**
   * What this encoder shares with the other encoder of the same shape that never runs at the
   * same time (a trainer's training and evaluation graphs of one length): see EncoderShare.
   * Default: nothing shared.
   */
  share?: EncoderShare;
  /** Mixed precision: f16 activations and weight copies (see the header). Default: all f32. */
  mixed?: MixedPrecision;
  /**
   * The only positions anything reads of the final hidden states (the MLM head's selection:
   * a u32 list of flattened positions, 0xffffffff past its count, which is count[countOffset]).
   * The list must be increasing (the selection's order). Post-LN: the last layer's queries,
   * attention, output projection and FFN then run at those rows alone (see the header) — for
   * BERT's 15 %, ~85 % of their products saved; the final hidden states elsewhere are not
   * BERT's, and dHidden must be zero there (the MLM head's scatter writes it so). Pre-LN
   * encoders compute every row.
   */
  outputRows?: OutputRows;
  /**
   * Keep each layer's GELU output from the forward for the backward (which then skips
   * recomputing it from the pre-activation). Default: when every layer's fit in
   * KEPT_GELU_BYTES together.
   */
  keepGeluOutput?: boolean;
}

/**
 * Attention scores an encoder keeps from its forward for its backward (materialised
 * attention: the backward then skips one matmul per layer) when every layer's fit in this
 * together; else none are kept. At batch 32 × 128, `tiny` (2 × 4 MiB) and `mini` (4 × 8 MiB)
 * keep them; `small` (12 × 8 MiB) does not, so its memory stays as it was (under 1 GiB).
 */
export const KEPT_SCORES_BYTES = 32 * 2 ** 20;

/**
 * The same for the FFN's GELU output ([N, F] per layer), which the backward otherwise
 * recomputes for the output dense's weight gradient: `tiny` (2 × 8 MiB) and `mini` (4 × 16
 * MiB) keep it at batch 32 × 128; `small` (12 × 32 MiB) does not.
 */
export const KEPT_GELU_BYTES = 64 * 2 ** 20;

/**
 * Memory two encoders of one shape share because they never run at once (a trainer's
 * training and evaluation graphs; one queue runs their submits in order): the materialised
 * attention's scratch, and the activations — the training encoder (built first) lends each
 * of its tensors under its label, shape and dtype, and the forward-only encoder built after
 * it borrows every one it names the same, once, instead of allocating its own. Nothing of an
 * activation outlives the submit that writes it (every forward writes each one before it is
 * read), so the evaluation's forward leaves nothing the next training step reads; the lender
 * releases the tensors.
 */
export interface EncoderShare {
  attention: AttentionScratch;
  activations: Map<string, Tensor>;
}

export function newEncoderShare(): EncoderShare {
  return { attention: {}, activations: new Map() };
}

/** EncoderOptions.outputRows. */
export interface OutputRows {
  list: Tensor;
  count: Tensor;
  countOffset?: number;
}

/** The last layer's FFN at the output rows only (EncoderOptions.outputRows): its input there, and the inverse index its scatters share. */
interface FfnRows extends OutputRows {
  input: Tensor; // [cap, h]: LN₁'s output at the listed rows
  inv: Tensor; // u32 [N]
}

type QkvPart = 'query' | 'key' | 'value';
const QKV_PARTS: readonly QkvPart[] = ['query', 'key', 'value'];

/** A linear product of some of a layer's q, k, v projections (Encoder.projections): its columns of qkv start at first·h. */
interface Projection {
  key: string; // the weight's name for its f16 copy
  label: string;
  first: number;
  width: number;
  W: Tensor;
  b: Tensor;
  /** The weight's and bias's gradients (a forward-only model has none). */
  grads(): { dW: Tensor; db: Tensor };
}

/**
 * The last layer's attention at the selected queries only (EncoderOptions.outputRows with
 * the materialised attention): the output rows regrouped per sequence (query_rows), the
 * layer input there, and the padding-style limit their products run under.
 */
interface SelectedQueries {
  rows: Tensor; // u32 [N]: sequence b's selected rows at b·T + j
  limits: Tensor; // u32 [2B]: lengths, then the counts
  inv: Tensor; // u32 [N]: the scatters' inverse index
  input: Tensor; // [N, h]: the layer input at `rows` (zero past each count)
  pad: Padding; // each sequence's count of rows
}

/** Where a branch's backward puts its input gradient: written, or added to dx's contents. */
interface InputGradient {
  dx: Tensor;
  accumulate: boolean;
}

/** Gradient scratch shared by the layers' backward passes. */
interface BackwardBuffers {
  dTmp: Tensor;
  dAct: Tensor;
  dPre: Tensor;
  dCtx: Tensor;
  dQkv: Tensor;
}

/** A residual branch's output before its hidden dropout, and that dropout's site. */
interface BranchOutput {
  dense: Tensor;
  stream: number;
}

/** What a layer's backward reads of its attention branch (see attentionBranchForward). */
interface AttentionActs {
  qkv: Tensor; // [B, T, 3h] (with queries: their q rows regrouped per sequence)
  ctx: Tensor; // [N, h] (with queries: at their rows only)
  lse: Tensor; // [B, H, T]
  attn: AttentionForward;
  queries: SelectedQueries | null;
}

/** A post-LN layer's activations (see the header). */
interface LayerActs extends AttentionActs {
  x: Tensor; // layer input [N, h]
  sum1: Tensor; // x + attention branch: LN₁'s input
  stats1: Tensor;
  y1: Tensor; // LN₁'s output, the FFN's input
  pre: Tensor; // [N, F] ([cap, F] with rows)
  act: Tensor | null; // GELU(pre) when kept (keepsGeluOutput), else recomputed from pre in backward
  rows: FfnRows | null; // the last layer with EncoderOptions.outputRows: the FFN ran at those rows only
  sum2: Tensor; // y1 + FFN branch: LN₂'s input
  stats2: Tensor;
  y2: Tensor;
}

/** A pre-LN layer's activations (see the header). */
interface PreLayerActs extends AttentionActs {
  x: Tensor; // residual stream in [N, h]: LN₁'s input (layer 0: the embeddings' output; then the previous layer's sum)
  u: Tensor; // LN₁(x), the attention's input [N, h]
  statsU: Tensor;
  r: Tensor; // x + attention branch: LN₂'s input [N, h]
  statsV: Tensor;
  v: Tensor; // LN₂(r), the FFN's input
  pre: Tensor;
  act: Tensor | null;
}

export class Encoder {
  readonly forwardOps: Op[] = [];
  readonly backwardOps: Op[] = [];
  /** Final hidden states [N, h]. */
  hidden!: Tensor;
  /** Gradient of the loss w.r.t. `hidden`: the head writes it before backward runs (null when forward-only). */
  dHidden: Tensor | null = null;
  private layers: LayerActs[] = [];
  private preLayers: PreLayerActs[] = [];
  /** Pre-LN: the last layer's output stream (the final LayerNorm's input) and its stats. */
  private finalX: Tensor | null = null;
  private finalStats: Tensor | null = null;
  private arena: Tensor[] = [];
  /** The layers' linear products skip padded positions (their hidden states are not computed: zero). */
  private padding!: Padding;

  /** One scratch for every layer's materialised attention (layers run one after another). */
  private attnScratch: AttentionScratch = {};

  private constructor(
    readonly rt: Runtime,
    readonly cfg: EncoderConfig,
    readonly params: ModelParams,
    readonly prefix: string,
    readonly B: number,
    readonly T: number,
  ) {}

  get N(): number {
    return this.B * this.T;
  }

  static async build(rt: Runtime, cfg: EncoderConfig, params: ModelParams, prefix: string, inputs: EncoderInputs, opts: EncoderOptions): Promise<Encoder> {
    const [B, T] = inputs.ids.shape;
    if (T > cfg.maxPositions) throw new Error(`encoder: sequence length ${T} exceeds max_position_embeddings ${cfg.maxPositions}`);
    const e = new Encoder(rt, cfg, params, prefix, B, T);
    e.padding = { lengths: inputs.lengths, seqLen: T };
    if (opts.mixed) e.actType = 'f16';
    if (opts.share) {
      e.share = opts.share;
      e.lending = opts.forwardOnly ? 'borrow' : 'lend';
    }
    await e.buildForward(inputs, opts);
    // Mixed precision: the f16 weight copies are refreshed before anything reads them.
    e.forwardOps.unshift(...e.castOps);
    e.forwardBuilt = true;
    if (!opts.forwardOnly) await e.buildBackward(inputs, opts);
    return e;
  }

  /** Lend (training) or borrow (forward-only) activations through the EncoderShare; set by build. */
  private lending: 'lend' | 'borrow' | null = null;
  private share: EncoderShare | null = null;

  /** The dtype of activations and their gradients: f16 in mixed precision. */
  private actType: 'f32' | 'f16' = 'f32';

  /** An activation (or activation gradient) tensor, of the activation dtype. */
  private act(shape: number[], label: string): Tensor {
    return this.tensor(shape, label, this.actType);
  }

  private tensor(shape: number[], label: string, dtype: 'f32' | 'f16' | 'u32' = 'f32'): Tensor {
    const key = `${this.prefix}${label} ${dtype} [${shape.join(', ')}]`;
    if (this.lending === 'borrow') {
      const lent = this.share!.activations.get(key);
      if (lent) {
        // Once: a second tensor of the same name in this encoder must not alias the first.
        this.share!.activations.delete(key);
        return lent;
      }
    }
    const x = this.rt.empty(shape, dtype, `${this.prefix}${label}`);
    this.arena.push(x);
    if (this.lending === 'lend' && !this.share!.activations.has(key)) this.share!.activations.set(key, x);
    return x;
  }

  private param(name: string): Tensor {
    return param(this.params, this.prefix + name);
  }

  private grad(name: string): Tensor {
    return grad(this.params, this.prefix + name);
  }

  /** The weights the matmuls read, by name: the master, or in mixed precision its f16 copy (cast at the start of the forward). */
  private weights = new Map<string, Tensor>();
  private castOps: Op[] = [];
  private forwardBuilt = false;

  /** A matmul's weight: the f32 parameter, or its f16 copy (see `weights`). */
  private weight(name: string): Promise<Tensor> {
    return this.matmulWeight(name, this.param(name));
  }

  /** `master` (a parameter, or a span of parameters known by `key`) as the matmuls read it: itself, or its f16 copy. */
  private async matmulWeight(key: string, master: Tensor): Promise<Tensor> {
    if (this.actType === 'f32') return master;
    let w = this.weights.get(key);
    if (!w) {
      // Casts run at the start of the forward: a weight first read by the backward would be stale.
      if (this.forwardBuilt) throw new Error(`encoder: '${this.prefix}${key}' is read by the backward only; its f16 copy would never be refreshed`);
      const h = await halfOf(this.rt, this.params, this.prefix + key, master);
      this.castOps.push(h.cast);
      this.weights.set(key, (w = h.tensor));
    }
    return w;
  }

  /**
   * Layer l's query, key and value projections over `groups` of consecutive parts: a group
   * is one linear layer, its weights [parts·h, h] and biases viewed across the parameters
   * where the arenas hold them one after another with no gap (every hidden size that is a
   * multiple of 64: parts start at 256-byte boundaries), else one per part. One product
   * instead of three each way: fewer dispatches, and the input gradient sums over 3h in one
   * pass instead of being added to twice.
   */
  private projections(l: number, groups: readonly (readonly QkvPart[])[]): Projection[] {
    return groups.flatMap((g) => this.projection(l, g) ?? g.map((part) => this.projection(l, [part])!));
  }

  /** One projection over `parts` (consecutive), or null where their parameters are not contiguous. */
  private projection(l: number, parts: readonly QkvPart[]): Projection | null {
    const h = this.cfg.hiddenSize, L = `encoder.layer.${l}.`, A = `${L}attention.self.`;
    const first = QKV_PARTS.indexOf(parts[0]), width = parts.length * h;
    if (parts.length === 1) {
      const n = `${A}${parts[0]}`;
      return { key: `${n}.weight`, label: `${L}${parts[0]}`, first, width, W: this.param(`${n}.weight`), b: this.param(`${n}.bias`), grads: () => ({ dW: this.grad(`${n}.weight`), db: this.grad(`${n}.bias`) }) };
    }
    const name = parts.length === 3 ? 'qkv' : parts.map((x) => x[0]).join('');
    const span = (what: 'weight' | 'bias', of: (name: string) => Tensor, labelPrefix: string) =>
      spanOf(parts.map((x) => of(`${A}${x}.${what}`)), what === 'weight' ? [width, h] : [width], `${labelPrefix}${this.prefix}${A}${name}.${what}`);
    const W = span('weight', (n) => this.param(n), ''), b = span('bias', (n) => this.param(n), '');
    if (!W || !b) return null;
    // The gradient arenas share the parameters' layout.
    const grads = () => {
      const dW = span('weight', (n) => this.grad(n), 'grad '), db = span('bias', (n) => this.grad(n), 'grad ');
      if (!dW || !db) throw new Error(`encoder: layer ${l}'s ${parts.join(', ')} gradients are not laid out as their parameters`);
      return { dW, db };
    };
    return { key: `${A}${name}.weight`, label: `${L}${name}`, first, width, W, b, grads };
  }

  private embSum!: Tensor;
  private embStats!: Tensor;
  private embLn!: Tensor;
  private embPrefix = '';
  /** Embedding width E (= hiddenSize unless projected). */
  private E = 0;
  /** Input of embeddings_project (the embeddings after LayerNorm and dropout), when E ≠ h. */
  private embOut: Tensor | null = null;

  /** A parameter of the (possibly shared) embeddings module. */
  private embeddingParam(name: string): Tensor {
    return param(this.params, this.embPrefix + name);
  }

  private embeddingGrad(name: string): Tensor {
    return grad(this.params, this.embPrefix + name);
  }

  private async buildForward(inp: EncoderInputs, o: EncoderOptions): Promise<void> {
    const { rt, cfg, N } = this;
    const h = cfg.hiddenSize;
    const base = o.streamBase ?? 0;
    const f = this.forwardOps;

    // Embeddings (width E; projected to h when they differ).
    this.embPrefix = o.embeddingsPrefix ?? this.prefix;
    const E = (this.E = this.embeddingParam('embeddings.word_embeddings.weight').shape[1]);
    this.embSum = this.act([N, E], 'emb.sum');
    this.embStats = this.tensor([N, 2], 'emb.stats');
    this.embLn = this.act([N, E], 'emb.ln');
    f.push(await embedding(rt, inp.ids, inp.types, { word: this.embeddingParam('embeddings.word_embeddings.weight'), position: this.embeddingParam('embeddings.position_embeddings.weight'), type: this.embeddingParam('embeddings.token_type_embeddings.weight') }, this.embSum));
    f.push(await layerNorm(rt, this.embSum, this.embeddingParam('embeddings.LayerNorm.weight'), this.embeddingParam('embeddings.LayerNorm.bias'), this.embLn, this.embStats, { eps: cfg.layerNormEps }));
    let x = await this.dropoutForward(this.embLn, () => this.act([N, E], 'emb.dropout'), DROPOUT_SITES.embeddings(base), o);
    if (E !== h) {
      this.embOut = x;
      const xp = this.act([N, h], 'emb.project');
      f.push(await linearForward(rt, x, await this.weight('embeddings_project.weight'), this.param('embeddings_project.bias'), xp, 'embeddings_project'));
      x = xp;
    }
    if (cfg.preLayerNorm) return this.buildPreLnLayers(x, inp, o);

    // Post-LN (BERT): x + Attn(x) → LN₁ → y₁;  y₁ + FFN(y₁) → LN₂ → the next layer's x.
    const eps = cfg.layerNormEps;
    for (let l = 0; l < cfg.numLayers; l++) {
      const L = `encoder.layer.${l}.`;
      const rows = l === cfg.numLayers - 1 ? o.outputRows : undefined;
      const queries = rows ? await this.selectedQueries(l, x, rows, inp, o) : null;
      const attn = await this.attentionBranchForward(l, x, inp, o, queries);
      const ln1 = await this.residualLayerNorm(`${L}attention.output.LayerNorm`, attn.out, x, `${L}sum1`, `${L}stats1`, `${L}y1`, eps, o);
      const ffn = rows ? await this.ffnRowsForward(l, ln1.y, rows, o) : { ...(await this.ffnBranchForward(l, ln1.y, o)), rows: null };
      const ln2 = await this.residualLayerNorm(`${L}output.LayerNorm`, ffn.out, ln1.y, `${L}sum2`, `${L}stats2`, `${L}y2`, eps, o);
      this.layers.push({ x, ...attn.acts, sum1: ln1.sum, stats1: ln1.stats, y1: ln1.y, pre: ffn.pre, act: ffn.act, rows: ffn.rows, sum2: ln2.sum, stats2: ln2.stats, y2: ln2.y });
      x = ln2.y;
    }
    this.hidden = x;
  }

  /** Pre-LN layers and the final LayerNorm over the embeddings' output x (see the header). */
  private async buildPreLnLayers(x: Tensor, inp: EncoderInputs, o: EncoderOptions): Promise<void> {
    const { rt, cfg, N } = this;
    const h = cfg.hiddenSize, eps = cfg.layerNormEps;
    const f = this.forwardOps;
    const lnName = (l: number) => (l < cfg.numLayers ? `encoder.layer.${l}.attention.output.LayerNorm` : 'encoder.final_layer_norm');
    // Layer 0's LN₁ reads the embeddings' output; every later LN₁ (and the final LN) is fused
    // with the residual add that ends the layer before.
    let u = this.act([N, h], 'encoder.layer.0.ln1');
    let statsU = this.tensor([N, 2], 'encoder.layer.0.stats1');
    f.push(await layerNorm(rt, x, this.param(`${lnName(0)}.weight`), this.param(`${lnName(0)}.bias`), u, statsU, { eps }));
    for (let l = 0; l < cfg.numLayers; l++) {
      const L = `encoder.layer.${l}.`;
      const attn = await this.attentionBranchForward(l, u, inp, o);
      // r = x + Attn(u) and v = LN₂(r), one op.
      const ln2 = await this.residualLayerNorm(`${L}output.LayerNorm`, attn.out, x, `${L}stream.mid`, `${L}stats2`, `${L}ln2`, eps, o);
      const ffn = await this.ffnBranchForward(l, ln2.y, o);
      // The next stream = r + FFN(v), normalised by the next layer's LN₁ (or the final LN), one op.
      const last = l + 1 === cfg.numLayers;
      const next = await this.residualLayerNorm(lnName(l + 1), ffn.out, ln2.sum, `${L}stream.out`, last ? 'encoder.final_layer_norm.stats' : `encoder.layer.${l + 1}.stats1`, last ? 'encoder.final_layer_norm' : `encoder.layer.${l + 1}.ln1`, eps, o);
      this.preLayers.push({ x, u, statsU, ...attn.acts, r: ln2.sum, statsV: ln2.stats, v: ln2.y, pre: ffn.pre, act: ffn.act });
      [x, u, statsU] = [next.sum, next.y, next.stats];
    }
    this.finalX = x;
    this.finalStats = statsU;
    this.hidden = u;
  }

  /** Pre-LN backward (see the header): the gradient of the stream, branch by branch. */
  private async buildPreLnBackward(inp: EncoderInputs, o: EncoderOptions): Promise<void> {
    const { rt, cfg, N } = this;
    const h = cfg.hiddenSize;
    const b = this.backwardOps;
    // dNorm: dHidden (written by the head), then the gradient of each LayerNorm's output.
    // dLn: a LayerNorm backward's dx (a branch's part of the stream gradient). gA/gB: the
    // stream gradient, alternated (the add reads one and writes the other).
    const dNorm = this.act([N, h], 'grad.norm');
    const dLn = this.act([N, h], 'grad.ln');
    let g = this.act([N, h], 'grad.stream.a');
    let gOther = this.act([N, h], 'grad.stream.b');
    const bufs = this.backwardBuffers();
    const dTmp = bufs.dTmp;
    this.dHidden = dNorm;
    const ln = (name: string, dy: Tensor, x: Tensor, stats: Tensor, dx: Tensor) =>
      layerNormBackward(rt, { dy, x, gamma: this.param(`${name}.weight`), stats, dx, dgamma: this.grad(`${name}.weight`), dbeta: this.grad(`${name}.bias`), accumulate: true });
    // The residual add: g ← g + dLn (into the other buffer).
    const addBranch = async () => {
      b.push(await binary(rt, 'add', g, dLn, gOther));
      [g, gOther] = [gOther, g];
    };
    b.push(...(await ln('encoder.final_layer_norm', dNorm, this.finalX!, this.finalStats!, g)));
    for (let l = cfg.numLayers - 1; l >= 0; l--) {
      const L = `encoder.layer.${l}.`;
      const a = this.preLayers[l];
      // FFN branch: g → … → dNorm (= d v) → LN₂ → dLn.
      await this.ffnBackward(l, a, a.v, await this.branchDropoutBackward(g, DROPOUT_SITES.ffnOutput(o.streamBase ?? 0, l), bufs, o), { dx: dNorm, accumulate: false }, bufs, this.padding);
      b.push(...(await ln(`${L}output.LayerNorm`, dNorm, a.r, a.statsV, dLn)));
      await addBranch(); // g = d r
      // Attention branch: g → … → dNorm (= d u) → LN₁ → dLn.
      await this.attentionBranchBackward(l, a, a.u, await this.branchDropoutBackward(g, DROPOUT_SITES.attentionOutput(o.streamBase ?? 0, l), bufs, o), { dx: dNorm, accumulate: false }, bufs);
      b.push(...(await ln(`${L}attention.output.LayerNorm`, dNorm, a.x, a.statsU, dLn)));
      await addBranch(); // g = d x (the layer's input stream)
    }
    await this.buildEmbeddingsBackward(inp, o, g, dTmp, gOther);
  }

  /**
   * The gradient of a residual branch's dense output from that of its dropped output dOut:
   * dOut itself without dropout, else dropoutBackward into bufs.dTmp.
   */
  private async branchDropoutBackward(dOut: Tensor, stream: number, bufs: BackwardBuffers, o: EncoderOptions): Promise<Tensor> {
    const rate = this.cfg.hiddenDropout;
    if (rate === 0) return dOut;
    this.backwardOps.push(await dropoutBackward(this.rt, dOut, bufs.dTmp, { rate, rng: o.dropoutRng, stream }));
    return bufs.dTmp;
  }

  /**
   * Backward of a post-LN residual LayerNorm `name` (residualLayerNorm): the gradient of its
   * sum into dSum, and returned, the gradient of the branch's dense output — through the
   * branch's dropout, which the LayerNorm's backward applies as it writes dSum where the
   * forward fused it (f32), else branchDropoutBackward.
   */
  private async residualLayerNormBackward(name: string, dy: Tensor, sum: Tensor, stats: Tensor, dSum: Tensor, stream: number, bufs: BackwardBuffers, o: EncoderOptions): Promise<Tensor> {
    const rate = this.cfg.hiddenDropout, fused = this.fusesBranchDropout();
    const dropout = fused ? { options: { rate, rng: o.dropoutRng, stream }, dx: bufs.dTmp } : undefined;
    this.backwardOps.push(...(await layerNormBackward(this.rt, { dy, x: sum, gamma: this.param(`${name}.weight`), stats, dx: dSum, dgamma: this.grad(`${name}.weight`), dbeta: this.grad(`${name}.bias`), accumulate: true, dropout })));
    return fused ? bufs.dTmp : this.branchDropoutBackward(dSum, stream, bufs, o);
  }

  private async buildBackward(inp: EncoderInputs, o: EncoderOptions): Promise<void> {
    if (this.cfg.preLayerNorm) return this.buildPreLnBackward(inp, o);
    const { cfg, N } = this;
    const h = cfg.hiddenSize;
    // Two [N, h] gradient buffers suffice: gIn carries the gradient of a layer's output in
    // and of its input out; gX holds the inner residual stream's gradient.
    const gIn = this.act([N, h], 'grad.in');
    const gX = this.act([N, h], 'grad.x');
    const bufs = this.backwardBuffers();
    const dTmp = bufs.dTmp;
    this.dHidden = gIn;

    for (let l = cfg.numLayers - 1; l >= 0; l--) {
      const L = `encoder.layer.${l}.`;
      const a = this.layers[l];
      // Output LayerNorm: gX = dsum2, and the FFN's output gradient through its dropout.
      const dFfn = await this.residualLayerNormBackward(`${L}output.LayerNorm`, gIn, a.sum2, a.stats2, gX, DROPOUT_SITES.ffnOutput(o.streamBase ?? 0, l), bufs, o);
      // FFN branch; gX (dsum2, the residual path) += its input gradient: the whole gradient of y1.
      if (a.rows) await this.ffnRowsBackward(l, a, a.rows, dFfn, gX);
      else await this.ffnBackward(l, a, a.y1, dFfn, { dx: gX, accumulate: true }, bufs, this.padding);
      // Attention-output LayerNorm: gIn = dsum1, and the attention output's gradient.
      const dAttn = await this.residualLayerNormBackward(`${L}attention.output.LayerNorm`, gX, a.sum1, a.stats1, gIn, DROPOUT_SITES.attentionOutput(o.streamBase ?? 0, l), bufs, o);
      // Attention branch; gIn (dsum1, the residual path) += dq·Wq + dk·Wk + dv·Wv: the gradient of the layer input.
      await this.attentionBranchBackward(l, a, a.x, dAttn, { dx: gIn, accumulate: true }, bufs);
    }
    await this.buildEmbeddingsBackward(inp, o, gIn, dTmp, gX);
  }

  /**
   * Layer l's attention branch over `input`: q, k, v projections, attention and the output
   * projection (`out`: its dropout is applied by the residual LayerNorm that reads it). With
   * `queries`, the queries, attention and output projection run at those rows alone
   * (regrouped per sequence), and the output is scattered back to [N, h], zero elsewhere.
   */
  private async attentionBranchForward(l: number, input: Tensor, inp: EncoderInputs, o: EncoderOptions, queries: SelectedQueries | null = null) {
    const { rt, cfg, N } = this;
    const h = cfg.hiddenSize, L = `encoder.layer.${l}.`;
    const sa = await this.selfAttentionForward(l, input, inp, o, queries);
    const dense = this.scratch('branch.dense', [N, h]);
    const projected = queries ? this.act([N, h], `${L}attention.rows.dense`) : dense;
    this.forwardOps.push(await linearForward(rt, view2d(sa.ctx, N, h), await this.weight(`${L}attention.output.dense.weight`), this.param(`${L}attention.output.dense.bias`), projected, `${L}attention.output.dense`, 'none', undefined, queries?.pad ?? this.padding));
    if (queries) this.forwardOps.push(...(await scatterRows(rt, projected, queries.rows, queries.inv, dense)));
    return { acts: sa, out: { dense, stream: DROPOUT_SITES.attentionOutput(o.streamBase ?? 0, l) } };
  }

  /**
   * Whether the last layer's attention runs at the output rows' queries alone (null: every
   * query). Post-LN only, where nothing but the FFN and LayerNorms after it reads its output
   * elsewhere (either attention algorithm): the rows regrouped per sequence and the layer
   * input gathered there.
   */
  private async selectedQueries(l: number, input: Tensor, rows: OutputRows, inp: EncoderInputs, o: EncoderOptions): Promise<SelectedQueries | null> {
    const { rt, cfg, B, T, N } = this;
    if (cfg.preLayerNorm) return null;
    const L = `encoder.layer.${l}.`;
    const limits = this.tensor([2 * B], `${L}attention.rows.limits`, 'u32');
    const q: SelectedQueries = {
      rows: this.tensor([N], `${L}attention.rows`, 'u32'),
      limits,
      inv: this.tensor([N], `${L}attention.rows.inv`, 'u32'),
      input: this.act([N, cfg.hiddenSize], `${L}attention.rows.input`),
      pad: { lengths: limits, offset: B, seqLen: T },
    };
    this.forwardOps.push(await queryRows(rt, { list: rows.list, count: rows.count, countOffset: rows.countOffset }, inp.lengths, T, q.rows, q.limits));
    this.forwardOps.push(await gatherRows(rt, input, q.rows, q.input));
    return q;
  }

  /** Layer l's FFN branch over `input`: intermediate dense, GELU and output dense (`out`, dropped by the residual LayerNorm). */
  private async ffnBranchForward(l: number, input: Tensor, o: EncoderOptions) {
    const { N, cfg } = this;
    const h = cfg.hiddenSize, F = cfg.intermediateSize, L = `encoder.layer.${l}.`;
    const kept = this.keepsGeluOutput(o);
    const pre = this.act([N, F], `${L}ffn.pre`), dense = this.scratch('branch.dense', [N, h]);
    const act = kept ? this.act([N, F], `${L}ffn.act`) : this.scratch('ffn.act', [N, F]);
    await this.ffnProducts(l, input, pre, act, dense, this.padding);
    return { pre, act: kept ? act : null, out: { dense, stream: DROPOUT_SITES.ffnOutput(o.streamBase ?? 0, l) } };
  }

  /** The FFN's two products (GELU fused into the first: it writes act and keeps pre for backward), skipping `rows`. */
  private async ffnProducts(l: number, input: Tensor, pre: Tensor, act: Tensor, dense: Tensor, rows: RowLimit): Promise<void> {
    const { rt, cfg } = this;
    const L = `encoder.layer.${l}.`, f = this.forwardOps;
    f.push(await linearForward(rt, input, await this.weight(`${L}intermediate.dense.weight`), this.param(`${L}intermediate.dense.bias`), act, `${L}intermediate.dense`, cfg.hiddenAct, pre, rows));
    f.push(await linearForward(rt, act, await this.weight(`${L}output.dense.weight`), this.param(`${L}output.dense.bias`), dense, `${L}output.dense`, 'none', undefined, rows));
  }

  /**
   * The last layer's FFN at the output rows only (EncoderOptions.outputRows): its input
   * gathered there, the products over the count of rows, and the output scattered back to
   * [N, h] (zero elsewhere) for the residual LayerNorm — which runs over every row, so its
   * dropout masks are the full layer's.
   */
  private async ffnRowsForward(l: number, y1: Tensor, rows: OutputRows, o: EncoderOptions) {
    const { rt, cfg, N } = this;
    const h = cfg.hiddenSize, F = cfg.intermediateSize, L = `encoder.layer.${l}.`, cap = rows.list.size, f = this.forwardOps;
    const input = this.act([cap, h], `${L}ffn.rows.input`), inv = this.tensor([N], `${L}ffn.rows.inv`, 'u32');
    const pre = this.act([cap, F], `${L}ffn.rows.pre`), act = this.act([cap, F], `${L}ffn.rows.act`), dense = this.act([cap, h], `${L}ffn.rows.dense`);
    const full = this.scratch('branch.dense', [N, h]);
    f.push(await gatherRows(rt, y1, rows.list, input));
    await this.ffnProducts(l, input, pre, act, dense, { count: rows.count, offset: rows.countOffset });
    f.push(...(await scatterRows(rt, dense, rows.list, inv, full)));
    return { pre, act, rows: { ...rows, input, inv }, out: { dense: full, stream: DROPOUT_SITES.ffnOutput(o.streamBase ?? 0, l) } };
  }

  /**
   * ffnRowsForward's backward, from the gradient of the scattered output dFull [N, h] to gY
   * [N, h], which holds the residual path's part (dsum₂) and gets the whole gradient of y1:
   * both gathered at the rows, the FFN's input gradient added there, scattered back. dHidden
   * is zero off the rows, so both are zero there too and the scatter's zeros are exact.
   */
  private async ffnRowsBackward(l: number, a: { pre: Tensor; act: Tensor | null }, rows: FfnRows, dFull: Tensor, gY: Tensor): Promise<void> {
    const { rt, cfg } = this;
    const h = cfg.hiddenSize, F = cfg.intermediateSize, cap = rows.list.size, b = this.backwardOps;
    const dDense = this.act([cap, h], 'grad.ffn.rows.dense'), dInput = this.act([cap, h], 'grad.ffn.rows.input');
    const bufs = { dAct: this.act([cap, F], 'grad.ffn.rows.act'), dPre: this.act([cap, F], 'grad.ffn.rows.pre') };
    b.push(await gatherRows(rt, dFull, rows.list, dDense), await gatherRows(rt, gY, rows.list, dInput));
    await this.ffnBackward(l, a, rows.input, dDense, { dx: dInput, accumulate: true }, bufs, { count: rows.count, offset: rows.countOffset });
    b.push(...(await scatterRows(rt, dInput, rows.list, rows.inv, gY)));
  }

  /**
   * Whether the FFN keeps GELU's output for the backward (EncoderOptions.keepGeluOutput). A
   * forward-only encoder lays its activations out the same way, so that an evaluation graph
   * borrows every one of them from its training graph (EncoderShare).
   */
  private keepsGeluOutput(o: EncoderOptions): boolean {
    const bytes = this.cfg.numLayers * this.N * this.cfg.intermediateSize * (this.actType === 'f16' ? 2 : 4);
    return o.keepGeluOutput ?? bytes <= KEPT_GELU_BYTES;
  }

  /**
   * One tensor per name for the whole encoder, for what no backward reads again: a branch's
   * output dense and, in f16, its dropout (consumed by the residual LayerNorm that follows;
   * dropout's backward regenerates its mask), and GELU's output when it is not kept (recomputed from
   * its input in backward). Every layer writes it again, so memory does not grow with depth.
   */
  private scratch(name: string, shape: number[]): Tensor {
    let t = this.scratches.get(name);
    if (!t) this.scratches.set(name, (t = this.act(shape, `scratch.${name}`)));
    return t;
  }

  private scratches = new Map<string, Tensor>();

  /** Hidden dropout of `x` at a site into `output()` (x itself when the rate is 0). */
  private async dropoutForward(x: Tensor, output: () => Tensor, stream: number, o: EncoderOptions): Promise<Tensor> {
    const rate = this.cfg.hiddenDropout;
    if (rate === 0) return x;
    const y = output();
    this.forwardOps.push(await dropout(this.rt, x, y, { rate, rng: o.dropoutRng, stream }));
    return y;
  }

  /** Whether the branches' hidden dropout runs inside the residual LayerNorms (there is one to run). */
  private fusesBranchDropout(): boolean {
    return this.cfg.hiddenDropout > 0;
  }

  /**
   * sum = dropout(branch) + residual and y = LayerNorm `name`(sum), one op (stats saved for
   * backward; with f16 activations the dropped branch enters the sum unrounded).
   */
  private async residualLayerNorm(name: string, branch: BranchOutput, residual: Tensor, sumLabel: string, statsLabel: string, yLabel: string, eps: number, o: EncoderOptions) {
    const N = this.N, h = this.cfg.hiddenSize, rate = this.cfg.hiddenDropout;
    const sum = this.act([N, h], sumLabel), stats = this.tensor([N, 2], statsLabel), y = this.act([N, h], yLabel);
    const fused = this.fusesBranchDropout();
    const x = fused ? branch.dense : await this.dropoutForward(branch.dense, () => this.scratch('branch.dropout', [N, h]), branch.stream, o);
    const branchDropout = fused ? { rate, rng: o.dropoutRng, stream: branch.stream } : undefined;
    this.forwardOps.push(await layerNorm(this.rt, x, this.param(`${name}.weight`), this.param(`${name}.bias`), y, stats, { eps, residual, sum, dropout: branchDropout }));
    return { sum, stats, y };
  }

  /**
   * Layer l's q, k, v projections of `input` and the attention over them (ops appended to the
   * forward); with `queries`, the q projection of their rows (the rows' input, regrouped) and
   * the attention over those queries alone.
   */
  private async selfAttentionForward(l: number, input: Tensor, inp: EncoderInputs, o: EncoderOptions, queries: SelectedQueries | null): Promise<AttentionActs> {
    const { rt, cfg, B, T, N } = this;
    const h = cfg.hiddenSize, H = cfg.numHeads, L = `encoder.layer.${l}.`, f = this.forwardOps;
    const qkv = this.act([B, T, 3 * h], `${L}qkv`);
    for (const p of this.layerProjections(l, queries)) {
      const rowsIn = p.first === 0 && queries ? { x: queries.input, rows: queries.pad } : { x: input, rows: this.padding };
      f.push(await linearForward(rt, rowsIn.x, await this.matmulWeight(p.key, p.W), p.b, view2d(qkv, N, p.width, 3 * h, p.first * h), p.label, 'none', undefined, rowsIn.rows));
    }
    const ctx = this.act([B, T, h], `${L}ctx`), lse = this.tensor([B, H, T], `${L}lse`);
    const attn = await attention(rt, qkv, inp.lengths, ctx, lse, {
      heads: H,
      keepScores: () => this.keptScoresBuffer(l, H, o),
      dropout: cfg.attentionDropout > 0 ? { p: cfg.attentionDropout, seed: o.seed, stream: DROPOUT_SITES.attentionProbs(o.streamBase ?? 0, l) } : undefined,
      scratch: o.share?.attention ?? this.attnScratch,
      algorithm: o.attention,
      // Nothing reads a padded position's context, and its gradient is zero (attention.output.dense's dx skips padded rows).
      paddedQueries: 'skip',
      queryRows: queries ? { limits: queries.limits, positions: queries.rows } : undefined,
    });
    f.push(...attn.ops);
    return { qkv, ctx, lse, attn, queries };
  }

  /** Layer l's projection products: q, k, v as one where they can be; with selected queries, q apart (other rows) and k, v as one. */
  private layerProjections(l: number, queries: SelectedQueries | null): Projection[] {
    return this.projections(l, queries ? [['query'], ['key', 'value']] : [QKV_PARTS]);
  }

  /**
   * A buffer where layer l's materialised attention keeps its scores for the backward
   * (which then skips recomputing them) when every layer's fit in KEPT_SCORES_BYTES; null
   * (recompute) otherwise, and for a forward-only encoder.
   */
  private keptScoresBuffer(l: number, H: number, o: EncoderOptions): Tensor | null {
    const bytes = this.cfg.numLayers * this.B * H * this.T * this.T * 4;
    if (o.forwardOnly || bytes > KEPT_SCORES_BYTES) return null;
    return this.tensor([this.B * H, this.T, this.T], `encoder.layer.${l}.attention.kept_scores`);
  }

  private backwardBuffers(): BackwardBuffers {
    const { N, cfg } = this, h = cfg.hiddenSize, F = cfg.intermediateSize;
    return {
      dTmp: this.act([N, h], 'grad.tmp'),
      dAct: this.act([N, F], 'grad.act'),
      dPre: this.act([N, F], 'grad.pre'),
      dCtx: this.act([N, h], 'grad.ctx'),
      dQkv: this.act([this.B, this.T, 3 * h], 'grad.qkv'),
    };
  }

  /**
   * Backward of layer l's FFN branch, output.dense(GELU(intermediate.dense(input))), from the
   * gradient of its output dDense (through the branch's dropout: see branchDropoutBackward) to
   * dx (written, or added to with `accumulate`). dDense is read before dx is written, so they
   * may be the same buffer.
   */
  private async ffnBackward(l: number, a: { pre: Tensor; act: Tensor | null }, input: Tensor, dDense: Tensor, { dx, accumulate }: InputGradient, bufs: { dAct: Tensor; dPre: Tensor }, rows: RowLimit): Promise<void> {
    const { rt, cfg } = this;
    const L = `encoder.layer.${l}.`, b = this.backwardOps;
    // GELU's output, which output.dense's weight gradient reads: kept, or recomputed from its input.
    let act = a.act;
    if (!act) {
      act = this.scratch('ffn.act', [...a.pre.shape]);
      b.push(await gelu(rt, a.pre, act, { form: geluForm(cfg.hiddenAct) }));
    }
    // (GELU′ stays a separate op: fused into this product's epilogue it cost lavapipe more
    // than the pass it saves; bench/RESULTS.md.)
    b.push(...(await linearBackward(rt, { dy: dDense, x: act, W: await this.weight(`${L}output.dense.weight`), dW: this.grad(`${L}output.dense.weight`), db: this.grad(`${L}output.dense.bias`), dx: bufs.dAct, label: `${L}output.dense.backward`, rows })));
    b.push(await geluBackward(rt, a.pre, bufs.dAct, bufs.dPre, { form: geluForm(cfg.hiddenAct) }));
    b.push(...(await linearBackward(rt, { dy: bufs.dPre, x: input, W: await this.weight(`${L}intermediate.dense.weight`), dW: this.grad(`${L}intermediate.dense.weight`), db: this.grad(`${L}intermediate.dense.bias`), dx, accumulateDx: accumulate, label: `${L}intermediate.dense.backward`, rows })));
  }

  /**
   * Backward of layer l's attention branch, attention.output.dense(attention(q, k, v of
   * input)), from the gradient of its output dDense (through the branch's dropout) to dx: the
   * projections' input gradients are added (with `accumulate` all onto dx's contents, else
   * the first overwrites). With selected queries (a.queries), dDense and dx's contents are
   * zero off their rows (the residual LayerNorm's backward of a head's rows): the output
   * projection and attention run at the rows, q's input gradient is added to dx there
   * (gathered, then scattered back), then k's and v's everywhere.
   */
  private async attentionBranchBackward(l: number, a: AttentionActs, input: Tensor, dDense: Tensor, { dx, accumulate }: InputGradient, bufs: BackwardBuffers): Promise<void> {
    const { rt, cfg, N } = this;
    const h = cfg.hiddenSize, L = `encoder.layer.${l}.`, b = this.backwardOps, q = a.queries;
    if (q && !accumulate) throw new Error(`encoder: layer ${l}'s selected queries add their input gradient to dx's rows; it must accumulate`);
    // One [N, h] buffer at the rows: the output gradient there, then (read by then) dx there.
    const atRows = q ? this.act([N, h], 'grad.attention.rows') : null;
    let dy = dDense;
    if (q) b.push(await gatherRows(rt, dDense, q.rows, (dy = atRows!)));
    b.push(...(await linearBackward(rt, { dy, x: view2d(a.ctx, N, h), W: await this.weight(`${L}attention.output.dense.weight`), dW: this.grad(`${L}attention.output.dense.weight`), db: this.grad(`${L}attention.output.dense.bias`), dx: view2d(bufs.dCtx, N, h), label: `${L}attention.output.dense.backward`, rows: q?.pad ?? this.padding })));
    b.push(...(await attentionBackward(rt, a.attn, reshape(bufs.dCtx, a.ctx), bufs.dQkv)).ops);
    if (q) b.push(await gatherRows(rt, dx, q.rows, atRows!));
    let first = true;
    for (const p of this.layerProjections(l, q)) {
      const queryRows = q !== null && p.first === 0;
      b.push(...(await linearBackward(rt, { dy: view2d(bufs.dQkv, N, p.width, 3 * h, p.first * h), x: queryRows ? q.input : input, W: await this.matmulWeight(p.key, p.W), ...p.grads(), dx: queryRows ? atRows! : dx, accumulateDx: accumulate || !first, label: `${p.label}.backward`, rows: queryRows ? q.pad : this.padding })));
      // q's part back into dx (zero off the rows, as dx was there) before k's and v's add to every row.
      if (queryRows) b.push(...(await scatterRows(rt, atRows!, q.rows, q.inv, dx)));
      first = false;
    }
  }

  /**
   * Embeddings backward from the gradient of the embeddings' output dOut [N, h], with two
   * free [N, h] buffers (through embeddings_project first when E ≠ h; the gradients of a
   * shared embeddings module accumulate with the other encoder's).
   */
  private async buildEmbeddingsBackward(inp: EncoderInputs, o: EncoderOptions, dOut: Tensor, dTmp: Tensor, spare: Tensor): Promise<void> {
    const { rt, cfg, N } = this;
    const hd = cfg.hiddenDropout;
    const base = o.streamBase ?? 0;
    const b = this.backwardOps;
    let dEmb = dOut, dLnBuf = dTmp, dSum = spare;
    if (this.embOut) {
      const E = this.E;
      dEmb = this.act([N, E], 'grad.emb');
      dLnBuf = this.act([N, E], 'grad.emb.tmp');
      dSum = this.act([N, E], 'grad.emb.sum');
      b.push(...(await linearBackward(rt, { dy: dOut, x: this.embOut, W: await this.weight('embeddings_project.weight'), dW: this.grad('embeddings_project.weight'), db: this.grad('embeddings_project.bias'), dx: dEmb, label: 'embeddings_project.backward' })));
    }
    let dLn = dEmb;
    if (hd > 0) {
      b.push(await dropoutBackward(rt, dEmb, dLnBuf, { rate: hd, rng: o.dropoutRng, stream: DROPOUT_SITES.embeddings(base) }));
      dLn = dLnBuf;
    }
    b.push(...(await layerNormBackward(rt, { dy: dLn, x: this.embSum, gamma: this.embeddingParam('embeddings.LayerNorm.weight'), stats: this.embStats, dx: dSum, dgamma: this.embeddingGrad('embeddings.LayerNorm.weight'), dbeta: this.embeddingGrad('embeddings.LayerNorm.bias'), accumulate: true })));
    b.push(...(await embeddingBackward(rt, { ids: inp.ids, types: inp.types, dOut: dSum, grads: { word: this.embeddingGrad('embeddings.word_embeddings.weight'), position: this.embeddingGrad('embeddings.position_embeddings.weight'), type: this.embeddingGrad('embeddings.token_type_embeddings.weight') }, accumulate: true })));
  }

  /** Set the attention-dropout step for the next submits. */
  /** The attention-dropout step words, for setting them by copies inside an encoder. */
  stepTargets(): { buffer: GPUBuffer; offset: number }[] {
    return [...this.layers, ...this.preLayers].map((l) => l.attn.stepTarget);
  }

  setStep(step: number): void {
    for (const l of this.layers) l.attn.setStep(step);
    for (const l of this.preLayers) l.attn.setStep(step);
  }

  release(): void {
    this.rt.release(...this.arena);
    this.arena = [];
    releaseAttentionScratch(this.rt, this.attnScratch);
  }
}

/** The same buffer with another tensor's shape (for kernels that check shapes). */
function reshape(t: Tensor, like: Tensor): Tensor {
  if (t.size !== like.size) throw new Error(`reshape: ${t.label} has ${t.size} elements, ${like.label} ${like.size}`);
  return { ...t, shape: like.shape };
}
