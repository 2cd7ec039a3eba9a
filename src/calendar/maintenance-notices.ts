// Advance notice of scheduled changes: `maintenance.notice` in the outbox when an operation is
// scheduled, and again `noticeHours` before its window opens. A notice says what will change
// from a fresh preview, so the notice itself is written in the transaction that ends that
// preview (a read-only run, which windows never hold). The second notice is claimed in the
// database first, so with several replicas it goes once.
import type { Kysely } from 'kysely';
import { systemActor } from '../auth/actor.js';
import type { Governance } from '../auth/governance.js';
import { kindOf } from '../operations/operation-kinds.js';
import type { MaintenanceNoticeKind, Operation } from '../operations/operation.js';
import type { CalendarRepository } from '../store/calendar-repository.js';
import type { OperationRepository } from '../store/operation-repository.js';
import type { OutboxRepository } from '../store/outbox-repository.js';
import { isoTime } from '../store/rows.js';
import type { Database } from '../store/schema.js';

/** Who queues the previews that notices are made from. */
const NOTICE = systemActor('maintenance-notice');

export class MaintenanceNotices {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly calendars: CalendarRepository,
    private readonly operations: OperationRepository,
    private readonly governance: Governance,
    private readonly outbox: OutboxRepository,
  ) {}

  /**
   * In the transaction that schedules `operation` (or claims its second notice): queues the
   * preview its notice is made from, or, for a kind without one, writes the notice at once.
   */
  async announce(tx: Kysely<Database>, operation: Operation, notice: MaintenanceNoticeKind, notBefore: number | null): Promise<void> {
    const previewType = kindOf(operation.type).windows?.notice;
    if (!previewType) return this.publish(tx, operation, notice, notBefore, null);
    await this.operations.insert(tx, {
      environment: operation.environment, type: previewType, requestedBy: NOTICE.principal,
      spec: { scope: operation.spec.scope, notice: { operation: operation.id, notice, notBefore: isoTime(notBefore) } },
      message: `what the scheduled ${operation.type} ${operation.id} will change`,
      // The same program and configuration the scheduled operation will run with.
      configVersion: operation.configVersion ?? 0, programDigest: operation.programDigest ?? '',
    }, Date.now());
    await this.governance.recordSystem(NOTICE, { name: 'previewScheduledChange', target: `operation:${operation.id}`, environment: operation.environment }, tx);
  }

  /** In the transaction that ends a notice's preview, whatever its result: the notice, with what it found. */
  async ended(tx: Kysely<Database>, preview: Operation): Promise<void> {
    const notice = preview.spec.notice;
    if (!notice) return;
    const operation = await this.operations.get(notice.operation, tx);
    // A change cancelled meanwhile is no longer coming: nothing to announce.
    if (!operation || operation.status === 'cancelled') return;
    await this.publish(tx, operation, notice.notice, notice.notBefore ? Date.parse(notice.notBefore) : null, preview);
  }

  /** Sends the second notice of every scheduled operation whose window opens within its environment's notice hours. */
  async sweep(now: number, noticeHours: (environment: string) => number | undefined): Promise<void> {
    for (const due of await this.calendars.awaitingNotice()) {
      const hours = noticeHours(due.environment);
      if (hours === undefined || due.notBefore - hours * 3600_000 > now) continue;
      await this.db.transaction().execute(async (tx) => {
        if (!(await this.calendars.claimNotice(tx, due.id, now))) return;
        const operation = (await this.operations.get(due.id, tx))!;
        await this.announce(tx, operation, 'upcoming', due.notBefore);
      });
    }
  }

  private async publish(tx: Kysely<Database>, operation: Operation, notice: MaintenanceNoticeKind, notBefore: number | null, preview: Operation | null): Promise<void> {
    await this.outbox.append(tx, {
      kind: 'maintenance.notice', environment: operation.environment, operationId: operation.id,
      payload: {
        notice, type: operation.type, notBefore: isoTime(notBefore), requestedBy: operation.requestedBy, message: operation.message,
        summary: preview?.status === 'succeeded' ? preview.summary : null,
        preview: preview ? { operationId: preview.id, status: preview.status, errorCode: preview.errorCode } : null,
      },
    });
  }
}
