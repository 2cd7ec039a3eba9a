// The release endpoints issue 10 adds (approvals, promotion, rollback), declared here in the
// shape openapi-typescript generates (and as issue 10's routes on main answer: 200 for a
// decision, 202 for a queued promotion or rollback), so the CLI calls them through the
// generated client now.
// Once they are in openapi/openapi.json, the generated `paths` has them: delete this file and
// make `ApiPaths` in client.ts plain `paths` (the one-line change).
import type { components } from '../clients/typescript/schema.js';

type Operation = components['schemas']['Operation'];
type Problem = components['schemas']['Problem'];
type Json<T> = { content: { 'application/json': T } };
type Answers<Status extends number> = { [S in Status]: { headers: Record<string, unknown> } & Json<Operation> } & { default: { headers: Record<string, unknown> } & { content: { 'application/problem+json': Problem } } };
type Post<Path, Body, Status extends number = 202> = {
  parameters: { query?: never; header?: never; path: Path; cookie?: never };
  post: {
    parameters: { query?: never; header?: never; path: Path; cookie?: never };
    requestBody: Json<Body>;
    responses: Answers<Status>;
  };
};

export interface PendingReleasePaths {
  '/v1/operations/{id}/approve': Post<{ id: string }, { comment?: string }, 200>;
  '/v1/operations/{id}/reject': Post<{ id: string }, { comment?: string }, 200>;
  '/v1/environments/{env}/promotions': Post<{ env: string }, { from?: string; message?: string }>;
  '/v1/environments/{env}/rollbacks': Post<{ env: string }, { release: string; message?: string; emergency?: boolean }>;
}
