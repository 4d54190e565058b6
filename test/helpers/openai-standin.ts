/**
 * A small stand-in for an OpenAI-compatible server (vLLM / llama-server) on loopback, for tests:
 * GET /v1/models, POST /v1/chat/completions with `stream: true` (SSE). It answers with the words
 * "tok0 tok1 ..." one SSE event each, `delayMs` apart, up to max_tokens (default 8), and records
 * every request body and whether the client aborted mid-stream.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StandIn {
  readonly url: string;
  readonly requests: unknown[];
  readonly aborted: number[];
  close(): Promise<void>;
}

export async function startOpenAiStandIn(
  opts: { delayMs?: number; model?: string; failStatus?: number } = {},
): Promise<StandIn> {
  const requests: unknown[] = [];
  const aborted: number[] = [];
  const model = opts.model ?? 'standin-model';
  const server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/v1/models') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ object: 'list', data: [{ id: model, object: 'model' }] }));
      return;
    }
    if (req.method === 'POST' && req.url === '/v1/chat/completions') {
      let raw = '';
      req.on('data', (c: Buffer) => (raw += c.toString('utf8')));
      req.on('end', () => {
        const body = JSON.parse(raw) as { max_tokens?: number; stream?: boolean };
        const index = requests.push(body) - 1;
        if (opts.failStatus !== undefined) {
          res.writeHead(opts.failStatus, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: { message: 'failing on purpose' } }));
          return;
        }
        const n = body.max_tokens ?? 8;
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        let i = 0;
        let done = false;
        res.on('close', () => {
          if (!done) aborted.push(index);
          clearInterval(timer);
        });
        const send = (o: unknown): void => void res.write(`data: ${JSON.stringify(o)}\n\n`);
        const timer = setInterval(() => {
          if (i < n) {
            send({
              id: 'c',
              object: 'chat.completion.chunk',
              model,
              choices: [
                {
                  index: 0,
                  delta: { content: `${i === 0 ? '' : ' '}tok${i}` },
                  finish_reason: null,
                },
              ],
            });
            i++;
            return;
          }
          clearInterval(timer);
          send({
            id: 'c',
            object: 'chat.completion.chunk',
            model,
            choices: [{ index: 0, delta: {}, finish_reason: 'length' }],
          });
          send({
            id: 'c',
            object: 'chat.completion.chunk',
            model,
            choices: [],
            usage: { prompt_tokens: 5, completion_tokens: n, total_tokens: 5 + n },
          });
          res.write(': keep-alive comment\n\ndata: [DONE]\n\n');
          done = true;
          res.end();
        }, opts.delayMs ?? 1);
      });
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    aborted,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
