import { z } from 'zod';
import { DataRequestSchema } from './data-store.js';

/**
 * What a plugin host process may say to the core (see plugin-runtime/host.mjs and prelude.js).
 * Validated on arrival: most of it is written by code we do not trust, so a message of any other
 * shape is dropped and logged.
 */
const callId = z.string().min(1).max(64);
const names = z.array(z.string().max(64)).max(64);

export const FetchRequestSchema = z.object({
  url: z.string().min(1).max(4_096),
  method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD']),
  headers: z.record(z.string().max(256), z.string().max(8_192)).refine((h) => Object.keys(h).length <= 64, 'at most 64 headers'),
  body: z.string().max(256 * 1024).nullable(),
});
export type FetchRequest = z.infer<typeof FetchRequestSchema>;

export const PushRequestSchema = z.object({
  text: z.string().min(1).max(16_384),
  conversationId: z.string().min(1).max(256).nullable(),
  /** The plugin's own id for this push: the idempotency key is derived from it. */
  id: z
    .string()
    .regex(/^[A-Za-z0-9._:-]{1,128}$/, 'a push id is 1-128 of A-Z a-z 0-9 . _ : -')
    .nullable(),
});
export type PushRequest = z.infer<typeof PushRequestSchema>;

export const ChildMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready'), commands: names, tools: names, schedules: names }),
  z.object({ type: z.literal('result'), id: callId, value: z.unknown() }),
  z.object({ type: z.literal('error'), id: callId, message: z.string().max(4_000) }),
  z.object({ type: z.literal('fatal'), message: z.string().max(4_000) }),
  z.object({ type: z.literal('log'), level: z.enum(['debug', 'info', 'warn', 'error']), msg: z.string().max(4_000) }),
  z.object({ type: z.literal('violation'), what: z.string().max(200), detail: z.string().max(1_000) }),
  z.object({ type: z.literal('limit'), limit: z.enum(['memory', 'time', 'idle_cpu', 'output']), detail: z.string().max(1_000) }),
  z.discriminatedUnion('service', [
    z.object({ type: z.literal('service'), id: z.number().int().nonnegative(), call: callId.nullable(), service: z.literal('fetch'), request: FetchRequestSchema }),
    z.object({ type: z.literal('service'), id: z.number().int().nonnegative(), call: callId.nullable(), service: z.literal('push'), request: PushRequestSchema }),
    z.object({ type: z.literal('service'), id: z.number().int().nonnegative(), call: callId.nullable(), service: z.literal('data'), request: DataRequestSchema }),
  ]),
]);
export type ChildMessage = z.infer<typeof ChildMessageSchema>;

/** What a plugin host is started with: the plugin's code and what it may use. */
export interface InitMessage {
  type: 'init';
  plugin: string;
  /** The handler module's path among `files`. */
  entry: string;
  /** The plugin's .js and .mjs files by relative path: the engine has no file system to read them from. */
  files: Record<string, string>;
  secrets: Record<string, string>;
  /** Whether `ctx.data` is granted. */
  data: boolean;
  limits: { memoryMb: number; timeoutMs: number; startTimeoutMs: number; idleCpuMs: number; maxOutputChars: number };
}

/** What the core sends a plugin host. */
export type HostMessage =
  | InitMessage
  | { type: 'call'; id: string; kind: CallKind; name: string; args: unknown; context: { conversationId: string | null; senderId: string | null; trigger: string } }
  | { type: 'service_result'; id: number; ok: true; value: unknown }
  | { type: 'service_result'; id: number; ok: false; error: string };

export type CallKind = 'command' | 'tool' | 'schedule';
