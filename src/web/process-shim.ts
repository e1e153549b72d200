// The parts of Node's `process` that shared code reads (environment switches, warnings),
// for the browser build: esbuild injects this wherever `process` is used (build.mjs).
// No variable is set in a page, so every switch takes its default.
export const process = {
  env: {} as Record<string, string | undefined>,
  pid: 0,
  platform: 'browser',
  emitWarning: (message: string) => console.warn(message),
};
