// Shader specialisation and the pipeline cache.
//
// One WGSL file serves every variant of a kernel. Three mechanisms, all keeping the file
// valid-looking WGSL and its line numbers intact (so compile errors point at the file):
//  - `const NAME: type = value;` lines are rewritten with the requested values (register
//    tile sizes must be `const`, since WGSL's `override` cannot size function arrays);
//  - `//#if NAME` / `//#else` / `//#endif` blocks (nestable) keep or blank lines by the
//    defines; `F16` and `SUBGROUPS` are defined for those feature variants;
//  - `//#include other.wgsl` appends that file (once) after the including one: WGSL
//    module-scope declarations are order-free, so shared functions (the counter RNG) live
//    in one file, and the including file's line numbers still do not move;
//  - pipeline-overridable constants (`override`) are passed at pipeline creation.

export type BindingKind = 'read' | 'rw' | 'uniform';

export interface ShaderSpec {
  /** File name under shaders/, e.g. 'matmul.wgsl'. */
  file: string;
  entry?: string;
  consts?: Record<string, number | boolean>;
  defines?: string[];
  f16?: boolean;
  subgroups?: boolean;
  overrides?: Record<string, number>;
}

export interface KernelSignature {
  /** Name used in labels and error messages. */
  name: string;
  bindings: readonly BindingKind[];
}

export class ShaderCompileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ShaderCompileError';
  }
}

function literal(type: string, value: number | boolean, file: string, name: string): string {
  switch (type) {
    case 'u32':
      if (!Number.isInteger(value) || (value as number) < 0) throw new Error(`${file}: const ${name} must be a non-negative integer, got ${value}`);
      return `${value}u`;
    case 'i32':
      if (!Number.isInteger(value)) throw new Error(`${file}: const ${name} must be an integer, got ${value}`);
      return `${value}i`;
    case 'f32': {
      const s = String(Number(value));
      return s.includes('.') || s.includes('e') ? s : `${s}.0`;
    }
    case 'bool':
      return value ? 'true' : 'false';
    default:
      throw new Error(`${file}: const ${name} has type ${type}; only u32, i32, f32 and bool consts can be specialised`);
  }
}

const INCLUDE_MARK = '// ---- #include ';

/** Apply defines, includes and const values to a WGSL source, preserving line numbers. */
export function specialize(source: string, spec: ShaderSpec, sources: ShaderSources = {}): string {
  const defines = new Set(spec.defines ?? []);
  if (spec.f16) defines.add('F16');
  if (spec.subgroups) defines.add('SUBGROUPS');
  const included = new Set<string>([spec.file]);
  const tail: string[] = [];
  const main = selectBlocks(source, spec.file, defines, included, sources, tail);
  return applyConsts([main, ...tail].join('\n'), spec);
}

/** Map a line of specialised text back to its file and line (includes sit after the main file). */
export function mapLine(text: string, mainFile: string, line: number): { file: string; line: number } {
  const lines = text.split('\n');
  let file = mainFile, start = 0;
  for (let i = 0; i < Math.min(line - 1, lines.length); i++) {
    if (lines[i].startsWith(INCLUDE_MARK)) {
      file = lines[i].slice(INCLUDE_MARK.length).trim();
      start = i + 1;
    }
  }
  return { file, line: line - start };
}

function selectBlocks(source: string, file: string, defines: Set<string>, included: Set<string>, sources: ShaderSources, tail: string[]): string {
  const lines = source.split('\n');
  const stack: { active: boolean; parentActive: boolean; seenElse: boolean }[] = [];
  const active = () => (stack.length === 0 ? true : stack[stack.length - 1].active);
  const out: string[] = [];
  lines.forEach((line, i) => {
    const inc = /^\s*\/\/#include\s+([\w.-]+)/.exec(line);
    if (inc) {
      if (active() && !included.has(inc[1])) {
        const text = sources[inc[1]];
        if (text === undefined) throw new ShaderCompileError(`shaders/${file}:${i + 1}: //#include of unknown shader '${inc[1]}'`);
        included.add(inc[1]);
        // Reserve the slot first so nested includes land after this one.
        const slot = tail.length;
        tail.push(INCLUDE_MARK + inc[1], '');
        tail[slot + 1] = selectBlocks(text, inc[1], defines, included, sources, tail);
      }
      out.push('');
      return;
    }
    const m = /^\s*\/\/#(if|ifnot|else|endif)\b\s*(\w*)/.exec(line);
    if (m) {
      const [, kw, name] = m;
      if (kw === 'if' || kw === 'ifnot') {
        const cond = kw === 'if' ? defines.has(name) : !defines.has(name);
        const parent = active();
        stack.push({ active: parent && cond, parentActive: parent, seenElse: false });
      } else if (kw === 'else') {
        const top = stack[stack.length - 1];
        if (!top || top.seenElse) throw new ShaderCompileError(`shaders/${file}:${i + 1}: unmatched //#else`);
        top.seenElse = true;
        top.active = top.parentActive && !top.active;
      } else {
        if (!stack.pop()) throw new ShaderCompileError(`shaders/${file}:${i + 1}: unmatched //#endif`);
      }
      out.push('');
      return;
    }
    out.push(active() ? line : '');
  });
  if (stack.length) throw new ShaderCompileError(`shaders/${file}: //#if without //#endif`);
  return out.join('\n');
}

function applyConsts(text: string, spec: ShaderSpec): string {
  for (const [name, value] of Object.entries(spec.consts ?? {})) {
    const re = new RegExp(`(^|\\n)([ \\t]*)const\\s+${name}\\s*:\\s*(\\w+)\\s*=[^;\\n]*;`);
    const m = re.exec(text);
    if (!m) throw new Error(`shaders/${spec.file} has no 'const ${name}: <type> = ...;' line to specialise`);
    text = text.replace(re, `$1$2const ${name}: $3 = ${literal(m[3], value, spec.file, name)};`);
  }
  return text;
}

export function specKey(spec: ShaderSpec): string {
  const sorted = (o?: Record<string, unknown>) => (o ? Object.keys(o).sort().map((k) => `${k}=${o[k]}`).join(',') : '');
  return [
    spec.file,
    spec.entry ?? 'main',
    sorted(spec.consts),
    [...(spec.defines ?? [])].sort().join(','),
    spec.f16 ? 'f16' : '',
    spec.subgroups ? 'sg' : '',
    sorted(spec.overrides),
  ].join('|');
}

export interface CachedPipeline {
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
  signature: KernelSignature;
  key: string;
}

/** Shader sources by file name, e.g. { 'matmul.wgsl': '...' }. */
export type ShaderSources = Readonly<Record<string, string>>;

export class PipelineCache {
  private pipelines = new Map<string, Promise<CachedPipeline>>();
  private layouts = new Map<string, GPUBindGroupLayout>();
  created = 0;

  constructor(private readonly device: GPUDevice, private readonly sources: ShaderSources) {}

  private layoutFor(sig: KernelSignature): GPUBindGroupLayout {
    const key = sig.bindings.join(',');
    let layout = this.layouts.get(key);
    if (!layout) {
      layout = this.device.createBindGroupLayout({
        label: `layout(${key})`,
        entries: sig.bindings.map((kind, binding) => ({
          binding,
          visibility: GPUShaderStage.COMPUTE,
          buffer: { type: kind === 'uniform' ? 'uniform' : kind === 'read' ? 'read-only-storage' : 'storage' },
        })),
      });
      this.layouts.set(key, layout);
    }
    return layout;
  }

  /** The pipeline for a signature and spec; compiled once, then shared. */
  get(sig: KernelSignature, spec: ShaderSpec): Promise<CachedPipeline> {
    const key = `${sig.bindings.join(',')}#${specKey(spec)}`;
    let p = this.pipelines.get(key);
    if (!p) {
      p = this.build(sig, spec, key);
      this.pipelines.set(key, p);
      p.catch(() => this.pipelines.delete(key));
    }
    return p;
  }

  /** The specialised WGSL text for a spec (for debugging and the compile test). */
  source(spec: ShaderSpec): string {
    const src = this.sources[spec.file];
    if (src === undefined) throw new Error(`no shader named '${spec.file}' in shaders/ (known: ${Object.keys(this.sources).sort().join(', ')})`);
    return specialize(src, spec, this.sources);
  }

  private async build(sig: KernelSignature, spec: ShaderSpec, key: string): Promise<CachedPipeline> {
    const code = this.source(spec);
    const variant = [spec.f16 ? 'f16' : '', spec.subgroups ? 'subgroups' : ''].filter(Boolean).join('+');
    const label = `${sig.name}${variant ? `[${variant}]` : ''}`;
    // The scope keeps Dawn's copy of a compile error from surfacing later as an
    // uncaptured error; the messages come from getCompilationInfo below.
    this.device.pushErrorScope('validation');
    const module = this.device.createShaderModule({ code, label: `shaders/${spec.file}` });
    const info = await module.getCompilationInfo();
    const moduleError = await this.device.popErrorScope();
    const errors = info.messages.filter((m) => m.type === 'error');
    if (errors.length) {
      const lines = code.split('\n');
      throw new ShaderCompileError(
        `WGSL compile error in kernel '${label}':\n` +
          errors
            .map((m) => {
              const at = mapLine(code, spec.file, m.lineNum);
              return `shaders/${at.file}:${at.line}:${m.linePos}: ${m.message}\n    ${lines[m.lineNum - 1] ?? ''}`;
            })
            .join('\n'),
      );
    }
    if (moduleError) throw new ShaderCompileError(`WGSL error in kernel '${label}' (shaders/${spec.file}): ${moduleError.message}`);
    const layout = this.layoutFor(sig);
    this.device.pushErrorScope('validation');
    let pipeline: GPUComputePipeline;
    try {
      pipeline = await this.device.createComputePipelineAsync({
        label,
        layout: this.device.createPipelineLayout({ label, bindGroupLayouts: [layout] }),
        compute: { module, entryPoint: spec.entry ?? 'main', constants: spec.overrides },
      });
    } catch (e) {
      await this.device.popErrorScope();
      throw new ShaderCompileError(`cannot create pipeline for kernel '${label}' (shaders/${spec.file}, entry '${spec.entry ?? 'main'}'): ${(e as Error).message}`);
    }
    const err = await this.device.popErrorScope();
    if (err) throw new ShaderCompileError(`cannot create pipeline for kernel '${label}' (shaders/${spec.file}): ${err.message}`);
    this.created++;
    return { pipeline, layout, signature: sig, key };
  }
}
