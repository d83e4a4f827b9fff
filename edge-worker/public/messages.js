// The open conversation's messages: one bubble per turn, in history order, keyed by message id.
// A reply streams into a pending bubble (delta events) until its final `message` replaces it.
// Text is only ever set with textContent.

/** @typedef {import('./api.js').HistoryItem} HistoryItem */
/** @typedef {'up' | 'down'} Rating */

const RATINGS = /** @type {const} */ ([
  ['up', 'Good reply'],
  ['down', 'Bad reply'],
]);

/** A thumb (up; the down one is turned over in CSS), drawn here: not every device has an emoji font. */
const THUMB = 'M2 10h4v11H2zM7 21V10l4-7c1.5 0 2.5 1 2 3l-.8 3.5H19c1.5 0 2.5 1.3 2.2 2.7l-1.6 7.3c-.3.9-1.1 1.5-2 1.5z';

function thumb() {
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  const path = document.createElementNS('http://www.w3.org/2000/svg', 'path');
  path.setAttribute('d', THUMB);
  svg.append(path);
  return svg;
}

const time = (/** @type {number} */ ms) => new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });

export class MessageView {
  /**
   * @param {HTMLOListElement} list the scrolling `role="log"` list
   * @param {{ isMine: (item: HistoryItem) => boolean, onChange: () => void,
   *   ratingOf: (replyId: string) => Rating | undefined, onRate: (replyId: string, rating: Rating) => Promise<void>,
   *   onPress: (item: HistoryItem, data: string) => Promise<void> }} options
   */
  constructor(list, options) {
    this.list = list;
    this.options = options;
  }

  clear() {
    this.list.replaceChildren();
    this.options.onChange();
  }

  get isEmpty() {
    return this.list.childElementCount === 0;
  }

  /** @param {string} id */
  find(id) {
    return /** @type {HTMLLIElement | null} */ (this.list.querySelector(`.msg[data-id="${CSS.escape(id)}"]`));
  }

  /** @param {string} messageId the user message a reply answers */
  replyTo(messageId) {
    return /** @type {HTMLLIElement | null} */ (this.list.querySelector(`.msg[data-reply-to="${CSS.escape(messageId)}"]`));
  }

  /**
   * A turn from history or the live stream: added once, wherever it belongs in time; a reply
   * takes over its pending bubble, a user turn takes over the local bubble it confirms. A user
   * turn not sent from here is marked as from another device when that is known: the item
   * names its device, or it arrived live.
   * @param {HistoryItem} item
   * @param {{ live: boolean }} how
   */
  upsert(item, { live }) {
    this.keepScrolled(() => {
      let bubble = this.find(item.message_id);
      // A question with buttons is asked during the turn: the reply is still to come after it.
      if (item.buttons) {
        if (!bubble) this.addQuestion(item);
        return;
      }
      if (!bubble && item.role === 'assistant' && item.in_reply_to) bubble = this.replyTo(item.in_reply_to);
      // The turn is over: a question it asked can no longer be answered.
      if (item.role === 'assistant' && item.in_reply_to) this.closeQuestions(item.in_reply_to);
      // Our own message, echoed by the stream before POST /v1/messages answered.
      if (!bubble && item.role === 'user') {
        bubble = [.../** @type {NodeListOf<HTMLLIElement>} */ (this.list.querySelectorAll('.msg[data-state="sending"]'))].find((b) => b.querySelector('.text')?.textContent === item.text) ?? null;
      }
      if (bubble) {
        bubble.dataset.id = item.message_id;
        bubble.dataset.at = String(item.created_at);
        this.fill(bubble, item.text, 'done');
        bubble.removeAttribute('aria-busy');
        this.addRating(bubble, item);
        return;
      }
      bubble = this.bubble(item.role, item.text, 'done', item.created_at);
      bubble.dataset.id = item.message_id;
      if (item.in_reply_to) bubble.dataset.replyTo = item.in_reply_to;
      const meta = /** @type {HTMLElement | null} */ (bubble.querySelector('.meta'));
      if (meta && item.role === 'user' && (item.device || live) && !this.options.isMine(item)) {
        meta.textContent = `from another device · ${time(item.created_at)}`;
        if (item.device) meta.title = item.device;
        bubble.dataset.from = 'elsewhere';
      }
      this.addRating(bubble, item);
      this.insert(bubble);
    });
  }

  /**
   * A question under which the owner presses one button (Run / Skip): the press is sent at once
   * and every button of the question is disabled from then on (the chosen one shown pressed).
   * It goes before the reply still pending for the message it is about.
   * @param {HistoryItem} item
   */
  addQuestion(item) {
    const bubble = this.bubble('assistant', item.text, 'done', item.created_at);
    bubble.dataset.id = item.message_id;
    if (item.in_reply_to) bubble.dataset.asks = item.in_reply_to;
    const group = document.createElement('div');
    group.className = 'choices';
    group.setAttribute('role', 'group');
    group.setAttribute('aria-label', 'Answer');
    for (const choice of item.buttons ?? []) {
      const button = document.createElement('button');
      button.type = 'button';
      button.textContent = choice.label;
      button.setAttribute('aria-pressed', 'false');
      button.addEventListener('click', async () => {
        const buttons = /** @type {NodeListOf<HTMLButtonElement>} */ (group.querySelectorAll('button'));
        for (const b of buttons) b.disabled = true;
        try {
          await this.options.onPress(item, choice.data);
          button.setAttribute('aria-pressed', 'true');
          group.removeAttribute('data-error');
        } catch (error) {
          group.dataset.error = error instanceof Error ? error.message : String(error);
          button.title = `Not sent: ${group.dataset.error}`;
          for (const b of buttons) b.disabled = false;
        }
      });
      group.append(button);
    }
    bubble.append(group);
    const pending = item.in_reply_to ? this.replyTo(item.in_reply_to) : null;
    if (pending && pending.dataset.state === 'pending') pending.before(bubble);
    else this.insert(bubble);
  }

  /**
   * Disables the buttons of the questions asked about `messageId` (its reply came).
   * @param {string} messageId
   */
  closeQuestions(messageId) {
    for (const button of /** @type {NodeListOf<HTMLButtonElement>} */ (this.list.querySelectorAll(`.msg[data-asks="${CSS.escape(messageId)}"] .choices button`))) {
      button.disabled = true;
    }
  }

  /**
   * Reply text as the model writes it, appended to the reply's pending bubble (made here when
   * the message was sent elsewhere). Late or repeated pieces are dropped by `seq`.
   * @param {{ in_reply_to: string, seq: number, text: string }} delta
   */
  delta(delta) {
    this.keepScrolled(() => {
      const bubble = this.replyTo(delta.in_reply_to) ?? this.expectReply(delta.in_reply_to);
      if (bubble.dataset.state !== 'pending') return;
      const last = Number(bubble.dataset.seq ?? -1);
      if (delta.seq <= last) return;
      bubble.dataset.seq = String(delta.seq);
      const text = bubble.querySelector('.text');
      if (text) text.textContent += delta.text;
    });
  }

  /**
   * A pending reply bubble (a typing indicator until text streams in) after the user message
   * it answers; the existing one if there is one.
   * @param {string} messageId
   */
  expectReply(messageId) {
    const existing = this.replyTo(messageId);
    if (existing) return existing;
    const asked = this.find(messageId);
    const bubble = this.bubble('assistant', '', 'pending', Number(asked?.dataset.at ?? Date.now()));
    bubble.dataset.replyTo = messageId;
    bubble.setAttribute('aria-busy', 'true');
    if (asked) asked.after(bubble);
    else this.list.append(bubble);
    this.options.onChange();
    return bubble;
  }

  /**
   * The bubble of a message being sent from here, until the server confirms it.
   * @param {string} text
   */
  addLocal(text) {
    const bubble = this.bubble('user', text, 'sending', Date.now());
    this.keepScrolled(() => this.list.append(bubble));
    return bubble;
  }

  /**
   * The server took the message: the bubble is now that message (or goes, if the stream
   * already showed it).
   * @param {HTMLLIElement} bubble
   * @param {string} id
   */
  confirmLocal(bubble, id) {
    const shown = this.find(id);
    if (shown && shown !== bubble) {
      bubble.remove();
      return;
    }
    bubble.dataset.id = id;
    bubble.dataset.state = 'done';
    bubble.querySelector('.retry')?.remove();
  }

  /**
   * @param {HTMLLIElement} bubble
   * @param {string} reason
   * @param {() => void} retry
   */
  failLocal(bubble, reason, retry) {
    bubble.dataset.state = 'failed';
    const meta = bubble.querySelector('.meta');
    if (meta) meta.textContent = `Not sent: ${reason}`;
    bubble.querySelector('.retry')?.remove();
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'retry quiet';
    button.textContent = 'Retry';
    button.addEventListener('click', () => {
      bubble.dataset.state = 'sending';
      if (meta) meta.textContent = 'Sending…';
      button.remove();
      retry();
    });
    bubble.append(button);
  }

  /**
   * @param {'user' | 'assistant'} role
   * @param {string} text
   * @param {string} state
   * @param {number} at
   */
  bubble(role, text, state, at) {
    const bubble = document.createElement('li');
    bubble.className = 'msg';
    bubble.dataset.role = role;
    bubble.dataset.at = String(at);
    const who = document.createElement('span');
    who.className = 'visually-hidden';
    who.textContent = role === 'user' ? 'You: ' : 'Assistant: ';
    const body = document.createElement('p');
    body.className = 'text';
    const meta = document.createElement('p');
    meta.className = 'meta';
    bubble.append(who, body, meta);
    this.fill(bubble, text, state);
    if (state === 'sending') meta.textContent = 'Sending…';
    return bubble;
  }

  /**
   * @param {HTMLLIElement} bubble
   * @param {string} text
   * @param {string} state
   */
  fill(bubble, text, state) {
    bubble.dataset.state = state;
    const body = bubble.querySelector('.text');
    if (body) body.textContent = text;
    const meta = bubble.querySelector('.meta');
    if (meta && state === 'done' && bubble.dataset.from !== 'elsewhere') meta.textContent = time(Number(bubble.dataset.at));
  }

  /**
   * 👍/👎 under a finished reply (a model's, `reply:...`): a press is sent at once and shown
   * as pressed once the edge took it; pressing the other one changes the rating.
   * @param {HTMLLIElement} bubble
   * @param {HistoryItem} item
   */
  addRating(bubble, item) {
    const replyId = item.message_id;
    if (item.role !== 'assistant' || !replyId.startsWith('reply:') || bubble.querySelector('.rating')) return;
    const group = document.createElement('div');
    group.className = 'rating';
    group.setAttribute('role', 'group');
    group.setAttribute('aria-label', 'Rate this reply');
    const rated = this.options.ratingOf(replyId);
    for (const [rating, label] of RATINGS) {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'quiet';
      button.dataset.rating = rating;
      button.append(thumb());
      button.setAttribute('aria-label', label);
      button.setAttribute('aria-pressed', String(rated === rating));
      button.addEventListener('click', async () => {
        const buttons = /** @type {NodeListOf<HTMLButtonElement>} */ (group.querySelectorAll('button'));
        for (const b of buttons) b.disabled = true;
        try {
          await this.options.onRate(replyId, rating);
          for (const b of buttons) b.setAttribute('aria-pressed', String(b === button));
          group.removeAttribute('data-error');
        } catch (error) {
          group.dataset.error = error instanceof Error ? error.message : String(error);
          button.title = `Not sent: ${group.dataset.error}`;
        } finally {
          for (const b of buttons) b.disabled = false;
        }
      });
      group.append(button);
    }
    bubble.append(group);
  }

  /**
   * In time order: usually at the end, earlier when history arrives after live turns.
   * @param {HTMLLIElement} bubble
   */
  insert(bubble) {
    const at = Number(bubble.dataset.at);
    let before = null;
    for (let node = this.list.lastElementChild; node; node = node.previousElementSibling) {
      if (!(node instanceof HTMLElement) || Number(node.dataset.at) <= at) break;
      before = node;
    }
    this.list.insertBefore(bubble, before);
  }

  /**
   * Runs a change and keeps the newest message in view if the reader was already at the
   * bottom (not when they scrolled up to read).
   * @param {() => void} change
   */
  keepScrolled(change) {
    const list = this.list;
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
    change();
    if (atBottom) list.scrollTop = list.scrollHeight;
    this.options.onChange();
  }
}
