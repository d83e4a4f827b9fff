import { MessageSchema, unseal } from '@hearth/shared';
import { runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { relayFor } from '../src/relay/stub.js';
import { deliverEmail, EML, eml, freshMessageId, idsOf } from './email-helpers.js';
import { checkProperty, fuzzSuite, fuzzTimeout, nastyString } from './fuzz-helpers.js';
import { coreKeys, storedRows } from './helpers.js';

/**
 * The email() handler under garbage: random bytes, broken MIME (cut, spliced, random headers,
 * charsets and boundaries), random header values on valid mail. It never throws (the Relay is
 * healthy: a throw would make Email Routing retry garbage forever), never leaves the marker the
 * inputs carry readable in any table, and what it stores is a valid message sealed to the core.
 * Each input is followed by a valid mail, which must be stored and delivered.
 */
const { mustDeliver, expectClean } = fuzzSuite('fuzz-email');
const MARKER = 'zqxmarker';

async function validAround(): Promise<void> {
  const messageId = freshMessageId('fuzz-ok');
  expect(await deliverEmail(eml(EML.plain, { 'Message-ID': messageId }))).toEqual({ rejected: undefined });
  const { messageId: id } = await idsOf('ada@example.com', messageId);
  expect(await storedRows(id)).toHaveLength(1);
  mustDeliver.add(id);
}

/** Every table that could hold a mail's content, as text. */
const atRest = () =>
  runInDurableObject(relayFor(env), (_relay, state) =>
    ['messages', 'outbox', 'reply_contexts', 'pairing_codes'].map((t) => JSON.stringify(state.storage.sql.exec(`SELECT * FROM ${t}`).toArray())).join('\n'),
  );

/** Delivers one input: it must not throw; nothing of it is readable at rest; what it stored is a sealed message. */
async function deliverAndCheck(raw: string | Uint8Array, messageId?: string): Promise<void> {
  await deliverEmail(raw);
  expect(await atRest()).not.toContain(MARKER);
  if (messageId) {
    for (const row of await storedRows((await idsOf(`${MARKER}@example.com`, messageId)).messageId)) {
      // The drainer may have acked it already, which forgets the body.
      if (row.sealed) MessageSchema.parse(JSON.parse(await unseal(row.sealed, coreKeys())));
      mustDeliver.add(row.message_id);
    }
  }
  await validAround();
}

const fixture = fc.constantFrom(...Object.values(EML)).map((f) => f.replaceAll('ada@example.com', `${MARKER}@example.com`).replaceAll('Bread recipe', `${MARKER} recipe`));

/** A fixture broken: cut short, a span replaced by garbage, a random header spliced in, or its bytes flipped. */
const brokenMime = fc.oneof(
  fc.tuple(fixture, fc.nat()).map(([f, at]) => f.slice(0, at % (f.length + 1))),
  fc.tuple(fixture, fc.nat(), fc.nat({ max: 200 }), nastyString()).map(([f, at, length, junk]) => {
    const start = at % (f.length + 1);
    return `${f.slice(0, start)}${junk}${f.slice(start + length)}`;
  }),
  fc.tuple(fixture, fc.constantFrom('Content-Type', 'Content-Transfer-Encoding', 'MIME-Version', 'References', 'From', 'Subject'), nastyString()).map(
    ([f, name, value]) => f.replace('\nMIME-Version', `\n${name}: ${value.replace(/[\r\n]/g, ' ')}\nMIME-Version`),
  ),
  fc.tuple(fixture, fc.constantFrom('utf-7', 'x-unknown', 'ISO-2022-JP', 'utf-16', '"', ''), fc.stringMatching(/^[-=_a-z0-9]{0,80}$/)).map(([f, charset, boundary]) =>
    f.replace(/charset="?[^";\n]*"?/gi, `charset=${charset}`).replace(/boundary="[^"]*"/g, `boundary="${boundary}"`),
  ),
  fc.tuple(fixture, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 20 })).map(([f, flips]) => {
    const bytes = new TextEncoder().encode(f);
    for (const [at, value] of flips) bytes[at % bytes.length] = value;
    return bytes;
  }),
  fc.uint8Array({ maxLength: 4_000 }),
  nastyString(2_000),
);

describe('fuzz: email()', () => {
  it(
    'takes broken MIME without a throw, storing nothing readable',
    async () => {
      await checkProperty('email broken MIME', fc.asyncProperty(brokenMime, (raw) => deliverAndCheck(raw)), 80);
    },
    fuzzTimeout(),
  );

  it(
    'takes random header values on valid mail without a throw; what it stores is a valid sealed message',
    async () => {
      const headers = fc.record(
        {
          Subject: nastyString(),
          From: fc.oneof(nastyString(), nastyString().map((name) => `"${name.replace(/["\\\r\n]/g, '')}" <${MARKER}@example.com>`)),
          References: fc.oneof(nastyString(), fc.array(fc.stringMatching(/^<[^<>\s]{1,60}>$/), { maxLength: 150 }).map((ids) => ids.join(' '))),
          'In-Reply-To': nastyString(),
          'Content-Type': fc.constantFrom('text/plain', 'text/html', 'multipart/mixed', 'multipart/alternative; boundary=x', 'application/octet-stream', 'multipart/report; report-type=delivery-status'),
          'Auto-Submitted': fc.constantFrom('no', 'auto-generated', 'auto-replied'),
        },
        { requiredKeys: [] },
      );
      await checkProperty(
        'email random headers',
        fc.asyncProperty(fixture, headers, async (f, values) => {
          const messageId = freshMessageId('fuzz');
          const clean = Object.fromEntries(Object.entries(values).map(([k, v]) => [k, v.replace(/[\r\n]/g, ' ')]));
          await deliverAndCheck(eml(f, { ...clean, 'Message-ID': messageId }), messageId);
        }),
        80,
      );
      await expectClean();
    },
    fuzzTimeout(),
  );
});
