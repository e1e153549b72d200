// The pre-training objectives, by name: each one's module holds its parameters, option rules,
// data needs, step graph and checkpoint state (src/objectives/common.ts, ObjectiveModule).
// Adding an objective is one file and one line here; the name type comes from this table,
// so a name nobody handles does not compile. docs/objectives.md defines each one.
import { mlm } from './mlm.js';
import { slm } from './slm.js';
import { rts } from './rts.js';
import { crts } from './crts.js';
import { electra } from './electra.js';
import { RTS_GENERATORS, type ObjectiveModule, type ObjectiveSettings } from './common.js';

export const OBJECTIVE_MODULES = { mlm, slm, rts, crts, electra } satisfies Record<string, ObjectiveModule>;
export type ObjectiveName = keyof typeof OBJECTIVE_MODULES;
export const OBJECTIVES = Object.keys(OBJECTIVE_MODULES) as ObjectiveName[];

export function objectiveModule(name: ObjectiveName): ObjectiveModule {
  return OBJECTIVE_MODULES[name];
}

export function parseObjective(s: string): ObjectiveName {
  if (Object.hasOwn(OBJECTIVE_MODULES, s)) return s as ObjectiveName;
  throw new Error(`unknown objective '${s}' (expected one of ${OBJECTIVES.join(', ')})`);
}

/** A setting given to an objective that does not take it, or a bad value; the message names the CLI flag. */
export class ObjectiveOptionError extends Error {}

/** The CLI flags of each setting, for messages. */
const FLAGS: Record<keyof ObjectiveSettings, string> = { generatorSize: '--generator-size', rtsGenerator: '--generator', unigramAlpha: '--alpha' };

/** Which objectives take a setting, in words ("--objective rts"). */
function takers(key: keyof ObjectiveSettings): string {
  return OBJECTIVES.filter((n) => OBJECTIVE_MODULES[n].settings.includes(key)).map((n) => `--objective ${n}`).join(' or ');
}

/**
 * The one check of an objective's settings (used by the CLI before any GPU work, and by the
 * trainer): every given setting must be one the objective takes, with a valid value.
 */
export function checkObjectiveSettings(name: ObjectiveName, s: ObjectiveSettings): void {
  const m = OBJECTIVE_MODULES[name];
  const given = (Object.keys(FLAGS) as (keyof ObjectiveSettings)[]).filter((k) => s[k] !== undefined);
  for (const k of given) if (!m.settings.includes(k)) throw new ObjectiveOptionError(`${FLAGS[k]} applies to ${takers(k)} only (this run trains ${name})`);
  if (s.generatorSize !== undefined && !(s.generatorSize > 0 && s.generatorSize <= 1)) throw new ObjectiveOptionError(`--generator-size must be in (0, 1], got '${s.generatorSize}'`);
  if (s.rtsGenerator !== undefined && !(RTS_GENERATORS as readonly string[]).includes(s.rtsGenerator)) throw new ObjectiveOptionError(`unknown --generator '${s.rtsGenerator}' (expected one of ${RTS_GENERATORS.join(', ')})`);
  if (s.unigramAlpha !== undefined) {
    if (s.rtsGenerator !== 'unigram') throw new ObjectiveOptionError('--alpha applies to --generator unigram only');
    if (!(s.unigramAlpha >= 0 && s.unigramAlpha <= 1)) throw new ObjectiveOptionError(`--alpha must be in [0, 1], got '${s.unigramAlpha}'`);
  }
}

export type { ObjectiveModule, ObjectiveSettings, ObjectiveContext, PretrainGraph, PretrainMetrics, PretrainEval, EvalBatch, RtsGenerator } from './common.js';
export { DETECTION_LAMBDA, RTS_GENERATORS } from './common.js';
