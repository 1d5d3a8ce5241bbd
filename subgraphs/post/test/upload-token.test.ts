// Upload tokens across a signing-key rotation: a URL handed out just before the switch
// keeps working while the previous secret is still accepted, and stops once it is retired.
import { describe, expect, it } from 'vitest';
import { acceptPreviousKey } from '../../../lib/auth/key-ring.js';
import { signUploadToken, verifyUploadToken } from '../src/uploads/upload-token.js';

const target = { key: 'u/1/original', contentType: 'image/jpeg', size: 10 };

describe('upload tokens during a key rotation', () => {
  it('accept the previous secret only while it is configured as such', () => {
    const old = 'old-secret-'.padEnd(40, 'o');
    const next = 'new-secret-'.padEnd(40, 'n');
    const retired = 'retired-'.padEnd(40, 'r');
    const issuedBefore = signUploadToken(old, target, 60);

    // Not yet told about the old key: refused.
    expect(verifyUploadToken(retired, issuedBefore)).toEqual({ ok: false, reason: 'invalid' });

    acceptPreviousKey(next, old);
    expect(verifyUploadToken(next, issuedBefore)).toMatchObject({ ok: true, target });
    expect(verifyUploadToken(next, signUploadToken(next, target, 60))).toMatchObject({ ok: true });
    // A third secret was never either.
    const foreign = signUploadToken('x'.repeat(40), target, 60);
    expect(verifyUploadToken(next, foreign)).toEqual({ ok: false, reason: 'invalid' });
  });
});
