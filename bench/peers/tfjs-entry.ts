// The TensorFlow.js peer as one module (build.mjs bundles it to dist/tfjs-peer.mjs when the
// devDependencies are installed): tfjs-core's ES modules, every op's gradient registered (the
// union package @tensorflow/tfjs does this; tfjs-core alone registers none, and its ES build's
// extensionless imports do not load in Node unbundled), and the WebGPU backend — all on one
// copy of the engine, so training (tf.variableGrads) works on the WebGPU backend.
export * from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-webgpu';
