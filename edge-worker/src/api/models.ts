import type { CoreModel } from '@hearth/shared';
import type { Context } from 'hono';
import type { AppEnv } from '../app-env.js';
import { relayFor } from '../relay/stub.js';
import { ApiError } from './errors.js';

/**
 * The name a request may give instead of a model's id: the connected core's model of the kind
 * the route needs (its chat model for completions, its embedding model for embeddings).
 */
const DEFAULT_MODEL = 'hearth';

/** OpenAI's model object; `kind` (and an embedding model's `dimensions`) tell a client which route takes it. */
const modelObject = (model: CoreModel) => ({
  id: model.id,
  object: 'model',
  // `created` is when the model was made; the edge does not know it.
  created: 0,
  owned_by: 'hearth',
  description: model.description,
  kind: model.kind,
  ...(model.kind === 'embedding' ? { dimensions: model.dimensions } : {}),
});

/** OpenAI's 404 for a model it does not have: clients and SDKs branch on `model_not_found`. */
const notFound = (id: string, models: CoreModel[], what = 'model') => {
  const listed = models.map((m) => m.id).join(', ');
  return new ApiError(404, 'model_not_found', `The ${what} '${id}' does not exist here; ${listed ? `connected: ${listed} (or '${DEFAULT_MODEL}')` : 'no core lists one'}`, {
    errorType: 'invalid_request_error',
  });
};

/** `GET /v1/models` (chat:read): the models the connected cores answer with (none while all are offline). */
export async function listModels(c: Context<AppEnv>): Promise<Response> {
  const { models } = await relayFor(c.env).models();
  return c.json({ object: 'list', data: models.map(modelObject) });
}

/** `GET /v1/models/{id}` (chat:read): one of them; `hearth` is the chat model. 404 `model_not_found` otherwise. */
export async function retrieveModel(c: Context<AppEnv>, id: string): Promise<Response> {
  const { models } = await relayFor(c.env).models();
  const model = id === DEFAULT_MODEL ? models.find((m) => m.kind === 'chat') : models.find((m) => m.id === id);
  if (!model) throw notFound(id, models);
  return c.json(modelObject(model));
}

/**
 * The connected model a request's `model` names, of the `kind` its route needs: its id, or
 * {@link DEFAULT_MODEL}. Undefined when it cannot be told: no core is connected (the route
 * answers 503 `core_offline` as it does without a model), or a chat request while a connected
 * core lists no models (one from before hello listed them: its model may be any).
 *
 * @throws ApiError 404 `model_not_found`; 400 `model_not_supported` for a model of the other kind
 * @example
 * await matchModel(c, 'chat', body.model);
 */
export async function matchModel<K extends CoreModel['kind']>(
  c: Context<AppEnv>,
  kind: K,
  requested: string,
): Promise<Extract<CoreModel, { kind: K }> | undefined> {
  const { models, cores, unlisted } = await relayFor(c.env).models();
  if (cores === 0) return undefined;
  const ofKind = models.filter((m): m is Extract<CoreModel, { kind: K }> => m.kind === kind);
  const found = requested === DEFAULT_MODEL ? ofKind[0] : ofKind.find((m) => m.id === requested);
  if (found) return found;
  if (kind === 'chat' && unlisted) return undefined;
  const other = models.find((m) => m.id === requested);
  const article = (k: CoreModel['kind']) => (k === 'chat' ? 'a chat' : 'an embedding');
  if (other) throw new ApiError(400, 'model_not_supported', `'${requested}' is ${article(other.kind)} model; this route takes ${article(kind)} model`);
  throw notFound(requested, ofKind, kind === 'chat' ? 'model' : 'embedding model');
}
