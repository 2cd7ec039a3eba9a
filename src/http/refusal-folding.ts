// Refusals at the door from an anonymous source are folded: the first of each kind from a
// source in a window is recorded at once, and the rest of that window become one record that
// says how many there were. A client hammering the API cannot grow the audit trail by a row
// per request, and nothing it did goes unrecorded.
import type { AuditEntry } from '../store/audit-repository.js';

const WINDOW_MS = 60_000;

export class RefusalFolding {
  private readonly windows = new Map<string, { first: AuditEntry; more: number; timer: NodeJS.Timeout }>();

  constructor(private readonly write: (entry: AuditEntry) => Promise<void>, private readonly windowMs = WINDOW_MS) {}

  /** Records an anonymous refusal: at once when it is the first of its kind in the window. */
  async record(entry: AuditEntry): Promise<void> {
    const key = `${entry.source}\0${entry.reason}`;
    const open = this.windows.get(key);
    if (open) {
      open.more++;
      return;
    }
    const timer = setTimeout(() => void this.close(key), this.windowMs);
    timer.unref();
    this.windows.set(key, { first: entry, more: 0, timer });
    await this.write(entry);
  }

  /** Writes what every open window holds (at shutdown). */
  async flush(): Promise<void> {
    await Promise.all([...this.windows.keys()].map((key) => this.close(key)));
  }

  private async close(key: string): Promise<void> {
    const open = this.windows.get(key);
    if (!open) return;
    this.windows.delete(key);
    clearTimeout(open.timer);
    if (open.more) await this.write({ ...open.first, action: 'refusedRequests', target: '(folded)', repeats: open.more }).catch(() => undefined);
  }
}
