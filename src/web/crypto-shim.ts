// node:crypto's createHash('sha256') in the browser, where WebCrypto's digest is only
// asynchronous: @noble/hashes' SHA-256, incremental like Node's. The shards' reader checks
// the fetched corpus with it (every shard's and file's SHA-256, the manifest's checksum)
// exactly as it checks a directory; checkpoints' digests use it too.
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';

export interface Hash {
  update(data: string | Uint8Array): Hash;
  digest(encoding: 'hex'): string;
}

export function createHash(algorithm: string): Hash {
  if (algorithm !== 'sha256') throw new Error(`node:crypto: createHash('${algorithm}') is not available in a browser (only sha256)`);
  const h = sha256.create();
  const hash: Hash = {
    update(data) {
      h.update(typeof data === 'string' ? new TextEncoder().encode(data) : data);
      return hash;
    },
    digest(encoding) {
      if (encoding !== 'hex') throw new Error(`node:crypto: digest('${encoding}') is not available in a browser (only 'hex')`);
      return bytesToHex(h.digest());
    },
  };
  return hash;
}
