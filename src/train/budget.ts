// Training budgets: a number of steps, of tokens, or of wall-clock time.
//   "2000" or "2000steps" → steps;  "5M tokens"/"5Mtok" → tokens;  "10m", "90s", "1h30m" → time.

export type Budget = { kind: 'steps'; steps: number } | { kind: 'tokens'; tokens: number } | { kind: 'time'; seconds: number };

const SUFFIX: Record<string, number> = { '': 1, k: 1e3, K: 1e3, m: 1e6, M: 1e6, g: 1e9, G: 1e9, b: 1e9, B: 1e9 };

export function parseBudget(text: string): Budget {
  const s = text.trim().replace(/\s+/g, '');
  // A bare number, or a number with "steps", counts optimizer steps.
  let m = /^(\d+)$/.exec(s) ?? /^(\d+(?:\.\d+)?)(k|K|M|G|B)?steps?$/.exec(s);
  if (m) {
    const steps = Math.round(Number(m[1]) * SUFFIX[m[2] ?? '']);
    if (steps > 0) return { kind: 'steps', steps };
  }
  m = /^(\d+(?:\.\d+)?)(k|K|m|M|g|G|b|B)?(?:tokens?|tok)$/.exec(s);
  if (m) {
    const tokens = Math.round(Number(m[1]) * SUFFIX[m[2] ?? '']);
    if (tokens > 0) return { kind: 'tokens', tokens };
  }
  m = /^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m(?:in)?)?(?:(\d+(?:\.\d+)?)s)?$/.exec(s);
  if (m && (m[1] || m[2] || m[3])) {
    const seconds = Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
    if (seconds > 0) return { kind: 'time', seconds };
  }
  throw new Error(`invalid budget '${text}': use steps ("2000", "20k steps"), tokens ("5M tokens") or time ("90s", "10m", "1h30m")`);
}

/**
 * The number of optimizer steps a budget allows, so the schedule can be fitted to it.
 * For time budgets this needs a measured step time (seconds per step).
 */
export function stepsForBudget(b: Budget, tokensPerStep: number, secondsPerStep?: number): number {
  switch (b.kind) {
    case 'steps':
      return b.steps;
    case 'tokens':
      return Math.max(1, Math.floor(b.tokens / tokensPerStep));
    case 'time':
      if (!secondsPerStep || !(secondsPerStep > 0)) throw new Error('a time budget needs a measured step time to fit the schedule');
      return Math.max(1, Math.floor(b.seconds / secondsPerStep));
  }
}
