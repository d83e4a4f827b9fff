/** Long-term recall: embedders, the vector store in the core's SQLite, and the `Recall` facade. */
export type { ChunkOptions } from './chunk.js';
export { loadRecallConfig, type RecallConfig } from './config.js';
export type { Embedder } from './embedder.js';
export type { GgufEmbedderOptions } from './gguf-embedder.js';
export type { HashingEmbedderOptions } from './hashing-embedder.js';
export type { ModelEmbedderOptions } from './model-embedder.js';
export { Recall, type ContextOptions, type NoteFileResult, type RecallContext, type RememberResult } from './recall.js';
export type { NoteSummary, RecallHit, RecallItem, RecallSource } from './store.js';
