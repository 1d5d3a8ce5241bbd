// NATS connection and JetStream stream provisioning shared by every service.
import { connect, nanos, type NatsConnection } from '@nats-io/transport-node';
import {
  JetStreamApiError,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  type JetStreamManager,
  type StreamConfig,
  type StreamInfo,
} from '@nats-io/jetstream';
import type { Config } from '../config.js';
import type { Logger } from './logger.js';
import { dlqStreamName, dlqSubject, streamLayout } from '../contracts/events.js';

export type { NatsConnection };

export class NatsUnavailableError extends Error {}

const STREAM_NOT_FOUND = 10059;
const STREAM_NAME_IN_USE = 10058;

export const STREAM_MAX_AGE_MS = 7 * 24 * 60 * 60 * 1000;
// Publishes carry Nats-Msg-Id = outbox row id, and the stream drops an id it has seen within
// this window. The relay republishes a row when it cannot tell whether the first publish
// landed (lost ack, crash or failed commit after publishing); its retries back off to at
// most a minute, so ten minutes covers several retries and a relay restart. The cost is
// one remembered id per message in the window. A retry after the window can still
// duplicate, which is why consumers are idempotent as well.
export const STREAM_DUPLICATE_WINDOW_MS = 10 * 60 * 1000;
// Dead letters wait for a person (fix, then `npm run dlq:replay`): longer than the events.
export const DLQ_MAX_AGE_MS = 30 * 24 * 60 * 60 * 1000;

/**
 * Connects once and then reconnects forever: a NATS outage degrades event delivery (the
 * outbox keeps the rows) but must never stop a service. Unreachable at startup is an error,
 * so a misconfigured URL fails fast instead of hanging.
 */
export async function connectNats(
  cfg: Pick<Config, 'NATS_URL'>,
  name: string,
  logger?: Logger,
): Promise<NatsConnection> {
  const { servers, auth } = natsServers(cfg.NATS_URL);
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers,
      ...auth,
      name,
      timeout: 5000,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 1000,
      reconnectJitter: 500,
    });
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new NatsUnavailableError(`cannot connect to NATS at ${servers.join(', ')}: ${reason}`, {
      cause: err,
    });
  }
  if (logger) void logStatus(nc, logger);
  return nc;
}

/**
 * NATS_URL ("nats://user:pass@host:4222,nats://host2:4222") as connect() options. The
 * client ignores credentials inside server URLs, so they become user/pass (or token, for
 * "nats://token@host"); the servers keep host and port only, which also keeps secrets out
 * of error messages and logs. Every server that carries credentials must carry the same.
 */
export function natsServers(natsUrl: string): {
  servers: string[];
  auth: { user?: string; pass?: string; token?: string };
} {
  let auth: { user?: string; pass?: string; token?: string } = {};
  let from: string | undefined;
  const servers = natsUrl
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((server) => {
      if (!server.includes('@')) return server;
      const u = new URL(/^[a-z]+:\/\//i.test(server) ? server : `nats://${server}`);
      const user = decodeURIComponent(u.username);
      const pass = decodeURIComponent(u.password);
      const these = pass ? { user, pass } : user ? { token: user } : {};
      const key = JSON.stringify(these);
      if (from !== undefined && from !== key)
        throw new Error('NATS_URL: every server must carry the same credentials');
      from = key;
      auth = these;
      return `${u.protocol}//${u.host}`;
    });
  return { servers, auth };
}

async function logStatus(nc: NatsConnection, logger: Logger): Promise<void> {
  for await (const s of nc.status()) {
    switch (s.type) {
      case 'disconnect':
        logger.warn({ server: s.server }, 'nats disconnected');
        break;
      case 'reconnect':
        logger.info({ server: s.server }, 'nats reconnected');
        break;
      case 'error':
        logger.error({ err: s.error }, 'nats error');
        break;
      default:
        break;
    }
  }
}

function desiredConfig(
  name: string,
  subjects: string[],
  replicas: number,
  maxAgeMs = STREAM_MAX_AGE_MS,
): Partial<StreamConfig> & { name: string } {
  return {
    name,
    subjects,
    num_replicas: replicas,
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    max_age: nanos(maxAgeMs),
    duplicate_window: nanos(STREAM_DUPLICATE_WINDOW_MS),
  };
}

/** The event streams and the dead-letter stream (`<prefix>_DLQ` on `<prefix>.dlq.>`). */
function allStreams(prefix: string, replicas: number) {
  return [
    ...streamLayout(prefix).map(({ name, subjects }) => desiredConfig(name, subjects, replicas)),
    desiredConfig(dlqStreamName(prefix), [dlqSubject(prefix, '>')], replicas, DLQ_MAX_AGE_MS),
  ];
}

function needsUpdate(info: StreamInfo, want: Partial<StreamConfig>): boolean {
  const c = info.config;
  return (
    c.max_age !== want.max_age ||
    c.duplicate_window !== want.duplicate_window ||
    c.num_replicas !== want.num_replicas ||
    c.subjects.join(',') !== (want.subjects ?? []).join(',')
  );
}

const isApiError = (err: unknown, code: number) =>
  err instanceof JetStreamApiError && err.code === code;

/**
 * Creates the USERS, POSTS, GRAPH and DLQ streams, or updates their subjects and limits when
 * they exist with other ones. Safe to call from several processes at once: adding an identical
 * stream twice succeeds, and a concurrent add with another config falls back to update.
 * Storage and retention cannot change after creation and are left as they are. `replicas`
 * (NATS_STREAM_REPLICAS) is 3 on a 3-node cluster: each stream survives the loss of a
 * node; durable consumers leave num_replicas at 0, which means "as many as the stream".
 */
export async function ensureStreams(
  nc: NatsConnection | JetStreamManager,
  prefix: string,
  replicas = 1,
): Promise<StreamInfo[]> {
  const jsm = 'streams' in nc ? nc : await jetstreamManager(nc);
  return Promise.all(
    allStreams(prefix, replicas).map(async (want) => {
      const { name } = want;
      let info: StreamInfo | undefined;
      try {
        info = await jsm.streams.info(name);
      } catch (err) {
        if (!isApiError(err, STREAM_NOT_FOUND)) throw err;
      }
      if (!info) {
        try {
          return await jsm.streams.add(want);
        } catch (err) {
          if (!isApiError(err, STREAM_NAME_IN_USE)) throw err;
          info = await jsm.streams.info(name);
        }
      }
      if (!needsUpdate(info, want)) return info;
      const { name: _name, storage: _s, retention: _r, ...mutable } = want;
      return jsm.streams.update(name, { ...info.config, ...mutable });
    }),
  );
}

/** Deletes the prefix's streams (tests; a reset of a development machine). */
export async function deleteStreams(
  nc: NatsConnection | JetStreamManager,
  prefix: string,
): Promise<void> {
  const jsm = 'streams' in nc ? nc : await jetstreamManager(nc);
  await Promise.all(
    allStreams(prefix, 1).map(({ name }) =>
      jsm.streams.delete(name).catch((err: unknown) => {
        if (!isApiError(err, STREAM_NOT_FOUND)) throw err;
      }),
    ),
  );
}
