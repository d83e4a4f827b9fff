import type { CoreModel } from '@hearth/shared';
import type { LiveSession } from './dispatch.js';
import type { Session } from './session.js';

/** What the connected cores answer with, for `/v1/models` and for matching a request's `model`. */
export interface ConnectedModels {
  /** Each model once, in the order cores said hello. */
  models: CoreModel[];
  /** Connected cores that answer API clients. */
  cores: number;
  /** Some of them named no model (a core from before hello carried one): any `model` may be theirs. */
  unlisted: boolean;
}

/** The models a session's core said it answers with; undefined when it named none. */
export function modelsOf(session: Session): CoreModel[] | undefined {
  if (session.models) return session.models;
  return session.model ? [{ kind: 'chat', ...session.model }] : undefined;
}

/** The models of `sessions`, once each (by kind and id). */
export function connectedModels(sessions: readonly LiveSession[]): ConnectedModels {
  const seen = new Map<string, CoreModel>();
  let unlisted = false;
  for (const { session } of sessions) {
    const models = modelsOf(session);
    if (!models) unlisted = true;
    for (const model of models ?? []) if (!seen.has(`${model.kind}:${model.id}`)) seen.set(`${model.kind}:${model.id}`, model);
  }
  return { models: [...seen.values()], cores: sessions.length, unlisted };
}
