// Schema migrations for both databases, applied in order by Kysely's Migrator at start-up.
// Append new migrations; never edit one that has shipped.
import { sql, type ColumnDefinitionBuilder, type Kysely, type Migration } from 'kysely';

export type DialectName = 'sqlite' | 'postgres';

export function migrations(dialect: DialectName): Record<string, Migration> {
  const bigint = dialect === 'postgres' ? 'bigint' : 'integer';
  // An ever-increasing primary key: the order of operations and of audit records.
  const serial = dialect === 'postgres' ? 'bigserial' : 'integer';
  const serialKey = (c: ColumnDefinitionBuilder) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement());
  return {
    '0001_operations': {
      async up(db: Kysely<any>) {
        await db.schema.createTable('operations')
          .addColumn('seq', serial, serialKey)
          .addColumn('id', 'text', (c) => c.notNull().unique())
          .addColumn('environment', 'text', (c) => c.notNull())
          .addColumn('type', 'text', (c) => c.notNull())
          .addColumn('scope', 'text', (c) => c.notNull())
          .addColumn('message', 'text')
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('requested_by', 'text', (c) => c.notNull())
          .addColumn('idempotency_key', 'text')
          .addColumn('request_hash', 'text')
          .addColumn('queued_at', bigint, (c) => c.notNull())
          .addColumn('started_at', bigint)
          .addColumn('finished_at', bigint)
          .addColumn('lease_owner', 'text')
          .addColumn('lease_expires_at', bigint)
          .addColumn('cancel_requested', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('engine_pid', 'integer')
          .addColumn('engine_host', 'text')
          .addColumn('summary', 'text')
          .addColumn('outputs', 'text')
          .addColumn('resource_count', 'integer')
          .addColumn('warnings', 'text')
          .addColumn('error', 'text')
          .addColumn('pulumi_version', 'text')
          .execute();
        // The rule "one running operation per stack" lives in the database, so it holds across
        // every service process sharing it: a second claim fails on this index.
        await db.schema.createIndex('operations_one_running_per_environment').unique()
          .on('operations').column('environment').where(sql.ref('status'), '=', 'running').execute();
        await db.schema.createIndex('operations_idempotency_key').unique()
          .on('operations').column('idempotency_key').where(sql.ref('idempotency_key'), 'is not', null).execute();
        await db.schema.createIndex('operations_by_environment').on('operations').columns(['environment', 'seq']).execute();
        await db.schema.createIndex('operations_by_status').on('operations').columns(['status', 'seq']).execute();

        await db.schema.createTable('operation_events')
          .addColumn('operation_id', 'text', (c) => c.notNull())
          .addColumn('sequence', 'integer', (c) => c.notNull())
          .addColumn('event_type', 'text', (c) => c.notNull())
          .addColumn('payload', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('operation_events_pk', ['operation_id', 'sequence'])
          .execute();

        await db.schema.createTable('operation_output')
          .addColumn('operation_id', 'text', (c) => c.notNull())
          .addColumn('chunk', 'integer', (c) => c.notNull())
          .addColumn('text', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('operation_output_pk', ['operation_id', 'chunk'])
          .execute();
      },
    },
    '0002_access_control': {
      async up(db: Kysely<any>) {
        await db.schema.createTable('api_keys')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('prefix', 'text', (c) => c.notNull().unique())
          .addColumn('hash', 'text', (c) => c.notNull())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('principal', 'text', (c) => c.notNull())
          .addColumn('grants', 'text', (c) => c.notNull())
          .addColumn('created_at', bigint, (c) => c.notNull())
          .addColumn('expires_at', bigint, (c) => c.notNull())
          .addColumn('last_used_at', bigint)
          .addColumn('revoked_at', bigint)
          .addColumn('replaced_by', 'text')
          .addColumn('grace_until', bigint)
          .execute();
        await db.schema.createTable('totp_enrolments')
          .addColumn('principal', 'text', (c) => c.primaryKey())
          .addColumn('secret', 'text', (c) => c.notNull()) // encrypted (AES-256-GCM), never clear text
          .addColumn('confirmed', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('last_step', bigint, (c) => c.notNull().defaultTo(0))
          .execute();
        await db.schema.createTable('sessions')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('hash', 'text', (c) => c.notNull().unique())
          .addColumn('principal', 'text', (c) => c.notNull())
          .addColumn('key_id', 'text', (c) => c.notNull())
          .addColumn('created_at', bigint, (c) => c.notNull())
          .addColumn('expires_at', bigint, (c) => c.notNull())
          .addColumn('last_seen_at', bigint, (c) => c.notNull())
          .addColumn('revoked_at', bigint)
          .execute();
        await db.schema.createTable('auth_failures')
          .addColumn('source', 'text', (c) => c.notNull())
          .addColumn('at', bigint, (c) => c.notNull())
          .execute();
        await db.schema.createIndex('auth_failures_by_source').on('auth_failures').columns(['source', 'at']).execute();
        await db.schema.createTable('audit_log')
          .addColumn('seq', serial, serialKey)
          .addColumn('at', bigint, (c) => c.notNull())
          .addColumn('principal', 'text', (c) => c.notNull())
          .addColumn('credential_id', 'text')
          .addColumn('source', 'text', (c) => c.notNull())
          .addColumn('action', 'text', (c) => c.notNull())
          .addColumn('target', 'text', (c) => c.notNull())
          .addColumn('result', 'text', (c) => c.notNull())
          .addColumn('reason', 'text') // the refusal's code, e.g. credential_expired
          .addColumn('status', 'integer', (c) => c.notNull())
          .addColumn('prev_hash', 'text', (c) => c.notNull())
          .addColumn('hash', 'text', (c) => c.notNull())
          .execute();
      },
    },
    '0003_foundations': {
      async up(db: Kysely<any>) {
        // What an operation was asked to do beyond its type (scope, flags, later configuration
        // versions and plans), and a stable code for why it failed.
        await db.schema.alterTable('operations').addColumn('spec', 'text').execute();
        await db.schema.alterTable('operations').addColumn('error_code', 'text').execute();
        // The CLI's own pid: a lock its death leaves behind names it.
        await db.schema.alterTable('operations').addColumn('engine_cli_pid', 'integer').execute();
        await sql`update operations set spec = '{"scope":"' || scope || '"}'`.execute(db);
        // A running operation whose runner died keeps the stack while it is recovered (fenced),
        // so "one per stack" now covers both states.
        await db.schema.dropIndex('operations_one_running_per_environment').execute();
        await db.schema.createIndex('operations_one_holding_per_environment').unique()
          .on('operations').column('environment').where(sql.ref('status'), 'in', sql`('running', 'recovering')`).execute();
        // Idempotency keys are scoped to an environment and a principal: one caller cannot block,
        // or learn about, another's keys.
        await db.schema.dropIndex('operations_idempotency_key').execute();
        await db.schema.createIndex('operations_idempotency_key').unique()
          .on('operations').columns(['environment', 'requested_by', 'idempotency_key']).where(sql.ref('idempotency_key'), 'is not', null).execute();

        // Domain events, written in the same transaction as the change they announce; consumers
        // read them in order, each durable consumer from its own position under a lease.
        await db.schema.createTable('outbox')
          .addColumn('seq', serial, serialKey)
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('environment', 'text')
          .addColumn('operation_id', 'text')
          .addColumn('payload', 'text', (c) => c.notNull())
          .addColumn('created_at', bigint, (c) => c.notNull())
          .execute();
        await db.schema.createTable('outbox_consumers')
          .addColumn('name', 'text', (c) => c.primaryKey())
          .addColumn('position', bigint, (c) => c.notNull().defaultTo(0))
          .addColumn('lease_owner', 'text')
          .addColumn('lease_expires_at', bigint)
          .execute();

        // Request counts per key and fixed window, shared by every replica.
        await db.schema.createTable('rate_limits')
          .addColumn('key', 'text', (c) => c.notNull())
          .addColumn('window_start', bigint, (c) => c.notNull())
          .addColumn('hits', 'integer', (c) => c.notNull())
          .addPrimaryKeyConstraint('rate_limits_pk', ['key', 'window_start'])
          .execute();

        // Generated per-installation state of each stack: the passphrase secrets provider's salt
        // lives here, never in the committed stack files.
        await db.schema.createTable('stacks')
          .addColumn('environment', 'text', (c) => c.primaryKey())
          .addColumn('encryption_salt', 'text', (c) => c.notNull())
          .addColumn('created_at', bigint, (c) => c.notNull())
          .execute();

        // Audit records written by the domain carry no HTTP status: only refusals at the door do.
        if (dialect === 'postgres') {
          await sql`alter table audit_log alter column status drop not null`.execute(db);
        } else {
          await sql`create table audit_log_new (seq integer primary key autoincrement, at integer not null, principal text not null,
            credential_id text, source text not null, action text not null, target text not null, result text not null,
            reason text, status integer, prev_hash text not null, hash text not null)`.execute(db);
          await sql`insert into audit_log_new select seq, at, principal, credential_id, source, action, target, result, reason, status, prev_hash, hash from audit_log`.execute(db);
          await sql`drop table audit_log`.execute(db);
          await sql`alter table audit_log_new rename to audit_log`.execute(db);
        }
      },
    },
    '0004_security': {
      async up(db: Kysely<any>) {
        // The name a key's second factor is enrolled under: its principal's own when the
        // principal made the key (or it was installed at start-up), one of the key's own when
        // someone else made it, so a key never inherits a factor its creator could not use.
        await db.schema.alterTable('api_keys').addColumn('second_factor', 'text').execute();
        await sql`update api_keys set second_factor = principal`.execute(db);
        // Keys installed from STACKPILOT_BOOTSTRAP_ADMIN_KEY: when the variable changes, the old one is revoked.
        await db.schema.alterTable('api_keys').addColumn('bootstrap', 'integer', (c) => c.notNull().defaultTo(0)).execute();
        await sql`update api_keys set bootstrap = 1 where name = 'bootstrap admin'`.execute(db);
        // Audit records name the environment they concern (so an environment's admins read
        // its records), count repeated refusals folded into one, and say how they are chained:
        // 1 = SHA-256 (records written before this migration), 2 = HMAC with a key kept
        // outside the database.
        await db.schema.alterTable('audit_log').addColumn('environment', 'text').execute();
        await db.schema.alterTable('audit_log').addColumn('repeats', 'integer', (c) => c.notNull().defaultTo(1)).execute();
        await db.schema.alterTable('audit_log').addColumn('chain_version', 'integer', (c) => c.notNull().defaultTo(1)).execute();
        // Failed authentications are counted per source and per principal.
        await db.schema.alterTable('auth_failures').addColumn('subject', 'text').execute();
        await sql`update auth_failures set subject = 'source:' || source`.execute(db);
        await db.schema.createIndex('auth_failures_by_subject').on('auth_failures').columns(['subject', 'at']).execute();
      },
    },
    '0005_releases': {
      async up(db: Kysely<any>) {
        // Each environment's configuration as versioned data: the `config:` map of a stack file
        // (secrets as the stack's ciphertext), with who wrote it and, for versions brought in
        // from the committed stack file, that file's digest.
        await db.schema.createTable('config_versions')
          .addColumn('environment', 'text', (c) => c.notNull())
          .addColumn('version', 'integer', (c) => c.notNull())
          .addColumn('config', 'text', (c) => c.notNull())
          .addColumn('encryption_salt', 'text')
          .addColumn('author', 'text', (c) => c.notNull())
          .addColumn('message', 'text')
          .addColumn('file_digest', 'text')
          .addColumn('created_at', bigint, (c) => c.notNull())
          .addPrimaryKeyConstraint('config_versions_pk', ['environment', 'version'])
          .execute();
        // What an operation runs with, and, for a protected environment, the plan it waits on.
        await db.schema.alterTable('operations').addColumn('config_version', 'integer').execute();
        await db.schema.alterTable('operations').addColumn('program_digest', 'text').execute();
        await db.schema.alterTable('operations').addColumn('plan', 'text').execute();
        await db.schema.alterTable('operations').addColumn('awaiting_since', bigint).execute();
        // A saved plan file (its secrets are ciphertext), so any replica can apply it.
        await db.schema.createTable('plan_files')
          .addColumn('operation_id', 'text', (c) => c.primaryKey())
          .addColumn('content', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createTable('approvals')
          .addColumn('seq', serial, serialKey)
          .addColumn('operation_id', 'text', (c) => c.notNull())
          .addColumn('principal', 'text', (c) => c.notNull())
          .addColumn('credential_id', 'text')
          .addColumn('decision', 'text', (c) => c.notNull())
          .addColumn('comment', 'text')
          .addColumn('created_at', bigint, (c) => c.notNull())
          .execute();
        await db.schema.createIndex('approvals_one_per_person').unique().on('approvals').columns(['operation_id', 'principal']).execute();
        await db.schema.createTable('releases')
          .addColumn('seq', serial, serialKey)
          .addColumn('id', 'text', (c) => c.notNull().unique())
          .addColumn('environment', 'text', (c) => c.notNull())
          .addColumn('number', 'integer', (c) => c.notNull())
          .addColumn('config_version', 'integer', (c) => c.notNull())
          .addColumn('program_digest', 'text', (c) => c.notNull())
          .addColumn('images', 'text', (c) => c.notNull())
          .addColumn('operation_id', 'text', (c) => c.notNull())
          .addColumn('requested_by', 'text', (c) => c.notNull())
          .addColumn('approved_by', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('created_at', bigint, (c) => c.notNull())
          .execute();
        await db.schema.createIndex('releases_number').unique().on('releases').columns(['environment', 'number']).execute();
        await db.schema.createIndex('releases_one_current').unique().on('releases').column('environment')
          .where(sql.ref('status'), '=', 'current').execute();
      },
    },
    '0006_integrations': {
      async up(db: Kysely<any>) {
        // Webhook endpoints; the signing secret is sealed (AES-256-GCM), never in clear text.
        await db.schema.createTable('webhooks')
          .addColumn('seq', serial, serialKey)
          .addColumn('id', 'text', (c) => c.notNull().unique())
          .addColumn('url', 'text', (c) => c.notNull())
          .addColumn('events', 'text', (c) => c.notNull()) // JSON list of event names
          .addColumn('environments', 'text', (c) => c.notNull()) // JSON list, or "*"
          .addColumn('secret', 'text', (c) => c.notNull())
          .addColumn('created_by', 'text', (c) => c.notNull())
          .addColumn('created_at', bigint, (c) => c.notNull())
          .addColumn('disabled_at', bigint)
          .addColumn('disabled_reason', 'text')
          .addColumn('deleted_at', bigint)
          .execute();
        // One row per event and endpoint: its id is the webhook-id header of every attempt, and
        // the unique pair makes handing the same outbox event again a no-op.
        await db.schema.createTable('webhook_deliveries')
          .addColumn('seq', serial, serialKey)
          .addColumn('id', 'text', (c) => c.notNull().unique())
          .addColumn('webhook_id', 'text', (c) => c.notNull())
          .addColumn('event_seq', bigint, (c) => c.notNull())
          .addColumn('event', 'text', (c) => c.notNull())
          .addColumn('environment', 'text')
          .addColumn('payload', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull()) // pending | delivered | failed
          .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('next_attempt_at', bigint, (c) => c.notNull())
          .addColumn('last_status', 'integer')
          .addColumn('last_error', 'text')
          .addColumn('created_at', bigint, (c) => c.notNull())
          .addColumn('delivered_at', bigint)
          .addColumn('lease_owner', 'text')
          .addColumn('lease_expires_at', bigint)
          .addUniqueConstraint('webhook_deliveries_once', ['webhook_id', 'event_seq'])
          .execute();
        await db.schema.createIndex('webhook_deliveries_due').on('webhook_deliveries').columns(['status', 'next_attempt_at']).execute();
        await db.schema.createIndex('webhook_deliveries_by_webhook').on('webhook_deliveries').columns(['webhook_id', 'seq']).execute();

        // Slack users an admin mapped to a principal and its grants.
        await db.schema.createTable('slack_users')
          .addColumn('slack_user_id', 'text', (c) => c.primaryKey())
          .addColumn('principal', 'text', (c) => c.notNull())
          .addColumn('grants', 'text', (c) => c.notNull())
          .addColumn('created_by', 'text', (c) => c.notNull())
          .addColumn('created_at', bigint, (c) => c.notNull())
          .execute();
        // Signatures of Slack requests seen in the last few minutes: a replay is refused.
        await db.schema.createTable('slack_seen_requests')
          .addColumn('signature', 'text', (c) => c.primaryKey())
          .addColumn('seen_at', bigint, (c) => c.notNull())
          .execute();
        // Operations queued from Slack: where their progress is posted (response_url, sealed), and
        // how many posts it had (Slack allows five within 30 minutes).
        await db.schema.createTable('slack_replies')
          .addColumn('operation_id', 'text', (c) => c.primaryKey())
          .addColumn('response_url', 'text', (c) => c.notNull())
          .addColumn('posts', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('created_at', bigint, (c) => c.notNull())
          .execute();
      },
    },
    '0007_recovery': {
      async up(db: Kysely<any>) {
        // Exports of a stack's state, kept as files named by their sha256 under the backup
        // location; a row says whose state it is, what took it, and what the file must hash to.
        await db.schema.createTable('state_backups')
          .addColumn('seq', serial, serialKey)
          .addColumn('id', 'text', (c) => c.notNull().unique())
          .addColumn('environment', 'text', (c) => c.notNull())
          .addColumn('operation_id', 'text')
          .addColumn('reason', 'text', (c) => c.notNull())
          .addColumn('sha256', 'text', (c) => c.notNull())
          .addColumn('size', 'integer', (c) => c.notNull())
          .addColumn('resource_count', 'integer', (c) => c.notNull())
          .addColumn('created_at', bigint, (c) => c.notNull())
          .execute();
        await db.schema.createIndex('state_backups_by_environment').on('state_backups').columns(['environment', 'seq']).execute();
        await db.schema.createIndex('state_backups_by_sha256').on('state_backups').column('sha256').execute();
        // Each environment's last drift check: when, what it found, and the resources that drifted.
        await db.schema.createTable('drift_states')
          .addColumn('environment', 'text', (c) => c.primaryKey())
          .addColumn('operation_id', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('resources', 'text', (c) => c.notNull())
          .addColumn('checked_at', bigint, (c) => c.notNull())
          .execute();
        // When drift checks are due; a replica claims a due check by moving next_due_at on with a
        // conditional update, so with several replicas each check is queued once.
        await db.schema.createTable('drift_schedules')
          .addColumn('environment', 'text', (c) => c.primaryKey())
          .addColumn('cron', 'text', (c) => c.notNull())
          .addColumn('remediate', 'integer', (c) => c.notNull())
          .addColumn('next_due_at', bigint, (c) => c.notNull())
          .addColumn('updated_by', 'text', (c) => c.notNull())
          .addColumn('updated_at', bigint, (c) => c.notNull())
          .execute();
        // Repair sessions: while one is open (and not idle past idle_until), the environment's
        // queue holds its operations. At most one open per environment, as a unique index says.
        await db.schema.createTable('repair_sessions')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('environment', 'text', (c) => c.notNull())
          .addColumn('opened_by', 'text', (c) => c.notNull())
          .addColumn('reason', 'text', (c) => c.notNull())
          .addColumn('backup_id', 'text')
          .addColumn('opened_at', bigint, (c) => c.notNull())
          .addColumn('idle_until', bigint, (c) => c.notNull())
          .addColumn('closed_at', bigint)
          .addColumn('closed_by', 'text')
          .execute();
        await db.schema.createIndex('repair_sessions_one_open').unique().on('repair_sessions').column('environment')
          .where(sql.ref('closed_at'), 'is', null).execute();
      },
    },
    '0008_maintenance_windows': {
      async up(db: Kysely<any>) {
        // An environment's maintenance calendar: recurring windows and freezes (JSON lists, checked
        // by the domain before they are written) and how many hours ahead the second notice goes.
        await db.schema.createTable('maintenance_calendars')
          .addColumn('environment', 'text', (c) => c.primaryKey())
          .addColumn('windows', 'text', (c) => c.notNull())
          .addColumn('freezes', 'text', (c) => c.notNull())
          .addColumn('notice_hours', 'integer', (c) => c.notNull())
          .addColumn('updated_by', 'text', (c) => c.notNull())
          .addColumn('updated_at', bigint, (c) => c.notNull())
          .execute();
        // Whether windows hold an operation (its kind waits for them and nobody bypassed them), and,
        // while it is scheduled, when its window opens. A replica claims the second notice by
        // setting upcoming_notice_at from null, so it is sent once.
        await db.schema.alterTable('operations').addColumn('held_by_windows', 'integer', (c) => c.notNull().defaultTo(0)).execute();
        await db.schema.alterTable('operations').addColumn('not_before', bigint).execute();
        await db.schema.alterTable('operations').addColumn('upcoming_notice_at', bigint).execute();
      },
    },
    '0009_release_verification': {
      async up(db: Kysely<any>) {
        // Each environment's health checks (JSON, as set through the API); none: releases are not verified.
        await db.schema.createTable('health_checks')
          .addColumn('environment', 'text', (c) => c.primaryKey())
          .addColumn('spec', 'text', (c) => c.notNull())
          .addColumn('updated_by', 'text', (c) => c.notNull())
          .addColumn('updated_at', bigint, (c) => c.notNull())
          .execute();
        // A release's verification: the checks as they were when it began, what each measured so
        // far, and the replica running it. It lives here, not in a process, so a replica that
        // dies mid-bake is replaced by the next one to claim the expired lease, which resumes
        // from the recorded measurements; the lease (a conditional update) keeps it to one runner.
        await db.schema.createTable('release_verifications')
          .addColumn('release_id', 'text', (c) => c.primaryKey())
          .addColumn('environment', 'text', (c) => c.notNull())
          .addColumn('release_number', 'integer', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull()) // verifying | verified | failed_verification | inconclusive
          .addColumn('spec', 'text', (c) => c.notNull())
          .addColumn('progress', 'text', (c) => c.notNull())
          .addColumn('may_roll_back', 'integer', (c) => c.notNull())
          .addColumn('started_at', bigint, (c) => c.notNull())
          .addColumn('bake_until', bigint, (c) => c.notNull())
          .addColumn('finished_at', bigint)
          .addColumn('reason', 'text')
          .addColumn('rollback_operation_id', 'text')
          .addColumn('lease_owner', 'text')
          .addColumn('lease_expires_at', bigint)
          .execute();
        await db.schema.createIndex('release_verifications_by_status').on('release_verifications').columns(['status', 'environment']).execute();
        // The release's verification status, beside its place in the environment (current, superseded...).
        await db.schema.alterTable('releases').addColumn('verification', 'text').execute();
      },
    },
    '0010_dashboard_sessions': {
      async up(db: Kysely<any>) {
        // The dashboard's sign-in opens a session from an API key alone (its cookie must not carry
        // the key); only sessions opened with a TOTP code count as a second factor.
        await db.schema.alterTable('sessions').addColumn('second_factor', 'integer', (c) => c.notNull().defaultTo(1)).execute();
      },
    },
    '0011_listing_under_load': {
      async up(db: Kysely<any>) {
        // One row whose value changes, in the same transaction, with anything that can make a
        // credential refuse where it accepted: replicas cache credentials and check this value
        // on every request (store/credentials-version.ts). Triggers change it, so no writer, not
        // even an operator's SQL, can forget to. A random value rather than a counter: a restored
        // database never brings back a value a replica has cached against.
        await db.schema.createTable('credentials_version')
          .addColumn('id', 'integer', (c) => c.primaryKey())
          .addColumn('version', 'text', (c) => c.notNull())
          .execute();
        await sql`insert into credentials_version (id, version) values (1, 'initial')`.execute(db);
        // What a key or session is, not when it was last used: a new column that authentication
        // reads belongs in these lists.
        const keyColumns = 'prefix, hash, name, principal, grants, created_at, expires_at, revoked_at, replaced_by, grace_until, second_factor, bootstrap';
        const sessionColumns = 'hash, principal, key_id, created_at, expires_at, revoked_at, second_factor';
        const changes = [
          { name: 'api_keys_changed', on: 'api_keys', when: `update of ${keyColumns} or delete`, only: '' },
          { name: 'sessions_changed', on: 'sessions', when: `update of ${sessionColumns} or delete`, only: '' },
          // Last seen only moves forward when a session is used; moved back, the session is idle sooner.
          { name: 'sessions_seen_earlier', on: 'sessions', when: 'update of last_seen_at', only: 'when (new.last_seen_at < old.last_seen_at)' },
          { name: 'auth_failures_changed', on: 'auth_failures', when: 'insert or delete', only: '' },
        ];
        if (dialect === 'postgres') {
          await sql`create function credentials_changed() returns trigger language plpgsql as $$
            begin update credentials_version set version = md5(random()::text || clock_timestamp()::text); return null; end $$`.execute(db);
          for (const c of changes) {
            const each = c.only ? 'row' : 'statement';
            await sql.raw(`create trigger ${c.name} after ${c.when} on ${c.on} for each ${each} ${c.only} execute function credentials_changed()`).execute(db);
          }
        } else {
          // SQLite has row triggers only, and one event per trigger.
          for (const c of changes) {
            for (const [i, event] of c.when.split(' or ').entries()) {
              await sql.raw(`create trigger ${c.name}_${i} after ${event} on ${c.on} for each row ${c.only}
                begin update credentials_version set version = hex(randomblob(16)); end`).execute(db);
            }
          }
        }
        // A page of an environment's operations reads only the index (its ids come with it).
        await db.schema.createIndex('operations_by_environment_with_id').on('operations').columns(['environment', 'seq', 'id']).execute();
        await db.schema.dropIndex('operations_by_environment').execute();
        // Rate-limit counts are written on every request: without the write-ahead log they cost
        // no flush to disk. A crash of the server (or a failover) empties the table, so the
        // current minute's counts start again; nothing else is lost.
        if (dialect === 'postgres') await sql`alter table rate_limits set unlogged`.execute(db);
      },
    },
  };
}
