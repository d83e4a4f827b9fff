import { MessageSchema, unseal, type Message } from '@hearth/shared';
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import PostalMime, { type Email } from 'postal-mime';
import { inject } from 'vitest';
import type { EmailFailure, RecordedEmail } from '../../tests/fakes/email-service.js';
import worker from '../src/index.js';
import { emailConversationId, emailMessageId, threadRootOf } from '../src/platforms/email/threading.js';
import { coreKeys, storedRows } from './helpers.js';
import alternative from './fixtures/email/alternative.eml?raw';
import attachment from './fixtures/email/attachment.eml?raw';
import autoReply from './fixtures/email/auto-reply.eml?raw';
import htmlOnly from './fixtures/email/html-only.eml?raw';
import latin1 from './fixtures/email/latin1.eml?raw';
import plain from './fixtures/email/plain.eml?raw';
import reply from './fixtures/email/reply.eml?raw';
import unauthenticated from './fixtures/email/unauthenticated.eml?raw';

/** Real-world shaped mail as Email Routing hands it over (its authentication headers on top). */
export const EML = { plain, alternative, htmlOnly, reply, autoReply, attachment, latin1, unauthenticated } as const;

/** A fixture with its headers changed: `Message-ID` for a fresh mail, others as given (a value of null drops the header). */
export function eml(fixture: string, headers: Record<string, string | null> = {}): string {
  let out = fixture.replace(/\r?\n/g, '\r\n');
  for (const [name, value] of Object.entries(headers)) {
    const pattern = new RegExp(`^${name}:.*(?:\\r\\n[ \\t].*)*\\r\\n`, 'im');
    out = pattern.test(out) ? out.replace(pattern, value === null ? '' : `${name}: ${value}\r\n`) : value === null ? out : out.replace('\r\n\r\n', `\r\n${name}: ${value}\r\n\r\n`);
  }
  return out;
}

let nextId = 0;
/** A Message-ID no other test used. */
export const freshMessageId = (tag = 'test') => `<${tag}-${++nextId}-${crypto.randomUUID()}@mail.example.com>`;

/** What the handler did with one mail: rejected (with the reason) or not. */
export interface Delivered {
  rejected: string | undefined;
}

/**
 * Hands a raw mail to the worker's exported `email()` handler, as Email Routing does (envelope
 * from and to, the raw stream, its headers), and waits for it to finish. A throw is what Email
 * Routing turns into a temporary failure; it propagates.
 */
export async function deliverEmail(raw: string | Uint8Array, { from = 'ada@example.com', to = inject('emailAddress'), bindings = env } = {}): Promise<Delivered> {
  const bytes = typeof raw === 'string' ? new TextEncoder().encode(raw) : raw;
  let rejected: string | undefined;
  const headers = new Headers();
  for (const header of (await PostalMime.parse(bytes).catch(() => ({ headers: [] as Email['headers'] }))).headers) {
    // Headers takes token names and ASCII values only; the handler reads the raw mail, not these.
    if (!/^[\x20-\x7e\t]*$/.test(header.value)) continue;
    try {
      headers.append(header.key, header.value);
    } catch {
      // a name Headers refuses: Email Routing would not hand such a header over either
    }
  }
  const message: ForwardableEmailMessage = {
    from,
    to,
    headers,
    raw: new Response(bytes).body as ReadableStream<Uint8Array>,
    rawSize: bytes.byteLength,
    setReject: (reason: string) => {
      rejected = reason;
    },
    forward: () => Promise.reject(new Error('the edge never forwards')),
    reply: () => Promise.reject(new Error('the edge replies through the send_email binding')),
  };
  const ctx = createExecutionContext();
  await worker.email(message, bindings as Env, ctx);
  await waitOnExecutionContext(ctx);
  return { rejected };
}

/** The ids the edge gives a mail of `sender` with these headers. */
export async function idsOf(sender: string, messageId: string, thread: { inReplyTo?: string; references?: string } = {}) {
  return {
    messageId: await emailMessageId(`email:${sender}`, messageId),
    conversationId: await emailConversationId(`email:${sender}`, threadRootOf({ messageId, ...thread })),
  };
}

/** The message stored under this id, unsealed with the core's key. */
export async function storedEmail(messageId: string): Promise<Message> {
  const [row] = await storedRows(messageId);
  if (!row) throw new Error(`nothing stored for ${messageId}`);
  return MessageSchema.parse(JSON.parse(await unseal(row.sealed, coreKeys())));
}

/** Mail the fake binding got, parsed; to one address when given. */
export async function sentEmails(to?: string): Promise<(RecordedEmail & { mail: Email })[]> {
  const calls: RecordedEmail[] = await (await fetch(`${inject('emailFakeUrl')}/__calls`)).json();
  const mine = calls.filter((c) => to === undefined || c.to === to);
  return Promise.all(mine.map(async (c) => ({ ...c, mail: await PostalMime.parse(c.raw) })));
}

/** Scripts the fake binding: the next `count` sends (to `to`, when given) throw `error`. */
export async function failEmail(failure: EmailFailure & { count?: number }): Promise<void> {
  const response = await fetch(`${inject('emailFakeUrl')}/__fail`, { method: 'POST', body: JSON.stringify(failure) });
  if (!response.ok) throw new Error(`the fake binding refused the failure script: ${response.status}`);
}

/** A header of a parsed mail (first of its name). */
export const headerOf = (mail: Email, name: string) => mail.headers.find((h) => h.key === name.toLowerCase())?.value;
