import { describe, expect, it } from 'vitest';
import { chunkText } from '../../src/recall/chunk.js';
import { excerpt } from '../../src/recall/excerpt.js';

const sentence = (i: number) => `Sentence number ${i} says something about topic ${i}.`;
const paragraph = (from: number, count: number) => Array.from({ length: count }, (_, i) => sentence(from + i)).join(' ');

describe('chunking notes', () => {
  it('packs short paragraphs together and keeps a short note whole', () => {
    expect(chunkText('# Title\r\n\r\nFirst line.\nSecond line.   \n\n\n\nLast paragraph.\n')).toEqual(['# Title\n\nFirst line.\nSecond line.\n\nLast paragraph.']);
    expect(chunkText('\uFEFF  \n\n \n')).toEqual([]);
  });

  it('cuts long text into chunks of at most maxChars at paragraph and sentence boundaries', () => {
    const text = [paragraph(0, 6), paragraph(6, 6), paragraph(12, 30)].join('\n\n');
    const chunks = chunkText(text);
    expect(chunks.length).toBeGreaterThanOrEqual(3);
    for (const chunk of chunks) {
      expect(chunk.length).toBeLessThanOrEqual(800);
      // Every chunk starts and ends on a sentence.
      expect(chunk).toMatch(/^Sentence number \d+/);
      expect(chunk).toMatch(/\.$/);
    }
    // Nothing is lost: every sentence is in some chunk.
    for (let i = 0; i < 42; i++) expect(chunks.some((c) => c.includes(sentence(i)))).toBe(true);
    // Most chunks are well filled, not one sentence each.
    expect(chunks.slice(0, -1).every((c) => c.length >= 400)).toBe(true);
  });

  it('repeats the end of a chunk at the start of the next, a little', () => {
    const chunks = chunkText(paragraph(0, 40), { maxChars: 600, overlapChars: 120 });
    expect(chunks.length).toBeGreaterThan(2);
    for (let i = 1; i < chunks.length; i++) {
      const firstSentence = chunks[i]!.match(/^Sentence number \d+[^.]*\./)![0];
      const previous = chunks[i - 1]!;
      const overlap = previous.slice(previous.lastIndexOf(firstSentence));
      expect(previous.includes(firstSentence)).toBe(true);
      expect(chunks[i]!.startsWith(overlap)).toBe(true);
      expect(overlap.length).toBeLessThanOrEqual(120);
    }
  });

  it('starts a new chunk at a markdown heading once the current one is long enough', () => {
    const text = `# Health\n\n${paragraph(0, 7)}\n\n# Garden\n\nTomatoes need water.`;
    const chunks = chunkText(text);
    expect(chunks).toHaveLength(2);
    expect(chunks[1]).toBe('# Garden\n\nTomatoes need water.');
  });

  it('splits a paragraph without sentence ends by words, and a giant word by characters', () => {
    const words = Array.from({ length: 400 }, (_, i) => `word${i}`).join(' ');
    const chunks = chunkText(words, { overlapChars: 0 });
    expect(chunks.every((c) => c.length <= 800)).toBe(true);
    expect(chunks.join(' ')).toBe(words);
    const giant = 'x'.repeat(2000);
    expect(chunkText(giant, { overlapChars: 0 })).toEqual(['x'.repeat(800), 'x'.repeat(800), 'x'.repeat(400)]);
  });
});

describe('excerpts for the prompt', () => {
  it('keeps a short text as it is, whitespace flattened', () => {
    expect(excerpt('Dentist on\n\nTuesday.', 'dentist', 100)).toBe('Dentist on Tuesday.');
  });

  it('chooses the sentences sharing the most query words and marks the cuts', () => {
    const text = 'The car is blue. The dentist is on Tuesday. The garden is green and needs water every day.';
    expect(excerpt('The car is blue. The dentist is on Tuesday.', 'dentist', 30)).toBe('… The dentist is on Tuesday.');
    expect(excerpt(text, 'when is my dentist appointment on tuesday', 40)).toBe('… The dentist is on Tuesday. …');
    // With room to spare, neighbours come along for context: the following sentence first.
    const roomy = excerpt(text, 'dentist', 80);
    expect(roomy).toBe('… The dentist is on Tuesday. The garden is green and needs water every day.');
    expect(roomy.length).toBeLessThanOrEqual(80);
  });

  it('cuts a single long sentence at a word boundary within the limit', () => {
    const long = `Dentist ${'very '.repeat(50)}long sentence.`;
    const cut = excerpt(long, 'dentist', 60);
    expect(cut.length).toBeLessThanOrEqual(60);
    expect(cut).toMatch(/^Dentist very .*very…$/);
  });
});
