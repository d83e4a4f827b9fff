/**
 * The Relay instance for this deployment. One object by default; sharding by conversation
 * (docs/architecture.md, "Scale") will pick the name from the conversation id here.
 */
const RELAY_NAME = 'main';

export function relayFor(env: Env) {
  return env.RELAY.get(env.RELAY.idFromName(RELAY_NAME));
}
