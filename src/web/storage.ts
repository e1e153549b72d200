/// <reference lib="dom" />
// Browser storage for what the CLI keeps in files: the autotuner's choices, per adapter, in
// localStorage (the cache file's layout under one key), so a second visit needs no tuning.
import { parseCache, type AutotuneStore, type CacheFile } from '../kernels/autotune.js';

const KEY = 'electrolite.autotune';

export function localStorageStore(storage: Storage = localStorage): AutotuneStore {
  const read = (): CacheFile => {
    const text = storage.getItem(KEY);
    if (!text) return { version: 1, entries: {} };
    try {
      return parseCache(text);
    } catch (e) {
      console.warn(`autotune: the stored choices are unreadable (${(e as Error).message}); starting afresh`);
      return { version: 1, entries: {} };
    }
  };
  return {
    name: `localStorage:${KEY}`,
    read,
    write(key, entry) {
      const current = read();
      current.entries[key] = entry;
      try {
        storage.setItem(KEY, JSON.stringify(current));
      } catch (e) {
        console.warn(`autotune: cannot store the choice (${(e as Error).message})`);
      }
    },
  };
}
