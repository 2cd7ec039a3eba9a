// A task that runs at most once at a time: asked again while it runs, it runs once more after,
// however often it was asked. The queue, the outbox feed and the dispatcher wake their work this
// way by hand; the webhook sender uses this.
export class CoalescedTask {
  private running: Promise<void> | undefined;
  private again = false;

  constructor(private readonly task: () => Promise<void>, private readonly onError: (error: unknown) => void) {}

  run(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.task().catch(this.onError).finally(() => {
      this.running = undefined;
      if (this.again) {
        this.again = false;
        this.run();
      }
    });
  }

  /** Resolves when the current run (if any) has ended. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }
}
