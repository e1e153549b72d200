// Temporary directories for tests: each is removed, with whatever was written into it (by
// the test or by a CLI it spawned), when the test file that made it finishes.
import { afterAll } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const made: string[] = [];
// Registered while the importing test file is collected (vitest loads modules per file), so
// it runs after that file's last test, wherever tempDir was called: top level, hook or test.
afterAll(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A new, empty directory under the system's temp dir, named `${prefix}XXXXXX`. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}
