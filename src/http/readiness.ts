// Readiness, checked in the background every few seconds and served from the last result:
// /readyz is anonymous, and one of its checks starts a CLI process, so no request may start
// one (30 callers at once would otherwise start 30).
export interface ReadinessChecks {
  database(): Promise<boolean>;
  toolchain(): Promise<boolean>;
  stateBackend(): Promise<boolean>;
}

export type ReadinessResult = Record<keyof ReadinessChecks, boolean>;

export class Readiness {
  private latest: Promise<ReadinessResult>;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly checks: ReadinessChecks, private readonly everyMs = 5000) {
    this.latest = this.check();
  }

  start(): void {
    this.timer = setInterval(() => {
      const next = this.check();
      void next.then(() => (this.latest = next));
    }, this.everyMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  current(): Promise<ReadinessResult> {
    return this.latest;
  }

  private async check(): Promise<ReadinessResult> {
    const settle = (check: () => Promise<boolean>) => check().catch(() => false);
    const [database, toolchain, stateBackend] = await Promise.all([
      settle(() => this.checks.database()), settle(() => this.checks.toolchain()), settle(() => this.checks.stateBackend()),
    ]);
    return { database, toolchain, stateBackend };
  }
}
