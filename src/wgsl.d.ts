// WGSL sources are imported as text: esbuild inlines them (build.mjs), vitest
// loads them through the plugin in vitest.config.ts.
declare module '*.wgsl' {
  const source: string;
  export default source;
}

declare module 'virtual:shaders' {
  const sources: Readonly<Record<string, string>>;
  export default sources;
}
