// Dispatch-size helpers shared by kernel wrappers.

/** Workgroups to cover n items with `perGroup` items each, split over x and y when n is large. */
export function grid1d(n: number, perGroup: number, maxPerDim = 65535): [number, number] {
  const groups = Math.ceil(n / perGroup);
  if (groups <= maxPerDim) return [groups, 1];
  const y = Math.ceil(groups / maxPerDim);
  return [Math.ceil(groups / y), y];
}

export function ceilDiv(a: number, b: number): number {
  return Math.ceil(a / b);
}

/**
 * Defines of an elementwise kernel with a VEC4 path: tensors of `size` elements move as vec4s
 * when the size is a multiple of 4 (on CPU adapters every access costs per invocation, so one
 * vec4 access replaces four; bench/RESULTS.md), element by element otherwise.
 */
export function vec4Defines(size: number): string[] | undefined {
  return size % 4 === 0 ? ['VEC4'] : undefined;
}

/** Sizes that take each path of vec4Defines (for registering both variants). */
export const VEC4_PATHS = [1, 4] as const;
