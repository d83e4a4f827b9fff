// The `send_email` binding of the edge tests: a worker whose send() hands the mail to the
// loopback fake (tests/fakes/email-service.ts) and throws what it answers with, as the binding
// throws. Locally an EmailMessage is a plain object whose raw MIME sits under this key
// (miniflare's RAW_EMAIL), so it crosses JS RPC as it is.
import { WorkerEntrypoint } from 'cloudflare:workers';

const RAW_EMAIL = 'EmailMessage::raw';

export class FakeSendEmail extends WorkerEntrypoint {
  async send(message) {
    const raw = message[RAW_EMAIL];
    const text = typeof raw === 'string' ? raw : await new Response(raw).text();
    const response = await fetch(`${this.env.FAKE_EMAIL_URL}/send`, {
      method: 'POST',
      body: JSON.stringify({ from: message.from, to: message.to, raw: text }),
    });
    const answer = await response.json();
    if (!response.ok) throw new Error(answer.error);
    return { messageId: answer.messageId };
  }
}

export default { fetch: () => new Response('the send_email stand-in', { status: 404 }) };
