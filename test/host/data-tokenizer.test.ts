// WordPiece tokenizer: BERT normalisation/pre-tokenisation cases, greedy longest match,
// vocab.txt / tokenizer.json round trips, training, and parity with Hugging Face's Rust
// `tokenizers` (npm, test-only) loading OUR tokenizer.json, on real text and edge cases.
import { describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { basicTokenize, UNCASED } from '../../src/data/normalize.js';
import { WordPieceTokenizer, SPECIAL_TOKENS } from '../../src/data/tokenizer.js';
import { trainWordPiece, VocabTooSmallError, WordCounter } from '../../src/data/wordpiece-trainer.js';
import { splitSentences } from '../../src/data/pack.js';
import { EDGE_CASES, mobyParagraphs, smallTokenizer, sotuExcerpt, wordCounts } from './data-fixtures.js';
import { tempDir } from '../tmp.js';

const require = createRequire(import.meta.url);

describe('BERT normalisation and pre-tokenisation', () => {
  const bt = (s: string) => basicTokenize(s, UNCASED);
  it('lowercases, splits on whitespace and every punctuation character', () => {
    expect(bt('Hello, World!  It\'s $5.')).toEqual(['hello', ',', 'world', '!', 'it', "'", 's', '$', '5', '.']);
    expect(bt('don’t — stop…')).toEqual(['don', '’', 't', '—', 'stop', '…']);
  });
  it('strips accents, isolates CJK ideographs, drops controls, maps Unicode spaces', () => {
    expect(bt('Café NAÏVE Ångström')).toEqual(['cafe', 'naive', 'angstrom']);
    expect(bt('中文abc日')).toEqual(['中', '文', 'abc', '日']);
    expect(bt('a\u000cb c\u200bd e\u00a0f g\u3000h')).toEqual(['ab', 'cd', 'e', 'f', 'g', 'h']);
    expect(bt('ΣΑΣ')).toEqual(['σασ']); // per-character lowercase: no final sigma
    expect(bt('a\u1fefb')).toEqual(['a', '`', 'b']); // NFD turns U+1FEF into '`', which then splits
  });
});

describe('WordPiece', () => {
  const vocab = [...SPECIAL_TOKENS, 'un', '##aff', '##able', 'a', '##b', 'b', '##a', 'x', '##x', ',', '😀'];
  const tok = new WordPieceTokenizer(vocab);
  const pieces = (s: string) => tok.tokens(tok.encode(s));
  it('takes the longest match first, with ## continuations, else [UNK] for the whole word', () => {
    expect(pieces('Unaffable, ab')).toEqual(['un', '##aff', '##able', ',', 'a', '##b']);
    expect(pieces('unafq b')).toEqual(['[UNK]', 'b']);
    expect(pieces('x'.repeat(100))).toEqual(['x', ...Array(99).fill('##x')]);
    expect(pieces('x'.repeat(101))).toEqual(['[UNK]']); // longer than 100 characters
    expect(pieces('😀')).toEqual(['😀']);
  });
  it('recognises special tokens written in the text unless told not to, and wraps with [CLS]/[SEP]', () => {
    expect(pieces('a [MASK]b')).toEqual(['a', '[MASK]', 'b']);
    expect(tok.tokens(tok.encode('a [MASK]', { specialsInText: false }))).toEqual(['a', '[UNK]', '[UNK]', '[UNK]']);
    expect(tok.tokens(tok.encode('ab', { addSpecial: true }))).toEqual(['[CLS]', 'a', '##b', '[SEP]']);
  });
  it('round-trips through vocab.txt and tokenizer.json', () => {
    const dir = tempDir('tok-');
    tok.save(dir);
    expect(readFileSync(join(dir, 'vocab.txt'), 'utf8').split('\n').length).toBe(vocab.length + 1);
    const a = WordPieceTokenizer.fromVocabTxt(readFileSync(join(dir, 'vocab.txt'), 'utf8'));
    const b = WordPieceTokenizer.load(dir);
    expect(a.vocab).toEqual(vocab);
    expect(b.vocab).toEqual(vocab);
    expect(b.encode('Unaffable ab')).toEqual(tok.encode('Unaffable ab'));
  });
  it('rejects tokenizer files it cannot honour, saying why', () => {
    expect(() => WordPieceTokenizer.fromTokenizerJson('{"model":{"type":"BPE","vocab":{}}}')).toThrow(/expected a WordPiece model, found BPE/);
    expect(() => WordPieceTokenizer.fromTokenizerJson('nope')).toThrow(/not valid JSON/);
    expect(() => new WordPieceTokenizer(['a', 'b'])).toThrow(/lacks the special token \[PAD\]/);
  });
});

describe('WordPiece training', () => {
  it('reaches the requested size deterministically, with frequent words whole', () => {
    const counts = wordCounts(sotuExcerpt(100_000));
    const v1 = trainWordPiece(counts, { vocabSize: 1500 });
    const v2 = trainWordPiece(new Map([...counts].reverse()), { vocabSize: 1500 });
    expect(v1.length).toBe(1500);
    expect(v2).toEqual(v1); // independent of the order words were counted in
    expect(v1.slice(0, 5)).toEqual([...SPECIAL_TOKENS]);
    for (const w of ['the', 'government', 'congress', 'states']) expect(v1).toContain(w);
    expect(new Set(v1).size).toBe(v1.length);
  });
  it('says how large the vocabulary must be when it is too small for the alphabet', () => {
    const counts = wordCounts(['abc def ghi']);
    expect(() => trainWordPiece(counts, { vocabSize: 10 })).toThrow(VocabTooSmallError);
    expect(() => trainWordPiece(counts, { vocabSize: 10 })).toThrow(/vocabulary size 10 is too small for the alphabet: the corpus has 9 characters .* = 23; use --vocab-size 23 or more/);
    expect(trainWordPiece(counts, { vocabSize: 23 }).length).toBe(23);
  });
  it('bounds the word counter by pruning rare words', () => {
    const c = new WordCounter(100);
    for (let i = 0; i < 1000; i++) c.add('w' + i);
    for (let i = 0; i < 10; i++) c.add('common');
    expect(c.counts.size).toBeLessThanOrEqual(100);
    expect(c.counts.get('common')).toBe(10);
    expect(c.pruned).toBeGreaterThan(0);
  });
});

describe('parity with Hugging Face tokenizers (npm peers, test-only)', () => {
  const tok = smallTokenizer();
  const dir = tempDir('tok-parity-');
  tok.save(dir);
  const realText = [
    ...sotuExcerpt(60_000).flatMap((d) => splitSentences(d)),
    ...mobyParagraphs(1, 3),
    ...mobyParagraphs(40, 42),
  ];

  it('Rust tokenizers (napi) loading our tokenizer.json gives the same ids, with and without [CLS]/[SEP]', async () => {
    const { Tokenizer } = require('tokenizers');
    const hf = Tokenizer.fromFile(join(dir, 'tokenizer.json'));
    const texts = [...realText, ...EDGE_CASES];
    expect(texts.length).toBeGreaterThan(500);
    const plain = await hf.encodeBatch(texts, { addSpecialTokens: false });
    let mismatches = 0;
    texts.forEach((t, i) => {
      const ours = tok.encode(t);
      const theirs = plain[i].getIds();
      if (JSON.stringify(ours) !== JSON.stringify(theirs)) {
        mismatches++;
        expect.soft(tok.tokens(ours), `text: ${JSON.stringify(t.slice(0, 120))}`).toEqual(plain[i].getTokens());
      }
    });
    expect(mismatches).toBe(0);
    for (const t of EDGE_CASES.slice(0, 8)) expect(tok.encode(t, { addSpecial: true })).toEqual((await hf.encode(t)).getIds());
  });

  it('encodeLines (one normalisation pass for many sentences) equals encoding each line', () => {
    const lines = [...realText.slice(0, 300), ...EDGE_CASES].flatMap((t) => t.split('\n'));
    expect(tok.encodeLines(lines.join('\n'))).toEqual(lines.map((l) => tok.encode(l, { specialsInText: false })));
  });

  it('the pure-JS @huggingface/tokenizers agrees on real text', async () => {
    const { Tokenizer } = await import('@huggingface/tokenizers');
    const json = JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8'));
    const hf = new Tokenizer(json, { do_lower_case: true });
    for (const t of realText.slice(0, 400)) expect(hf.encode(t, { add_special_tokens: false }).ids, t.slice(0, 80)).toEqual(tok.encode(t));
  });
});
