/**
 * The owner of notes every conversation may draw on. Never a platform id (those have a colon),
 * and kept in this dependency-free module so the CLI can name it without loading SQLite.
 */
export const GLOBAL_OWNER = '*';
