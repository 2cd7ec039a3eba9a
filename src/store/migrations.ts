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
  };
}
