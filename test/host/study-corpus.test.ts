// The study pre-trains on no paragraph it evaluates: with bundled:sotu-party among the tasks,
// the addresses that task validates and tests on are left out of the SOTU corpus, and only
// those; every address the task trains on stays.
import { describe, expect, it } from 'vitest';
import { basename } from 'node:path';
import { studyCorpus } from '../../src/eval/study.js';
import { loadTask, sotuHeldOutAddresses } from '../../src/eval/tasks.js';
import { bundledSources } from '../../src/data/bundled.js';

describe('study corpus', () => {
  it('leaves out exactly the addresses bundled:sotu-party validates and tests on', () => {
    const all = bundledSources('sotu').map((f) => basename(f));
    const held = sotuHeldOutAddresses();
    const c = studyCorpus({ tasks: ['bundled:spam', 'bundled:sotu-party'] });
    const kept = new Set(c.files.map((f) => basename(f)));
    expect(c.heldOut).toBe(held.validation.length + held.test.length);
    expect(c.files.length).toBe(all.length - c.heldOut);
    for (const a of [...held.validation, ...held.test]) expect(kept.has(a), a).toBe(false);
    // The task's own evaluated paragraphs come from those addresses only.
    const task = loadTask('bundled:sotu-party');
    const evaluated = new Set([...task.splits.validation, ...task.splits.test!].map((e) => basename(e.source!.split('#')[0])));
    expect(evaluated.size).toBeGreaterThan(10);
    for (const a of evaluated) expect(kept.has(a), `${a} is evaluated and pre-trained on`).toBe(false);
    // Without the task, or on another corpus, nothing is left out.
    expect(studyCorpus({ tasks: ['bundled:spam'] }).files.length).toBe(all.length);
    expect(studyCorpus({ tasks: ['bundled:sotu-party'], corpus: 'moby-dick' }).heldOut).toBe(0);
  });
});
