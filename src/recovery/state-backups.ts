// State backups: after every mutating operation, and before every restore or repair, the
// stack's state is exported (secrets stay ciphertext) and kept as a file named by its sha256
// under the backup location, with a row saying whose it is. Retention keeps the newest
// `keepLast` of each environment and everything younger than `keepDays`, and never lets go of
// an environment's newest backup or one taken after an update that made a release.
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, existsSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import type { Actor } from '../auth/actor.js';
import type { Governance } from '../auth/governance.js';
import type { Engine } from '../engine/types.js';
import type { EnvironmentCatalog } from '../environments/environment-catalog.js';
import { NotFoundError, UnprocessableError } from '../errors.js';
import type { BackupReason, BackupRepository, StateBackup } from '../store/backup-repository.js';
import type { Page } from '../store/rows.js';
import { parseStateExport, resourcesOf, type StateExport } from './state-export.js';

export interface BackupOptions {
  dir: string;
  keepLast: number;
  keepDays: number;
}

const DAY_MS = 86_400_000;

/** A backup whose file no longer hashes to its recorded sha256 (or is gone). */
export class BackupCorrupt extends UnprocessableError {
  constructor(backup: StateBackup) {
    super('backup_checksum_mismatch', `backup ${backup.id} does not match its recorded sha256: it was changed or lost, so it cannot be used`);
  }
}

export class StateBackups {
  constructor(
    private readonly backups: BackupRepository,
    private readonly engine: Engine,
    private readonly catalog: EnvironmentCatalog,
    private readonly governance: Governance,
    private readonly log: Logger,
    private readonly options: BackupOptions,
  ) {
    mkdirSync(options.dir, { recursive: true, mode: 0o700 });
  }

  /** Exports the stack's state now and keeps it; then prunes what retention lets go. */
  async take(environment: string, operationId: string | null, reason: BackupReason): Promise<StateBackup> {
    const content = await this.engine.exportState(environment);
    const state = parseStateExport(content);
    const sha256 = createHash('sha256').update(content).digest('hex');
    this.store(sha256, content);
    const backup = await this.backups.insert({
      environment, operationId, reason, sha256, size: Buffer.byteLength(content), resourceCount: state ? resourcesOf(state).length : 0,
    });
    await this.prune(environment).catch((error: unknown) => this.log.warn({ err: error, environment }, 'could not prune state backups'));
    return backup;
  }

  async list(actor: Actor, environment: string, limit: number, cursor?: string): Promise<Page<StateBackup>> {
    await this.governance.authorize(actor, { name: 'listBackups', target: `environment:${environment}`, environment, permission: 'read' });
    this.catalog.require(environment);
    return this.backups.list(environment, limit, cursor);
  }

  /** A backup's exported state, for an admin; the download is audited. */
  async download(actor: Actor, environment: string, id: string): Promise<{ backup: StateBackup; content: string }> {
    const action = { name: 'downloadBackup', target: `backup:${id}`, environment, permission: 'admin' as const };
    await this.governance.authorize(actor, action);
    this.catalog.require(environment);
    const backup = await this.find(environment, id);
    const content = this.contentOf(backup);
    await this.governance.act(actor, action, async () => undefined);
    return { backup, content };
  }

  /** The environment's backup with this id; another environment's is not found here. */
  async find(environment: string, id: string): Promise<StateBackup> {
    const backup = await this.backups.get(id);
    if (!backup || backup.environment !== environment) throw new NotFoundError('backup_not_found', `environment ${environment} has no backup ${id}`);
    return backup;
  }

  /** The backup's content, checked against its recorded sha256. */
  contentOf(backup: StateBackup): string {
    const file = this.fileOf(backup.sha256);
    const content = existsSync(file) ? readFileSync(file, 'utf8') : undefined;
    if (content === undefined || createHash('sha256').update(content).digest('hex') !== backup.sha256) throw new BackupCorrupt(backup);
    return content;
  }

  /** The backup's content, checked and parsed. */
  stateOf(backup: StateBackup): { content: string; state: StateExport } {
    const content = this.contentOf(backup);
    const state = parseStateExport(content);
    if (!state) throw new BackupCorrupt(backup);
    return { content, state };
  }

  newest(environment: string): Promise<StateBackup | undefined> {
    return this.backups.newest(environment);
  }

  async prune(environment: string, now = Date.now()): Promise<StateBackup[]> {
    const gone = await this.backups.prunable(environment, this.options.keepLast, now - this.options.keepDays * DAY_MS);
    await this.backups.delete(gone.map((b) => b.id));
    // Content is shared by every backup with the same sha256: the file goes with the last of them.
    for (const sha256 of new Set(gone.map((b) => b.sha256))) {
      if (!(await this.backups.referenced(sha256))) rmSync(this.fileOf(sha256), { force: true });
    }
    return gone;
  }

  fileOf(sha256: string): string {
    return join(this.options.dir, 'sha256', sha256.slice(0, 2), `${sha256}.json`);
  }

  /** Writes the content once per sha256; through a temporary file, so a crash leaves no partial backup under a real name. */
  private store(sha256: string, content: string): void {
    const file = this.fileOf(sha256);
    if (existsSync(file) && createHash('sha256').update(readFileSync(file)).digest('hex') === sha256) return;
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    const temporary = `${file}.${randomUUID()}.partial`;
    writeFileSync(temporary, content, { mode: 0o600 });
    renameSync(temporary, file);
  }
}
