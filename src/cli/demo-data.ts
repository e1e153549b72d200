// The prepared corpus of commands that train without --data (bench steps, bench train, bench
// page, web): the bundled one, prepared on first use exactly as `npm start` prepares it.
import { DEMO_DATA, demoDataDir } from '../data/bundled.js';
import { prepare } from '../data/prepare.js';

const say = (line: string) => process.stderr.write(line + '\n');

/** --data as given, else the bundled corpus as `npm start` prepares it. */
export async function trainingData(given: string | undefined): Promise<string> {
  if (given) return given;
  const data = demoDataDir();
  const s = await prepare({ corpus: [DEMO_DATA.corpus], out: data, vocabSize: DEMO_DATA.vocabSize, seqLen: DEMO_DATA.seqLen });
  say(`data: ${s.reused ? 'reused' : 'prepared'} ${data}`);
  return data;
}

