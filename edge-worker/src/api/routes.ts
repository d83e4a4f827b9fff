import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import type { AppEnv } from '../app-env.js';
import { clientAuth } from '../auth/client-token.js';
import { withConfig } from '../config.js';
import { relayFor } from '../relay/stub.js';
import { ApiError } from './errors.js';
import { FeedbackRequestSchema, postFeedback } from './feedback.js';
import { EmbeddingsSchema, createEmbeddings } from './embeddings.js';
import { ConversationParamSchema, ConversationsQuerySchema, MessagesQuerySchema, conversationMessages, listConversations } from './history.js';
import { PostMessageSchema, postMessage } from './messages.js';
import { PressRequestSchema, postPress } from './press.js';
import { listModels, retrieveModel } from './models.js';
import { chatCompletions } from './openai.js';
import { ChatCompletionSchema } from './openai-request.js';
import { events, socket } from './streams.js';
import { validate } from './validate.js';

/** Request bodies past this are refused with 413 before they are read (a long completion history fits). */
export const MAX_API_BODY_BYTES = 1_048_576;

/**
 * The client API, mounted at `/v1`: phones, browsers and tools reach the home model through
 * the edge. Every route needs a client token with its scope (see auth/client-token.ts).
 * Bearer tokens, not cookies, authenticate, so any origin may call it (CORS).
 */
export const v1 = new Hono<AppEnv>();

v1.use(cors({ origin: '*', allowHeaders: ['Authorization', 'Content-Type', 'Idempotency-Key', 'X-Hearth-Device', 'Last-Event-ID'], maxAge: 600 }));
v1.use(withConfig);
v1.use(
  bodyLimit({
    maxSize: MAX_API_BODY_BYTES,
    onError: () => {
      throw new ApiError(413, 'payload_too_large', `body exceeds ${MAX_API_BODY_BYTES} bytes`);
    },
  }),
);

v1.post('/messages', clientAuth('chat:write'), validate('json', PostMessageSchema), (c) => postMessage(c, c.req.valid('json')));
v1.post('/feedback', clientAuth('chat:write'), validate('json', FeedbackRequestSchema), (c) => postFeedback(c, c.req.valid('json')));
v1.post('/press', clientAuth('chat:write'), validate('json', PressRequestSchema), (c) => postPress(c, c.req.valid('json')));
v1.get('/conversations', clientAuth('chat:read'), validate('query', ConversationsQuerySchema), (c) => listConversations(c, c.req.valid('query')));
v1.get('/conversations/:id/messages', clientAuth('chat:read'), validate('param', ConversationParamSchema), validate('query', MessagesQuerySchema), (c) =>
  conversationMessages(c, c.req.valid('param').id, c.req.valid('query')),
);
v1.get('/events', clientAuth('sync'), events);
v1.get('/ws', clientAuth('sync'), socket);
v1.post('/chat/completions', clientAuth('chat:write'), validate('json', ChatCompletionSchema), (c) => chatCompletions(c, c.req.valid('json')));
v1.post('/embeddings', clientAuth('chat:write'), validate('json', EmbeddingsSchema), (c) => createEmbeddings(c, c.req.valid('json')));
v1.get('/models', clientAuth('chat:read'), listModels);
// Ids may hold slashes (the built-in embedder's does), sent as they are or as %2F.
v1.get('/models/:id{.+}', clientAuth('chat:read'), (c) => retrieveModel(c, c.req.param('id')));
v1.get('/admin/status', clientAuth('admin'), async (c) => c.json(await relayFor(c.env).stats()));
