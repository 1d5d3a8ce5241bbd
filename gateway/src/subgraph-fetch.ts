// The gateway's fetcher for subgraph calls: node:http over keep-alive agents, answering with
// the small part of a fetch Response that SubgraphDataSource reads (ok, status,
// headers.get, json, text). Node's fetch (undici) builds web streams, Request and Response
// objects per call, a visible share of the gateway's CPU under load for bodies of a few KB.
import http from 'node:http';
import https from 'node:https';

export interface SubgraphResponse {
  ok: boolean;
  status: number;
  statusText: string;
  url: string;
  headers: { get(name: string): string | null };
  json(): Promise<unknown>;
  text(): Promise<string>;
}

export interface SubgraphRequestInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  signal?: AbortSignal | null;
}

const agentOptions = {
  keepAlive: true,
  keepAliveMsecs: 10_000,
  maxSockets: 256,
  scheduling: 'lifo' as const,
};
const httpAgent = new http.Agent(agentOptions);
const httpsAgent = new https.Agent(agentOptions);
/** A subgraph that does not answer within this is an error, not a hung client request. */
const TIMEOUT_MS = 30_000;

export function subgraphFetch(
  url: string,
  init: SubgraphRequestInit = {},
): Promise<SubgraphResponse> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const secure = u.protocol === 'https:';
    const body = init.body ?? '';
    const req = (secure ? https : http).request(
      u,
      {
        method: init.method ?? 'POST',
        agent: secure ? httpsAgent : httpAgent,
        headers: { ...init.headers, 'content-length': Buffer.byteLength(body) },
        signal: init.signal ?? undefined,
        timeout: TIMEOUT_MS,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text =
            chunks.length === 1
              ? chunks[0]!.toString('utf8')
              : Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          resolve({
            ok: status >= 200 && status < 300,
            status,
            statusText: res.statusMessage ?? '',
            url,
            headers: {
              get: (name) => {
                const v = res.headers[name.toLowerCase()];
                return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
              },
            },
            json: async () => JSON.parse(text) as unknown,
            text: async () => text,
          });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`subgraph ${u.host} timed out`)));
    req.on('error', reject);
    req.end(body);
  });
}
