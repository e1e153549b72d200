// Where a prepared corpus's files are read from: a directory (the CLI), or memory (the web
// page, which fetches a prepared corpus shipped with the site). The shards' reader
// (shards.ts), the batch loader (loader.ts) and the statistics (stats.ts, clusters.ts) read
// through this interface only, so both run the same checks on the same bytes. Reads are
// synchronous: a directory's through file descriptors (a shard is never held in memory), a
// page's from the bytes it fetched before training.
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

export interface DataFiles {
  /** Where the files are (an absolute directory, or the URL they were fetched from): a data set's identity in messages and run configs. */
  readonly location: string;
  /** How messages name file `name`. */
  path(name: string): string;
  exists(name: string): boolean;
  /** Size in bytes (the file must exist). */
  size(name: string): number;
  text(name: string): string;
  /** Reads up to `out.length` bytes of `name` from byte `offset` into `out`; returns the count read. */
  read(name: string, offset: number, out: Uint8Array): number;
  /** Gives back what reading holds open (file descriptors); reads after it open again. */
  close(): void;
}

/** The files of directory `dir`. */
export function directoryFiles(dir: string): DataFiles {
  const fds = new Map<string, number>();
  const path = (name: string) => join(dir, name);
  return {
    location: resolve(dir),
    path,
    exists: (name) => existsSync(path(name)),
    size: (name) => statSync(path(name)).size,
    text: (name) => readFileSync(path(name), 'utf8'),
    read(name, offset, out) {
      let fd = fds.get(name);
      if (fd === undefined) fds.set(name, (fd = openSync(path(name), 'r')));
      let n = 0;
      while (n < out.length) {
        const r = readSync(fd, out, n, out.length - n, offset + n);
        if (r === 0) break;
        n += r;
      }
      return n;
    },
    close() {
      for (const fd of fds.values()) closeSync(fd);
      fds.clear();
    },
  };
}

/** Files held in memory, by name; `location` names where they came from. */
export function memoryFiles(location: string, files: ReadonlyMap<string, Uint8Array>): DataFiles {
  const get = (name: string) => {
    const f = files.get(name);
    if (!f) throw new Error(`${location}/${name}: no such file`);
    return f;
  };
  return {
    location,
    path: (name) => `${location.replace(/\/$/, '')}/${name}`,
    exists: (name) => files.has(name),
    size: (name) => get(name).length,
    text: (name) => new TextDecoder().decode(get(name)),
    read(name, offset, out) {
      const f = get(name);
      const n = Math.max(0, Math.min(out.length, f.length - offset));
      out.set(f.subarray(offset, offset + n));
      return n;
    },
    close() {},
  };
}

/** `dir` as DataFiles, unless it already is. */
export const dataFiles = (dir: string | DataFiles): DataFiles => (typeof dir === 'string' ? directoryFiles(dir) : dir);

/**
 * Fetch a prepared corpus from `base` (a URL ending in '/'): its manifest.json, then every file
 * the manifest names (shards, tokenizer, statistics). Nothing is checked here: readManifest
 * does that on the result, as on a directory. A failed request names its URL and status.
 */
export async function fetchDataFiles(base: string, fetchFile: (url: string) => Promise<Response> = (u) => fetch(u)): Promise<DataFiles> {
  const root = base.endsWith('/') ? base : `${base}/`;
  const get = async (name: string): Promise<Uint8Array> => {
    const url = new URL(name, root).href;
    let res: Response;
    try {
      res = await fetchFile(url);
    } catch (e) {
      throw new Error(`${url}: could not be fetched (${(e as Error).message})`);
    }
    if (!res.ok) throw new Error(`${url}: ${res.status} ${res.statusText}`);
    return new Uint8Array(await res.arrayBuffer());
  };
  const files = new Map<string, Uint8Array>();
  const manifest = await get('manifest.json');
  files.set('manifest.json', manifest);
  let m: { splits?: Record<string, { shards?: { file?: unknown }[] }>; tokenizer?: unknown; vocab?: { file?: unknown }; files?: Record<string, unknown> };
  try {
    m = JSON.parse(new TextDecoder().decode(manifest));
  } catch (e) {
    throw new Error(`${new URL('manifest.json', root).href}: not valid JSON (${(e as Error).message})`);
  }
  const names = new Set<string>();
  const add = (f: unknown) => {
    // Only plain names, as readManifest accepts: nothing outside `base` is requested.
    if (typeof f === 'string' && f && f !== '.' && f !== '..' && !/[\\/?#]/.test(f)) names.add(f);
  };
  for (const s of Object.values(m.splits ?? {})) for (const sh of s?.shards ?? []) add(sh?.file);
  for (const f of [m.tokenizer, m.vocab?.file, ...Object.values(m.files ?? {})]) add(f);
  await Promise.all([...names].map(async (n) => files.set(n, await get(n))));
  return memoryFiles(root.replace(/\/$/, ''), files);
}
