// The conversation list: what GET /v1/conversations said, kept current by the live stream and
// by what is sent from here, most recently active first.

/** @typedef {import('./api.js').ConversationSummary} ConversationSummary */
/** @typedef {import('./api.js').HistoryItem} HistoryItem */

export class ConversationList {
  /**
   * @param {HTMLElement} list the `<ul>` it renders into
   * @param {{ onOpen: (id: string) => void, onChange: () => void }} options
   */
  constructor(list, options) {
    this.list = list;
    this.options = options;
    /** @type {Map<string, ConversationSummary>} */
    this.items = new Map();
    /** @type {string | null} */
    this.current = null;
    list.addEventListener('click', (event) => {
      const button = event.target instanceof Element ? event.target.closest('button[data-id]') : null;
      if (button instanceof HTMLElement && button.dataset.id) options.onOpen(button.dataset.id);
    });
  }

  /** The title a conversation is shown under (before the list is loaded: a generic one). @param {string} id */
  title(id) {
    const summary = this.items.get(id);
    return summary ? summary.title || 'New conversation' : 'Conversation';
  }

  clear() {
    this.items.clear();
    this.current = null;
    this.render();
  }

  /** @param {ConversationSummary[]} summaries */
  merge(summaries) {
    for (const summary of summaries) this.items.set(summary.conversation_id, summary);
    this.render();
  }

  /** A conversation just started here, listed before anything is sent in it. @param {string} id */
  add(id) {
    if (!this.items.has(id)) this.items.set(id, { conversation_id: id, title: '', preview: '', turns: 0, updated_at: Date.now() });
    this.render();
  }

  /** @param {string | null} id the open conversation, marked in the list */
  select(id) {
    this.current = id;
    this.render();
  }

  /**
   * A turn seen on the stream or sent from here: the conversation moves up, with it as preview
   * (and as title, if it is the first user turn).
   * @param {Pick<HistoryItem, 'conversation_id' | 'role' | 'text' | 'created_at'>} item
   */
  note(item) {
    const summary = this.items.get(item.conversation_id) ?? { conversation_id: item.conversation_id, title: '', preview: '', turns: 0, updated_at: 0 };
    if (!summary.title && item.role === 'user') summary.title = item.text.slice(0, 80);
    summary.preview = item.text.slice(0, 120);
    summary.turns += 1;
    summary.updated_at = Math.max(summary.updated_at, item.created_at);
    this.items.set(item.conversation_id, summary);
    this.render();
  }

  render() {
    const sorted = [...this.items.values()].sort((a, b) => b.updated_at - a.updated_at);
    this.list.replaceChildren(
      ...sorted.map((summary) => {
        const button = document.createElement('button');
        button.type = 'button';
        button.className = 'conversation-link';
        button.dataset.id = summary.conversation_id;
        if (summary.conversation_id === this.current) button.setAttribute('aria-current', 'page');
        const title = document.createElement('span');
        title.className = 'conversation-title';
        title.textContent = summary.title || 'New conversation';
        const preview = document.createElement('span');
        preview.className = 'conversation-preview';
        preview.textContent = summary.preview;
        button.append(title, preview);
        const item = document.createElement('li');
        item.append(button);
        return item;
      }),
    );
    this.options.onChange();
  }
}
