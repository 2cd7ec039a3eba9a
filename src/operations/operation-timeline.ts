// Where one operation's time went inside this service: wall-clock marks (epoch milliseconds,
// to a tenth) at each hand-over between the runner and the engine, logged with the
// operation's end. Set beside the CLI's own trace (STACKPILOT_ENGINE_TRACES_DIR), they say
// which part of an update is ours and which is the engine's: the benchmark's breakdown. No
// mark is taken per engine event: how long an event takes to reach a client is row 3 of the
// benchmark (POST to first event, beside the CLI's own first event).
import { performance } from 'node:perf_hooks';

export const TIMELINE_MARKS = [
  /** The runner took the claimed operation. */
  'runnerStarted',
  /** The CLI process was spawned: the workspace is written and the source checked. */
  'cliSpawned',
  /** The CLI exited and its event stream drained. */
  'engineEnded',
  /** The state backup after a change is stored (absent for a run that backs nothing up). */
  'backedUp',
  /** The final status is committed, with its outbox rows. */
  'finished',
] as const;
export type TimelineMark = (typeof TIMELINE_MARKS)[number];

export class OperationTimeline {
  private readonly marks: Partial<Record<TimelineMark, number>> = {};

  /** Marks the first time only. */
  mark(name: TimelineMark): void {
    if (this.marks[name] !== undefined) return;
    this.marks[name] = Math.round((performance.timeOrigin + performance.now()) * 10) / 10;
  }

  toJSON(): Partial<Record<TimelineMark, number>> {
    return { ...this.marks };
  }
}
