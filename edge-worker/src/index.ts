import { app } from './app.js';

export { Relay } from './relay/relay.js';

export default app satisfies ExportedHandler<Env>;
