// BERT's text normalisation and pre-tokenisation, exactly as Hugging Face `tokenizers`
// does it (BertNormalizer then BertPreTokenizer), so that WordPiece sees the same words:
//   1. clean: drop U+0000, U+FFFD and "other" characters (Cc, Cf, Co, Cs; not Cn) except
//      \t \n \r; map every White_Space character to ' ';
//   2. put spaces around CJK ideographs (each becomes its own word);
//   3. strip accents (NFD, then drop Mn) — on by default when lowercasing;
//   4. lowercase, one code point at a time (no final-sigma rule, as Rust's char::to_lowercase);
//   5. split on spaces and around every punctuation character (ASCII symbols and Unicode P*).
// ASCII text takes a fast path (a table lookup per character); any run of non-ASCII
// characters is normalised on its own, which is exact because every step above is local
// to a code point except NFD's reordering of combining marks, which never crosses an
// ASCII (combining class 0) character.

export interface NormalizerOptions {
  lowercase: boolean;
  /** Strip accents (NFD + drop Mn); defaults to `lowercase`, as in BERT. */
  stripAccents: boolean;
}

const CONTROL = /[\p{Cc}\p{Cf}\p{Co}\p{Cs}]/u; // not Cn: HF keeps unassigned code points
const WHITESPACE = /\p{White_Space}/u;
const MARK_NONSPACING = /\p{Mn}/u;
const PUNCT = /\p{P}/u;

export function isCjk(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) || (cp >= 0x3400 && cp <= 0x4dbf) || (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) || (cp >= 0x2b740 && cp <= 0x2b81f) || (cp >= 0x2b920 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}

/** ASCII classes: 0 word character, 1 whitespace, 2 punctuation, 3 dropped control. */
const ASCII_CLASS = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  if (c === 9 || c === 10 || c === 13 || c === 32) ASCII_CLASS[c] = 1;
  else if (c < 32 || c === 127) ASCII_CLASS[c] = 3;
  else if (/[A-Za-z0-9]/.test(ch)) ASCII_CLASS[c] = 0;
  else ASCII_CLASS[c] = 2; // every other printable ASCII character is BERT punctuation
}

/** Per-code-point cleaning + CJK spacing (steps 1–2), cached. */
const cleanCache = new Map<number, string>();
function cleanCodePoint(cp: number): string {
  let r = cleanCache.get(cp);
  if (r === undefined) {
    const ch = String.fromCodePoint(cp);
    if (cp === 0 || cp === 0xfffd || (cp !== 9 && cp !== 10 && cp !== 13 && CONTROL.test(ch))) r = '';
    else if (cp === 9 || cp === 10 || cp === 13 || WHITESPACE.test(ch)) r = ' ';
    else if (isCjk(cp)) r = ` ${ch} `;
    else r = ch;
    cleanCache.set(cp, r);
  }
  return r;
}

const lowerCache = new Map<number, string>();
function lowerCodePoint(cp: number): string {
  let r = lowerCache.get(cp);
  if (r === undefined) {
    r = String.fromCodePoint(cp).toLowerCase();
    lowerCache.set(cp, r);
  }
  return r;
}

const markCache = new Map<number, boolean>();
function isMn(cp: number): boolean {
  let r = markCache.get(cp);
  if (r === undefined) {
    r = MARK_NONSPACING.test(String.fromCodePoint(cp));
    markCache.set(cp, r);
  }
  return r;
}

/** Normalise a run of non-ASCII text (steps 1–4). */
function normalizeRun(run: string, o: NormalizerOptions): string {
  let s = '';
  for (const ch of run) s += cleanCodePoint(ch.codePointAt(0)!);
  if (o.stripAccents) {
    let t = '';
    for (const ch of s.normalize('NFD')) if (!isMn(ch.codePointAt(0)!)) t += ch;
    s = t;
  }
  if (o.lowercase) {
    let t = '';
    for (const ch of s) t += lowerCodePoint(ch.codePointAt(0)!);
    s = t;
  }
  return s;
}

const NON_ASCII = /[^\x00-\x7f]+/g;
const ASCII_CONTROL = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/g;

/** Steps 1–4 on a whole string. */
export function normalizeBert(text: string, o: NormalizerOptions): string {
  let s = text.replace(ASCII_CONTROL, '');
  s = s.replace(NON_ASCII, (run) => normalizeRun(run, o));
  // Non-ASCII characters are lowercased already, one by one (no Σ is left for the
  // final-sigma rule), and lowercasing is idempotent: this only changes ASCII letters.
  return o.lowercase ? s.toLowerCase() : s;
}

const punctCache = new Map<number, boolean>();
function isPunctNonAscii(cp: number): boolean {
  let r = punctCache.get(cp);
  if (r === undefined) {
    r = PUNCT.test(String.fromCodePoint(cp));
    punctCache.set(cp, r);
  }
  return r;
}

/**
 * Step 5 on normalised text: calls `emit(word)` for each pre-token in order.
 * After normalisation the only whitespace left is ' ' (and \t\n\r are already spaces).
 */
export function splitWords(norm: string, emit: (word: string) => void): void {
  const n = norm.length;
  let start = -1;
  for (let i = 0; i < n; i++) {
    const c = norm.charCodeAt(i);
    let cls: number;
    if (c < 128) cls = ASCII_CLASS[c];
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
      const cp = norm.codePointAt(i)!;
      cls = isPunctNonAscii(cp) ? 2 : WHITESPACE.test(String.fromCodePoint(cp)) ? 1 : 0;
      if (cls === 2) {
        if (start >= 0) emit(norm.slice(start, i));
        emit(norm.slice(i, i + 2));
        start = -1;
        i++;
        continue;
      }
      if (cls === 0 && start < 0) start = i;
      i++;
      continue;
    } else cls = isPunctNonAscii(c) ? 2 : c === 0x3000 || WHITESPACE.test(String.fromCharCode(c)) ? 1 : 0;
    if (cls === 0) {
      if (start < 0) start = i;
    } else {
      if (start >= 0) emit(norm.slice(start, i));
      start = -1;
      if (cls === 2) emit(norm[i]);
    }
  }
  if (start >= 0) emit(norm.slice(start));
}

/** Normalise and pre-tokenise: the words WordPiece will see. */
export function basicTokenize(text: string, o: NormalizerOptions): string[] {
  const out: string[] = [];
  splitWords(normalizeBert(text, o), (w) => out.push(w));
  return out;
}

/** The BERT uncased defaults. */
export const UNCASED: NormalizerOptions = { lowercase: true, stripAccents: true };
