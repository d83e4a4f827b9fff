import {
  ApiConversationSchema,
  ApiUserIdSchema,
  COMPLETION_CONVERSATION_PREFIX,
  HearthError,
  ReplyButtonSchema,
  apiConversationId,
  decodeCursor,
  encodeCursor,
  type ConversationSummary,
  type HistoryItem,
  type ReplyButton,
} from '@hearth/shared';
import { z } from 'zod';
import { type Db, migrate } from './database.js';

/** A history request this core cannot answer as asked (a bad user id, conversation or cursor). */
export class HistoryQueryError extends HearthError {
  override readonly name = 'HistoryQueryError';
  constructor(message: string) {
    super('bad_history_query', message);
  }
}

/** A page of turns, oldest first, and whether more follow it. */
export interface HistoryPage {
  items: HistoryItem[];
  has_more: boolean;
}

const TITLE_CHARS = 80;
const PREVIEW_CHARS = 120;

interface ItemRow {
  message_id: string;
  conversation_id: string;
  role: 'user' | 'assistant';
  text: string;
  created_at: number;
  in_reply_to: string | null;
  device: string | null;
  /** JSON of the buttons of a question shown in the conversation (never of a turn). */
  buttons: string | null;
}

/** A question put to the user in an API conversation, with its buttons (the owner's Run / Skip). */
export interface ShownItem {
  key: string;
  conversationId: string;
  inReplyTo: string | null;
  text: string;
  buttons: ReplyButton[];
  createdAt: number;
}

/**
 * Questions shown in API conversations that are not turns of the model's (it never reads them
 * back): a table of their own beside `turns`, of the generation the conversation was at.
 */
const MIGRATIONS = [
  `CREATE TABLE api_shown (
     message_id TEXT PRIMARY KEY,
     conversation_id TEXT NOT NULL,
     generation INTEGER NOT NULL,
     text TEXT NOT NULL,
     buttons TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     in_reply_to TEXT
   ) STRICT;
   CREATE INDEX api_shown_by_conversation_time ON api_shown (conversation_id, created_at, message_id);
   CREATE INDEX api_shown_by_time ON api_shown (created_at, message_id);`,
];

interface SummaryRow {
  conversation_id: string;
  turns: number;
  updated_at: number;
  title: string | null;
  preview: string | null;
}

/** `text` on one line, at most `chars` code points (an ellipsis marks the cut). */
function cut(text: string, chars: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  const points = [...flat];
  return points.length <= chars ? flat : `${points.slice(0, chars).join('').trimEnd()}…`;
}

/**
 * Bounds of a user's conversation ids as a range, not LIKE: user ids may hold `_`, a LIKE
 * wildcard, and a range uses the index. Neither part of an API id contains a colon, so every id
 * in [`api:<user>:`, `api:<user>;`) is one of the user's (`;` follows `:`); completions are the
 * sub-range [`api:<user>:completion.`, `api:<user>:completion/`) (`/` follows `.`).
 */
type Range = [string, string, string, string];

function userRange(user: string): Range {
  const parsed = ApiUserIdSchema.safeParse(user);
  if (!parsed.success) throw new HistoryQueryError(`not an API user id: ${parsed.error.issues[0]?.message ?? user}`);
  const prefix = apiConversationId(user, '');
  const completions = apiConversationId(user, COMPLETION_CONVERSATION_PREFIX);
  return [prefix, `${prefix.slice(0, -1)};`, completions, `${completions.slice(0, -1)}/`];
}

function position(after: string | null): [number, string] {
  // Before every turn: no created_at is negative.
  if (after === null) return [-1, ''];
  const decoded = decodeCursor(after);
  if (!decoded) throw new HistoryQueryError('not a Hearth history cursor');
  return [decoded.at, decoded.id];
}

// Turns of the generation the conversation is at now: a reset's older turns are deleted anyway,
// and a late write of an older generation must not show. A question may come before the
// conversation's first turn is stored (it is asked during that turn): generation 0 then.
const CURRENT = 'JOIN conversations c ON c.id = t.conversation_id AND c.generation = t.generation';
const SHOWN_CURRENT = 'LEFT JOIN conversations c ON c.id = t.conversation_id WHERE t.generation = coalesce(c.generation, 0) AND';
const MINE = 't.conversation_id >= ? AND t.conversation_id < ? AND NOT (t.conversation_id >= ? AND t.conversation_id < ?)';
const COLUMNS = 't.message_id, t.conversation_id, t.role, t.text, t.created_at, t.in_reply_to, t.device, NULL AS buttons';
const SHOWN_COLUMNS = "t.message_id, t.conversation_id, 'assistant' AS role, t.text, t.created_at, t.in_reply_to, NULL AS device, t.buttons";
const AFTER = '(t.created_at, t.message_id) > (?, ?) ORDER BY t.created_at, t.message_id LIMIT ?';

/** Turns and shown questions matching `where`, merged in cursor order (each side uses its index). */
const merged = (where: string) =>
  `SELECT * FROM (SELECT ${COLUMNS} FROM turns t ${CURRENT} WHERE ${where} AND ${AFTER})
   UNION ALL SELECT * FROM (SELECT ${SHOWN_COLUMNS} FROM api_shown t ${SHOWN_CURRENT} ${where} AND ${AFTER})
   ORDER BY created_at, message_id LIMIT ?`;

const ButtonsSchema = z.array(ReplyButtonSchema);

/**
 * API clients' history (`GET /v1/conversations...`, catch-up of the live stream), answered from
 * this core's disk: a user's conversations are `api:<user>:<conversation>`, completions
 * (`completion.*`) are never listed. Order is (created_at, message_id), the cursor itself, so
 * every core that holds the same turns pages them alike.
 *
 * @example
 * const { items, has_more } = history.api.messages('ada', 'phone', null, 50);
 */
export class ApiHistory {
  private readonly statements;

  constructor(db: Db) {
    migrate(db, 'api_shown', MIGRATIONS);
    this.statements = {
      messages: db.prepare<[string, number, string, number, string, number, string, number, number], ItemRow>(merged('t.conversation_id = ?')),
      since: db.prepare<[...Range, number, string, number, ...Range, number, string, number, number], ItemRow>(merged(MINE)),
      show: db.prepare<[string, string, string, string, string, number, string | null]>(
        `INSERT INTO api_shown (message_id, conversation_id, generation, text, buttons, created_at, in_reply_to)
         VALUES (?, ?, coalesce((SELECT generation FROM conversations WHERE id = ?), 0), ?, ?, ?, ?) ON CONFLICT (message_id) DO NOTHING`,
      ),
      forgetShown: db.prepare<[string, number]>('DELETE FROM api_shown WHERE conversation_id = ? AND generation < ?'),
      conversations: db.prepare<[string, string, string, string, number], SummaryRow>(
        `WITH mine AS (SELECT t.conversation_id, t.role, t.text, t.created_at, t.message_id FROM turns t ${CURRENT} WHERE ${MINE}),
         summary AS (
           SELECT conversation_id, count(*) AS turns, max(created_at) AS updated_at FROM mine
           GROUP BY conversation_id ORDER BY updated_at DESC, conversation_id LIMIT ?
         )
         SELECT s.conversation_id, s.turns, s.updated_at,
           (SELECT m.text FROM mine m WHERE m.conversation_id = s.conversation_id AND m.role = 'user'
            ORDER BY m.created_at, m.message_id LIMIT 1) AS title,
           (SELECT m.text FROM mine m WHERE m.conversation_id = s.conversation_id
            ORDER BY m.created_at DESC, m.message_id DESC LIMIT 1) AS preview
         FROM summary s ORDER BY s.updated_at DESC, s.conversation_id`,
      ),
    };
  }

  /** One conversation's turns strictly after `after` (null: from the start), oldest first. */
  messages(user: string, conversation: string, after: string | null, limit: number): HistoryPage {
    userRange(user);
    const parsed = ApiConversationSchema.safeParse(conversation);
    if (!parsed.success) throw new HistoryQueryError(`not a conversation id: ${parsed.error.issues[0]?.message ?? conversation}`);
    // Completions are stateless: there is nothing of them to page through.
    if (conversation.startsWith(COMPLETION_CONVERSATION_PREFIX)) return { items: [], has_more: false };
    const id = apiConversationId(user, conversation);
    const from = position(after);
    return this.page(this.statements.messages.all(id, ...from, limit + 1, id, ...from, limit + 1, limit + 1), limit);
  }

  /** Every conversation's turns strictly after `after`, oldest first: a device catching up. */
  since(user: string, after: string | null, limit: number): HistoryPage {
    const range = userRange(user);
    const from = position(after);
    return this.page(this.statements.since.all(...range, ...from, limit + 1, ...range, ...from, limit + 1, limit + 1), limit);
  }

  /** Deletes the questions of a conversation's generations before `generation` (a reset: see HistoryStore.forget). */
  forgetShown(conversationId: string, generation: number): void {
    this.statements.forgetShown.run(conversationId, generation);
  }

  /** Keeps a question shown in an API conversation (once per key), to be read back with its turns. */
  show(item: ShownItem): void {
    const { key, conversationId, text, buttons, createdAt, inReplyTo } = item;
    this.statements.show.run(key, conversationId, conversationId, text, JSON.stringify(buttons), createdAt, inReplyTo);
  }

  /** The user's conversations, most recently active first. */
  conversations(user: string, limit: number): ConversationSummary[] {
    const prefix = apiConversationId(user, '');
    return this.statements.conversations.all(...userRange(user), limit).map((row) => ({
      conversation_id: row.conversation_id.slice(prefix.length),
      title: cut(row.title ?? '', TITLE_CHARS),
      preview: cut(row.preview ?? '', PREVIEW_CHARS),
      turns: row.turns,
      updated_at: row.updated_at,
    }));
  }

  /** Rows fetched one past the limit: the extra one only says that more follow. */
  private page(rows: ItemRow[], limit: number): HistoryPage {
    return { items: rows.slice(0, limit).map(toItem), has_more: rows.length > limit };
  }
}

function toItem(row: ItemRow): HistoryItem {
  return {
    cursor: encodeCursor({ at: row.created_at, id: row.message_id }),
    message_id: row.message_id,
    conversation_id: row.conversation_id.slice(row.conversation_id.lastIndexOf(':') + 1),
    role: row.role,
    text: row.text,
    created_at: row.created_at,
    in_reply_to: row.in_reply_to,
    ...(row.device === null ? {} : { device: row.device }),
    ...buttonsOf(row.buttons),
  };
}

/** Our own column, but a file on disk: damaged buttons are left off, the text still shows. */
function buttonsOf(json: string | null): { buttons?: ReplyButton[] } {
  if (json === null) return {};
  try {
    const parsed = ButtonsSchema.safeParse(JSON.parse(json));
    return parsed.success && parsed.data.length > 0 ? { buttons: parsed.data } : {};
  } catch {
    return {};
  }
}
