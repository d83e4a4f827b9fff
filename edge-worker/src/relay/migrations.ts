/**
 * The Relay's SQLite schema, as numbered migrations applied in order on start. Append only:
 * a deployed object has run every earlier step, so they must never change.
 */
const MIGRATIONS: readonly string[] = [
  // 1: the queue, and the outbox of replies keyed by their idempotency key.
  `CREATE TABLE messages (
     seq             INTEGER PRIMARY KEY AUTOINCREMENT,  -- arrival order
     message_id      TEXT NOT NULL UNIQUE,               -- platform-derived: dedupes retries
     conversation_id TEXT NOT NULL,
     sealed          TEXT NOT NULL,                      -- JWE to the core's key; unreadable here
     enqueued_at     INTEGER NOT NULL,
     attempts        INTEGER NOT NULL DEFAULT 0,
     session_id      TEXT,                               -- tunnel session holding it in flight
     delivered_at    INTEGER,
     acked_at        INTEGER
   );
   CREATE INDEX messages_pending ON messages (conversation_id, seq) WHERE acked_at IS NULL;
   CREATE INDEX messages_in_flight ON messages (session_id) WHERE session_id IS NOT NULL;
   CREATE TABLE outbox (
     key             TEXT PRIMARY KEY,                   -- idempotency key: sent at most once
     conversation_id TEXT NOT NULL,
     in_reply_to     TEXT,
     text            TEXT NOT NULL,
     created_at      INTEGER NOT NULL,
     attempts        INTEGER NOT NULL DEFAULT 0,
     next_attempt_at INTEGER NOT NULL,
     sent_at         INTEGER,
     failed_at       INTEGER,
     last_error      TEXT
   );
   CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE sent_at IS NULL AND failed_at IS NULL;`,

  // 2: ack deadlines, dead letters, conversation affinity, per-conversation outbox order.
  `ALTER TABLE messages ADD COLUMN deadline_at INTEGER;               -- ack deadline while in flight
   ALTER TABLE messages ADD COLUMN core_id TEXT;                      -- core holding it in flight
   ALTER TABLE messages ADD COLUMN dead_at INTEGER;                   -- dead-lettered: never delivered again
   ALTER TABLE messages ADD COLUMN dead_reason TEXT;
   DROP INDEX messages_pending;
   CREATE INDEX messages_pending ON messages (conversation_id, seq) WHERE acked_at IS NULL AND dead_at IS NULL;
   CREATE INDEX messages_age ON messages (enqueued_at) WHERE acked_at IS NULL AND dead_at IS NULL;
   CREATE INDEX messages_deadline ON messages (deadline_at) WHERE session_id IS NOT NULL;
   CREATE INDEX messages_dead ON messages (dead_at) WHERE dead_at IS NOT NULL;
   CREATE TABLE affinity (
     conversation_id TEXT PRIMARY KEY,
     core_id         TEXT NOT NULL,
     updated_at      INTEGER NOT NULL
   );
   CREATE INDEX outbox_unsent ON outbox (conversation_id) WHERE sent_at IS NULL AND failed_at IS NULL;`,

  // 3: who may talk (senders approved by pairing, codes waiting), buttons and per-part progress of replies.
  `CREATE TABLE approved_senders (
     sender      TEXT PRIMARY KEY,                       -- platform:id
     name        TEXT,                                   -- as the platform showed it when paired
     approved_at INTEGER NOT NULL
   );
   CREATE TABLE pairing_codes (
     code            TEXT PRIMARY KEY,
     sender          TEXT NOT NULL UNIQUE,               -- one code per sender at a time
     name            TEXT,
     conversation_id TEXT NOT NULL,
     held_message_id TEXT NOT NULL,                      -- the message that asked: queued on approval
     held_sealed     TEXT NOT NULL,                      -- still sealed to the core; unreadable here
     created_at      INTEGER NOT NULL,
     expires_at      INTEGER NOT NULL
   );
   -- Buttons as JSON rows of {label, data}; a long reply resumes after its last sent part.
   ALTER TABLE outbox ADD COLUMN buttons TEXT;
   ALTER TABLE outbox ADD COLUMN parts_sent INTEGER NOT NULL DEFAULT 0;`,

  // 4: client tokens the owner revoked, kept until they would have expired.
  `CREATE TABLE revoked_tokens (
     jti        TEXT PRIMARY KEY,
     expires_at INTEGER NOT NULL,                        -- ms; after it the token's exp refuses it anyway
     revoked_at INTEGER NOT NULL
   );`,

  // 5: where a pairing code was asked from (one code per source), and codes turned away, per reason.
  `ALTER TABLE pairing_codes ADD COLUMN source TEXT;                -- the group or channel, else the sender
   UPDATE pairing_codes SET source = sender;
   CREATE INDEX pairing_codes_source ON pairing_codes (source);
   CREATE INDEX pairing_codes_age ON pairing_codes (created_at);
   CREATE TABLE pairing_refusals (
     reason  TEXT PRIMARY KEY,                           -- source_pending | evicted
     count   INTEGER NOT NULL,
     since   INTEGER NOT NULL,                           -- the first one counted
     last_at INTEGER NOT NULL
   );`,

  // 6: core tokens (tunnel, admin) already used, by jti: each is accepted once.
  `CREATE TABLE seen_core_tokens (
     jti            TEXT PRIMARY KEY,
     accepted_until INTEGER NOT NULL,                    -- ms; after it (plus the skew) the verifier refuses it anyway
     seen_at        INTEGER NOT NULL
   );
   CREATE INDEX seen_core_tokens_until ON seen_core_tokens (accepted_until);`,

  // 7: presses answering a question the core waits on (approvals): a lane of their own per conversation,
  // delivered beside the turn in flight and outside the window (press = 1).
  'ALTER TABLE messages ADD COLUMN press INTEGER NOT NULL DEFAULT 0;',

  // 8: pending messages are looked up in memory (queue-index.ts), not by conversation: one index
  // fewer to write per message. Answered ones are pruned by age through an index of their own
  // (the sweep walked every row kept for dedupe).
  `DROP INDEX messages_pending;
   CREATE INDEX messages_acked ON messages (acked_at) WHERE acked_at IS NOT NULL;`,

  // 9: what a reply needs beyond the conversation id (e-mail's addresses and subject), sealed by the edge.
  `CREATE TABLE reply_contexts (
     message_id      TEXT PRIMARY KEY,
     conversation_id TEXT NOT NULL,
     sealed          TEXT NOT NULL,                      -- AES-GCM under a key of the edge's settings
     created_at      INTEGER NOT NULL
   );
   CREATE INDEX reply_contexts_conversation ON reply_contexts (conversation_id, created_at);
   CREATE INDEX reply_contexts_age ON reply_contexts (created_at);`,
  // 10: what a message's reply must be sent with (Discord's interaction token), sealed by the platform's adapter.
  `CREATE TABLE reply_credentials (
     message_id TEXT PRIMARY KEY,                        -- the message it answers
     sealed     TEXT NOT NULL,                           -- AES-GCM with an edge-held key; unreadable here
     expires_at INTEGER NOT NULL,                        -- ms; forgotten after it
     used       INTEGER NOT NULL DEFAULT 0               -- a reply's part went out with it
   );
   CREATE INDEX reply_credentials_expiry ON reply_credentials (expires_at);`,
];

/** Brings the schema up to date; runs inside the object's constructor, before any event. */
export function migrate(sql: SqlStorage): void {
  sql.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
  const row = sql.exec<{ version: number }>('SELECT version FROM schema_version').toArray()[0];
  const current = row?.version ?? 0;
  for (const step of MIGRATIONS.slice(current)) sql.exec(step);
  if (!row) sql.exec('INSERT INTO schema_version (version) VALUES (?)', MIGRATIONS.length);
  else if (current < MIGRATIONS.length) sql.exec('UPDATE schema_version SET version = ?', MIGRATIONS.length);
}
