import { describe, expect, it } from 'vitest';
import { commandOf, isStopCommand } from './commands.js';

const said = (text: string) => ({ content: { text, attachments: [], entities: [] } });

describe('commands', () => {
  it('reads a command with or without the bot name and arguments', () => {
    expect(commandOf(said('/start'))).toEqual({ name: 'start', args: '' });
    expect(commandOf(said('/Reset@hearth_bot'))).toEqual({ name: 'reset', args: '' });
    expect(commandOf(said('  /model  llama-3  '))).toEqual({ name: 'model', args: 'llama-3' });
    expect(commandOf(said('/remind in 10 minutes\nto call Ada'))).toEqual({ name: 'remind', args: 'in 10 minutes\nto call Ada' });
  });

  it('is not fooled by slashes that are not a command', () => {
    for (const text of ['hello /start', '/', '/ stop', 'a/b', '//comment', '/stop!', 'path /usr/bin', '']) expect(commandOf(said(text))).toBeUndefined();
  });

  it('knows /stop in any form, and only /stop', () => {
    expect(isStopCommand(said('/stop'))).toBe(true);
    expect(isStopCommand(said('/STOP@hearth_bot'))).toBe(true);
    expect(isStopCommand(said('/stopwatch'))).toBe(false);
    expect(isStopCommand(said('please /stop'))).toBe(false);
  });
});
