// Media URLs in the compose deployment resolve from outside the service network: the post
// service (configured as docker-compose.yml configures it) hands out URLs under lb's public
// address, lb's nginx.conf (the real file, run by a real nginx) serves exactly the processed
// media keys from the media bucket, and minio-init lets anonymous readers GET those keys and
// nothing else. MinIO itself is stood in for by an HTTP server that records what reaches it.
//
// The nginx part needs an nginx binary (CI installs Debian's: deploy/validate.sh). Without one
// it is skipped on a developer machine and FAILS in CI (CI=true), never silently passes.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3Storage } from '../../subgraphs/post/src/storage/s3-storage.js';
import { mediaKeyPrefix, uploadKey } from '../../subgraphs/post/src/uploads/records.js';
import { envExample, loadCompose } from './compose-config.js';

const compose = loadCompose();
const postEnv = compose.services.post!.environment!;
const nginxConf = readFileSync('deploy/nginx/nginx.conf', 'utf8');
const minioInit = readFileSync('deploy/minio/minio-init.sh', 'utf8');

const publicBase = new URL(postEnv.MINIO_PUBLIC_BASE_URL!);
const endpoint = new URL(postEnv.MINIO_ENDPOINT!);
const bucket = postEnv.MINIO_BUCKET!;
const mediaPrefix = `${publicBase.pathname.replace(/\/$/, '')}/`;

/** Keys the post service writes for one media: image variants, a video and its poster. */
const processedKeys = (id: bigint) =>
  ['w320.webp', 'w1080.jpg', 'video.mp4', 'poster.jpg'].map((f) => `${mediaKeyPrefix(id)}/${f}`);

describe('compose: media URLs point at lb', () => {
  it('MINIO_PUBLIC_BASE_URL is lb as published, at the media location', () => {
    const lbPort = compose.services.lb!.ports!.map((p) => p.split(':'));
    // <bind>:<host port>:<container port>; lb listens on 4000 inside.
    expect(lbPort).toEqual([[envExample.MOSAIC_BIND, envExample.GATEWAY_HOST_PORT, '4000']]);
    expect(publicBase.origin).toBe(
      `http://${envExample.MOSAIC_BIND}:${envExample.GATEWAY_HOST_PORT}`,
    );
    // Same origin every service is told it is reached at.
    expect(publicBase.origin).toBe(new URL(postEnv.PUBLIC_URL!).origin);
    expect(mediaPrefix).toBe('/objects/');
    expect(nginxConf).toMatch(
      /^ {4}location \/objects\/ \{\n {6}access_log off;\n {6}return 404;/m,
    );
  });

  it("lb proxies the media location to compose's MinIO, bucket and signing host", () => {
    expect(compose.services.minio).toBeDefined();
    expect(endpoint.host).toBe('minio:9000');
    expect(nginxConf).toMatch(/upstream minio \{[^}]*server minio:9000 resolve[^}]*\}/);
    expect(nginxConf).toContain(`proxy_pass http://minio/${bucket}/$media_key$media_query;`);
    expect(nginxConf).toContain(`proxy_set_header Host ${endpoint.host};`);
  });

  it('minio-init lets anonymous readers GET processed media keys only', () => {
    const policies = [...minioInit.matchAll(/<<POLICY\n([\s\S]*?)\nPOLICY/g)].map(
      (m) =>
        JSON.parse(m[1]!.replaceAll('$MINIO_BUCKET', bucket)) as {
          Statement: { Principal?: unknown; Action: string[]; Resource: string[] }[];
        },
    );
    const anonymous = policies.flatMap((p) => p.Statement.filter((s) => s.Principal));
    expect(anonymous).toEqual([
      {
        Effect: 'Allow',
        Principal: { AWS: ['*'] },
        Action: ['s3:GetObject'],
        Resource: [`arn:aws:s3:::${bucket}/m/*`],
      },
    ]);
    expect(minioInit).toContain('mc anonymous set-json /tmp/mosaic-anonymous-policy.json');
    // The prefix is where the post service writes processed media, and not upload originals.
    for (const key of processedKeys(42n)) expect(key.startsWith('m/')).toBe(true);
    expect(uploadKey(42n).startsWith('m/')).toBe(false);
  });
});

// ---- the real nginx.conf, run ---------------------------------------------------------------

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
}

function recorder(name: string, seen: Seen[]): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    seen.push({ method: req.method!, url: req.url!, headers: req.headers });
    req.resume();
    res.setHeader('content-type', 'image/jpeg');
    res.setHeader('x-amz-request-id', 'internal');
    res.end(name);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, port: (server.address() as AddressInfo).port }),
    ),
  );
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

/** A raw request (the path exactly as given: no client-side normalisation). */
function send(
  port: number,
  method: string,
  rawPath: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path: rawPath, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const nginxBin = ['/usr/sbin/nginx', '/usr/bin/nginx', '/usr/local/sbin/nginx'].find(
  (p) => spawnSync(p, ['-v']).status === 0,
);
if (!nginxBin && process.env.CI) {
  throw new Error(
    'nginx is not installed: CI must run lb’s config (deploy/validate.sh installs it)',
  );
}

describe.skipIf(!nginxBin)('lb (deploy/nginx/nginx.conf in a real nginx) serves media', () => {
  const minioSeen: Seen[] = [];
  const gatewaySeen: Seen[] = [];
  let minio: { server: Server; port: number };
  let gateway: { server: Server; port: number };
  let lbPort: number;
  let nginx: ChildProcess;
  let dir: string;
  let storage: S3Storage;
  let base: string;

  beforeAll(async () => {
    minio = await recorder('minio', minioSeen);
    gateway = await recorder('gateway', gatewaySeen);
    lbPort = await freePort();
    dir = mkdtempSync(path.join(tmpdir(), 'mosaic-lb-'));
    mkdirSync(path.join(dir, 'mosaic'));
    writeFileSync(
      path.join(dir, 'mosaic', 'real-ip.conf'),
      readFileSync('deploy/nginx/real-ip.conf'),
    );
    // The same substitution as deploy/validate.sh, plus this test's ports: service names
    // become loopback addresses (nginx < 1.27.3 has no `resolve`), lb listens on a free port.
    const conf = nginxConf
      .replace(/server gateway:4000 resolve/, `server 127.0.0.1:${gateway.port}`)
      .replace(/server minio:9000 resolve/, `server 127.0.0.1:${minio.port}`)
      .replace(/^( *)listen 4000;$/m, `$1listen 127.0.0.1:${lbPort};`)
      .replaceAll('/etc/nginx/mosaic/', `${dir}/mosaic/`)
      // Logs to files: the test runner's stdio may be sockets nginx cannot open by path.
      .replaceAll('/dev/stdout', `${dir}/access.log`)
      .replaceAll('/dev/stderr', `${dir}/error.log`);
    expect(conf).not.toMatch(/ resolve\b| listen 4000;/);
    writeFileSync(path.join(dir, 'nginx.conf'), conf);
    nginx = spawn(
      nginxBin!,
      ['-p', dir, '-c', path.join(dir, 'nginx.conf'), '-g', `daemon off; pid ${dir}/nginx.pid;`],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    nginx.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    const errorLog = () => {
      const file = path.join(dir, 'error.log');
      return existsSync(file) ? readFileSync(file, 'utf8') : '';
    };
    for (let i = 0; ; i++) {
      const up = await send(lbPort, 'GET', '/lb-health').catch(() => null);
      if (up?.status === 200) break;
      if (i > 100 || nginx.exitCode !== null)
        throw new Error(`nginx did not start: ${stderr}${errorLog()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    // The post service's storage exactly as compose configures it, except that its public
    // base points at this test's lb instead of 127.0.0.1:4000.
    base = `http://127.0.0.1:${lbPort}${publicBase.pathname}`;
    storage = new S3Storage({
      endpoint: postEnv.MINIO_ENDPOINT!,
      accessKey: postEnv.MINIO_ACCESS_KEY!,
      secretKey: postEnv.MINIO_SECRET_KEY!,
      bucket,
      region: 'us-east-1',
      publicBaseUrl: base,
    });
  });

  afterAll(async () => {
    if (nginx && nginx.exitCode === null) {
      const exited = new Promise((r) => nginx.once('exit', r));
      nginx.kill('SIGQUIT');
      await exited;
    }
    await new Promise((r) => minio?.server.close(r));
    await new Promise((r) => gateway?.server.close(r));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const reachedMinio = async (fn: () => Promise<unknown>) => {
    const before = minioSeen.length;
    await fn();
    return minioSeen.slice(before);
  };

  it('every URL the post service hands out reaches the object in the media bucket', async () => {
    for (const key of processedKeys(7_340_032_123n)) {
      const url = storage.publicUrl(key);
      expect(url.startsWith(`${base}/m/`)).toBe(true);
      const u = new URL(url);
      const hits = await reachedMinio(async () => {
        const res = await send(lbPort, 'GET', u.pathname + u.search, {
          authorization: 'Bearer someone-elses-token',
          cookie: 'session=1',
        });
        expect(res.status).toBe(200);
        expect(res.body).toBe('minio');
        // Served from the API's origin: never sniffed or run as a document.
        expect(res.headers['x-content-type-options']).toBe('nosniff');
        expect(res.headers['content-security-policy']).toBe("default-src 'none'; sandbox");
        expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
        expect(res.headers['x-amz-request-id']).toBeUndefined();
      });
      expect(hits).toHaveLength(1);
      expect(hits[0]!.method).toBe('GET');
      expect(hits[0]!.url).toBe(`/${bucket}/${key}`);
      expect(hits[0]!.headers.host).toBe(endpoint.host);
      // Anonymous at MinIO: whatever the client sent, no credentials or cookies go on.
      expect(hits[0]!.headers.authorization).toBeUndefined();
      expect(hits[0]!.headers.cookie).toBeUndefined();
    }
    const head = await reachedMinio(() =>
      send(lbPort, 'HEAD', `${mediaPrefix}${processedKeys(1n)[0]}`),
    );
    expect(head.map((h) => h.method)).toEqual(['HEAD']);
  });

  it('refuses upload originals, listings, other buckets and paths that are not media keys', async () => {
    const refused = [
      `${mediaPrefix}${uploadKey(5n)}`,
      mediaPrefix,
      `${mediaPrefix}m/`,
      `${mediaPrefix}m`,
      `${mediaPrefix}?list-type=2`,
      `${mediaPrefix}m/5/..%2F..%2Fu%2F5%2Foriginal`,
      `${mediaPrefix}m/5/%2e%2e/%2e%2e/u/5/original`,
      `${mediaPrefix}m//5/w320.webp/`,
      `${mediaPrefix}other-bucket/m/5/w320.webp`,
      `${mediaPrefix}m/5/.hidden`,
    ];
    for (const p of refused) {
      const hits = await reachedMinio(async () => {
        const res = await send(lbPort, 'GET', p);
        expect(res.status, p).toBe(404);
      });
      expect(hits, p).toEqual([]);
    }
    // Leaving /objects/ with `..` lands on the gateway (location /), never on MinIO.
    for (const p of [
      `${mediaPrefix}..%2F${bucket}%2Fu%2F5%2Foriginal`,
      `/${bucket}/u/5/original`,
    ]) {
      const hits = await reachedMinio(async () => {
        const res = await send(lbPort, 'GET', p);
        expect(res.body, p).toBe('gateway');
      });
      expect(hits, p).toEqual([]);
    }
  });

  it('allows GET and HEAD only', async () => {
    for (const method of ['PUT', 'POST', 'DELETE', 'PATCH']) {
      const hits = await reachedMinio(async () => {
        const res = await send(lbPort, method, `${mediaPrefix}${processedKeys(9n)[1]}`);
        expect(res.status, method).toBe(403);
      });
      expect(hits, method).toEqual([]);
    }
  });

  it('drops the query string of unsigned requests (no sub-resources or header overrides)', async () => {
    const key = processedKeys(11n)[1]!;
    for (const q of ['?acl', '?response-content-type=text/html', '?tagging&versionId=1']) {
      const hits = await reachedMinio(() => send(lbPort, 'GET', `${mediaPrefix}${key}${q}`));
      expect(hits.map((h) => h.url)).toEqual([`/${bucket}/${key}`]);
    }
  });

  it('passes a presigned GET on exactly as it was signed (host, path and query)', async () => {
    const key = processedKeys(13n)[0]!;
    const signed = new URL(storage.presignGet(key, 3600, new Date()));
    // What the post service signs: MINIO_ENDPOINT's host and /<bucket>/<key>.
    expect(signed.host).toBe(endpoint.host);
    expect(signed.pathname).toBe(`/${bucket}/${key}`);
    const hits = await reachedMinio(async () => {
      const res = await send(lbPort, 'GET', `${mediaPrefix}${key}${signed.search}`);
      expect(res.status).toBe(200);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['content-security-policy']).toBe("default-src 'none'; sandbox");
      // A signed URL expires: not cached for good like an unsigned one.
      expect(res.headers['cache-control']).toBeUndefined();
    });
    expect(hits).toHaveLength(1);
    // MinIO sees the very request the signature covers, so it verifies.
    expect(`http://${hits[0]!.headers.host}${hits[0]!.url}`).toBe(signed.toString());
  });
});
