// What this browser keeps (localStorage): the token, its device name, and per user the live
// stream's last cursor, the ids of the messages it sent and the ratings it gave replies.

export const TOKEN_KEY = 'hearth.token';
const DEVICE_KEY = 'hearth.device';
const cursorKey = (/** @type {string} */ user) => `hearth.cursor.${user}`;
const sentKey = (/** @type {string} */ user) => `hearth.sent.${user}`;
const ratingsKey = (/** @type {string} */ user) => `hearth.ratings.${user}`;
/** Own message ids remembered, to tell them from other devices' after a reload. */
const SENT_KEPT = 200;
/** Ratings remembered, to show them pressed after a reload (the core keeps them all). */
const RATINGS_KEPT = 500;

/** A random id: the prefix and 12 base-36 characters. @param {string} prefix */
export function newId(prefix) {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return prefix + [...bytes].map((b) => b.toString(36).padStart(2, '0')).join('').slice(0, 12);
}

/** This browser's name in `X-Hearth-Device`, made once. */
export function deviceName() {
  const device = localStorage.getItem(DEVICE_KEY) ?? newId('web-');
  localStorage.setItem(DEVICE_KEY, device);
  return device;
}

export const loadToken = () => localStorage.getItem(TOKEN_KEY);
export const saveToken = (/** @type {string} */ token) => localStorage.setItem(TOKEN_KEY, token);

export const loadCursor = (/** @type {string} */ user) => localStorage.getItem(cursorKey(user));
/** @param {string} user @param {string} cursor */
export const saveCursor = (user, cursor) => localStorage.setItem(cursorKey(user), cursor);

/** @param {string} user @returns {string[]} */
export function loadSent(user) {
  try {
    const value = JSON.parse(localStorage.getItem(sentKey(user)) ?? '[]');
    return Array.isArray(value) ? value.filter((v) => typeof v === 'string') : [];
  } catch {
    return [];
  }
}

/** Adds a message id to what `user` sent from here; returns the new list. @param {string} user @param {string[]} sent @param {string} id */
export function rememberSent(user, sent, id) {
  const next = [...sent.filter((known) => known !== id), id].slice(-SENT_KEPT);
  localStorage.setItem(sentKey(user), JSON.stringify(next));
  return next;
}

/** The ratings `user` gave replies from here, by reply id (the newest few hundred). @param {string} user @returns {Record<string, 'up' | 'down'>} */
export function loadRatings(user) {
  try {
    const value = JSON.parse(localStorage.getItem(ratingsKey(user)) ?? '{}');
    return value && typeof value === 'object' && !Array.isArray(value) ? value : {};
  } catch {
    return {};
  }
}

/** @param {string} user @param {Record<string, 'up' | 'down'>} ratings @param {string} replyId @param {'up' | 'down'} rating */
export function rememberRating(user, ratings, replyId, rating) {
  delete ratings[replyId];
  ratings[replyId] = rating;
  const kept = Object.fromEntries(Object.entries(ratings).slice(-RATINGS_KEPT));
  localStorage.setItem(ratingsKey(user), JSON.stringify(kept));
  return kept;
}

/** Signing out: the token goes, and what was kept for its user (`user` when known). @param {string} [user] */
export function forget(user) {
  localStorage.removeItem(TOKEN_KEY);
  if (user) {
    localStorage.removeItem(cursorKey(user));
    localStorage.removeItem(sentKey(user));
    localStorage.removeItem(ratingsKey(user));
  }
}
