// Row types of every table, as Kysely sees them. Times are epoch milliseconds (bigint in
// PostgreSQL, parsed to number by the connection; integer in SQLite).
import type { Generated } from 'kysely';

export interface OperationsTable {
  seq: Generated<number>;
  id: string;
  environment: string;
  type: string;
  scope: string;
  message: string | null;
  status: string;
  requested_by: string;
  idempotency_key: string | null;
  request_hash: string | null;
  queued_at: number;
  started_at: number | null;
  finished_at: number | null;
  lease_owner: string | null;
  lease_expires_at: number | null;
  cancel_requested: Generated<number>;
  engine_pid: number | null;
  engine_host: string | null;
  summary: string | null;
  outputs: string | null;
  resource_count: number | null;
  warnings: string | null;
  error: string | null;
  pulumi_version: string | null;
  spec: string | null;
  error_code: string | null;
  engine_cli_pid: number | null;
  config_version: number | null;
  program_digest: string | null;
  /** The saved plan an operation on a protected environment waits on (JSON), once planned. */
  plan: string | null;
  awaiting_since: number | null;
  /** 1 when maintenance windows hold it: its kind waits for them and nobody bypassed them. */
  held_by_windows: Generated<number>;
  /** While scheduled: when its environment's window next opens. */
  not_before: number | null;
  /** When its second advance notice was claimed (or that none is needed). */
  upcoming_notice_at: number | null;
}

export interface OperationEventsTable {
  operation_id: string;
  sequence: number;
  event_type: string;
  payload: string;
}

export interface OperationOutputTable {
  operation_id: string;
  chunk: number;
  text: string;
}

export interface ApiKeysTable {
  id: string;
  prefix: string;
  hash: string;
  name: string;
  principal: string;
  grants: string;
  created_at: number;
  expires_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
  replaced_by: string | null;
  grace_until: number | null;
  second_factor: string | null;
  bootstrap: Generated<number>;
}

export interface TotpEnrolmentsTable {
  principal: string;
  secret: string;
  confirmed: Generated<number>;
  last_step: Generated<number>;
}

export interface SessionsTable {
  id: string;
  hash: string;
  principal: string;
  key_id: string;
  created_at: number;
  expires_at: number;
  last_seen_at: number;
  revoked_at: number | null;
  /** 1 when opened with a TOTP code; 0 for a dashboard sign-in with a key alone. */
  second_factor: number;
}

/** One row: changes whenever a credential may have stopped being valid (migration 0011). */
export interface CredentialsVersionTable {
  id: number;
  version: string;
}

export interface AuthFailuresTable {
  source: string;
  /** `source:<address>` or `principal:<name>`. */
  subject: string | null;
  at: number;
}

export interface AuditLogTable {
  seq: Generated<number>;
  at: number;
  principal: string;
  credential_id: string | null;
  source: string;
  action: string;
  target: string;
  result: string;
  reason: string | null;
  status: number | null;
  prev_hash: string;
  hash: string;
  environment: Generated<string | null>;
  repeats: Generated<number>;
  chain_version: Generated<number>;
}

export interface OutboxTable {
  seq: Generated<number>;
  kind: string;
  environment: string | null;
  operation_id: string | null;
  payload: string;
  created_at: number;
}

export interface OutboxConsumersTable {
  name: string;
  position: Generated<number>;
  lease_owner: string | null;
  lease_expires_at: number | null;
}

export interface RateLimitsTable {
  key: string;
  window_start: number;
  hits: number;
}

export interface StacksTable {
  environment: string;
  encryption_salt: string;
  created_at: number;
}

export interface ConfigVersionsTable {
  environment: string;
  version: number;
  /** The `config:` map of a stack file, as JSON; secrets are `{secure: ciphertext}`. */
  config: string;
  encryption_salt: string | null;
  author: string;
  message: string | null;
  file_digest: string | null;
  created_at: number;
}

export interface PlanFilesTable {
  operation_id: string;
  content: string;
}

export interface ApprovalsTable {
  seq: Generated<number>;
  operation_id: string;
  principal: string;
  credential_id: string | null;
  decision: string;
  comment: string | null;
  created_at: number;
}

export interface ReleasesTable {
  seq: Generated<number>;
  id: string;
  environment: string;
  number: number;
  config_version: number;
  program_digest: string;
  images: string;
  operation_id: string;
  requested_by: string;
  approved_by: string;
  status: string;
  created_at: number;
  /** verifying | verified | failed_verification | inconclusive; null where the environment had no health checks. */
  verification: string | null;
}

export interface WebhooksTable {
  seq: Generated<number>;
  id: string;
  url: string;
  events: string;
  environments: string;
  /** Sealed with the service's SecretBox. */
  secret: string;
  created_by: string;
  created_at: number;
  disabled_at: number | null;
  disabled_reason: string | null;
  deleted_at: number | null;
}

export interface WebhookDeliveriesTable {
  seq: Generated<number>;
  id: string;
  webhook_id: string;
  event_seq: number;
  event: string;
  environment: string | null;
  payload: string;
  status: string;
  attempts: Generated<number>;
  next_attempt_at: number;
  last_status: number | null;
  last_error: string | null;
  created_at: number;
  delivered_at: number | null;
  lease_owner: string | null;
  lease_expires_at: number | null;
}

export interface SlackUsersTable {
  slack_user_id: string;
  principal: string;
  grants: string;
  created_by: string;
  created_at: number;
}

export interface SlackSeenRequestsTable {
  signature: string;
  seen_at: number;
}

export interface SlackRepliesTable {
  operation_id: string;
  /** Sealed with the service's SecretBox: it lets anyone post into the conversation. */
  response_url: string;
  posts: Generated<number>;
  created_at: number;
}

export interface StateBackupsTable {
  seq: Generated<number>;
  id: string;
  environment: string;
  /** The operation after which (or, for a restore, before which) it was taken. */
  operation_id: string | null;
  reason: string;
  sha256: string;
  size: number;
  resource_count: number;
  created_at: number;
}

export interface DriftStatesTable {
  environment: string;
  operation_id: string;
  status: string;
  /** JSON: [{urn, type, change}] */
  resources: string;
  checked_at: number;
}

export interface MaintenanceCalendarsTable {
  environment: string;
  windows: string;
  freezes: string;
  notice_hours: number;
  updated_by: string;
  updated_at: number;
}

export interface DriftSchedulesTable {
  environment: string;
  cron: string;
  remediate: number;
  next_due_at: number;
  updated_by: string;
  updated_at: number;
}

export interface RepairSessionsTable {
  id: string;
  environment: string;
  opened_by: string;
  reason: string;
  backup_id: string | null;
  opened_at: number;
  /** Closed by expiry once unused past this. */
  idle_until: number;
  closed_at: number | null;
  closed_by: string | null;
}

export interface Database {
  operations: OperationsTable;
  operation_events: OperationEventsTable;
  operation_output: OperationOutputTable;
  api_keys: ApiKeysTable;
  totp_enrolments: TotpEnrolmentsTable;
  sessions: SessionsTable;
  auth_failures: AuthFailuresTable;
  credentials_version: CredentialsVersionTable;
  audit_log: AuditLogTable;
  outbox: OutboxTable;
  outbox_consumers: OutboxConsumersTable;
  rate_limits: RateLimitsTable;
  stacks: StacksTable;
  config_versions: ConfigVersionsTable;
  plan_files: PlanFilesTable;
  approvals: ApprovalsTable;
  releases: ReleasesTable;
  webhooks: WebhooksTable;
  webhook_deliveries: WebhookDeliveriesTable;
  slack_users: SlackUsersTable;
  slack_seen_requests: SlackSeenRequestsTable;
  slack_replies: SlackRepliesTable;
  state_backups: StateBackupsTable;
  drift_states: DriftStatesTable;
  drift_schedules: DriftSchedulesTable;
  maintenance_calendars: MaintenanceCalendarsTable;
  repair_sessions: RepairSessionsTable;
  health_checks: HealthChecksTable;
  release_verifications: ReleaseVerificationsTable;
}

export interface HealthChecksTable {
  environment: string;
  spec: string;
  updated_by: string;
  updated_at: number;
}

export interface ReleaseVerificationsTable {
  release_id: string;
  environment: string;
  release_number: number;
  status: string;
  spec: string;
  progress: string;
  may_roll_back: number;
  started_at: number;
  bake_until: number;
  finished_at: number | null;
  reason: string | null;
  rollback_operation_id: string | null;
  lease_owner: string | null;
  lease_expires_at: number | null;
}
