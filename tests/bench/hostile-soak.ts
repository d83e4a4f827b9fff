/**
 * Soak, part of `npm run bench:hostile`: HEARTH_SOAK_SECONDS (default 600) of mixed traffic
 * (Telegram, WhatsApp, client API) against the real edge and a real core on the echo engine,
 * while the core is killed with SIGKILL and restarted, and the tunnel between them is
 * blackholed or reset by a TCP proxy, periodically. A bounded loop: one message every
 * SEND_EVERY_MS, one fault every FAULT_EVERY_MS. At the end every accepted message must have
 * exactly one reply: Telegram and WhatsApp at their fake APIs, API messages on the user's
 * live stream (SSE), and the counts are reported.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { expectExactlyOnceInOrder } from '../support/exactly-once.js';
import { startSystem, textUpdate, whatsappText, type System, type TextUpdate } from '../support/system.js';
import { memoryStats, sampleMemory, type MemoryStats } from './hostile-load.js';

const SEND_EVERY_MS = 100;
const FAULT_EVERY_MS = 20_000;

export interface SoakResult {
  seconds: number;
  sent: { telegram: number; whatsapp: number; api: number };
  accepted: { telegram: number; whatsapp: number; api: number };
  retried503: number;
  refused: Record<string, number>;
  faults: { coreKills: number; blackholes: number; resets: number };
  problems: string[];
  memory: { workerd: MemoryStats; core: MemoryStats };
}

/** Reads an SSE stream, counting each assistant turn per message it answers. */
function watchReplies(system: System, token: string): { replies: Map<string, number>; stop: () => void } {
  const replies = new Map<string, number>();
  const controller = new AbortController();
  void (async () => {
    const response = await fetch(`${system.edge.url}/v1/events`, { headers: { Authorization: `Bearer ${token}` }, signal: controller.signal });
    if (!response.body) return;
    let buffered = '';
    const decoder = new TextDecoder();
    for await (const chunk of response.body) {
      buffered += decoder.decode(chunk as Uint8Array, { stream: true });
      const events = buffered.split('\n\n');
      buffered = events.pop() ?? '';
      for (const event of events) {
        const data = event.split('\n').find((l) => l.startsWith('data: '))?.slice(6);
        if (!data) continue;
        const parsed = JSON.parse(data) as { type: string; item?: { role: string; in_reply_to: string | null } };
        if (parsed.type === 'message' && parsed.item?.role === 'assistant' && parsed.item.in_reply_to) {
          replies.set(parsed.item.in_reply_to, (replies.get(parsed.item.in_reply_to) ?? 0) + 1);
        }
      }
    }
  })().catch(() => {});
  return { replies, stop: () => controller.abort() };
}

export async function runSoak(seconds: number): Promise<SoakResult> {
  const system = await startSystem({
    proxy: true,
    whatsapp: true,
    coreEnv: { HEARTH_ENGINE: 'echo', HEARTH_ECHO_DELAY_MS: '20', HEARTH_SEQUENCES: '8' },
    edgeVars: {
      HEARTH_LOG_LEVEL: 'warn',
      // Silent links noticed in 5 s; kills mid-delivery are many, so allow many attempts.
      HEARTH_HEARTBEAT_MS: '2000',
      HEARTH_MAX_ATTEMPTS: '50',
      TELEGRAM_CHAT_INTERVAL_MS: '0',
      TELEGRAM_MAX_PER_SECOND: '1000',
      WHATSAPP_MAX_PER_SECOND: '1000',
      HEARTH_API_RATE_USER: '10000',
      HEARTH_API_RATE_TOKEN: '10000',
    },
  });
  const memory = sampleMemory(system);
  const user = 'soak-user';
  const token = await system.clientToken(user, ['chat:read', 'chat:write', 'sync'], seconds + 3_600);
  const stream = watchReplies(system, token);
  const result: SoakResult = {
    seconds,
    sent: { telegram: 0, whatsapp: 0, api: 0 },
    accepted: { telegram: 0, whatsapp: 0, api: 0 },
    retried503: 0,
    refused: {},
    faults: { coreKills: 0, blackholes: 0, resets: 0 },
    problems: [],
    memory: { workerd: { start: 0, peak: 0, end: 0 }, core: { start: 0, peak: 0, end: 0 } },
  };
  const telegramAccepted: TextUpdate[] = [];
  const whatsappAccepted: string[] = [];
  const apiAccepted: string[] = [];

  /** Posts until accepted, retrying a 503 as the platform would; anything else is a refusal counted. */
  const post = async (kind: string, send: () => Promise<Response>): Promise<Response | undefined> => {
    for (let attempt = 1; attempt <= 20; attempt++) {
      const response = await send().catch(() => undefined);
      if (response && response.status < 300) return response;
      const status = response ? String(response.status) : 'connection_error';
      if (response?.status !== 503) {
        result.refused[`${kind} ${status}`] = (result.refused[`${kind} ${status}`] ?? 0) + 1;
        return undefined;
      }
      result.retried503++;
      await sleep(100 * attempt);
    }
    return undefined;
  };

  let faults = 0;
  const faultLoop = (async () => {
    const end = Date.now() + seconds * 1000;
    while (Date.now() + FAULT_EVERY_MS < end) {
      await sleep(FAULT_EVERY_MS);
      const kind = faults++ % 3;
      if (kind === 0) {
        const core = system.cores.at(-1)!;
        await core.stop('SIGKILL');
        await system.startCore();
        result.faults.coreKills++;
      } else if (kind === 1) {
        system.proxy!.blackhole();
        result.faults.blackholes++;
      } else {
        system.proxy!.drop();
        result.faults.resets++;
      }
    }
  })();

  try {
    const end = Date.now() + seconds * 1000;
    let n = 0;
    while (Date.now() < end) {
      const tick = Date.now();
      n++;
      const chat = 30_000 + (n % 40);
      const pick = n % 10;
      if (pick < 7) {
        result.sent.telegram++;
        const update = textUpdate(chat, `soak ${n}`);
        if (await post('telegram', () => system.postUpdate(update))) {
          telegramAccepted.push(update);
          result.accepted.telegram++;
        }
      } else if (pick < 9) {
        result.sent.whatsapp++;
        const wamid = `wamid.soak-${n}`;
        if (await post('whatsapp', () => system.postWhatsApp(whatsappText(`1555${String(chat).padStart(7, '0')}`, wamid, `soak ${n}`)))) {
          whatsappAccepted.push(`whatsapp:${wamid}`);
          result.accepted.whatsapp++;
        }
      } else {
        result.sent.api++;
        const response = await post('api', () =>
          fetch(`${system.edge.url}/v1/messages`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', Authorization: `Bearer ${token}` },
            body: JSON.stringify({ conversation_id: `soak-${chat % 5}`, text: `soak ${n}`, client_id: `soak-${n}` }),
          }),
        );
        if (response) {
          apiAccepted.push(((await response.json()) as { id: string }).id);
          result.accepted.api++;
        }
      }
      await sleep(Math.max(0, SEND_EVERY_MS - (Date.now() - tick)));
    }
    await faultLoop;

    // Everything accepted answered exactly once.
    try {
      await expectExactlyOnceInOrder(system, telegramAccepted, 300_000);
    } catch (error) {
      result.problems.push(error instanceof Error ? error.message : String(error));
    }
    const whatsappReplies = () => {
      const counts = new Map<string, number>();
      // Text or interactive (feedback buttons): the first part of a reply is threaded under the message.
      for (const call of system.whatsapp!.calls) {
        const context = (call.body.context as { message_id?: string } | undefined)?.message_id;
        if (context) counts.set(`whatsapp:${context}`, (counts.get(`whatsapp:${context}`) ?? 0) + 1);
      }
      return counts;
    };
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline && (whatsappAccepted.some((id) => !whatsappReplies().has(id)) || apiAccepted.some((id) => !stream.replies.has(id)))) await sleep(500);
    await sleep(1_000);
    const wa = whatsappReplies();
    for (const id of whatsappAccepted) if (wa.get(id) !== 1) result.problems.push(`${id}: ${wa.get(id) ?? 0} WhatsApp replies`);
    for (const id of apiAccepted) if (stream.replies.get(id) !== 1) result.problems.push(`${id}: ${stream.replies.get(id) ?? 0} API replies on the stream`);
    const dead = system.edgeLines.filter((l) => l.includes('"event":"dead_lettered"')).length;
    if (dead > 0) result.problems.push(`${dead} messages dead-lettered`);
    const samples = await memory.stop();
    result.memory = { workerd: memoryStats(samples, 'workerd'), core: memoryStats(samples, 'core') };
    return result;
  } finally {
    stream.stop();
    await memory.stop();
    await system.stop();
  }
}
