// Every shaders/*.wgsl file as text, keyed by file name. The virtual module is made by
// build.mjs (esbuild) and by vitest.config.ts from the files in shaders/, so adding a
// shader needs no edit here, and the built CLI needs no shader files at run time.
import sources from 'virtual:shaders';

export const SHADER_SOURCES: Readonly<Record<string, string>> = sources;
