import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local stand-in for the Telegram Bot API, for `hearth dev` without a bot token: it answers
 * like the real API and hands each `sendMessage` to `onMessage`, so the whole path can be
 * watched on one machine with no network.
 */
export async function startDevBotApi(
  onMessage: (chatId: string, text: string) => void,
): Promise<{ url: string; dispose(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      if (req.url?.endsWith('/sendMessage')) {
        try {
          const { chat_id, text } = JSON.parse(body) as { chat_id?: unknown; text?: unknown };
          onMessage(String(chat_id), String(text));
        } catch {
          res.writeHead(400, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ ok: false, error_code: 400, description: 'Bad Request: invalid JSON' }));
          return;
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: true, result: true }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  let disposing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    dispose: () => {
      disposing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      return disposing;
    },
  };
}
