// The gateway when what is behind it misbehaves: a post service that never answers or goes
// quiet mid-upload (the REST proxy's timeouts), subgraphs that answer 401/503 or cannot be
// reached (what the client's error may say). Real stack for the rest; the misbehaving
// services are tiny local HTTP servers.
import { once } from 'node:events';
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signAccessToken } from '../../lib/auth/tokens.js';
import type { RunningService } from '../../lib/platform/http/server.js';
import { startGateway } from '../src/server.js';
import { postGraphql, startStack, type Stack } from '../../test/support/stack.js';

let stack: Stack;
let stuck: Server;
let stuckUrl: string;

/** Something only the upstream's answer contains: must never reach a client. */
const UPSTREAM_SECRET = 'upstream-body-db-password-hunter2';

/**
 * Reads request bodies; answers PUT /v1/uploads/slow.ok (once the body is in), and
 * /401 and /503 the way a subgraph refusing the gateway's signature or overloaded would,
 * with a body naming internals. Anything else is never answered.
 */
function stuckPostService(): Server {
  return createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.url === '/v1/uploads/slow.ok') {
        res.writeHead(200, { etag: '"e"', 'content-type': 'application/json' });
        res.end('{}');
      } else if (req.url === '/400' || req.url === '/400-invalid') {
        // Apollo Server's answer to a variable its scalar refused, and to an invalid operation.
        const code = req.url === '/400' ? 'BAD_USER_INPUT' : 'GRAPHQL_VALIDATION_FAILED';
        res.writeHead(400, { 'content-type': 'application/graphql-response+json' });
        res.end(
          JSON.stringify({
            errors: [
              {
                message: 'Variable "$upTo" got invalid value "yesterday"; not a DateTime',
                locations: [{ line: 1, column: 7 }],
                extensions: { code, stacktrace: [UPSTREAM_SECRET], serviceName: 'x' },
              },
            ],
          }),
        );
      } else if (req.url === '/401' || req.url === '/503') {
        res.writeHead(Number(req.url.slice(1)), { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            errors: [{ message: `bad context ${UPSTREAM_SECRET}`, extensions: { code: 'X' } }],
          }),
        );
      }
    });
  });
}

beforeAll(async () => {
  stack = await startStack({ subgraphs: ['user'] });
  stuck = stuckPostService();
  stuck.listen(0, '127.0.0.1');
  await once(stuck, 'listening');
  stuckUrl = `http://127.0.0.1:${(stuck.address() as AddressInfo).port}/graphql`;
}, 60_000);
afterAll(async () => {
  stuck?.closeAllConnections();
  stuck?.close();
  await stack?.close();
});

interface Answer {
  status: number;
  body: { error?: string; code?: string; requestId?: string };
  ms: number;
}

/** A request whose body is written by `write` (chunks with pauses), answer parsed. */
function send(
  url: string,
  method: string,
  headers: Record<string, string>,
  write: (req: ReturnType<typeof request>) => Promise<void>,
): Promise<Answer> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res: IncomingMessage) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          body: JSON.parse(text || '{}') as Answer['body'],
          ms: Date.now() - started,
        }),
      );
    });
    // The gateway may answer and close while the body is still being written.
    req.on('error', (err) => (req.writableEnded ? undefined : reject(err)));
    write(req).catch(() => {});
  });
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('REST proxy timeouts (post service stuck)', () => {
  let gw: RunningService;
  beforeAll(async () => {
    gw = await startGateway(stack.cfg, {
      port: 0,
      subgraphUrls: { ...stack.subgraphUrls, post: stuckUrl },
      restTimeouts: { mediaHeadersMs: 400, uploadIdleMs: 400, uploadAnswerMs: 600 },
    });
  });
  afterAll(async () => {
    await gw?.close();
  });

  const expectTimeout = (r: Answer) => {
    expect(r.status).toBe(504);
    expect(r.body.code).toBe('SERVICE_UNAVAILABLE');
    expect(r.body.error).toMatch(/did not answer in time/);
    expect(r.body.requestId).toBeTruthy();
    expect(JSON.stringify(r.body)).not.toMatch(/127\.0\.0\.1|timed out \(/);
  };

  it('GET /media/* answers 504 when the file does not start coming', async () => {
    const r = await send(`${gw.url}/media/m/x/640.jpg`, 'GET', {}, async (req) => {
      req.end();
    });
    expectTimeout(r);
    expect(r.ms).toBeLessThan(5000);
  });

  it('PUT /v1/uploads answers 504 when the upload goes idle or no answer comes', async () => {
    // All bytes sent, no answer.
    const unanswered = await send(
      `${gw.url}/v1/uploads/abc.def`,
      'PUT',
      { 'content-type': 'image/jpeg', 'content-length': '4' },
      async (req) => {
        req.end('abcd');
      },
    );
    expectTimeout(unanswered);
    // The client stops sending halfway: the idle limit ends it.
    const stalled = await send(
      `${gw.url}/v1/uploads/abc.def`,
      'PUT',
      { 'content-type': 'image/jpeg', 'content-length': '100' },
      async (req) => {
        req.write('x'.repeat(10));
      },
    );
    expectTimeout(stalled);
  });

  it('does not cap a slow upload that keeps moving', async () => {
    // 8 chunks 150 ms apart: 1.2 s in all, three times the idle limit, never idle for it.
    const r = await send(
      `${gw.url}/v1/uploads/slow.ok`,
      'PUT',
      { 'content-type': 'image/jpeg', 'content-length': '80' },
      async (req) => {
        for (let i = 0; i < 8; i++) {
          req.write('y'.repeat(10));
          await pause(150);
        }
        req.end();
      },
    );
    expect(r.status).toBe(200);
    expect(r.ms).toBeGreaterThan(1000);
  });

  it('POST /v1/media answers 504 when the post service never answers', async () => {
    const { token } = await signAccessToken(stack.cfg, { userId: '1234567', sessionId: '1' });
    const body = '--x\r\nContent-Disposition: form-data; name="altText"\r\n\r\nhi\r\n--x--\r\n';
    const r = await send(
      `${gw.url}/v1/media`,
      'POST',
      {
        authorization: `Bearer ${token}`,
        'content-type': 'multipart/form-data; boundary=x',
        'content-length': String(Buffer.byteLength(body)),
      },
      async (req) => {
        req.end(body);
      },
    );
    expectTimeout(r);
  });
});

describe('subgraph failures reach the client as documented codes only', () => {
  let gw: RunningService;
  let origin: string;
  beforeAll(async () => {
    origin = new URL(stuckUrl).origin;
    // A port nothing listens on (bound, then closed).
    const closed = createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const deadPort = (closed.address() as AddressInfo).port;
    closed.close();
    gw = await startGateway(stack.cfg, {
      port: 0,
      subgraphUrls: {
        ...stack.subgraphUrls,
        user: `${origin}/401`,
        post: `${origin}/503`,
        search: `http://127.0.0.1:${deadPort}/graphql`,
        graph: `${origin}/400`,
        feed: `${origin}/400-invalid`,
      },
    });
  });
  afterAll(async () => {
    await gw?.close();
  });

  const LEAKS = [UPSTREAM_SECRET, '127.0.0.1', 'serviceName', 'response', 'statusText', '/401'];

  it('hides the URL, the subgraph name and the body of a failed subgraph call', async () => {
    const cases: [string, string, string][] = [
      ['401 (signature refused)', '{ me { id } }', 'INTERNAL_SERVER_ERROR'],
      ['503', '{ post(id: "1") { id } }', 'SERVICE_UNAVAILABLE'],
      ['unreachable', '{ searchPosts(query: "x") { nodes { id } } }', 'SERVICE_UNAVAILABLE'],
      ['400, an invalid operation', '{ feed { nodes { id } } }', 'INTERNAL_SERVER_ERROR'],
    ];
    for (const [kind, query, code] of cases) {
      const r = await postGraphql(`${gw.url}/graphql`, query);
      const text = JSON.stringify(r);
      expect(r.errors?.[0]?.extensions?.code, `${kind}: ${text}`).toBe(code);
      expect(Object.keys(r.errors?.[0]?.extensions ?? {}), kind).toEqual(['code']);
      expect(r.errors?.[0]?.message, kind).toMatch(
        /^(Internal server error|Service temporarily unavailable)$/,
      );
      for (const leak of LEAKS) expect(text, `${kind} leaks ${leak}`).not.toContain(leak);
    }
  });

  it("passes a subgraph's 400 for a variable it refused as BAD_USER_INPUT, and nothing else of it", async () => {
    const { token } = await signAccessToken(stack.cfg, { userId: '1234567', sessionId: '1' });
    const r = await postGraphql(
      `${gw.url}/graphql`,
      '{ followRequests { nodes { id } } }',
      {},
      { authorization: `Bearer ${token}` },
    );
    expect(r.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT' });
    expect(r.errors?.[0]?.message).toBe(
      'Variable "$upTo" got invalid value "yesterday"; not a DateTime',
    );
    expect(JSON.stringify(r)).not.toMatch(/serviceName|stacktrace|hunter2|127\.0\.0\.1/);
  });

  it("passes a subgraph's BAD_USER_INPUT with its field, without serviceName", async () => {
    const name = `short_${Date.now().toString(36)}`;
    const r = await stack.gql(`mutation($i: SignUpInput!) { signUp(input: $i) { accessToken } }`, {
      i: { username: name, email: `${name}@example.com`, password: 'short' },
    });
    expect(r.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(r.errors?.[0]?.extensions?.field).toBe('password');
    expect(Object.keys(r.errors?.[0]?.extensions ?? {}).sort()).toEqual(['code', 'field']);
    expect(JSON.stringify(r)).not.toMatch(/serviceName|127\.0\.0\.1/);
  });
});
