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
