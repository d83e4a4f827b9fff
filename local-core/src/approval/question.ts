import { approvalButtonData, redact, type RedactionConfig, type ReplyButtons } from '@hearth/shared';

/** How much of the arguments the question shows: enough to judge, never a wall of text. */
const ARGS_MAX_CHARS = 600;

/**
 * The question put to the owner: the tool and its arguments as compact JSON, cut at 600
 * characters, redacted with the configured kinds when the model's input is (the owner then sees
 * what the model saw).
 *
 * @example
 * approvalQuestion('delete_file', { path: 'notes.txt' }); // 'Run the tool delete_file?\n{"path":"notes.txt"}'
 */
export function approvalQuestion(tool: string, args: unknown, redaction?: RedactionConfig): string {
  let shown = args === undefined ? '(no arguments)' : (JSON.stringify(args) ?? String(args));
  if (redaction?.redactModelInput) shown = redact(shown, { kinds: redaction.kinds }).text;
  if (shown.length > ARGS_MAX_CHARS) shown = `${shown.slice(0, ARGS_MAX_CHARS)}…`;
  return `Run the tool ${tool.slice(0, 64)}?\n${shown}`;
}

/** The Run / Skip row for the question `id`. */
export function approvalButtons(id: string): ReplyButtons {
  return [
    [
      { label: 'Run', data: approvalButtonData('run', id) },
      { label: 'Skip', data: approvalButtonData('skip', id) },
    ],
  ];
}
