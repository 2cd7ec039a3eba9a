// Anchors of the audit trail outside its database: the newest record's position and MAC,
// appended to a file in the data dir (and logged) every minute. A trail whose newest records
// were deleted no longer reaches its last anchor.
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import type { Logger } from 'pino';

export interface Anchor {
  seq: number;
  hash: string;
}

export class AuditAnchors {
  private last: Anchor | undefined;

  constructor(private readonly file: string, private readonly log?: Logger) {}

  write(head: Anchor): void {
    if (this.last?.seq === head.seq && this.last.hash === head.hash) return;
    appendFileSync(this.file, `${JSON.stringify({ ...head, at: new Date().toISOString() })}\n`, { mode: 0o600 });
    this.log?.info({ auditHead: head }, 'audit trail anchored');
    this.last = head;
  }

  read(): Anchor[] {
    if (!existsSync(this.file)) return [];
    return readFileSync(this.file, 'utf8').split('\n').filter(Boolean).map((line) => {
      const { seq, hash } = JSON.parse(line) as Anchor;
      return { seq, hash };
    });
  }
}
