// Dawn's own log lines, kept off the terminal.
//
// Dawn (inside dawn.node) logs with fprintf(stderr, "Warning: …") from C++: straight to file
// descriptor 2, past anything JavaScript can wrap (process.stderr.write is never called),
// with no log level to set (dawn.node's create() flags are backend, adapter, validate,
// verbose, dlldir and enable/disable-dawn-features; none silences logging), and Node cannot
// dup2() fd 2 away around adapter creation. So the CLI runs itself as a child whose stderr
// is a pipe, and this process relays that pipe: Dawn's messages are recognised (a
// "Warning: "/"Error: " line that is a known Dawn message, or that is followed by frames in
// C++ files: "    at f (/…/BackendVk.cpp:368)") and replaced, once each, by one plain
// line of ours; everything else passes through unchanged, partial lines (progress bars
// redrawn with \r) at once. stdin and stdout are inherited, untouched. With
// ELECTROLITE_DEBUG=1 there is no relay, and Dawn's messages appear as Dawn wrote them.
import { spawn, type ChildProcess } from 'node:child_process';
import { constants as osConstants } from 'node:os';

/** Set in the child's environment (and removed from it at start). */
const CHILD = 'ELECTROLITE_RELAYED';
const CHILD_TTY = 'ELECTROLITE_STDERR_TTY';

const HEADER = /^(Warning|Error|Info|Debug): /;
/** A frame of Dawn's error backtrace: a C++ source file and line. */
const NATIVE_FRAME = /^\s+at .*\.(cc|cpp|cxx|h|hpp|mm)(:\d+)+\)?\s*$/;
const HEADER_PREFIXES = ['Warning: ', 'Error: ', 'Info: ', 'Debug: '];

interface Known {
  re: RegExp;
  /** Messages of one key are explained once. */
  key: string;
  say: (m: RegExpExecArray) => string;
}

const HOW_TO_SEE = 'ELECTROLITE_DEBUG=1 shows Dawn\'s own messages';

/** Dawn messages seen in practice, and what they mean for electrolite. */
export const KNOWN_DAWN_MESSAGES: Known[] = [
  {
    re: /^Warning: maxDynamic(?:Uniform|Storage)BuffersPerPipelineLayout artificially reduced from (\d+) to (\d+)/,
    key: 'dynamic-offset-limits',
    say: (m) => `note: Dawn lowered this adapter's limit on dynamic-offset buffers per pipeline layout to ${m[2]}; electrolite uses none, so nothing changes (${HOW_TO_SEE})`,
  },
  {
    re: /^Warning: Couldn't load Vulkan[.:]? ?(.*)/,
    key: 'vulkan-loader',
    say: (m) => `note: Dawn could not load the Vulkan loader${m[1] ? ` (${m[1]})` : ''}, so no Vulkan adapter is available; install libvulkan1 (${HOW_TO_SEE})`,
  },
];

/**
 * The relay's line filter: push() the child's stderr text, write what it returns; call
 * idle() after a pause (a held partial line is released) and end() at the end.
 */
export class NativeLogFilter {
  /** Text after the last newline, held because it may begin a Dawn message. */
  private partial = '';
  /** The rest of the current line passes through unexamined (its start was released already). */
  private midLine = false;
  /** A header line under examination, with whether it is known and whether frames followed. */
  private block: { header: string; known: boolean; frames: number } | null = null;
  private readonly said = new Set<string>();
  /** How many Dawn message lines were kept off the output. */
  suppressed = 0;

  /** True while text is held back (idle() would release it). */
  get holding(): boolean {
    return this.partial !== '' || (this.block !== null && !this.block.known && this.block.frames === 0);
  }

  push(text: string): string {
    let out = '';
    if (this.midLine) {
      const nl = text.indexOf('\n');
      if (nl < 0) return text;
      out += text.slice(0, nl + 1);
      text = text.slice(nl + 1);
      this.midLine = false;
    }
    const lines = (this.partial + text).split('\n');
    this.partial = lines.pop()!;
    for (const line of lines) out += this.line(line);
    if (this.partial && !this.block && !this.mayStartHeader(this.partial)) out += this.releasePartial();
    return out;
  }

  /** After a pause: an unfinished line, or a header no frame followed, is released as it is. */
  idle(): string {
    return this.closeBlock() + this.releasePartial();
  }

  /** The unfinished line goes out as it is; what follows continues it. */
  private releasePartial(): string {
    const out = this.partial;
    if (out) {
      this.partial = '';
      this.midLine = true;
    }
    return out;
  }

  end(): string {
    const out = this.idle();
    this.midLine = false;
    return out;
  }

  private mayStartHeader(s: string): boolean {
    return HEADER.test(s) || HEADER_PREFIXES.some((p) => p.startsWith(s));
  }

  private line(line: string): string {
    if (this.block) {
      if (NATIVE_FRAME.test(line)) {
        this.block.frames++;
        this.suppressed++;
        return '';
      }
      // Dawn ends a message with a backtrace by a blank line.
      if (line === '' && this.block.frames > 0) {
        this.suppressed++;
        return this.closeBlock();
      }
      return this.closeBlock() + this.line(line);
    }
    if (HEADER.test(line)) {
      for (const k of KNOWN_DAWN_MESSAGES) {
        const m = k.re.exec(line);
        if (m) {
          this.block = { header: line, known: true, frames: 0 };
          this.suppressed++;
          return this.once(k.key, k.say(m));
        }
      }
      this.block = { header: line, known: false, frames: 0 };
      return '';
    }
    return line + '\n';
  }

  /** The block's verdict: a Dawn message (explained, once) or an ordinary line (passed through). */
  private closeBlock(): string {
    const b = this.block;
    if (!b) return '';
    this.block = null;
    if (b.known) return '';
    if (b.frames === 0) return b.header + '\n';
    this.suppressed++;
    return this.once(b.header, `note: Dawn (the native WebGPU library) reported: ${b.header.replace(HEADER, '')} (${HOW_TO_SEE}, with its source locations)`);
  }

  private once(key: string, message: string): string {
    if (this.said.has(key)) return '';
    this.said.add(key);
    return `electrolite: ${message}\n`;
  }
}

/**
 * Call first thing in the CLI. In the relaying parent: starts the child (this same command)
 * and returns true; the caller must then do nothing else, as this process exits with the
 * child's status. In the child, with ELECTROLITE_DEBUG set, or if no child can be started:
 * returns false, and the caller runs the command itself.
 */
export function relayNativeOutput(): boolean {
  if (process.env[CHILD] === '1') {
    delete process.env[CHILD];
    // Progress lines redraw in place when the real stderr is a terminal.
    if (process.env[CHILD_TTY] === '1') Object.defineProperty(process.stderr, 'isTTY', { value: true, configurable: true });
    delete process.env[CHILD_TTY];
    // The relay gone (killed), this process leaves too instead of writing into a dead pipe.
    process.channel?.unref();
    process.on('disconnect', () => process.exit(129));
    return false;
  }
  if (process.env.ELECTROLITE_DEBUG) return false;
  // Under a debugger, stay one process: the one being inspected is the one doing the work.
  if (process.execArgv.some((a) => a.startsWith('--inspect'))) return false;
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
      stdio: ['inherit', 'inherit', 'pipe', 'ipc'],
      env: { ...process.env, [CHILD]: '1', ...(process.stderr.isTTY ? { [CHILD_TTY]: '1' } : {}) },
    });
  } catch {
    return false;
  }
  const filter = new NativeLogFilter();
  let timer: NodeJS.Timeout | undefined;
  const write = (s: string) => {
    if (s) process.stderr.write(s);
  };
  process.stderr.on('error', () => {}); // a closed terminal or pipe: nothing to tell
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    clearTimeout(timer);
    write(filter.push(chunk));
    if (filter.holding) timer = setTimeout(() => write(filter.idle()), 100);
  });
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'];
  const forward = (sig: NodeJS.Signals) => {
    try {
      child.kill(sig);
    } catch {
      // already gone
    }
  };
  for (const sig of signals) process.on(sig, forward);
  child.on('error', (e) => {
    process.stderr.write(`electrolite: could not start the command process: ${e.message}\n`);
    process.exit(1);
  });
  child.on('close', (code, signal) => {
    clearTimeout(timer);
    write(filter.end());
    process.stderr.write('', () => {
      if (signal) {
        // Die of the same signal, as a shell expects.
        for (const sig of signals) process.off(sig, forward);
        process.kill(process.pid, signal);
        setTimeout(() => process.exit(128 + (osConstants.signals[signal] ?? 1)), 1000).unref();
      } else process.exit(code ?? 1);
    });
  });
  return true;
}
