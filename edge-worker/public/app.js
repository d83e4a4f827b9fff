// Hearth's web chat: sign in with a client token, pick or start a conversation, send, and watch
// replies stream in over the live stream (which also brings messages sent from other devices).

import { ApiError, LiveStream, cleanToken, createApi, explain, tokenUser } from './api.js';
import { ConversationList } from './conversations.js';
import { MessageView } from './messages.js';
import {
  TOKEN_KEY,
  deviceName,
  forget,
  loadCursor,
  loadRatings,
  loadSent,
  loadToken,
  newId,
  rememberRating,
  rememberSent,
  saveCursor,
  saveToken,
} from './storage.js';

/** @typedef {import('./api.js').ConversationSummary} ConversationSummary */
/** @typedef {import('./api.js').ClientEvent} ClientEvent */

const CONVERSATION_ID = /^[A-Za-z0-9._-]{1,64}$/;
const narrow = window.matchMedia('(max-width: 699px)');

/** @template {HTMLElement} T @param {string} id @returns {T} */
function byId(id) {
  const element = document.getElementById(id);
  if (!element) throw new Error(`the page has no #${id}`);
  return /** @type {T} */ (element);
}

const ui = {
  signin: byId('signin'),
  signinForm: /** @type {HTMLFormElement} */ (byId('signin-form')),
  tokenInput: /** @type {HTMLInputElement} */ (byId('token-input')),
  signinError: byId('signin-error'),
  chat: byId('chat'),
  toggleList: byId('toggle-list'),
  title: byId('title'),
  status: byId('status'),
  signOut: byId('sign-out'),
  newConversation: byId('new-conversation'),
  conversations: byId('conversations'),
  who: byId('who'),
  banner: byId('banner'),
  bannerText: byId('banner-text'),
  bannerClose: byId('banner-close'),
  messages: /** @type {HTMLOListElement} */ (byId('messages')),
  empty: byId('empty'),
  composer: /** @type {HTMLFormElement} */ (byId('composer')),
  text: /** @type {HTMLTextAreaElement} */ (byId('text')),
  send: /** @type {HTMLButtonElement} */ (byId('send')),
};

/** This browser, as its messages name it (`X-Hearth-Device`). */
const device = deviceName();

/**
 * Who is signed in, and what this page holds for them. `current`: the open conversation;
 * `sent`: ids of messages sent from this browser; `ratings`: what it rated replies; `loads`:
 * counts history loads, so a slow one for a conversation since left is dropped.
 * @typedef {{ token: string, user: string, api: ReturnType<typeof createApi>, stream: LiveStream,
 *   current: string | null, sent: string[], ratings: Record<string, 'up' | 'down'>, loads: number }} Session
 * @type {Session | null}
 */
let session = null;

const conversations = new ConversationList(ui.conversations, {
  onOpen: (id) => void open(id),
  onChange: () => {
    if (session?.current) ui.title.textContent = conversations.title(session.current);
  },
});

const view = new MessageView(ui.messages, {
  isMine: (item) => item.device === device || (session?.sent.includes(item.message_id) ?? false),
  onChange: () => {
    ui.empty.hidden = !view.isEmpty;
  },
  ratingOf: (replyId) => session?.ratings[replyId],
  onRate: async (replyId, rating) => {
    const current = session;
    if (!current) return;
    try {
      await current.api.rate(replyId, rating, newId('rate-'));
    } catch (error) {
      report(error);
      throw error;
    }
    current.ratings = rememberRating(current.user, current.ratings, replyId, rating);
  },
  onPress: async (item, data) => {
    const current = session;
    if (!current) return;
    try {
      await current.api.press(item.conversation_id, data);
    } catch (error) {
      report(error);
      throw error;
    }
  },
});

// ---- signing in and out ----

function showSignin(message = '') {
  ui.chat.hidden = true;
  ui.signin.hidden = false;
  ui.signinError.textContent = message;
  ui.tokenInput.focus();
}

ui.signinForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  const token = cleanToken(ui.tokenInput.value);
  if (!token) {
    ui.signinError.textContent = 'Paste your access token first.';
    return;
  }
  const button = /** @type {HTMLButtonElement} */ (ui.signinForm.querySelector('button'));
  button.disabled = true;
  ui.signinError.textContent = 'Signing in…';
  try {
    const list = await createApi({ token, device }).conversations();
    saveToken(token);
    ui.tokenInput.value = '';
    enter(token, list);
    (session?.current ? ui.text : ui.newConversation).focus();
  } catch (error) {
    if (error instanceof ApiError && (error.status === 429 || error.status === 503)) {
      // The edge accepted the token; what failed is behind it.
      saveToken(token);
      ui.tokenInput.value = '';
      enter(token, []);
      report(error);
    } else if (error instanceof ApiError && error.status === 401) {
      ui.signinError.textContent = `That token was not accepted: ${error.message}`;
    } else {
      ui.signinError.textContent = error instanceof Error ? error.message : String(error);
    }
  } finally {
    button.disabled = false;
  }
});

/**
 * @param {string} token
 * @param {ConversationSummary[]} [fetched] the conversation list, when already fetched
 */
function enter(token, fetched) {
  const user = tokenUser(token) ?? 'you';
  const stream = new LiveStream({
    token,
    cursor: loadCursor(user),
    onEvent,
    onStatus,
    onCursor: (cursor) => saveCursor(user, cursor),
  });
  session = { token, user, api: createApi({ token, device }), stream, current: null, sent: loadSent(user), ratings: loadRatings(user), loads: 0 };
  ui.who.textContent = `Signed in as ${user} on ${device}`;
  ui.signin.hidden = true;
  ui.chat.hidden = false;
  hideBanner();
  if (fetched) conversations.merge(fetched);
  else void refreshConversations();
  stream.start();
  const wanted = conversationInHash();
  if (wanted) open(wanted);
  else {
    showConversation(null);
    setListOpen(true);
  }
}

/** @param {string} [message] why, shown on the sign-in form */
function signOut(message) {
  session?.stream.stop();
  forget(session?.user);
  session = null;
  view.clear();
  conversations.clear();
  hideBanner();
  showSignin(message);
}

ui.signOut.addEventListener('click', () => signOut('Signed out.'));
// Signed out in another tab.
window.addEventListener('storage', (event) => {
  if (event.key === TOKEN_KEY && event.newValue === null && session) signOut('Signed out in another tab.');
});

// ---- errors ----

/** @type {ReturnType<typeof setTimeout> | undefined} */
let slowDownTimer;

/** Shows what the API said, and does what it implies (401: sign in again; 429: wait). @param {unknown} error */
function report(error) {
  const { text, signOut: mustSignIn, waitSeconds } = explain(error);
  if (mustSignIn) return signOut(text);
  showBanner(text);
  if (waitSeconds > 0) {
    ui.send.disabled = true;
    clearTimeout(slowDownTimer);
    slowDownTimer = setTimeout(() => {
      ui.send.disabled = false;
    }, waitSeconds * 1000);
  }
}

/** @param {string} text */
function showBanner(text) {
  ui.bannerText.textContent = text;
  ui.banner.hidden = false;
}

function hideBanner() {
  ui.banner.hidden = true;
  ui.bannerText.textContent = '';
}

ui.bannerClose.addEventListener('click', hideBanner);

// ---- conversations ----

async function refreshConversations() {
  const current = session;
  if (!current) return;
  try {
    const list = await current.api.conversations();
    if (session === current) conversations.merge(list);
  } catch (error) {
    if (session === current) report(error);
  }
}

ui.newConversation.addEventListener('click', () => {
  if (!session) return;
  open(newId('c-'), { fresh: true });
  ui.text.focus();
});

function conversationInHash() {
  const id = decodeURIComponent(location.hash.slice(1));
  return CONVERSATION_ID.test(id) ? id : null;
}

window.addEventListener('hashchange', () => {
  const id = conversationInHash();
  if (session && id && id !== session.current) open(id);
});

/** @param {string | null} id */
function showConversation(id) {
  if (!session) return;
  session.current = id;
  ui.title.textContent = id ? conversations.title(id) : 'Hearth';
  ui.empty.textContent = id ? 'No messages yet: say something below.' : 'Pick a conversation, or type below to start one.';
  view.clear();
  conversations.select(id);
}

/**
 * Opens a conversation and loads its history (every page, oldest first).
 * @param {string} id
 * @param {{ fresh?: boolean }} [options] `fresh`: just made here, nothing to load
 */
async function open(id, { fresh = false } = {}) {
  const current = session;
  if (!current) return;
  if (decodeURIComponent(location.hash.slice(1)) !== id) location.hash = id;
  if (fresh) conversations.add(id);
  showConversation(id);
  if (narrow.matches) setListOpen(false);
  if (!fresh) await loadHistory(id);
}

/**
 * Reads a conversation's history into the view (every page, oldest first); turns already shown
 * are updated in place, so it also fills gaps without a flicker.
 * @param {string} id
 */
async function loadHistory(id) {
  const current = session;
  if (!current) return;
  const load = ++current.loads;
  ui.messages.setAttribute('aria-busy', 'true');
  try {
    let after = null;
    for (let page = 0; page < 50; page++) {
      const { data, has_more } = await current.api.messages(id, after);
      if (session !== current || load !== current.loads) return;
      for (const item of data) view.upsert(item, { live: false });
      const last = data.at(-1);
      if (!has_more || !last) break;
      after = last.cursor;
    }
  } catch (error) {
    // A conversation nobody has written in yet is not an error.
    if (session !== current || load !== current.loads || (error instanceof ApiError && error.status === 404)) return;
    ui.empty.textContent = 'The history of this conversation could not be loaded.';
    report(error);
    // The core may be back by then (503 and 504 say when to ask again).
    if (error instanceof ApiError && error.status >= 500 && error.retryAfter) {
      setTimeout(() => {
        if (session !== current || current.current !== id || load !== current.loads) return;
        hideBanner();
        void refreshConversations();
        void loadHistory(id);
      }, error.retryAfter * 1000);
    }
  } finally {
    if (load === current.loads) ui.messages.removeAttribute('aria-busy');
  }
}

/** @param {boolean} isOpen */
function setListOpen(isOpen) {
  ui.chat.dataset.list = isOpen ? 'open' : 'closed';
  ui.toggleList.setAttribute('aria-expanded', String(isOpen));
}

ui.toggleList.addEventListener('click', () => setListOpen(ui.chat.dataset.list !== 'open'));

// ---- sending and receiving ----

/**
 * Sends through POST /v1/messages; the reply arrives on the live stream.
 * @param {string} text
 * @param {string} clientId the same on a retry, so the server sees one message
 * @param {HTMLLIElement} [bubble] the failed bubble being retried
 */
async function send(text, clientId = newId('m-'), bubble = undefined) {
  const current = session;
  if (!current) return;
  if (!current.current) open(newId('c-'), { fresh: true });
  const conversationId = /** @type {string} */ (current.current);
  const shown = bubble ?? view.addLocal(text);
  try {
    const accepted = await current.api.send({ conversation_id: conversationId, text, client_id: clientId });
    current.sent = rememberSent(current.user, current.sent, accepted.id);
    view.confirmLocal(shown, accepted.id);
    if (current.current === conversationId && !view.replyTo(accepted.id)?.matches('[data-state="done"]')) view.expectReply(accepted.id);
    conversations.note({ conversation_id: conversationId, role: 'user', text, created_at: Date.now() });
  } catch (error) {
    view.failLocal(shown, error instanceof Error ? error.message : String(error), () => void send(text, clientId, shown));
    report(error);
  }
}

ui.composer.addEventListener('submit', (event) => {
  event.preventDefault();
  const text = ui.text.value.trim();
  if (!text || ui.send.disabled) return;
  ui.text.value = '';
  void send(text);
});

// Enter sends, Shift+Enter is a new line (on a keyboard; a phone's return key adds a line).
ui.text.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && !event.shiftKey && !event.isComposing && window.matchMedia('(pointer: fine)').matches) {
    event.preventDefault();
    ui.composer.requestSubmit();
  }
});

/** @param {ClientEvent} event */
function onEvent(event) {
  if (!session) return;
  if (event.type === 'message') {
    conversations.note(event.item);
    if (event.item.conversation_id !== session.current) return;
    // A reply to a message this page never saw (sent while it was away, answered before it
    // caught up): the history has both, so read it again.
    const missed = event.item.in_reply_to && !view.find(event.item.in_reply_to);
    view.upsert(event.item, { live: true });
    if (missed) void loadHistory(session.current);
  } else if (event.type === 'delta') {
    if (event.conversation_id === session.current) view.delta(event);
  } else if (event.type === 'error') {
    showBanner(event.code === 'core_offline' ? OFFLINE_TEXT : event.message);
  }
}

/** What a stream's `core_offline` error means to the person reading. */
const OFFLINE_TEXT = 'Your assistant is offline (its core at home is not connected): what you send waits at the edge and is answered when it is back.';

const STATUS_TEXT = { connecting: 'Connecting…', 'catching-up': 'Catching up…', live: 'Live', offline: 'Offline' };

/** @type {ConstructorParameters<typeof LiveStream>[0]['onStatus']} */
function onStatus(status, detail) {
  ui.status.dataset.status = status;
  ui.status.textContent = detail ? `${STATUS_TEXT[status]}, retrying in ${detail.retryIn} s` : STATUS_TEXT[status];
  // A socket refused before it opened says nothing about why: ask the API, which says
  // (401 signs out; 503 says the core is away).
  if (status === 'offline' && detail && (!detail.opened || detail.code === 1008 || detail.code >= 4000)) void refreshConversations();
}

// ---- start ----

const saved = loadToken();
if (saved) enter(saved);
else showSignin();
