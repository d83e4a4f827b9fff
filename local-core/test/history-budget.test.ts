import type { ChatHistoryItem } from 'node-llama-cpp';
import { describe, expect, it } from 'vitest';
import { trimHistory } from '../src/inference/history-budget.js';

// One token per word: easy to reason about.
const words = (text: string) => text.split(/\s+/).filter(Boolean).length;
const user = (text: string): ChatHistoryItem => ({ type: 'user', text });
const model = (text: string): ChatHistoryItem => ({ type: 'model', response: [text] });
const system: ChatHistoryItem = { type: 'system', text: 'be brief please' };

describe('trimHistory', () => {
  const history = [system, user('one two'), model('three four five'), user('six'), model('seven eight'), user('nine ten'), model('eleven')];

  it('keeps the system prompt and the newest whole exchanges that fit', () => {
    // system 3 + last exchange 3 + previous 3 = 9; the first exchange (5) would make 14.
    expect(trimHistory(history, 10, words)).toEqual([system, user('six'), model('seven eight'), user('nine ten'), model('eleven')]);
    expect(trimHistory(history, 14, words)).toEqual(history);
  });

  it('never starts on a model reply, and keeps the newest exchange even over budget', () => {
    expect(trimHistory(history, 1, words)).toEqual([system, user('nine ten'), model('eleven')]);
    const trimmed = trimHistory(history, 7, words);
    expect(trimmed[1]?.type).toBe('user');
  });

  it('keeps a pending user message (no reply yet) with the exchange before it when it fits', () => {
    const pending = [system, user('a b c'), model('d'), user('e')];
    expect(trimHistory(pending, 5, words)).toEqual([system, user('e')]);
    expect(trimHistory(pending, 8, words)).toEqual(pending);
  });

  it('leaves a history with only a system prompt alone', () => {
    expect(trimHistory([system], 1, words)).toEqual([system]);
  });
});
