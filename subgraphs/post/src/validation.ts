// Input rules from api.graphql, one place. Each failure names the field.
import { z } from 'zod';
import { badInput } from '../../../lib/contracts/errors.js';
import { parseId } from '../../../lib/contracts/ids.js';
import { hasForbiddenChars } from '../../../lib/contracts/text.js';

export const LIMITS = {
  captionMax: 2200,
  mediaPerPostMin: 1,
  mediaPerPostMax: 10,
  altTextMax: 1000,
  filenameMax: 255,
} as const;

/** Characters as people count them (code points), not UTF-16 units. */
const length = (s: string) => [...s].length;

/** Trims; "" becomes null. */
export function parseAltText(value: unknown, field = 'altText'): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'string') throw badInput(`${field} must be a string`, field);
  if (hasForbiddenChars(value, true)) throw badInput(`${field} contains invalid characters`, field);
  const s = value.trim();
  if (length(s) > LIMITS.altTextMax)
    throw badInput(`${field} must be at most ${LIMITS.altTextMax} characters`, field);
  return s === '' ? null : s;
}

export interface CreatePostInput {
  caption: string | null;
  mediaIds: bigint[];
}

/** A caption as createPost and updatePost take it: trimmed, NFC; null or "" is none. */
export function parseCaption(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'string') throw badInput('caption must be a string', 'caption');
  if (hasForbiddenChars(value, true))
    throw badInput('caption contains invalid characters', 'caption');
  const c = value.trim().normalize('NFC');
  if (length(c) > LIMITS.captionMax)
    throw badInput(`caption must be at most ${LIMITS.captionMax} characters`, 'caption');
  return c === '' ? null : c;
}

export function parseCreatePost(input: { caption?: unknown; mediaIds?: unknown }): CreatePostInput {
  const caption = parseCaption(input.caption);
  const raw = Array.isArray(input.mediaIds) ? (input.mediaIds as unknown[]) : [];
  if (raw.length < LIMITS.mediaPerPostMin || raw.length > LIMITS.mediaPerPostMax)
    throw badInput(
      `mediaIds must list ${LIMITS.mediaPerPostMin} to ${LIMITS.mediaPerPostMax} media`,
      'mediaIds',
    );
  const mediaIds = raw.map((id, i) => parseId(id, `mediaIds[${i}]`));
  const seen = new Set<bigint>();
  mediaIds.forEach((id, i) => {
    if (seen.has(id)) throw badInput(`mediaIds[${i}] is listed twice`, `mediaIds[${i}]`);
    seen.add(id);
  });
  return { caption, mediaIds };
}

export interface UpdatePostInput {
  id: bigint;
  caption: string | null;
}

export function parseUpdatePost(input: { id?: unknown; caption?: unknown }): UpdatePostInput {
  return { id: parseId(input.id, 'id'), caption: parseCaption(input.caption) };
}

const createUploadSchema = z.object({
  filename: z
    .string()
    .trim()
    .min(1, 'filename is required')
    .refine((s) => !hasForbiddenChars(s), 'filename contains invalid characters')
    .max(LIMITS.filenameMax, `filename must be at most ${LIMITS.filenameMax} characters`),
  contentType: z
    .string()
    .trim()
    .toLowerCase()
    .regex(/^[a-z0-9.+-]{1,50}\/[a-z0-9.+-]{1,100}$/, 'contentType must be a MIME type'),
  byteSize: z.number().int().positive('byteSize must be positive'),
  altText: z.unknown().optional(),
});

export interface CreateUploadInput {
  filename: string;
  contentType: string;
  byteSize: number;
  altText: string | null;
}

export function parseCreateUpload(input: unknown): CreateUploadInput {
  const r = createUploadSchema.safeParse(input);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw badInput(issue.message, issue.path.join('.') || undefined);
  }
  return { ...r.data, altText: parseAltText(r.data.altText) };
}
