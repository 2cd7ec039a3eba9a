// PostgreSQL LISTEN/NOTIFY on a connection of its own: how one replica hears at once that
// another changed something (an operation finished, events landed). The connection is
// reopened when the server drops it; what was missed meanwhile is found by the pollers that
// back every wake-up.
import { EventEmitter } from 'node:events';
import pg from 'pg';

const RETRY_MS = 1000;

export class PgListener extends EventEmitter {
  private client: pg.Client | undefined;
  private closed = false;
  private retry: NodeJS.Timeout | undefined;

  constructor(private readonly connectionString: string, private readonly channels: readonly string[], private readonly pool: pg.Pool) {
    super();
    this.setMaxListeners(0);
  }

  async start(): Promise<void> {
    await this.connect();
  }

  /** Tells every replica, this one included. */
  async notify(channel: string, payload: string): Promise<void> {
    await this.pool.query('select pg_notify($1, $2)', [channel, payload]);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    await this.client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.connectionString });
    client.on('notification', (message) => this.emit(message.channel, message.payload ?? ''));
    client.on('error', () => this.reconnectSoon(client));
    client.on('end', () => this.reconnectSoon(client));
    try {
      await client.connect();
      for (const channel of this.channels) await client.query(`listen ${channel}`);
      this.client = client;
      this.emit('reconnected');
    } catch {
      this.reconnectSoon(client);
    }
  }

  private reconnectSoon(client: pg.Client): void {
    if (this.closed || this.retry) return;
    client.end().catch(() => undefined);
    this.retry = setTimeout(() => {
      this.retry = undefined;
      void this.connect();
    }, RETRY_MS);
    this.retry.unref();
  }
}
