// The events Stackpilot tells the outside world about (webhooks, Slack), in one table: each
// public event name, the outbox kind it comes from (and, where one kind gives several, which
// payloads), what it means, and the fields of its `data`. Events other issues write to the
// outbox (releases, recovery, the calendar) are one entry each: they flow as soon as their
// outbox rows appear. The README's event table is this table.
import type { StoredOutboxEvent } from '../store/outbox-repository.js';

export interface EventKind {
  name: string;
  /** The outbox kind it is made from. */
  from: string;
  /** Among events of that kind, which this one is (default: all). */
  when?: (payload: Record<string, unknown>) => boolean;
  description: string;
  /** The fields of `data`, beyond environment and operationId, as the README documents them. */
  fields: Record<string, string>;
}

const finishedAs = (...statuses: string[]) => (payload: Record<string, unknown>) => statuses.includes(String(payload.status));
const OPERATION = { operationType: 'preview | update | refresh | destroy' };
const VERIFICATION = { releaseId: 'the release', number: 'its number', status: 'verified | failed_verification | inconclusive', reason: 'why', rollback: 'the automatic rollback operation, or null' };
const FINISHED = { ...OPERATION, status: 'the final status', errorCode: 'why it did not succeed, or null', summary: 'resources by change kind, or null' };

export const EVENT_CATALOG: readonly EventKind[] = [
  { name: 'operation.queued', from: 'operation.queued', description: 'an operation was queued', fields: OPERATION },
  { name: 'operation.started', from: 'operation.started', description: 'an operation took its stack and started the engine', fields: OPERATION },
  { name: 'operation.succeeded', from: 'operation.finished', when: finishedAs('succeeded'), description: 'an operation succeeded', fields: FINISHED },
  { name: 'operation.failed', from: 'operation.finished', when: finishedAs('failed', 'interrupted'), description: 'an operation failed, or was interrupted when its runner died', fields: FINISHED },
  { name: 'operation.cancelled', from: 'operation.finished', when: finishedAs('cancelled'), description: 'an operation was cancelled', fields: FINISHED },
  { name: 'approval.requested', from: 'approval.requested', description: 'an operation waits for approval of its saved plan', fields: { operationType: 'update | destroy', requestedBy: 'who asked', summary: 'the planned changes', expiresAt: 'when the plan expires' } },
  { name: 'approval.decided', from: 'approval.decided', description: 'an approver approved or rejected a plan', fields: { decision: 'approved | rejected', decidedBy: 'the approver', comment: 'their comment', approvals: 'approvals so far', approvalsNeeded: 'approvals needed', status: 'the operation\'s status after it' } },
  { name: 'approval.expired', from: 'approval.expired', description: 'a plan waited too long for approval', fields: { expiresAt: 'when it expired' } },
  { name: 'release.created', from: 'release.created', description: 'a succeeded update created a release', fields: { releaseId: 'the release', number: 'its number in the environment', images: 'workload images', replaced: 'the release it replaced and its new status, or null' } },
  { name: 'rollback.queued', from: 'rollback.queued', description: 'a rollback to an earlier release was queued', fields: { releaseId: 'the release returned to', number: 'its number', from: 'the release rolled away from', emergency: 'without approval', requestedBy: 'who asked' } },
  { name: 'rollback.triggered', from: 'rollback.triggered', description: 'the verifier queued an automatic rollback of a release that failed verification', fields: { releaseId: 'the release that failed', number: 'its number', to: 'the verified release returned to', reason: 'the check that failed and what it measured' } },
  { name: 'release.verifying', from: 'release.verifying', description: 'a new release bakes and is checked against its environment\'s health checks', fields: { releaseId: 'the release', number: 'its number', bakeUntil: 'when its bake period ends' } },
  { name: 'release.verified', from: 'release.verification_ended', when: (p) => p.status === 'verified', description: 'a release passed every health check through its bake period', fields: VERIFICATION },
  { name: 'release.failed_verification', from: 'release.verification_ended', when: (p) => p.status === 'failed_verification', description: 'a release failed a health check past its limit', fields: VERIFICATION },
  { name: 'release.inconclusive', from: 'release.verification_ended', when: (p) => p.status === 'inconclusive', description: 'a release\'s health checks could not be measured (or it was replaced mid-bake): nothing is rolled back', fields: VERIFICATION },
  { name: 'config.changed', from: 'config.changed', description: 'a new configuration version was written', fields: { version: 'its number', author: 'who wrote it: a principal, file or rollback' } },
  { name: 'drift.detected', from: 'drift.detected', description: "a drift check found the stack's resources changed outside Stackpilot", fields: { resources: 'the drifted resources' } },
  {
    name: 'maintenance.notice', from: 'maintenance.notice',
    description: 'advance notice of a scheduled change: when it is scheduled, and again noticeHours before its window opens',
    fields: {
      notice: 'scheduled | upcoming', operationType: 'update | destroy', notBefore: 'when its window opens', requestedBy: 'who asked', message: 'its message',
      summary: 'what it will change: resources by change kind, from a fresh preview (null when none ran or it failed)', preview: 'that preview: operationId, status, errorCode',
    },
  },
];

export const EVENT_NAMES: readonly string[] = EVENT_CATALOG.map((kind) => kind.name);

export function isEventName(name: string): boolean {
  return EVENT_NAMES.includes(name);
}

/** What an outbox event is called outside, or undefined when it is internal only. */
export function publicEventOf(event: Pick<StoredOutboxEvent, 'kind' | 'payload'>): EventKind | undefined {
  return EVENT_CATALOG.find((kind) => kind.from === event.kind && (kind.when?.(event.payload) ?? true));
}

/** The `data` of an event as sent: who and where, then its payload (the operation's type as operationType). */
export function eventData(event: StoredOutboxEvent): Record<string, unknown> {
  const { type, ...rest } = event.payload;
  return {
    environment: event.environment,
    ...(event.operationId ? { operationId: event.operationId } : {}),
    ...(type !== undefined ? { operationType: type } : {}),
    ...rest,
  };
}
