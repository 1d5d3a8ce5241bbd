// HMAC key rotation: while a deployment moves to a new INTERNAL_SIGNING_SECRET, verifiers
// also accept the key named in INTERNAL_SIGNING_SECRET_PREVIOUS. parseConfig registers the
// pair here, keyed by the current secret, so every verifier that is handed the current
// secret (viewer contexts, service tokens) finds the other one without new parameters.
// Signing always uses the current secret. See docs/security.md for the rotation steps.
const previousKeys = new Map<string, string>();

/** Lets verification with `current` also accept `previous` (no-op when unset or equal). */
export function acceptPreviousKey(current: string, previous: string | undefined): void {
  if (previous && previous !== current) previousKeys.set(current, previous);
}

/** The keys a MAC made for `current` may have been made with: it first, then its predecessor. */
export function verificationKeys(current: string): string[] {
  const previous = previousKeys.get(current);
  return previous === undefined ? [current] : [current, previous];
}
