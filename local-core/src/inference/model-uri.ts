/**
 * What `hearth models pull` with no argument and a first `npm start` without a model download
 * (HEARTH_DEFAULT_MODEL overrides it): a small instruct model that answers sensibly on a laptop
 * CPU. A file name rather than a quantization tag, so the reference resolves without Hugging
 * Face's manifest API.
 */
export const DEFAULT_MODEL = 'hf:Qwen/Qwen2.5-0.5B-Instruct-GGUF/qwen2.5-0.5b-instruct-q4_k_m.gguf';
/** Its size, said before the download starts. */
export const DEFAULT_MODEL_SIZE = 'about 490 MB';

const MODEL_URI = /^(hf:|huggingface:|https?:\/\/)/i;

/** A model reference that is downloaded rather than found on disk. */
export const isModelUri = (reference: string): boolean => MODEL_URI.test(reference);
