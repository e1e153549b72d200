// WordPiece tokenizer (BERT): normalise + pre-tokenise (normalize.ts), then greedy
// longest-match-first over the vocabulary with `##` continuation pieces; a word longer
// than 100 characters, or one that cannot be covered, becomes [UNK]. Encodings equal
// Hugging Face's BertTokenizer / `tokenizers` for the same vocabulary (tested against the
// npm `tokenizers` package). Reads and writes `vocab.txt` and `tokenizer.json`.
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { normalizeBert, splitWords, UNCASED, type NormalizerOptions } from './normalize.js';
import { writeFileAtomic } from './atomic.js';

export const SPECIAL_TOKENS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] as const;
export interface SpecialIds { pad: number; unk: number; cls: number; sep: number; mask: number }

export interface EncodeOptions {
  /** Wrap in [CLS] … [SEP] (as HF's post-processor). Default false. */
  addSpecial?: boolean;
  /** Recognise literal "[MASK]", "[SEP]", … in the text as special tokens, as HF does. Default true. */
  specialsInText?: boolean;
}

const SPECIAL_IN_TEXT = /(\[PAD\]|\[UNK\]|\[CLS\]|\[SEP\]|\[MASK\])/;
const CACHE_LIMIT = 1 << 19;

export class WordPieceTokenizer {
  readonly vocab: string[];
  readonly ids: Map<string, number>;
  readonly special: SpecialIds;
  readonly maxInputCharsPerWord = 100;
  private cache = new Map<string, number[]>();

  constructor(vocab: string[], readonly normalizer: NormalizerOptions = UNCASED) {
    this.vocab = vocab;
    this.ids = new Map();
    vocab.forEach((t, i) => {
      if (this.ids.has(t)) throw new Error(`tokenizer: vocabulary token '${t}' appears twice (ids ${this.ids.get(t)} and ${i})`);
      this.ids.set(t, i);
    });
    const need = (t: string) => {
      const id = this.ids.get(t);
      if (id === undefined) throw new Error(`tokenizer: the vocabulary lacks the special token ${t}`);
      return id;
    };
    this.special = { pad: need('[PAD]'), unk: need('[UNK]'), cls: need('[CLS]'), sep: need('[SEP]'), mask: need('[MASK]') };
  }

  get size(): number {
    return this.vocab.length;
  }

  /** WordPiece pieces of one pre-tokenised word, appended to `out`. */
  encodeWord(word: string, out: number[]): void {
    let ids = this.cache.get(word);
    if (ids === undefined) {
      ids = this.wordPiece(word);
      if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
      this.cache.set(word, ids);
    }
    for (let i = 0; i < ids.length; i++) out.push(ids[i]);
  }

  private wordPiece(word: string): number[] {
    // Code-point boundaries (UTF-16 indices); words without surrogates use every index.
    let bounds: number[] | null = null;
    if (/[\ud800-\udfff]/.test(word)) {
      bounds = [];
      for (let i = 0; i < word.length; i++) {
        bounds.push(i);
        const c = word.charCodeAt(i);
        if (c >= 0xd800 && c <= 0xdbff && i + 1 < word.length) i++;
      }
      bounds.push(word.length);
    }
    const nChars = bounds ? bounds.length - 1 : word.length;
    if (nChars > this.maxInputCharsPerWord) return [this.special.unk];
    const pos = (k: number) => (bounds ? bounds[k] : k);
    const out: number[] = [];
    let start = 0;
    while (start < nChars) {
      let end = nChars;
      let found = -1;
      while (start < end) {
        const sub = word.slice(pos(start), pos(end));
        const id = this.ids.get(start > 0 ? '##' + sub : sub);
        if (id !== undefined) {
          found = id;
          break;
        }
        end--;
      }
      if (found < 0) return [this.special.unk];
      out.push(found);
      start = end;
    }
    return out;
  }

  /** Token ids of a text (no [CLS]/[SEP] unless `addSpecial`). */
  encode(text: string, opts: EncodeOptions = {}): number[] {
    const out: number[] = [];
    if (opts.addSpecial) out.push(this.special.cls);
    const emit = (w: string) => this.encodeWord(w, out);
    if ((opts.specialsInText ?? true) && text.includes('[') && SPECIAL_IN_TEXT.test(text)) {
      for (const part of text.split(SPECIAL_IN_TEXT)) {
        const id = SPECIAL_IN_TEXT.test(part) && part.length <= 6 ? this.ids.get(part) : undefined;
        if (id !== undefined) out.push(id);
        else splitWords(normalizeBert(part, this.normalizer), emit);
      }
    } else splitWords(normalizeBert(text, this.normalizer), emit);
    if (opts.addSpecial) out.push(this.special.sep);
    return out;
  }

  /**
   * Ids of each line of `text` ('\n'-separated), special-token names read as plain text:
   * one normalisation pass for all lines (normalising never creates or removes a '\n'),
   * which makes encoding many short sentences much cheaper than one `encode` each.
   */
  encodeLines(text: string): number[][] {
    const out: number[][] = [];
    for (const line of normalizeBert(text, this.normalizer).split('\n')) {
      const ids: number[] = [];
      splitWords(line, (w) => this.encodeWord(w, ids));
      out.push(ids);
    }
    return out;
  }

  tokens(ids: readonly number[]): string[] {
    return ids.map((i) => this.vocab[i] ?? '[UNK]');
  }

  /** Readable text from ids: pieces joined by spaces, `##` pieces glued (debugging only). */
  decode(ids: readonly number[], skipSpecial = true): string {
    let s = '';
    for (const i of ids) {
      const t = this.vocab[i] ?? '[UNK]';
      if (skipSpecial && (SPECIAL_TOKENS as readonly string[]).includes(t)) continue;
      s += t.startsWith('##') ? t.slice(2) : (s ? ' ' : '') + t;
    }
    return s;
  }

  vocabTxt(): string {
    return this.vocab.join('\n') + '\n';
  }

  /** Hugging Face `tokenizer.json` (BertNormalizer, BertPreTokenizer, WordPiece, [CLS]/[SEP] template). */
  tokenizerJson(): object {
    const s = this.special;
    const specialEntry = (t: string) => ({ id: t, ids: [this.ids.get(t)!], tokens: [t] });
    return {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: SPECIAL_TOKENS.map((t) => ({ id: this.ids.get(t)!, content: t, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
      normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: this.normalizer.stripAccents, lowercase: this.normalizer.lowercase },
      pre_tokenizer: { type: 'BertPreTokenizer' },
      post_processor: {
        type: 'TemplateProcessing',
        single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
        pair: [
          { SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } },
          { Sequence: { id: 'B', type_id: 1 } }, { SpecialToken: { id: '[SEP]', type_id: 1 } },
        ],
        special_tokens: { '[CLS]': specialEntry('[CLS]'), '[SEP]': specialEntry('[SEP]') },
      },
      decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
      model: {
        type: 'WordPiece',
        unk_token: this.vocab[s.unk],
        continuing_subword_prefix: '##',
        max_input_chars_per_word: this.maxInputCharsPerWord,
        vocab: Object.fromEntries(this.vocab.map((t, i) => [t, i])),
      },
    };
  }

  /** Writes `vocab.txt` and `tokenizer.json` into `dir`, each atomically. */
  save(dir: string): void {
    writeFileAtomic(join(dir, 'vocab.txt'), this.vocabTxt());
    writeFileAtomic(join(dir, 'tokenizer.json'), JSON.stringify(this.tokenizerJson(), null, 2) + '\n');
  }

  static fromVocabTxt(text: string, normalizer: NormalizerOptions = UNCASED): WordPieceTokenizer {
    const lines = text.split(/\r?\n/);
    if (lines.length && lines[lines.length - 1] === '') lines.pop();
    return new WordPieceTokenizer(lines, normalizer);
  }

  static fromTokenizerJson(text: string, what = 'tokenizer.json'): WordPieceTokenizer {
    let j: any;
    try {
      j = JSON.parse(text);
    } catch (e) {
      throw new Error(`${what}: not valid JSON (${(e as Error).message})`);
    }
    const m = j?.model;
    if (m?.type !== 'WordPiece' || typeof m.vocab !== 'object') throw new Error(`${what}: expected a WordPiece model, found ${m?.type ?? 'none'}`);
    if (m.continuing_subword_prefix !== undefined && m.continuing_subword_prefix !== '##') throw new Error(`${what}: only the '##' continuation prefix is supported`);
    const n = j.normalizer;
    if (n && n.type !== 'BertNormalizer') throw new Error(`${what}: only BertNormalizer is supported, found ${n.type}`);
    if (n && (n.clean_text === false || n.handle_chinese_chars === false)) throw new Error(`${what}: clean_text and handle_chinese_chars must be on`);
    const lowercase = n ? n.lowercase !== false : true;
    const stripAccents = n?.strip_accents ?? lowercase;
    const entries = Object.entries(m.vocab as Record<string, number>);
    const vocab: string[] = new Array(entries.length);
    for (const [t, i] of entries) {
      if (!Number.isInteger(i) || i < 0 || i >= entries.length || vocab[i] !== undefined) throw new Error(`${what}: vocabulary ids must be 0..${entries.length - 1}, each once (token '${t}' has ${i})`);
      vocab[i] = t;
    }
    return new WordPieceTokenizer(vocab, { lowercase, stripAccents });
  }

  /**
   * Loads `DIR/tokenizer.json`, else `DIR/vocab.txt` (BERT uncased), or a file path given
   * directly. Every error names the file. A standalone tokenizer file has no checksum: a
   * damaged one that still parses loads as a different tokenizer; inside a prepared
   * directory the manifest's SHA-256 of both files catches that (src/data/shards.ts).
   */
  static load(path: string): WordPieceTokenizer {
    const json = path.endsWith('.json') ? path : join(path, 'tokenizer.json');
    const txt = path.endsWith('.txt') ? path : join(path, 'vocab.txt');
    const named = (file: string, make: () => WordPieceTokenizer): WordPieceTokenizer => {
      try {
        return make();
      } catch (e) {
        const msg = (e as Error)?.message ?? String(e);
        throw new Error(msg.includes(file) ? msg : `${file}: ${msg}`);
      }
    };
    if (existsSync(json)) return named(json, () => WordPieceTokenizer.fromTokenizerJson(readFileSync(json, 'utf8'), json));
    if (existsSync(txt)) return named(txt, () => WordPieceTokenizer.fromVocabTxt(readFileSync(txt, 'utf8')));
    throw new Error(`tokenizer: neither ${json} nor ${txt} exists`);
  }
}
