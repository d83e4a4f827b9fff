import {
  encodeFrame,
  parseEdgeFrame,
  signTunnelToken,
  type AccessCommand,
  type AccessResultFrame,
  type CoreKeySet,
} from '@hearth/shared';
import WebSocket from 'ws';
import { ConfigError } from '../errors.js';
import { tunnelUrl } from './url.js';

export interface OwnerRequestOptions {
  edgeUrl: string;
  /** This core's id (HEARTH_CORE_ID). */
  coreId: string;
  /** What the session is for (`owner`, `status`, `doctor`): it shows as `<core id>.<purpose>` in the edge's logs. */
  purpose: string;
  keySet: CoreKeySet;
  /** How long to wait for the edge's answer, dial included. */
  timeoutMs?: number;
}

/**
 * One owner command (`hearth pair ...`) over a short tunnel session of its own. The tunnel is
 * the channel because only a holder of the core key can open it: the edge needs no other admin
 * credential. The session grants no credits, so it is never given a delivery, and it does not
 * redial: a command that cannot reach the edge fails at once and says why.
 *
 * @throws ConfigError when the edge cannot be reached, refuses the key, or does not answer
 */
export async function ownerRequest(options: OwnerRequestOptions, command: AccessCommand): Promise<AccessResultFrame> {
  const { edgeUrl, keySet, purpose, timeoutMs = 15_000 } = options;
  // Core ids are at most 128 characters, in the token and in hello alike.
  const coreId = `${options.coreId.slice(0, 127 - purpose.length)}.${purpose}`;
  const url = tunnelUrl(edgeUrl);
  const token = await signTunnelToken(keySet, coreId);
  const requestId = crypto.randomUUID();
  const socket = new WebSocket(url, { headers: { Authorization: `Bearer ${token}` }, handshakeTimeout: timeoutMs });

  return new Promise<AccessResultFrame>((resolve, reject) => {
    const fail = (message: string, cause?: unknown) => {
      clearTimeout(timer);
      socket.terminate();
      reject(new ConfigError(message, { cause }));
    };
    const timer = setTimeout(() => fail(`the edge at ${edgeUrl} did not answer within ${timeoutMs} ms (HEARTH_EDGE_URL)`), timeoutMs);

    socket.on('unexpected-response', (_req, res) => {
      res.resume();
      fail(
        res.statusCode === 401
          ? `the edge at ${edgeUrl} does not accept this core key: give it the public key from \`npx hearth keygen\` as HEARTH_CORE_JWKS`
          : `the edge at ${edgeUrl} refused the tunnel (HTTP ${res.statusCode})`,
      );
    });
    socket.on('error', (error) => fail(`cannot reach the edge at ${edgeUrl} (HEARTH_EDGE_URL): ${error.message}`, error));
    socket.on('close', (code, reason) => fail(`the edge closed the tunnel before answering (${code} ${reason.toString()})`));
    // No serves_history: the edge must not send this short session a client's history request.
    socket.on('open', () => socket.send(encodeFrame({ type: 'hello', core_id: coreId, credits: 0, software: 'hearth-cli' })));
    socket.on('message', (data) => {
      const parsed = parseEdgeFrame(data.toString());
      if (!parsed.ok) return fail(parsed.error.message, parsed.error);
      const frame = parsed.value;
      if (frame.type === 'welcome') {
        socket.send(encodeFrame({ type: 'access', request_id: requestId, command }));
      } else if (frame.type === 'error') {
        fail(`the edge refused the command: ${frame.message}`);
      } else if (frame.type === 'access_result' && frame.request_id === requestId) {
        clearTimeout(timer);
        socket.removeAllListeners('close');
        socket.close(1000, 'done');
        resolve(frame);
      }
    });
  });
}
