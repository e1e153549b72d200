// Data preparation API: tokenizer, training, ingestion, packing, shards, loader, statistics.
export { WordPieceTokenizer, SPECIAL_TOKENS, type SpecialIds, type EncodeOptions } from './tokenizer.js';
export { basicTokenize, normalizeBert, splitWords, UNCASED, type NormalizerOptions } from './normalize.js';
export { trainWordPiece, WordCounter, VocabTooSmallError, type TrainOptions } from './wordpiece-trainer.js';
export { resolveSources, readDocuments, newStats, CorpusError, type SourceFile, type Document, type IngestStats, type DocMode } from './corpus.js';
export { bundledSources, BUNDLED_NAMES } from './bundled.js';
export { Packer, splitSentences, isValidation } from './pack.js';
export { ShardWriter, readManifest, ShardError, type Manifest, type SplitInfo } from './shards.js';
export { BatchLoader, type LoaderOptions } from './loader.js';
export { UnigramCounter, loadUnigram } from './stats.js';
export { Cooccurrence, clusterTokens, loadClusters, saveClusters, CLUSTER_METHOD, type ClusterOptions, type ClusterFile } from './clusters.js';
export { prepare, forEachSequence, type PrepareOptions, type PrepareSummary } from './prepare.js';
