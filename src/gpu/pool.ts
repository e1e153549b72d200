// A buffer pool: storage buffers are reused by size class instead of being created and
// destroyed, and live/peak bytes are tracked so memory use can be reported.
//
// Size classes are 4 per octave (2^(k/4)), so a rounded-up buffer wastes at most ~19 %.

const USAGE_STORAGE = 0x0080 | 0x0004 | 0x0008; // STORAGE | COPY_SRC | COPY_DST

export function sizeClass(bytes: number): number {
  if (bytes <= 256) return 256;
  const k = Math.ceil(4 * Math.log2(bytes));
  let size = Math.ceil(2 ** (k / 4));
  size = Math.ceil(size / 256) * 256;
  return Math.max(size, Math.ceil(bytes / 256) * 256);
}

export interface PoolStats {
  /** Bytes in buffers handed out and not yet released (by size class). */
  liveBytes: number;
  peakLiveBytes: number;
  /** Bytes of all GPU buffers the pool has created (live + free). */
  allocatedBytes: number;
  liveBuffers: number;
  freeBuffers: number;
  /** How many acquisitions were served from the free lists. */
  reused: number;
  created: number;
}

export class BufferPool {
  private free = new Map<number, GPUBuffer[]>();
  /** Live buffers: size class and acquisition serial (for releaseSince). */
  private live = new Map<GPUBuffer, { size: number; serial: number }>();
  private serial = 0;
  private stats: PoolStats = { liveBytes: 0, peakLiveBytes: 0, allocatedBytes: 0, liveBuffers: 0, freeBuffers: 0, reused: 0, created: 0 };

  constructor(private readonly device: GPUDevice, private readonly maxBufferSize: number) {}

  acquire(bytes: number, label: string): GPUBuffer {
    const size = sizeClass(bytes);
    if (bytes > this.maxBufferSize)
      throw new Error(`buffer '${label}' needs ${bytes} bytes, above this adapter's maxBufferSize (${this.maxBufferSize})`);
    const list = this.free.get(size);
    let buf = list?.pop();
    if (buf) {
      this.stats.reused++;
      this.stats.freeBuffers--;
      buf.label = label;
    } else {
      buf = this.device.createBuffer({ size: Math.min(size, this.maxBufferSize), usage: USAGE_STORAGE, label });
      this.stats.created++;
      this.stats.allocatedBytes += size;
    }
    this.live.set(buf, { size, serial: ++this.serial });
    this.stats.liveBytes += size;
    this.stats.liveBuffers++;
    this.stats.peakLiveBytes = Math.max(this.stats.peakLiveBytes, this.stats.liveBytes);
    return buf;
  }

  release(buf: GPUBuffer): void {
    const entry = this.live.get(buf);
    if (entry === undefined) throw new Error(`buffer '${buf.label}' released twice or not from this pool`);
    const size = entry.size;
    this.live.delete(buf);
    this.stats.liveBytes -= size;
    this.stats.liveBuffers--;
    let list = this.free.get(size);
    if (!list) this.free.set(size, (list = []));
    list.push(buf);
    this.stats.freeBuffers++;
  }

  /** A mark for releaseSince. */
  mark(): number {
    return this.serial;
  }

  /**
   * Release every buffer acquired after `mark` and still live (everything a model or a
   * trainer built, without listing it); returns how many. Tensors on those buffers must not
   * be used afterwards.
   */
  releaseSince(mark: number): number {
    const since = [...this.live].filter(([, e]) => e.serial > mark).map(([b]) => b);
    for (const b of since) this.release(b);
    return since.length;
  }

  /** Destroy the free buffers (live ones stay). */
  trim(): void {
    for (const [size, list] of this.free) {
      for (const b of list) {
        b.destroy();
        this.stats.allocatedBytes -= size;
      }
    }
    this.stats.freeBuffers = 0;
    this.free.clear();
  }

  /** Start a new high-water mark from the bytes live now (a benchmark's peak of one phase). */
  resetPeak(): void {
    this.stats.peakLiveBytes = this.stats.liveBytes;
  }

  getStats(): PoolStats {
    return { ...this.stats };
  }
}
