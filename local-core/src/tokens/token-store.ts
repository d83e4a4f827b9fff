import type { ClientScope } from '@hearth/shared';
import { type Db, migrate } from '../memory/database.js';

/**
 * A client token this core issued, as `hearth token list` shows it. Never the token itself:
 * the record says what was granted, and lets the owner revoke it by id, but is no credential.
 * Times are seconds since the epoch, as the token's own claims are.
 */
export interface IssuedToken {
  jti: string;
  user: string;
  scopes: ClientScope[];
  issued_at: number;
  expires_at: number;
  /** When `hearth token revoke` had the edge refuse it; null while it is valid. */
  revoked_at: number | null;
}

/** The client tokens' table, in the core's database under its own migration component. */
const MIGRATIONS = [
  `CREATE TABLE client_tokens (
     jti TEXT PRIMARY KEY,
     user TEXT NOT NULL,
     scopes TEXT NOT NULL,
     issued_at INTEGER NOT NULL,
     expires_at INTEGER NOT NULL,
     revoked_at INTEGER
   ) STRICT;
   CREATE INDEX client_tokens_by_user ON client_tokens (user, expires_at);`,
];

interface Row {
  jti: string;
  user: string;
  scopes: string;
  issued_at: number;
  expires_at: number;
  revoked_at: number | null;
}

const toToken = (row: Row): IssuedToken => ({ ...row, scopes: row.scopes === '' ? [] : (row.scopes.split(' ') as ClientScope[]) });

/**
 * The record of the client tokens `hearth token issue` signed (HEARTH_DATA_DIR/core.db), so the
 * owner can list them and revoke one by id or all of a user's.
 *
 * @example
 * const tokens = new TokenStore(openDatabase(config.memory.databasePath));
 * tokens.record({ jti, user: 'ada', scopes: ['chat:read'], issued_at, expires_at, revoked_at: null });
 */
export class TokenStore {
  private readonly statements;

  constructor(db: Db) {
    migrate(db, 'client_tokens', MIGRATIONS);
    this.statements = {
      insert: db.prepare<[string, string, string, number, number]>(
        'INSERT INTO client_tokens (jti, user, scopes, issued_at, expires_at) VALUES (?, ?, ?, ?, ?)',
      ),
      get: db.prepare<[string], Row>('SELECT * FROM client_tokens WHERE jti = ?'),
      all: db.prepare<[], Row>('SELECT * FROM client_tokens ORDER BY issued_at, jti'),
      active: db.prepare<[string, number], Row>(
        'SELECT * FROM client_tokens WHERE user = ? AND revoked_at IS NULL AND expires_at > ? ORDER BY issued_at, jti',
      ),
      revoke: db.prepare<[number, string]>('UPDATE client_tokens SET revoked_at = coalesce(revoked_at, ?) WHERE jti = ?'),
    };
  }

  record(token: Omit<IssuedToken, 'revoked_at'>): void {
    this.statements.insert.run(token.jti, token.user, token.scopes.join(' '), token.issued_at, token.expires_at);
  }

  get(jti: string): IssuedToken | undefined {
    const row = this.statements.get.get(jti);
    return row && toToken(row);
  }

  /** Every token issued here, oldest first (expired and revoked ones included). */
  list(): IssuedToken[] {
    return this.statements.all.all().map(toToken);
  }

  /** A user's tokens that are neither revoked nor expired at `now` (seconds). */
  active(user: string, now: number): IssuedToken[] {
    return this.statements.active.all(user, now).map(toToken);
  }

  /** Marks a token revoked at `at` (seconds); the first revocation's time is kept. False if unknown here. */
  markRevoked(jti: string, at: number): boolean {
    return this.statements.revoke.run(at, jti).changes > 0;
  }
}
