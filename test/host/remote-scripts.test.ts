// The remote benchmark scripts' front door (the full pack-and-run round trip takes minutes of
// compression and benchmarking; it is a bench check: bench/RESULTS.md). A usage error exits 2,
// a missing bundle says where it looked and how to make one.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { tempDir } from '../tmp.js';

const RUN = fileURLToPath(new URL('../../bench/remote/run.sh', import.meta.url));

describe('bench/remote/run.sh', () => {
  it('exits 2 on bad usage and on a missing bundle, naming it', () => {
    const none = spawnSync('bash', [RUN], { encoding: 'utf8' });
    expect(none.status).toBe(2);
    expect(none.stderr).toMatch(/usage: run\.sh \[--stand-in\] OUTDIR/);
    const dir = tempDir('electrolite-remote-');
    const missing = spawnSync('bash', [RUN, '--stand-in', join(dir, 'out')], { encoding: 'utf8', env: { ...process.env, ELECTROLITE_BUNDLE: join(dir, 'nope.tar.xz') } });
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain(`run: no bundle at ${join(dir, 'nope.tar.xz')} (make it with bench/remote/pack.sh)`);
  });
});
