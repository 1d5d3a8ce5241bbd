// The SSE side of `npm run bench live`, in a process of its own (started by live.bench.ts
// through a shell that raises its file-descriptor limit): holds N streams to the gateway and
// reports when each `feed` event arrives. Commands and answers travel over the IPC channel.
import http from 'node:http';
import { performance } from 'node:perf_hooks';

type Command =
  | { cmd: 'connect'; urls: string[]; concurrency: number }
  | { cmd: 'expect'; count: number; timeoutMs: number }
  | { cmd: 'close' };

const now = () => performance.timeOrigin + performance.now();
const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
const streams: http.ClientRequest[] = [];
let onEvent: ((sentAt: number) => void) | null = null;

function open(url: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent, headers: { accept: 'text/event-stream' } }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        return reject(new Error(`status ${res.statusCode}`));
      }
      res.setEncoding('utf8');
      let first = true;
      res.on('data', (chunk: string) => {
        if (first) {
          first = false;
          resolve();
        }
        // A feed hint whose postIds[0] is the time it was published (live.bench.ts).
        const at = chunk.indexOf('event: feed');
        if (at < 0 || !onEvent) return;
        const m = /"postIds":\["([\d.]+)"/.exec(chunk.slice(at));
        if (m) onEvent(Number(m[1]));
      });
      res.on('error', () => {});
    });
    req.on('error', reject);
    streams.push(req);
  });
}

process.on('message', (raw) => {
  const m = raw as Command;
  void (async () => {
    if (m.cmd === 'connect') {
      const t0 = now();
      let failed = 0;
      let next = 0;
      const worker = async () => {
        while (next < m.urls.length) {
          await open(m.urls[next++]!).catch(() => failed++);
        }
      };
      await Promise.all(Array.from({ length: m.concurrency }, worker));
      process.send!({
        connected: m.urls.length - failed,
        failed,
        ms: Math.round(now() - t0),
      });
    } else if (m.cmd === 'expect') {
      const latencies: number[] = [];
      const done = new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, m.timeoutMs);
        onEvent = (sentAt) => {
          latencies.push(now() - sentAt);
          if (latencies.length >= m.count) {
            clearTimeout(timer);
            resolve();
          }
        };
      });
      process.send!({ armed: true });
      await done;
      onEvent = null;
      process.send!({ latencies });
    } else {
      for (const req of streams) req.destroy();
      process.send!({ closed: streams.length }, () => process.exit(0));
    }
  })();
});
process.send!({ ready: true });
