// Real text for the data tests: excerpts of the bundled corpora, and a small tokenizer
// trained on them (memoised per test file).
import { readFileSync } from 'node:fs';
import { bundledSources } from '../../src/data/bundled.js';
import { basicTokenize, UNCASED } from '../../src/data/normalize.js';
import { trainWordPiece } from '../../src/data/wordpiece-trainer.js';
import { WordPieceTokenizer } from '../../src/data/tokenizer.js';

/** The first State of the Union addresses, about `bytes` characters in all. */
export function sotuExcerpt(bytes = 200_000): string[] {
  const out: string[] = [];
  let n = 0;
  for (const f of bundledSources('sotu')) {
    if (n >= bytes) break;
    const t = readFileSync(f, 'utf8');
    out.push(t);
    n += t.length;
  }
  return out;
}

/** Paragraphs of Moby-Dick chapters `from`..`to`. */
export function mobyParagraphs(from = 1, to = 5): string[] {
  const files = bundledSources('moby-dick').filter((f) => {
    const m = /chapter_(\d+)\.txt$/.exec(f);
    return m && +m[1] >= from && +m[1] <= to;
  });
  return files.flatMap((f) => readFileSync(f, 'utf8').split(/\n\s*\n/)).filter((p) => p.trim());
}

export function wordCounts(texts: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const t of texts) for (const w of basicTokenize(t, UNCASED)) counts.set(w, (counts.get(w) ?? 0) + 1);
  return counts;
}

let cached: WordPieceTokenizer | undefined;
/** WordPiece, 3000 tokens, trained on ~200 KB of sotu plus Moby-Dick chapters 1–5. */
export function smallTokenizer(): WordPieceTokenizer {
  cached ??= new WordPieceTokenizer(trainWordPiece(wordCounts([...sotuExcerpt(), ...mobyParagraphs()]), { vocabSize: 3000 }));
  return cached;
}

/** Unicode and formatting edge cases for parity tests. */
export const EDGE_CASES = [
  'Café naïve RÉSUMÉ Ångström façade Über', '中文字符 and 日本語のテキスト 한국어 mixed中文text', 'emoji 😀👍🏽 🫠 👨‍👩‍👧 ok',
  'ctl\u0000a\u0007b\u000bc\u000cd\u0085e\u200bf\u00adg\ufeffh\ufffdi\u001fj\u007fk', 'e\u0301 a\u0308 n\u0303o combining\u0327',
  'x'.repeat(101) + ' ' + 'y'.repeat(100) + ' ' + 'z'.repeat(99) + 'é', '!!!...???---((([[[]]])))', '', '   ', '\n\n', 'ΣΊΣΥΦΟΣ ΟΔΟΣ İstanbul ß ﬁ ǅ',
  'hello [MASK] world[SEP]x [CLS][PAD] [unk] [MASK', 'a\u1fefb a\u037eb', 'tab\tnew\nline\r\nend', '\u00a0nbsp\u3000ideo\u2028sep\u2003em',
  'ｆｕｌｌ　ｗｉｄｔｈ１２３', '𝐁𝐨𝐥𝐝 𠀀𠀁 𝟘𝟙', 'don’t “quoted” — dash – en … ‹›«»', 'Ⅷ ⅷ K Ω ℃ ½ ² ①', 'ok\u{e000}priv \u{10ffff} \u0378 unassigned',
  "it's o'clock U.S.A. $1,000.50 3.14e-10 #hash @user http://example.com/a?b=c&d", 'ﷺ العربية עברית हिन्दी ไทย', '\u{1F1FA}\u{1F1F8} flags', 'supercalifragilisticexpialidocious antidisestablishmentarianism',
];
