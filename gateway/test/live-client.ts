// A small Server-Sent Events client for the live tests and the benchmark: node:http (no
// EventSource in Node), the events parsed as a browser would (event, id, data, comments).
import http from 'node:http';

export interface SseEvent {
  event: string;
  id: string | null;
  data: string;
  comments: string[];
  /** The reconnection delay the server asked for (`retry:`), if any. */
  retry: number | null;
  at: number;
}

export interface SseStream {
  status: number;
  /** The JSON body of a refused request (status ≠ 200). */
  body: unknown;
  events: SseEvent[];
  /** The id a browser would send as Last-Event-ID now. */
  lastEventId(): string | null;
  /** Resolves with the first event (or id-only block) matching, at or after index `from`. */
  next(match: (e: SseEvent) => boolean, timeoutMs?: number, from?: number): Promise<SseEvent>;
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
  close(): void;
}

export function openSse(url: string, headers: Record<string, string> = {}): Promise<SseStream> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers: { accept: 'text/event-stream', ...headers } }, (res) => {
      const status = res.statusCode ?? 0;
      res.setEncoding('utf8');
      if (status !== 200) {
        let text = '';
        res.on('data', (c: string) => (text += c));
        res.on('end', () => {
          let body: unknown = text;
          try {
            body = JSON.parse(text);
          } catch {
            // not JSON
          }
          resolve(closedStream(status, body));
        });
        return;
      }
      const events: SseEvent[] = [];
      const waiters = new Set<() => void>();
      let buffer = '';
      let lastId: string | null = headers['last-event-id'] ?? null;
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const e: SseEvent = {
            event: '',
            id: null,
            data: '',
            comments: [],
            retry: null,
            at: Date.now(),
          };
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) e.comments.push(line.slice(1).trim());
            else if (line.startsWith('event: ')) e.event = line.slice(7);
            else if (line.startsWith('id: ')) e.id = line.slice(4);
            else if (line.startsWith('data: ')) e.data += line.slice(6);
            else if (line.startsWith('retry: ')) e.retry = Number(line.slice(7));
          }
          if (e.id !== null) lastId = e.id;
          events.push(e);
          for (const w of [...waiters]) w();
        }
      });
      const ended = new Promise<void>((r) => {
        res.on('end', r);
        res.on('close', r);
        res.on('error', () => r());
      });
      resolve({
        status,
        body: null,
        events,
        lastEventId: () => lastId,
        ended,
        next(match, timeoutMs = 5000, from = 0) {
          return new Promise((ok, fail) => {
            const check = () => {
              const hit = events.slice(from).find(match);
              if (!hit) return false;
              waiters.delete(check);
              clearTimeout(timer);
              ok(hit);
              return true;
            };
            const timer = setTimeout(() => {
              waiters.delete(check);
              fail(new Error(`no matching event within ${timeoutMs} ms`));
            }, timeoutMs);
            waiters.add(check);
            check();
          });
        },
        close: () => req.destroy(),
      });
    });
    req.on('error', reject);
  });
}

function closedStream(status: number, body: unknown): SseStream {
  return {
    status,
    body,
    events: [],
    lastEventId: () => null,
    ended: Promise.resolve(),
    next: () => Promise.reject(new Error(`stream refused with ${status}`)),
    close: () => {},
  };
}
