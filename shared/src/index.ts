export * from './errors.js';
export * from './message.js';
export * from './tunnel/frames.js';
export * from './tunnel/codec.js';
export * from './crypto/core-keys.js';
export * from './crypto/tunnel-token.js';
export * from './crypto/seal.js';
export * from './config/edge-config.js';
