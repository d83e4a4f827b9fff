import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findChromium, launchChromium } from '../support/chromium.js';
import { issueToken } from '../support/client-api.js';
import { startSystem, type System } from '../support/system.js';

/**
 * The web chat the edge serves (edge-worker/public) in a real headless Chromium sized like a
 * phone, against the real system: the edge under workerd, a core on the small real model, and
 * client tokens from the real CLI (`hearth token issue`). Two browser contexts are two devices
 * of one user.
 */
const chromium = await findChromium();
if (!chromium.path) console.warn(`web chat e2e skipped: ${chromium.reason}`);

const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };

/**
 * Runs in each page before its scripts: records the text a reply bubble shows while it is still
 * pending, so the test sees streaming happen however fast the model is.
 */
const WATCH_STREAMING = `
  window.__streamed = [];
  new MutationObserver(() => {
    for (const text of document.querySelectorAll('.msg[data-state="pending"] .text')) {
      const replyTo = text.closest('.msg').dataset.replyTo;
      const last = window.__streamed.at(-1);
      if (text.textContent && !(last && last.replyTo === replyTo && last.text === text.textContent)) {
        window.__streamed.push({ replyTo, text: text.textContent });
      }
    }
  }).observe(document, { subtree: true, childList: true, characterData: true, attributes: true });
`;

interface Device {
  context: BrowserContext;
  page: Page;
  /** Every event the page's live stream received. */
  events: { type?: string; in_reply_to?: string; item?: { cursor: string; message_id: string } }[];
  /** The URL of every live-stream socket the page opened. */
  sockets: string[];
  /** Uncaught exceptions and Content-Security-Policy violations. */
  errors: string[];
}

let system: System;
let browser: Browser;
let shots: string;
const devices: Device[] = [];

async function openDevice(path = '/'): Promise<Device> {
  const context = await browser.newContext(PHONE);
  await context.addInitScript({ content: WATCH_STREAMING });
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  const device: Device = { context, page, events: [], sockets: [], errors: [] };
  devices.push(device);
  page.on('pageerror', (error) => device.errors.push(error.message));
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) device.errors.push(message.text());
  });
  page.on('websocket', (socket) => {
    device.sockets.push(socket.url());
    socket.on('framereceived', ({ payload }) => {
      try {
        device.events.push(JSON.parse(String(payload)));
      } catch {
        device.errors.push(`a stream frame that is not JSON: ${String(payload).slice(0, 200)}`);
      }
    });
  });
  await page.goto(`${system.edge.url}${path}`);
  return device;
}

async function signIn({ page }: Device, token: string) {
  await page.getByLabel('Access token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#status[data-status="live"]').waitFor();
}

/** Types and sends a message; resolves with the id the server gave it. */
async function send({ page }: Device, text: string) {
  await page.getByRole('textbox', { name: 'Message' }).fill(text);
  await page.getByRole('button', { name: 'Send' }).click();
  const bubble = page.locator('.msg[data-role="user"][data-state="done"]').filter({ hasText: text });
  await bubble.waitFor();
  const id = await bubble.getAttribute('data-id');
  expect(id).toBeTruthy();
  return id!;
}

/** The finished reply to message `id`, once the page shows it. */
async function replyTo({ page }: Device, id: string): Promise<Locator> {
  const reply = page.locator(`.msg[data-role="assistant"][data-reply-to="${id}"][data-state="done"]`);
  await reply.waitFor({ timeout: 60_000 });
  return reply;
}

/** How much of an image is not its most common colour (text, edges), and how many colours it has. */
function ink(png: PNG, box = { x: 0, y: 0, width: png.width, height: png.height }) {
  const counts = new Map<number, number>();
  const pixel = (x: number, y: number) => png.data.readUInt32BE((y * png.width + x) * 4);
  for (let y = box.y; y < box.y + box.height; y++) for (let x = box.x; x < box.x + box.width; x++) counts.set(pixel(x, y), (counts.get(pixel(x, y)) ?? 0) + 1);
  const background = Math.max(...counts.values());
  const total = box.width * box.height;
  return { share: (total - background) / total, colours: counts.size };
}

describe.skipIf(!chromium.path)(`web chat in a real browser${chromium.path ? '' : ` (skipped: ${chromium.reason})`}`, () => {
  let phone: Device;
  let other: Device;
  let conversation: string;
  const tokens: string[] = [];

  beforeAll(async () => {
    system = await startSystem();
    // Two devices of one user, each with its own token.
    tokens.push(await issueToken(system, 'web-e2e'), await issueToken(system, 'web-e2e'));
    browser = await launchChromium(chromium.path!);
    shots = await mkdtemp(join(tmpdir(), 'hearth-web-chat-'));
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await system?.stop();
    if (shots) console.info(`web chat screenshots: ${shots}`);
  });

  it('signs in on a phone, sends a message and shows the reply as it streams', async () => {
    phone = await openDevice('/');
    await signIn(phone, tokens[0]!);
    await phone.page.getByRole('button', { name: 'New conversation' }).click();
    conversation = new URL(phone.page.url()).hash.slice(1);
    expect(conversation).toMatch(/^c-[0-9a-z]+$/);

    // The other device has the conversation open before anything is in it.
    other = await openDevice(`/#${conversation}`);
    await signIn(other, tokens[1]!);

    const text = 'Once upon a time there was a fox';
    const id = await send(phone, text);
    const reply = await replyTo(phone, id);
    const replyText = (await reply.locator('.text').textContent()) ?? '';
    expect(replyText.trim().length).toBeGreaterThan(0);

    // It streamed: delta events arrived for it, and the pending bubble showed their text.
    expect(phone.events.filter((e) => e.type === 'delta' && e.in_reply_to === id).length).toBeGreaterThan(0);
    const streamed = await phone.page.evaluate<{ replyTo: string; text: string }[]>('window.__streamed');
    expect(streamed.filter((s) => s.replyTo === id).length).toBeGreaterThan(0);
    await expect.poll(() => phone.page.locator('.msg[data-state="pending"]').count()).toBe(0);

    // A phone-sized page that fits: no horizontal scrolling, the reply inside the viewport.
    const [scrollWidth, innerWidth] = await phone.page.evaluate<[number, number]>('[document.documentElement.scrollWidth, window.innerWidth]');
    expect(scrollWidth).toBeLessThanOrEqual(innerWidth);
    const box = (await reply.boundingBox())!;
    expect(box.x).toBeGreaterThanOrEqual(0);
    expect(box.x + box.width).toBeLessThanOrEqual(PHONE.viewport.width);

    // What the phone actually rendered: a full-resolution PNG whose reply bubble has text in it.
    const screen = PNG.sync.read(await phone.page.screenshot({ path: join(shots, 'phone.png') }));
    expect([screen.width, screen.height]).toEqual([PHONE.viewport.width * 2, PHONE.viewport.height * 2]);
    const region = { x: Math.ceil(box.x * 2), y: Math.ceil(box.y * 2), width: Math.floor(box.width * 2) - 2, height: Math.floor(box.height * 2) - 2 };
    expect(ink(screen, region).share).toBeGreaterThan(0.01);
    const bubble = PNG.sync.read(await reply.screenshot({ path: join(shots, 'reply.png') }));
    expect(Math.abs(bubble.width - box.width * 2)).toBeLessThanOrEqual(2);
    const { share, colours } = ink(bubble);
    expect(share).toBeGreaterThan(0.01);
    expect(colours).toBeGreaterThan(8);
    console.info(`web chat: reply "${replyText.slice(0, 60)}…" rendered, ${Math.round(share * 100)}% ink, ${colours} colours; ${join(shots, 'phone.png')}`);

    // The other device saw the message (from another device) and the same reply, live.
    await other.page.locator('.msg[data-role="user"][data-from="elsewhere"]').filter({ hasText: text }).waitFor();
    expect(await (await replyTo(other, id)).locator('.text').textContent()).toBe(replyText);
    expect(await phone.page.locator('.msg[data-from="elsewhere"]').count()).toBe(0);
    await other.page.screenshot({ path: join(shots, 'other-device.png') });
  }, 120_000);

  it('shows a message sent from the other device live, with its reply', async () => {
    const text = 'And then the fox found a hat';
    const id = await send(other, text);
    await phone.page.locator('.msg[data-role="user"][data-from="elsewhere"]').filter({ hasText: text }).waitFor();
    const reply = await replyTo(phone, id);
    expect(await reply.locator('.text').textContent()).toBe(await (await replyTo(other, id)).locator('.text').textContent());
    // Both devices list the conversation, titled by its first message.
    for (const device of [phone, other]) {
      await expect.poll(() => device.page.locator(`#conversations button[data-id="${conversation}"]`).textContent()).toContain('Once upon a time there was a fox');
    }
  }, 120_000);

  it('rates a reply with 👍, then 👎 instead: the core records each, the page shows the last', async () => {
    const reply = phone.page.locator('.msg[data-role="assistant"][data-state="done"]').first();
    const replyId = (await reply.getAttribute('data-id')) ?? '';
    expect(replyId).toMatch(/^reply:api:/);
    const [good, bad] = [reply.getByRole('button', { name: 'Good reply' }), reply.getByRole('button', { name: 'Bad reply' })];
    await good.click();
    await system.core.waitForLog((l) => l.msg === 'feedback recorded' && l.replyKey === replyId && l.rating === 'up', 30_000);
    await expect.poll(() => good.getAttribute('aria-pressed')).toBe('true');
    await bad.click();
    await system.core.waitForLog((l) => l.msg === 'feedback recorded' && l.replyKey === replyId && l.rating === 'down', 30_000);
    await expect.poll(() => bad.getAttribute('aria-pressed')).toBe('true');
    expect(await good.getAttribute('aria-pressed')).toBe('false');
    await reply.screenshot({ path: join(shots, 'rated.png') });
    // Only replies are rated: the user's own turns have no buttons.
    expect(await phone.page.locator('.msg[data-role="user"] .rating').count()).toBe(0);
  }, 60_000);

  it('shows the same history after a reload', async () => {
    const before = await phone.page.locator('.msg .text').allTextContents();
    expect(before).toHaveLength(4);
    await phone.page.reload();
    await phone.page.locator('#status[data-status="live"]').waitFor();
    await expect.poll(() => phone.page.locator('.msg[data-state="done"]').count()).toBe(4);
    expect(await phone.page.locator('.msg .text').allTextContents()).toEqual(before);
    expect(await phone.page.evaluate<string[]>(`[...document.querySelectorAll('.msg')].map((b) => b.dataset.role)`)).toEqual([
      'user',
      'assistant',
      'user',
      'assistant',
    ]);
    // This browser remembers what it sent: its own message is not taken for another device's,
    // and the core's history says which device sent the other one.
    const users = phone.page.locator('.msg[data-role="user"]');
    expect(await users.first().getAttribute('data-from')).toBeNull();
    expect(await users.nth(1).getAttribute('data-from')).toBe('elsewhere');
    // And what it rated stays pressed.
    expect(await phone.page.locator('.msg[data-role="assistant"]').first().getByRole('button', { name: 'Bad reply' }).getAttribute('aria-pressed')).toBe('true');
  }, 120_000);

  it('reconnects when the edge comes back, and catches up on what was sent meanwhile', async () => {
    const lastSeen = phone.events.filter((e) => e.item).at(-1)!.item!.cursor;
    const opened = phone.sockets.length;
    // The core is held (SIGSTOP) until the phone is back, so that the phone's catch-up is
    // answered by a core that has just been handed the message but not answered it yet: a core
    // stores a turn with its reply, so its history lacks the message then (CI once caught the
    // edge relying on it).
    const core = system.core.pid!;
    process.kill(core, 'SIGSTOP');
    // And the phone is off the network until the message is in.
    await phone.context.setOffline(true);
    let id: string;
    const text = 'Meanwhile, the owl woke up';
    try {
      await system.restartEdge();
      // Sent from a third client (a script) while the phone is still waiting to reconnect.
      const response = await fetch(`${system.edge.url}/v1/messages`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${tokens[1]}`, 'Content-Type': 'application/json', 'X-Hearth-Device': 'script' },
        body: JSON.stringify({ conversation_id: conversation, text }),
      });
      expect(response.status).toBe(202);
      ({ id } = (await response.json()) as { id: string });
      await phone.context.setOffline(false);
      await expect.poll(() => phone.sockets.length, { timeout: 30_000 }).toBeGreaterThan(opened);
      // Open: the edge is catching the phone up, asking the held core (it cannot finish before SIGCONT).
      await phone.page.locator('#status[data-status="catching-up"]').waitFor({ timeout: 30_000 });
    } finally {
      await phone.context.setOffline(false);
      process.kill(core, 'SIGCONT');
    }
    await phone.page.locator('.msg[data-role="user"][data-from="elsewhere"]').filter({ hasText: text }).waitFor({ timeout: 60_000 });
    await replyTo(phone, id);
    await phone.page.locator('#status[data-status="live"]').waitFor();
    // The stream brought it (the catch-up), not a reread of the history after its reply.
    expect(phone.events.some((e) => e.type === 'message' && e.item?.message_id === id)).toBe(true);
    // It resumed from the last event it had seen.
    const resumed = phone.sockets.slice(opened).map((url) => new URL(url).searchParams.get('after'));
    expect(resumed.length).toBeGreaterThan(0);
    expect(resumed.every((after) => after === lastSeen)).toBe(true);
  }, 120_000);

  it('says the assistant is offline when no core is connected', async () => {
    await system.core.stop();
    // Once the edge has seen the core go, history has nobody to answer it.
    await expect
      .poll(async () => (await fetch(`${system.edge.url}/v1/conversations`, { headers: { Authorization: `Bearer ${tokens[0]}` } })).status, { timeout: 30_000 })
      .toBe(503);
    await phone.page.reload();
    await expect.poll(() => phone.page.locator('#banner:not([hidden]) #banner-text').textContent()).toMatch(/^Your assistant is offline \(its core at home is not connected\): \S/);
    await phone.page.screenshot({ path: join(shots, 'core-offline.png') });
  }, 60_000);

  it('sends back to sign-in with the API’s message when the token is refused', async () => {
    const stranger = await openDevice('/');
    await stranger.page.getByLabel('Access token').fill('not-a-token');
    await stranger.page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => stranger.page.locator('#signin-error').textContent()).toMatch(/^That token was not accepted: \S/);
    expect(await stranger.page.locator('#chat').isHidden()).toBe(true);

    // A stored token the edge refuses (here: signed out elsewhere, then garbled) lands there too.
    await phone.page.evaluate('localStorage.setItem("hearth.token", "eyJhbGciOiJFUzI1NiJ9.e30.c2ln")');
    await phone.page.reload();
    await expect.poll(() => phone.page.locator('#signin-error').textContent()).toMatch(/^Please sign in again: \S/);
  }, 60_000);

  it('ran without script errors or Content-Security-Policy violations', () => {
    for (const device of devices) expect(device.errors).toEqual([]);
  });
});
