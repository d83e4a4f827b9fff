import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ModelHost {
  url: string;
  /** `METHOD range` of each request, in order. */
  requests: string[];
  close: () => Promise<void>;
}

/** Serves a model file on loopback like a model host does (HEAD and ranges included). */
export async function modelHost(model: Buffer): Promise<ModelHost> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.headers.range ?? 'whole'}`);
    const start = Number(/bytes=(\d+)-/.exec(req.headers.range ?? '')?.[1] ?? 0);
    const headers = { 'content-length': model.length - start, 'accept-ranges': 'bytes', 'content-type': 'application/octet-stream' };
    if (req.method === 'HEAD') {
      res.writeHead(200, headers);
      res.end();
      return;
    }
    res.writeHead(start > 0 ? 206 : 200, start > 0 ? { ...headers, 'content-range': `bytes ${start}-${model.length - 1}/${model.length}` } : headers);
    res.end(model.subarray(start));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/stories260K.gguf`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
