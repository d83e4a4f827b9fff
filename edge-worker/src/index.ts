import { app } from './app.js';
import { receiveEmail } from './platforms/email/inbound.js';

export { Relay } from './relay/relay.js';

export default { fetch: app.fetch, email: receiveEmail } satisfies ExportedHandler<Env>;
