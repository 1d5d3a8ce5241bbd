// Edge limits on uploads: the per-user upload budget at the gateway (429 with
// retry-after, for POST /v1/media and createUpload alike), and the internal upload route
// refusing requests that did not come through the gateway.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { png } from './support/fixtures.js';
import { startPostStack, type PostStack } from './support/post-stack.js';

let stack: PostStack;

beforeAll(async () => {
  stack = await startPostStack({ RATE_LIMIT_UPLOADS_PER_MINUTE: '2' });
});
afterAll(async () => {
  await stack?.close();
});

async function upload(token: string) {
  const form = new FormData();
  form.append('file', new Blob([await png(64, 64)], { type: 'image/png' }), 'a.png');
  return fetch(`${stack.gatewayUrl}/v1/media`, {
    method: 'POST',
    body: form,
    headers: { authorization: `Bearer ${token}` },
  });
}

describe('upload limits', () => {
  it('allows RATE_LIMIT_UPLOADS_PER_MINUTE uploads per user, then answers 429', async () => {
    const ada = await stack.signUp('ada');
    expect((await upload(ada.token)).status).toBe(201);
    const ticket = await stack.gql(
      `mutation { createUpload(input: { filename: "a.png", contentType: "image/png", byteSize: 100 }) { uploadId } }`,
      {},
      { token: ada.token },
    );
    expect(ticket.errors).toBeUndefined();
    const limited = await upload(ada.token);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await limited.json()).toMatchObject({ code: 'RATE_LIMITED' });
    const gql = await stack.gql(
      `mutation { createUpload(input: { filename: "a.png", contentType: "image/png", byteSize: 100 }) { uploadId } }`,
      {},
      { token: ada.token },
    );
    expect(gql.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');

    // Another user has their own budget.
    const bob = await stack.signUp('bob');
    expect((await upload(bob.token)).status).toBe(201);
  });

  it('refuses the internal upload route without the gateway signature', async () => {
    const base = new URL(stack.subgraphUrls.post!);
    const form = new FormData();
    form.append('file', new Blob([await png(32, 32)]), 'a.png');
    const res = await fetch(new URL('/internal/v1/media', base), { method: 'POST', body: form });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ code: 'UNAUTHENTICATED' });
    const rows = await stack.iso.query(`SELECT 1 FROM posts.media`);
    expect(rows).toHaveLength(3);
  });
});
