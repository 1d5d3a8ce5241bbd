// Apollo Gateway's computeResponse, as patched (patches/@apollo+gateway+2.14.4.patch): the
// leaf fast path and the remembered @skip/@include must answer exactly as the unpatched
// function does, errors and null propagation included. Expected values are what the
// unpatched 2.14.4 returns for the same inputs: scripts/unpatched-gateway.sh (a CI step)
// runs this file, and the gateway's request tests, against the package as published.
import { buildSchema, operationFromDocument } from '@apollo/federation-internals';
import { executeQueryPlan } from '@apollo/gateway';
import { computeResponse } from '@apollo/gateway/dist/resultShaping.js';
import { parse } from 'graphql';
import { describe, expect, it } from 'vitest';

const schema = buildSchema(`
  scalar JSON
  enum Kind { IMAGE VIDEO }
  type Query { t: T tt: T! }
  type T {
    n: Int! s: String k: Kind i: ID! f: Float b: Boolean j: JSON
    list: [Int] strict: String!
  }
`);

function shape(
  query: string,
  input: Record<string, unknown>,
  variables: Record<string, unknown> = {},
) {
  const operation = operationFromDocument(schema, parse(query));
  const shaped = computeResponse({
    operation,
    variables,
    input,
    introspectionHandling: () => null,
  });
  // Twice over the same Operation: the second pass runs on what the first remembered.
  const again = computeResponse({
    operation,
    variables,
    input,
    introspectionHandling: () => null,
  });
  expect(again).toEqual(shaped);
  return {
    data: JSON.parse(JSON.stringify(shaped.data)) as unknown,
    errors: shaped.errors.map((e) => ({ message: e.message, path: e.path })),
  };
}

// Which copy this run loaded, told by the patch's own code: the patched one normally, the
// published one under MOSAIC_UNPATCHED_GATEWAY (vitest.config.ts). Without this check a
// broken alias would quietly test the patched package twice.
const unpatchedRun = Boolean(process.env.MOSAIC_UNPATCHED_GATEWAY);

describe('computeResponse', () => {
  it(`runs on the ${unpatchedRun ? 'published' : 'patched'} @apollo/gateway`, () => {
    const loaded = {
      executeQueryPlan: executeQueryPlan.toString().includes('operationCache'),
      computeResponse: computeResponse.toString().includes('new ResponseObject()'),
    };
    expect(loaded, 'which @apollo/gateway files carry the Mosaic patch').toEqual({
      executeQueryPlan: !unpatchedRun,
      computeResponse: !unpatchedRun,
    });
  });

  it('copies valid leaves of every kind, in selection order, with aliases', () => {
    const values = {
      n: 3,
      s: 'text',
      k: 'VIDEO',
      i: '42',
      f: 1.5,
      b: true,
      j: { any: ['thing'] },
      list: [1, null, 2],
      strict: 'x',
    };
    // The subgraph's order reversed, plus a field nobody selected.
    const input = {
      t: { extra: 'dropped', ...Object.fromEntries(Object.entries(values).reverse()) },
    };
    const r = shape('{ t { n s k i f b j list strict } }', input);
    expect(JSON.stringify(r.data)).toBe(JSON.stringify({ t: values }));
    expect(r.errors).toEqual([]);
    expect(shape('{ t { x: s y: n } }', { t: { x: 'a', y: 1 } }).data).toEqual({
      t: { x: 'a', y: 1 },
    });
  });

  it('nulls invalid leaf values with an error each', () => {
    const input = {
      t: { n: 1, s: 7, k: 'AUDIO', f: 'x', b: 'yes', i: '9', strict: 's', list: [1, 'two'] },
    };
    const r = shape('{ t { s k f b list } }', input);
    expect(r.data).toEqual({ t: { s: null, k: null, f: null, b: null, list: [1, null] } });
    expect(r.errors.map((e) => e.path)).toEqual([
      ['t', 's'],
      ['t', 'k'],
      ['t', 'f'],
      ['t', 'b'],
      ['t', 'list', 1],
    ]);
  });

  it('keeps nullable nulls and bubbles a null non-null leaf to its parent', () => {
    expect(shape('{ t { s k } }', { t: { s: null, k: null } })).toEqual({
      data: { t: { s: null, k: null } },
      errors: [],
    });
    const r = shape('{ t { s n } }', { t: { s: 'a', n: null } });
    expect(r.data).toEqual({ t: null });
    expect(r.errors).toEqual([
      { message: 'Cannot return null for non-nullable field T.n.', path: ['t', 'n'] },
    ]);
    // A non-null parent bubbles further: the whole data is null.
    expect(shape('{ tt { strict } }', { tt: { strict: null } }).data).toBeNull();
    // An invalid value in a non-null leaf bubbles as well.
    expect(shape('{ t { n } }', { t: { n: 'one' } }).data).toEqual({ t: null });
  });

  it('keeps a field aliased __proto__ as a plain property of the response', () => {
    const r = shape('{ t { __proto__: s n } }', { t: { ['__proto__']: 'x', n: 1 } });
    expect(JSON.stringify(r.data)).toBe('{"t":{"__proto__":"x","n":1}}');
    expect(Object.prototype.hasOwnProperty.call(Object.prototype, 'x')).toBe(false);
  });

  it('follows @skip and @include by each call’s variables', () => {
    const q = 'query($a: Boolean!, $b: Boolean!) { t { s @skip(if: $a) n @include(if: $b) i } }';
    const input = { t: { s: 'x', n: 1, i: '2' } };
    expect(shape(q, input, { a: false, b: true }).data).toEqual({ t: { s: 'x', n: 1, i: '2' } });
    expect(shape(q, input, { a: true, b: false }).data).toEqual({ t: { i: '2' } });
  });
});
