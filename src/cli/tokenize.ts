// `electrolite tokenize --tokenizer DIR [--json] [--add-special]`: token ids of each line of
// standard input (with --json, the tokens too), for debugging and for comparison with
// other tokenizers.
import { createInterface } from 'node:readline';
import { existsSync } from 'node:fs';
import { parse, UsageError, requireOptions } from './args.js';
import { WordPieceTokenizer } from '../data/tokenizer.js';

export async function tokenizeCommand(argv: string[]): Promise<number> {
  const { values } = parse('tokenize', argv, { tokenizer: { type: 'string' }, json: { type: 'boolean' }, 'add-special': { type: 'boolean' } });
  requireOptions('tokenize', values, { tokenizer: ['DIR', 'a folder with tokenizer.json or vocab.txt, or one of those files'] });
  if (!existsSync(values.tokenizer)) throw new UsageError(`tokenize: --tokenizer ${values.tokenizer} does not exist`);
  const tok = WordPieceTokenizer.load(values.tokenizer);
  const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
  let out = '';
  for await (const line of rl) {
    const ids = tok.encode(line, { addSpecial: values['add-special'] });
    out += values.json ? JSON.stringify({ ids, tokens: tok.tokens(ids) }) + '\n' : ids.join(' ') + '\n';
    if (out.length > 1 << 16) {
      if (!process.stdout.write(out)) await new Promise((r) => process.stdout.once('drain', r));
      out = '';
    }
  }
  process.stdout.write(out);
  return 0;
}
