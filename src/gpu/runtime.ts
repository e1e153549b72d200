// The runtime: one device, its buffer pool and pipeline cache, and the recording of
// kernels into one command encoder per submit.
//
// Ops (pipeline + bind group + grid) are built once, ahead of time; a training step only
// records prebuilt ops and submits once, so nothing is allocated inside it.
import type { AcquireOptions } from './adapter.js';
import type { AcquiredDevice, Capabilities } from './device.js';
import { BufferPool } from './pool.js';
import { PipelineCache, type KernelSignature, type ShaderSources, type ShaderSpec } from './pipelines.js';
import { arenaBytes, bindingBytes, byteOffsetOf, BYTES, checkShape, fromF16, numel, shapeStr, toF16, type DType, type HostArray, type Shape, type Tensor } from './tensor.js';

export class GpuError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GpuError';
  }
}

/** A recorded-once kernel launch. */
export interface Op {
  readonly label: string;
  readonly pipeline: GPUComputePipeline;
  readonly bindGroup: GPUBindGroup;
  readonly workgroups: readonly [number, number, number];
}

export type Binding = Tensor | GPUBuffer | { buffer: GPUBuffer; offset?: number; size?: number };

export type UniformField = readonly ['u32' | 'i32' | 'f32', number];

/** Pack scalars into a uniform block (each field 4 bytes, block padded to 16 bytes). */
export function packUniform(fields: readonly UniformField[]): ArrayBuffer {
  const bytes = Math.max(16, Math.ceil((fields.length * 4) / 16) * 16);
  const buf = new ArrayBuffer(bytes);
  const dv = new DataView(buf);
  fields.forEach(([type, v], i) => {
    if (type === 'f32') dv.setFloat32(i * 4, v, true);
    else if (type === 'i32') dv.setInt32(i * 4, v, true);
    else dv.setUint32(i * 4, v, true);
  });
  return buf;
}

function isTensor(b: Binding): b is Tensor {
  return (b as Tensor).dtype !== undefined && (b as Tensor).shape !== undefined;
}

export interface RuntimeOptions extends AcquireOptions {
  sources: ShaderSources;
}

export class Runtime {
  readonly device: GPUDevice;
  readonly caps: Capabilities;
  readonly limits: Record<string, number>;
  readonly pool: BufferPool;
  readonly pipelines: PipelineCache;

  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private errors: string[] = [];
  /** Error scopes around submits, awaited by sync() so errors surface at their submit. */
  private scopes: Promise<void>[] = [];
  /** Snapshots recorded into the current encoder, mapped once it is submitted. */
  private snapshots: { staging: GPUBuffer; parts: { t: Tensor; offset: number; bytes: number }[]; resolve: (v: (Float32Array | Int32Array | Uint32Array)[]) => void; reject: (e: unknown) => void }[] = [];
  /** Labels of the ops in the command buffer being recorded (named in error messages). */
  private recorded: string[] = [];
  private destroyed = false;
  /** Dispatches recorded since the last submit, and totals. */
  dispatchesPending = 0;
  dispatchCount = 0;
  submitCount = 0;

  private constructor(readonly gpu: AcquiredDevice, sources: ShaderSources) {
    this.device = gpu.device;
    this.caps = gpu.caps;
    this.limits = gpu.limits;
    this.pool = new BufferPool(this.device, this.limits.maxBufferSize);
    this.pipelines = new PipelineCache(this.device, sources);
    this.device.onuncapturederror = (ev: GPUUncapturedErrorEvent) => {
      ev.preventDefault?.();
      this.errors.push(ev.error.message);
    };
    void this.device.lost.then((info) => {
      if (!this.destroyed) this.errors.push(`device lost (${info.reason}): ${info.message}`);
    });
  }

  /** A runtime on a device through Dawn (Node: src/gpu/adapter.ts, loaded only here, so a browser bundle never runs it). */
  static async create(opts: RuntimeOptions): Promise<Runtime> {
    const { acquireDevice } = await import('./adapter.js');
    const gpu = await acquireDevice(opts);
    return new Runtime(gpu, opts.sources);
  }

  /** A runtime on a device opened elsewhere (a browser's: src/gpu/device.ts, acquireBrowserDevice). */
  static fromDevice(gpu: AcquiredDevice, sources: ShaderSources): Runtime {
    return new Runtime(gpu, sources);
  }

  /** Throw any error the device reported since the last check. */
  checkErrors(): void {
    if (this.errors.length) {
      const msgs = this.errors.splice(0);
      throw new GpuError(`WebGPU error${msgs.length > 1 ? 's' : ''}:\n` + msgs.map((m) => '  ' + m.trim()).join('\n'));
    }
  }

  // ---- tensors ---------------------------------------------------------------------

  empty(shape: Shape, dtype: DType = 'f32', label = 'tensor'): Tensor {
    checkShape(shape, label);
    if (dtype === 'f16' && !this.caps.f16) throw new Error(`${label}: dtype f16 needs the adapter feature 'shader-f16', which this adapter lacks`);
    const size = numel(shape);
    const byteLength = size * BYTES[dtype];
    const max = this.limits.maxStorageBufferBindingSize;
    if (byteLength > max)
      throw new Error(`${label}: tensor ${shapeStr(shape)} ${dtype} is ${byteLength} bytes, above this adapter's maxStorageBufferBindingSize (${max})`);
    const buffer = this.pool.acquire(Math.max(byteLength, 4), label);
    return { shape: [...shape], dtype, size, byteLength, buffer, label };
  }

  /** A tensor holding `data` (numbers are converted to the dtype; f16 is rounded). */
  upload(data: ArrayLike<number>, shape: Shape, dtype: DType = 'f32', label = 'tensor'): Tensor {
    const t = this.empty(shape, dtype, label);
    this.write(t, data);
    return t;
  }

  zeros(shape: Shape, dtype: DType = 'f32', label = 'zeros'): Tensor {
    const t = this.empty(shape, dtype, label);
    const enc = this.device.createCommandEncoder({ label: `clear ${label}` });
    enc.clearBuffer(t.buffer, 0, bindingBytes(t));
    this.device.queue.submit([enc.finish()]);
    return t;
  }

  write(t: Tensor, data: ArrayLike<number>): void {
    if (data.length !== t.size)
      throw new Error(`write to '${t.label}': ${data.length} values for a tensor of shape ${shapeStr(t.shape)} (${t.size} elements)`);
    const host = toHost(data, t.dtype);
    // writeBuffer needs a multiple of 4 bytes.
    const bytes = new Uint8Array(bindingBytes(t));
    bytes.set(new Uint8Array(host.buffer, host.byteOffset, host.byteLength));
    this.device.queue.writeBuffer(t.buffer, byteOffsetOf(t), bytes);
  }

  /** Read a tensor back (f16 is widened to Float32Array). Submits pending work first. */
  async read(t: Tensor): Promise<Float32Array | Int32Array | Uint32Array> {
    const raw = await this.readBytes(t.buffer, byteOffsetOf(t), bindingBytes(t), t.label);
    switch (t.dtype) {
      case 'f32':
        return new Float32Array(raw, 0, t.size);
      case 'i32':
        return new Int32Array(raw, 0, t.size);
      case 'u32':
        return new Uint32Array(raw, 0, t.size);
      case 'f16':
        return fromF16(new Uint16Array(raw, 0, t.size));
    }
  }

  async readBytes(buffer: GPUBuffer, offset: number, size: number, label = buffer.label): Promise<ArrayBuffer> {
    this.flush();
    const staging = this.device.createBuffer({ size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, label: `read ${label}` });
    const enc = this.device.createCommandEncoder({ label: `read ${label}` });
    enc.copyBufferToBuffer(buffer, offset, staging, 0, size);
    this.device.queue.submit([enc.finish()]);
    await Promise.all(this.scopes.splice(0));
    try {
      await staging.mapAsync(GPUMapMode.READ);
    } catch (e) {
      this.checkErrors();
      throw new GpuError(`reading '${label}' failed: ${(e as Error).message}`);
    }
    const out = staging.getMappedRange().slice(0);
    staging.unmap();
    staging.destroy();
    this.checkErrors();
    return out;
  }

  release(...tensors: Tensor[]): void {
    for (const t of tensors) {
      if (t.view) throw new Error(`release: '${t.label}' is a view into '${t.view.owner.label}'; release that arena instead`);
      this.pool.release(t.buffer);
    }
  }

  /**
   * One buffer holding several tensors, each starting at a multiple of the adapter's
   * storage-offset alignment, zero-filled (the gaps stay zero). Returns the whole buffer as a
   * flat tensor (`root`: one kernel can sweep every part at once; release it to free all)
   * and one view per part, bound by kernels like any tensor.
   */
  arena(parts: readonly { shape: Shape; label: string }[], dtype: DType, label: string): { root: Tensor; views: Tensor[] } {
    const align = this.limits.minStorageBufferOffsetAlignment ?? 256;
    const starts: number[] = [];
    let bytes = 0;
    for (const p of parts) {
      checkShape(p.shape, p.label);
      starts.push(bytes);
      bytes += arenaBytes(numel(p.shape), dtype, align);
    }
    const root = this.zeros([bytes / BYTES[dtype]], dtype, label);
    const views = parts.map((p, i): Tensor => {
      const size = numel(p.shape);
      return { shape: [...p.shape], dtype, size, byteLength: size * BYTES[dtype], buffer: root.buffer, label: p.label, view: { byteOffset: starts[i], owner: root } };
    });
    return { root, views };
  }

  /** A view of `root` at the place and shape `like` has in its own arena (e.g. optimizer state laid out as the parameters). */
  viewLike(root: Tensor, like: Tensor, label: string): Tensor {
    const byteOffset = byteOffsetOf(like);
    if (like.dtype !== root.dtype || byteOffset + like.byteLength > root.byteLength)
      throw new Error(`${label}: ${like.label} (${like.dtype}, ${like.byteLength} bytes at ${byteOffset}) does not fit in '${root.label}' (${root.dtype}, ${root.byteLength} bytes)`);
    return { shape: [...like.shape], dtype: like.dtype, size: like.size, byteLength: like.byteLength, buffer: root.buffer, label, view: { byteOffset, owner: root } };
  }

  /** A uniform buffer with fixed contents, made at setup time (not pooled). */
  uniform(data: ArrayBuffer, label: string): GPUBuffer {
    const buf = this.device.createBuffer({
      size: Math.max(16, Math.ceil(data.byteLength / 16) * 16),
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
      label,
    });
    this.device.queue.writeBuffer(buf, 0, data);
    return buf;
  }

  // ---- ops -------------------------------------------------------------------------

  /**
   * Build an op: compile (or reuse) the pipeline, check the bindings and the grid, and
   * create the bind group. Errors name the op.
   */
  async op(sig: KernelSignature, spec: ShaderSpec, bindings: readonly Binding[], workgroups: readonly number[], label = sig.name): Promise<Op> {
    if (bindings.length !== sig.bindings.length)
      throw new Error(`${label}: ${bindings.length} bindings given, kernel '${sig.name}' takes ${sig.bindings.length}`);
    const maxWg = this.limits.maxComputeWorkgroupsPerDimension;
    const grid = [workgroups[0] ?? 1, workgroups[1] ?? 1, workgroups[2] ?? 1] as const;
    for (const g of grid) {
      if (!Number.isInteger(g) || g < 0) throw new Error(`${label}: invalid workgroup count ${g}`);
      if (g > maxWg)
        throw new Error(`${label}: needs ${grid.join('×')} workgroups; this adapter allows at most ${maxWg} per dimension (maxComputeWorkgroupsPerDimension): the shape is too large for this kernel`);
    }
    const maxBind = this.limits.maxStorageBufferBindingSize;
    const entries: GPUBindGroupEntry[] = bindings.map((b, i) => {
      if (isTensor(b)) {
        const size = bindingBytes(b);
        if (size > maxBind) throw new Error(`${label}: binding ${i} ('${b.label}', ${shapeStr(b.shape)}) is ${size} bytes, above maxStorageBufferBindingSize (${maxBind})`);
        return { binding: i, resource: { buffer: b.buffer, offset: byteOffsetOf(b), size } };
      }
      if ('mapState' in b) return { binding: i, resource: { buffer: b as GPUBuffer } };
      const r = b as { buffer: GPUBuffer; offset?: number; size?: number };
      return { binding: i, resource: { buffer: r.buffer, offset: r.offset ?? 0, size: r.size } };
    });
    const cached = await this.pipelines.get(sig, spec);
    this.device.pushErrorScope('validation');
    const bindGroup = this.device.createBindGroup({ label, layout: cached.layout, entries });
    const err = await this.device.popErrorScope();
    if (err) throw new GpuError(`${label}: cannot bind its buffers: ${err.message}`);
    return { label, pipeline: cached.pipeline, bindGroup, workgroups: grid };
  }

  /** Record ops into the current command encoder (one compute pass), without submitting. */
  record(...ops: Op[]): void {
    if (!this.pass) {
      this.encoder ??= this.device.createCommandEncoder({ label: 'step' });
      this.pass = this.encoder.beginComputePass({ label: 'step' });
    }
    for (const op of ops) {
      if (op.workgroups[0] === 0 || op.workgroups[1] === 0 || op.workgroups[2] === 0) continue;
      this.pass.setPipeline(op.pipeline);
      this.pass.setBindGroup(0, op.bindGroup);
      this.pass.dispatchWorkgroups(op.workgroups[0], op.workgroups[1], op.workgroups[2]);
      this.dispatchesPending++;
      if (this.recorded.length < 64) this.recorded.push(op.label);
    }
  }

  /** Record a buffer copy (ends the current compute pass). */
  copy(src: Tensor | GPUBuffer, dst: Tensor | GPUBuffer, bytes?: number): void {
    const s = 'dtype' in src ? src.buffer : src;
    const d = 'dtype' in dst ? dst.buffer : dst;
    this.copyRange(s, 'dtype' in src ? byteOffsetOf(src) : 0, d, 'dtype' in dst ? byteOffsetOf(dst) : 0, bytes ?? ('dtype' in src ? bindingBytes(src) : s.size));
  }

  /**
   * Record copies of small tensors into a mappable buffer, in the current encoder: the
   * promise resolves with their contents after the next submit completes, without the
   * caller waiting (metrics read at log intervals without stalling the step pipeline).
   */
  snapshot(tensors: Tensor[]): Promise<(Float32Array | Int32Array | Uint32Array)[]> {
    let total = 0;
    const parts = tensors.map((t) => {
      const bytes = bindingBytes(t);
      const part = { t, offset: total, bytes };
      total += bytes;
      return part;
    });
    const staging = this.device.createBuffer({ size: Math.max(4, total), usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, label: 'snapshot' });
    for (const p of parts) this.copyRange(p.t.buffer, byteOffsetOf(p.t), staging, p.offset, p.bytes);
    return new Promise((resolve, reject) => this.snapshots.push({ staging, parts, resolve, reject }));
  }

  /** Record a copy of `bytes` bytes between buffer ranges (ends the current compute pass). */
  copyRange(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    if (srcOffset % 4 || dstOffset % 4 || bytes % 4) throw new Error(`copy ${src.label} → ${dst.label}: offsets and size must be multiples of 4 (got ${srcOffset}, ${dstOffset}, ${bytes})`);
    this.endPass();
    this.encoder ??= this.device.createCommandEncoder({ label: 'step' });
    this.encoder.copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
  }

  /** Record zero-filling a tensor (ends the current compute pass): e.g. gradients at a step's start. */
  clear(t: Tensor): void {
    this.endPass();
    this.encoder ??= this.device.createCommandEncoder({ label: 'step' });
    this.encoder.clearBuffer(t.buffer, byteOffsetOf(t), bindingBytes(t));
  }

  private endPass(): void {
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
  }

  /** Submit everything recorded so far as one command buffer. */
  submit(): void {
    this.checkErrors();
    this.endPass();
    if (!this.encoder) return;
    const kernels = this.recorded.splice(0);
    this.device.pushErrorScope('validation');
    this.device.queue.submit([this.encoder.finish()]);
    this.scopes.push(
      this.device.popErrorScope().then((err) => {
        if (err) {
          const names = [...new Set(kernels)];
          this.errors.push(`${err.message.trim()}\n  (in a submit of kernels: ${names.join(', ') || 'none (copies only)'})`);
        }
      }),
    );
    this.encoder = null;
    for (const snap of this.snapshots.splice(0)) {
      snap.staging.mapAsync(GPUMapMode.READ).then(
        () => {
          const raw = snap.staging.getMappedRange().slice(0);
          snap.staging.unmap();
          snap.staging.destroy();
          snap.resolve(
            snap.parts.map(({ t, offset }) =>
              t.dtype === 'i32' ? new Int32Array(raw, offset, t.size) : t.dtype === 'u32' ? new Uint32Array(raw, offset, t.size) : t.dtype === 'f16' ? fromF16(new Uint16Array(raw, offset, t.size)) : new Float32Array(raw, offset, t.size),
            ),
          );
        },
        (e) => snap.reject(new GpuError(`snapshot of ${snap.parts.map((p) => p.t.label).join(', ')} failed: ${(e as Error).message}`)),
      );
    }
    this.submitCount++;
    this.dispatchCount += this.dispatchesPending;
    this.dispatchesPending = 0;
  }

  private flush(): void {
    if (this.encoder || this.pass) this.submit();
  }

  /** Record, submit and wait for a list of ops (convenient outside the training step). */
  async run(...ops: Op[]): Promise<void> {
    this.record(...ops);
    await this.sync();
  }

  /**
   * Run `ops` in order as one submit, each in its own compute pass between two GPU
   * timestamps (the 'timestamp-query' feature), and return where each ran: start and end in
   * ms from the first op's start. So a profile sees every op inside a whole step, with the
   * caches and thread pool as the step leaves them, not one op repeated alone. Ops with an
   * empty grid get a zero-length span. Submits pending work first.
   */
  async timeInStep(ops: readonly Op[]): Promise<{ label: string; startMs: number; endMs: number }[]> {
    if (!this.caps.timestamps) throw new Error("timing ops inside a submit needs the adapter feature 'timestamp-query', which this adapter lacks");
    this.flush();
    const run = ops.filter((op) => op.workgroups.every((n) => n > 0));
    // WebGPU caps a query set at 4096 queries: two per op.
    const perSet = 2048;
    const sets: { querySet: GPUQuerySet; resolve: GPUBuffer; staging: GPUBuffer; n: number }[] = [];
    const enc = this.device.createCommandEncoder({ label: 'timed ops' });
    for (let first = 0; first < run.length; first += perSet) {
      const n = Math.min(perSet, run.length - first);
      const querySet = this.device.createQuerySet({ type: 'timestamp', count: 2 * n, label: 'op timestamps' });
      const resolve = this.device.createBuffer({ size: 16 * n, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC, label: 'op timestamps' });
      const staging = this.device.createBuffer({ size: 16 * n, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, label: 'op timestamps' });
      for (let i = 0; i < n; i++) {
        const op = run[first + i];
        const pass = enc.beginComputePass({ label: op.label, timestampWrites: { querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 } });
        pass.setPipeline(op.pipeline);
        pass.setBindGroup(0, op.bindGroup);
        pass.dispatchWorkgroups(op.workgroups[0], op.workgroups[1], op.workgroups[2]);
        pass.end();
      }
      enc.resolveQuerySet(querySet, 0, 2 * n, resolve, 0);
      enc.copyBufferToBuffer(resolve, 0, staging, 0, 16 * n);
      sets.push({ querySet, resolve, staging, n });
    }
    this.device.pushErrorScope('validation');
    this.device.queue.submit([enc.finish()]);
    const err = await this.device.popErrorScope();
    if (err) throw new GpuError(`timing ops: ${err.message}`);
    const ns: bigint[] = [];
    for (const s of sets) {
      await s.staging.mapAsync(GPUMapMode.READ);
      ns.push(...new BigUint64Array(s.staging.getMappedRange().slice(0)));
      s.staging.unmap();
      s.staging.destroy();
      s.resolve.destroy();
      s.querySet.destroy();
    }
    this.checkErrors();
    const t0 = ns.length ? ns[0] : 0n;
    const ms = (t: bigint) => Number(t - t0) / 1e6;
    const spans = new Map(run.map((op, i) => [op, { startMs: ms(ns[2 * i]), endMs: ms(ns[2 * i + 1]) }]));
    let last = 0;
    return ops.map((op) => {
      const s = spans.get(op);
      if (s) last = s.endMs;
      return { label: op.label, startMs: s?.startMs ?? last, endMs: s?.endMs ?? last };
    });
  }

  /** Submit pending work, wait until the GPU is done, and throw any error it reported. */
  async sync(): Promise<void> {
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
    await Promise.all(this.scopes.splice(0));
    this.checkErrors();
  }

  destroy(): void {
    this.destroyed = true;
    this.device.destroy();
  }
}

function toHost(data: ArrayLike<number>, dtype: DType): HostArray {
  switch (dtype) {
    case 'f32':
      return data instanceof Float32Array ? data : Float32Array.from(data);
    case 'i32':
      return data instanceof Int32Array ? data : Int32Array.from(data);
    case 'u32':
      return data instanceof Uint32Array ? data : Uint32Array.from(data);
    case 'f16':
      return toF16(data);
  }
}
