// Input rules from api.graphql, one place. Each failure names the field.
import { z } from 'zod';
import { badInput } from '../../../lib/contracts/errors.js';
import { hasForbiddenChars } from '../../../lib/contracts/text.js';

export const USERNAME = /^[A-Za-z0-9_.]{3,30}$/;
export const LIMITS = {
  passwordMin: 8,
  // Argon2 hashes whatever it is given; a cap keeps a huge password from being a DoS.
  passwordMax: 256,
  emailMax: 254,
  displayNameMax: 64,
  bioMax: 150,
  websiteMax: 200,
  loginMax: 254,
} as const;

// Trims, and turns "" into null so that clearing a field is easy for clients.
const optionalText = (max: number, field: string, multiline = false) =>
  z
    .string()
    .refine((s) => !hasForbiddenChars(s, multiline), `${field} contains invalid characters`)
    .transform((s) => s.trim())
    .refine((s) => [...s].length <= max, `${field} must be at most ${max} characters`)
    .transform((s) => (s === '' ? null : s))
    .nullish();

/**
 * A website: trimmed, "" or null clears it. Only http(s) URLs without credentials, stored as
 * the WHATWG URL parser normalises them (lower-case scheme and host, punycode, a `/` path),
 * at most 200 characters before and after. Anything else (`javascript:`, `data:`, a bare word)
 * is refused rather than guessed at, so a profile link can never run script or mislead.
 */
const website = z
  .string()
  .refine((s) => !hasForbiddenChars(s), 'website contains invalid characters')
  .transform((s) => s.trim())
  .refine(
    (s) => [...s].length <= LIMITS.websiteMax,
    `website must be at most ${LIMITS.websiteMax} characters`,
  )
  .transform((s, ctx) => {
    if (s === '') return null;
    const url = URL.parse(s);
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || !url.hostname) {
      ctx.addIssue({ code: 'custom', message: 'website must be an http or https URL' });
      return z.NEVER;
    }
    if (url.username !== '' || url.password !== '') {
      ctx.addIssue({ code: 'custom', message: 'website must not contain a user name or password' });
      return z.NEVER;
    }
    if ([...url.href].length > LIMITS.websiteMax) {
      ctx.addIssue({
        code: 'custom',
        message: `website must be at most ${LIMITS.websiteMax} characters once normalised`,
      });
      return z.NEVER;
    }
    return url.href;
  })
  .nullish();

const signUpSchema = z.object({
  username: z
    .string()
    .trim()
    .regex(USERNAME, 'username must be 3-30 characters: letters, digits, underscore or dot'),
  email: z
    .string()
    .trim()
    .max(LIMITS.emailMax, `email must be at most ${LIMITS.emailMax} characters`)
    .pipe(z.email('email is not a valid address'))
    .transform((e) => e.toLowerCase()),
  password: z
    .string()
    .min(LIMITS.passwordMin, `password must be at least ${LIMITS.passwordMin} characters`)
    .max(LIMITS.passwordMax, `password must be at most ${LIMITS.passwordMax} characters`),
  displayName: optionalText(LIMITS.displayNameMax, 'displayName'),
});

const updateProfileSchema = z.object({
  displayName: optionalText(LIMITS.displayNameMax, 'displayName'),
  bio: optionalText(LIMITS.bioMax, 'bio', true),
  website,
});

function parse<T extends z.ZodType>(schema: T, input: unknown): z.infer<T> {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  throw badInput(issue.message, issue.path.join('.') || undefined);
}

export type SignUpInput = z.infer<typeof signUpSchema>;
export type UpdateProfileInput = z.infer<typeof updateProfileSchema>;

export const parseSignUp = (input: unknown): SignUpInput => parse(signUpSchema, input);
export const parseUpdateProfile = (input: unknown): UpdateProfileInput =>
  parse(updateProfileSchema, input);

/** A login is a username or an email; returns the normalized lookup key. */
export function parseLogin(
  login: unknown,
  password: unknown,
): { key: string; byEmail: boolean; password: string } {
  if (typeof login !== 'string' || login.trim() === '')
    throw badInput('login is required', 'login');
  if (typeof password !== 'string' || password === '')
    throw badInput('password is required', 'password');
  const key = login.trim().toLowerCase();
  if (key.length > LIMITS.loginMax) throw badInput('login is too long', 'login');
  if (password.length > LIMITS.passwordMax) throw badInput('password is too long', 'password');
  // No username or email contains these; Postgres would refuse a NUL in the lookup.
  if (hasForbiddenChars(key)) throw badInput('login is not a valid username or email', 'login');
  return { key, byEmail: key.includes('@'), password };
}
