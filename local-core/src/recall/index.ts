/** Long-term recall: embedders, the vector store in the core's SQLite, and the `Recall` facade. */
export { chunkText, type ChunkOptions } from './chunk.js';
export { loadRecallConfig, RecallEnvSchema, type RecallConfig } from './config.js';
export { createEmbedder } from './create-embedder.js';
export type { Embedder } from './embedder.js';
export { NoteFileError } from './errors.js';
export { GgufEmbedder, InputTooLongError, type GgufEmbedderOptions } from './gguf-embedder.js';
export { HashingEmbedder, HASHING_VERSION, type HashingEmbedderOptions } from './hashing-embedder.js';
export { ModelEmbedder, type ModelEmbedderOptions } from './model-embedder.js';
export { Recall, type ContextOptions, type NoteFileResult, type RecallContext, type RememberResult } from './recall.js';
export { GLOBAL_OWNER, VectorStore, type NoteSummary, type RecallHit, type RecallItem, type RecallSource } from './store.js';
