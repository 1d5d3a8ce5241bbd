// The GraphQL-over-HTTP audit (graphql-http's serverAudits) against a started gateway.
// Every audit passes except the ones listed in NOT_OK, each for the reason given there and
// in docs/graphql-over-http.md. An audit that starts failing fails this file; so does one
// of NOT_OK that starts passing (drop it from the list and the doc).
import { serverAudits, type AuditResult } from 'graphql-http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acceptsOnlyLegacyJson } from '../src/legacy-json-status.js';
import { startStack, type Stack } from '../../test/support/stack.js';

/** Audit id → the status it gets here and why. */
const NOT_OK: Record<string, { status: 'notice' | 'warn'; why: string }> = {
  '5A70': {
    status: 'notice',
    why: 'GET is refused by CSRF prevention unless it carries a preflight header (MAY)',
  },
  D6D5: { status: 'notice', why: 'the same GET refusal, with variables in the URL (MAY)' },
  '6A70': { status: 'notice', why: 'the same GET refusal, with variables in the URL (MAY)' },
};

let stack: Stack;
let results: AuditResult[];

beforeAll(async () => {
  stack = await startStack();
  results = [];
  // One at a time: the audit is about answers, not load.
  for (const audit of serverAudits({ url: `${stack.gatewayUrl}/graphql` }))
    results.push(await audit.fn());
}, 60_000);

afterAll(async () => {
  await stack?.close();
});

const summary = (r: AuditResult) =>
  `${r.status} ${r.id} ${r.name}${r.status === 'ok' ? '' : `: ${r.reason}`}`;

describe('GraphQL over HTTP (graphql-http serverAudits)', () => {
  it('has no failing MUST', () => {
    expect(results.filter((r) => r.status === 'error').map(summary)).toEqual([]);
  });

  it('passes every audit but the listed notices, which stay as documented', () => {
    expect(results.length).toBeGreaterThan(50);
    const unexpected = results.filter((r) =>
      NOT_OK[r.id] ? r.status !== NOT_OK[r.id]!.status : r.status !== 'ok',
    );
    expect(unexpected.map(summary)).toEqual([]);
    // Every listed audit still runs (ids are stable across graphql-http versions).
    expect(Object.keys(NOT_OK).filter((id) => !results.some((r) => r.id === id))).toEqual([]);
  });
});

describe('status codes of request errors by Accept header', () => {
  const post = (accept: string | undefined, body: unknown) =>
    fetch(`${stack.gatewayUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(accept ? { accept } : {}) },
      body: JSON.stringify(body),
    });
  const INVALID = { query: '{ nosuchfield }' };
  const UNPARSABLE = { query: '{ me { id ' };
  const UNCOERCIBLE = {
    query: 'query($u: String!) { user(username: $u) { id } }',
    variables: { u: 42 },
  };

  it('answers 200 with errors to a client that accepts only application/json', async () => {
    for (const [body, code] of [
      [INVALID, 'GRAPHQL_VALIDATION_FAILED'],
      [UNPARSABLE, 'GRAPHQL_PARSE_FAILED'],
      [UNCOERCIBLE, 'BAD_USER_INPUT'],
    ] as const) {
      const res = await post('application/json', body);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      const json = (await res.json()) as { data?: unknown; errors?: { extensions?: unknown }[] };
      expect(json).not.toHaveProperty('data');
      expect(json.errors?.[0]?.extensions).toMatchObject({ code });
    }
  });

  it('keeps 400 for application/graphql-response+json, */* and no Accept', async () => {
    for (const accept of [
      'application/graphql-response+json',
      'application/graphql-response+json, application/json;q=0.9',
      '*/*',
      undefined,
    ]) {
      for (const body of [INVALID, UNPARSABLE, UNCOERCIBLE])
        expect((await post(accept, body)).status, `${accept} ${body.query}`).toBe(400);
    }
  });

  it('keeps 400 for a body that is not a GraphQL request, whatever the Accept', async () => {
    expect((await post('application/json', { query: 42 })).status).toBe(400);
  });

  it('reads Accept headers as the spec does', () => {
    expect(acceptsOnlyLegacyJson('application/json')).toBe(true);
    expect(acceptsOnlyLegacyJson('Application/JSON; charset=utf-8')).toBe(true);
    expect(acceptsOnlyLegacyJson('application/json, text/plain, */*')).toBe(true);
    expect(acceptsOnlyLegacyJson('application/graphql-response+json, application/json')).toBe(
      false,
    );
    // q=0 means "not acceptable".
    expect(acceptsOnlyLegacyJson('application/graphql-response+json;q=0, application/json')).toBe(
      true,
    );
    expect(acceptsOnlyLegacyJson('application/json;q=0')).toBe(false);
    expect(acceptsOnlyLegacyJson('*/*')).toBe(false);
    expect(acceptsOnlyLegacyJson(undefined)).toBe(false);
  });
});
