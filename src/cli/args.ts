// Argument parsing on node:util's parseArgs, with errors that say what was wrong.
import { parseArgs, type ParseArgsConfig } from 'node:util';

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export function parse<T extends NonNullable<ParseArgsConfig['options']>>(command: string, argv: string[], options: T, allowPositionals = false) {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (e) {
    throw new UsageError(`${command}: ${(e as Error).message}`);
  }
}

export const ADAPTER_OPTION = { adapter: { type: 'string' } } as const;

/** What a numeric option accepts: an integer or any finite number, within inclusive `min`/`max` and above an exclusive `above`. */
export interface NumberSpec {
  int?: boolean;
  min?: number;
  max?: number;
  above?: number;
  below?: number;
}

/**
 * The value of a numeric option: `value` as a finite number (an integer with `int`) within the
 * spec's bounds, else a UsageError in the CLI's one style, e.g.
 * `pretrain: --batch must be an integer ≥ 1, got '0'` or `info: --probe-seconds must be a number > 0, got 'x'`.
 * An absent value is an error too (`got 'undefined'`): give options a default, or test for undefined first.
 */
export function numberOption(command: string, name: string, value: string | undefined, spec: NumberSpec = {}): number {
  const x = value === undefined || value.trim() === '' ? NaN : Number(value);
  const ok =
    Number.isFinite(x) &&
    (!spec.int || Number.isInteger(x)) &&
    (spec.min === undefined || x >= spec.min) &&
    (spec.max === undefined || x <= spec.max) &&
    (spec.above === undefined || x > spec.above) &&
    (spec.below === undefined || x < spec.below);
  if (!ok) {
    const bounds = [
      spec.min !== undefined ? `≥ ${spec.min}` : '',
      spec.above !== undefined ? `> ${spec.above}` : '',
      spec.max !== undefined ? `≤ ${spec.max}` : '',
      spec.below !== undefined ? `< ${spec.below}` : '',
    ].filter(Boolean);
    throw new UsageError(`${command}: --${name} must be ${spec.int ? 'an integer' : 'a number'}${bounds.length ? ' ' + bounds.join(' and ') : ''}, got '${value}'`);
  }
  return x;
}

/**
 * A UsageError unless every named option was given, in the CLI's one style, e.g.
 * `pretrain: --data DIR is required (a folder made by `electrolite prepare`)`.
 * Each entry is the option's placeholder (may be empty) and why it is needed (may be empty).
 */
export function requireOptions<V extends Record<string, unknown>, K extends string>(
  command: string,
  values: V,
  options: Record<K, [placeholder: string, why: string]>,
): asserts values is V & Record<K, string> {
  for (const [name, [placeholder, why]] of Object.entries<[string, string]>(options)) {
    if (!values[name]) throw new UsageError(`${command}: --${name}${placeholder ? ' ' + placeholder : ''} is required${why ? ` (${why})` : ''}`);
  }
}
