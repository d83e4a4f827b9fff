export * from './ids.js';
export * from './cursor.js';
export * from './history.js';
export * from './events.js';
export * from './token.js';
