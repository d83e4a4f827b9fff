// Runs inside a sandboxed MCP server's network namespace, in front of the server: listens on
// loopback (the server's HTTPS_PROXY) and carries each connection to the core's egress proxy
// over the Unix socket bound in (src/mcp/egress-proxy.ts decides what may pass; this only
// carries bytes, so a server that kills it loses its network and gains nothing). Then runs the
// server with this process's stdin/stdout (the MCP channel) and ends as it ends.
//   node egress-relay.mjs SOCKET PORT PROGRAM [ARGS...]
import { spawn } from 'node:child_process';
import { connect, createServer } from 'node:net';

const [socketPath, portText, program, ...args] = process.argv.slice(2);
if (!socketPath || !portText || !program) {
  process.stderr.write('usage: egress-relay.mjs SOCKET PORT PROGRAM [ARGS...]\n');
  process.exit(2);
}

const relay = createServer((client) => {
  const proxy = connect(socketPath);
  const end = () => {
    client.destroy();
    proxy.destroy();
  };
  client.on('error', end).on('close', end);
  proxy.on('error', end).on('close', end);
  client.pipe(proxy).pipe(client);
});
relay.on('error', (error) => {
  process.stderr.write(`egress relay: ${error.message}\n`);
  process.exit(1);
});
relay.listen(Number(portText), '127.0.0.1', () => {
  const server = spawn(program, args, { stdio: 'inherit' });
  for (const signal of /** @type {const} */ (['SIGTERM', 'SIGINT', 'SIGHUP'])) process.on(signal, () => server.kill(signal));
  server.on('error', (error) => {
    process.stderr.write(`egress relay: ${program}: ${error.message}\n`);
    process.exit(127);
  });
  server.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 : 1)));
});
