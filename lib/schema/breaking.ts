// Registry-style breaking-change detection between two API schema versions, with approvals.
import { readFile } from 'node:fs/promises';
import { CriticalityLevel, diff } from '@graphql-inspector/core';
import { buildSchema } from 'graphql';
import { z } from 'zod';

export interface BreakingChange {
  /** graphql-inspector change type, e.g. FIELD_REMOVED. */
  type: string;
  /** Schema coordinate, e.g. User.email. */
  path: string;
  message: string;
}

const approvalSchema = z.object({
  type: z.string().min(1),
  path: z.string().min(1),
  reason: z.string().min(1),
  approvedBy: z.string().min(1),
  date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'expected YYYY-MM-DD'),
});
const approvalsSchema = z.array(approvalSchema);

export type Approval = z.infer<typeof approvalSchema>;

/** Breaking changes from oldSdl to newSdl; an empty old schema means everything is new. */
export async function findBreakingChanges(
  oldSdl: string,
  newSdl: string,
): Promise<BreakingChange[]> {
  if (oldSdl.trim() === '') return [];
  const changes = await diff(buildSchema(oldSdl), buildSchema(newSdl));
  return changes
    .filter((c) => c.criticality.level === CriticalityLevel.Breaking)
    .map((c) => ({ type: String(c.type), path: c.path ?? '', message: c.message }));
}

/** Validates parsed approvals JSON; throws with the offending entry on a bad shape. */
export function parseApprovals(json: unknown, source = 'approvals'): Approval[] {
  const parsed = approvalsSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
      .join('; ');
    throw new Error(`${source} is invalid: ${issues}`);
  }
  return parsed.data;
}

/** Loads schema/approvals.json; a missing file means no approvals. */
export async function loadApprovals(file: string): Promise<Approval[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  return parseApprovals(json, file);
}

export function findApproval(
  change: BreakingChange,
  approvals: readonly Approval[],
): Approval | undefined {
  return approvals.find((a) => a.type === change.type && a.path === change.path);
}

export function partitionByApproval(
  changes: readonly BreakingChange[],
  approvals: readonly Approval[],
): { approved: BreakingChange[]; unapproved: BreakingChange[] } {
  const approved: BreakingChange[] = [];
  const unapproved: BreakingChange[] = [];
  for (const c of changes) (findApproval(c, approvals) ? approved : unapproved).push(c);
  return { approved, unapproved };
}
