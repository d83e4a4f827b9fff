/**
 * The delivery benchmarks' load: a Telegram update POSTed to an edge route and timed until its
 * reply reached the fake Bot API (or, for a control without replies, until the POST answered),
 * one message at a time for latency, many conversations at once for throughput.
 */
import type { FakeTelegramBotApi, RecordedCall } from '../fakes/telegram-bot-api.js';
import { textUpdate, WEBHOOK_SECRET } from '../support/system.js';

/** Sends message `text` in chat `chatId` and resolves with the ms it took. */
export type Send = (chatId: number, text: string) => Promise<number>;

const now = () => performance.timeOrigin + performance.now();

/** When each reply reached a fake Bot API, by chat and the message it answers; grown as calls come. */
class Replies {
  private readonly at = new Map<string, number>();
  private indexed = 0;

  find(calls: RecordedCall[], key: string): number | undefined {
    for (; this.indexed < calls.length; this.indexed++) {
      const call = calls[this.indexed];
      // sendChatAction (typing) and other calls carry no reply_parameters: they answer nothing.
      const repliesTo = (call?.body.reply_parameters as { message_id?: number } | undefined)?.message_id;
      const callKey = `${String(call?.body.chat_id)}:${repliesTo}`;
      if (call && repliesTo !== undefined && !this.at.has(callKey)) this.at.set(callKey, call.at);
    }
    return this.at.get(key);
  }
}

/** POSTs a Telegram update to `url` with the webhook secret; throws unless it is answered 200. */
async function postUpdate(url: string, update: unknown): Promise<void> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'X-Telegram-Bot-Api-Secret-Token': WEBHOOK_SECRET },
    body: JSON.stringify(update),
  });
  await response.arrayBuffer();
  if (response.status !== 200) throw new Error(`${url} answered ${response.status}`);
}

/** Webhook to reply: resolves once the reply to the update reached `telegram`. */
export function replyRoundTrip(url: string, telegram: FakeTelegramBotApi): Send {
  const replies = new Replies();
  return async (chatId, text) => {
    const started = now();
    const update = textUpdate(chatId, text);
    await postUpdate(url, update);
    const key = `${chatId}:${update.message.message_id}`;
    await telegram.waitFor((calls) => replies.find(calls, key) !== undefined, 30_000);
    return (replies.find(telegram.calls, key) ?? Number.NaN) - started;
  };
}

/** Webhook to answer: resolves once the POST is answered (a control that sends no reply). */
export function answerRoundTrip(url: string): Send {
  return async (chatId, text) => {
    const started = now();
    await postUpdate(url, textUpdate(chatId, text));
    return now() - started;
  };
}

let chat = 500_000;

/** `n` messages one after another, each in a new chat; their times in ms. */
export async function latency(send: Send, n: number): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < n; i++) samples.push(await send(++chat, `ping ${i}`));
  return samples;
}

/** Messages per second: `chats` conversations sending at once, each its `perChat` messages one after another. */
export async function throughput(send: Send, chats: number, perChat: number): Promise<number> {
  const ids = Array.from({ length: chats }, () => ++chat);
  const started = performance.now();
  await Promise.all(
    ids.map(async (id) => {
      for (let n = 0; n < perChat; n++) await send(id, `burst ${n}`);
    }),
  );
  return (chats * perChat) / ((performance.now() - started) / 1000);
}
