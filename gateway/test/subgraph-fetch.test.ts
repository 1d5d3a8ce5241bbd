// The gateway's subgraph HTTP client against a real local server: whole bodies however
// they are chunked, statuses passed through, oversized or broken answers refused.
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSubgraphClient } from '../src/subgraph-fetch.js';

let server: Server;
let base: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      if (req.url === '/chunks') {
        res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
        // Several writes, a multi-byte character split across two of them.
        const text = JSON.stringify({ echo: body, word: 'café', pad: 'x'.repeat(70_000) });
        const bytes = Buffer.from(text);
        const cut = bytes.indexOf(Buffer.from('é')) + 1;
        res.write(bytes.subarray(0, cut));
        setTimeout(() => res.end(bytes.subarray(cut)), 5);
      } else if (req.url === '/down') {
        res.writeHead(503, { 'content-type': 'text/plain' });
        res.end('no');
      } else if (req.url === '/big') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('x'.repeat(200_000));
      } else {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"partial":');
        setTimeout(() => res.destroy(), 5);
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

describe('subgraph client', () => {
  it('answers with the status, content type and the whole body', async () => {
    const client = createSubgraphClient(`${base}/chunks`);
    try {
      const res = await client.post({ 'content-type': 'application/json' }, '{"q":1}');
      expect(res.status).toBe(200);
      expect(res.statusText).toBe('OK');
      expect(res.contentType).toBe('application/json; charset=utf-8');
      expect(res.url).toBe(`${base}/chunks`);
      const body = JSON.parse(res.text) as { echo: string; word: string; pad: string };
      expect(body).toMatchObject({ echo: '{"q":1}', word: 'café' });
      expect(body.pad).toHaveLength(70_000);
    } finally {
      await client.close();
    }
  });

  it('passes other statuses through for the data source to turn into errors', async () => {
    const client = createSubgraphClient(`${base}/down`);
    try {
      const res = await client.post({}, '{}');
      expect(res).toMatchObject({ status: 503, statusText: 'Service Unavailable', text: 'no' });
    } finally {
      await client.close();
    }
  });

  it('refuses an answer over the size limit and one cut off mid-body', async () => {
    const big = createSubgraphClient(`${base}/big`, { maxResponseBytes: 100_000 });
    const cut = createSubgraphClient(`${base}/cut`);
    try {
      await expect(big.post({}, '{}')).rejects.toThrow(/more than 100000 bytes/);
      await expect(cut.post({}, '{}')).rejects.toThrow();
    } finally {
      await Promise.all([big.close(), cut.close()]);
    }
  });
});
