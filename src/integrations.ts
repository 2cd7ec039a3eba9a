// Issue 12's parts, wired in one place so service.ts only starts and stops them: webhooks
// (admin API, fan-out from the outbox, the sender), Slack ChatOps (commands, users, posts) and
// Prometheus metrics (registry, listener, timing consumer, refusal and delivery counts).
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { AuditTrail } from './auth/audit-trail.js';
import type { Governance } from './auth/governance.js';
import { SecretBox } from './auth/secret-box.js';
import { SlackChatOps, type ReleaseActions } from './chatops/slack-chatops.js';
import { SlackUsers } from './chatops/slack-users.js';
import type { Config } from './config.js';
import type { EnvironmentCatalog } from './environments/environment-catalog.js';
import type { EnvironmentStatusView } from './environments/environment-status.js';
import { startMetricsListener, type MetricsListener } from './metrics/metrics-endpoint.js';
import { ServiceMetrics } from './metrics/service-metrics.js';
import { SlackNotifier } from './notifications/slack-notifier.js';
import type { OutboxDispatcher } from './notifications/outbox-dispatcher.js';
import { parseAllowlist } from './notifications/webhooks/target-guard.js';
import { WebhookFanout } from './notifications/webhooks/webhook-fanout.js';
import { WebhookSender } from './notifications/webhooks/webhook-sender.js';
import { WebhookService } from './notifications/webhooks/webhook-service.js';
import type { OperationService } from './operations/operation-service.js';
import type { DialectName } from './store/migrations.js';
import { MetricsQueries } from './store/metrics-queries.js';
import type { Database } from './store/schema.js';
import { SlackRepository } from './store/slack-repository.js';
import { WebhookRepository } from './store/webhook-repository.js';

export interface Integrations {
  webhooks: WebhookService;
  slackUsers: SlackUsers;
  /** Present when STACKPILOT_SLACK_SIGNING_SECRET is set. */
  chatops?: SlackChatOps;
  metrics: ServiceMetrics;
  /** Serve /metrics on the main listener behind this token (instead of a listener of its own). */
  metricsToken?: string;
  sender: WebhookSender;
  /** The metrics listener's URL, when metrics have their own listener. */
  metricsUrl?: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface IntegrationDeps {
  db: Kysely<Database>;
  dialect: DialectName;
  governance: Governance;
  audit: AuditTrail;
  catalog: EnvironmentCatalog;
  operations: OperationService;
  environments: EnvironmentStatusView;
  dispatcher: OutboxDispatcher;
  owner: string;
  /** Program runs of this process's engine, by language host (resident, cold). */
  engineRuns?: () => Readonly<Record<string, number>>;
  /** Issue 10's release actions, for Slack's promote, rollback, approve and deploy with values. */
  releases?: ReleaseActions;
}

export function createIntegrations(config: Config, deps: IntegrationDeps, logger: Logger): Integrations {
  const box = new SecretBox(config.secretsPassphrase);
  const allow = parseAllowlist(config.webhookAllow);
  const metrics = new ServiceMetrics(new MetricsQueries(deps.db), deps.catalog.names, deps.engineRuns);
  deps.audit.onRefusal((reason, count) => metrics.authRefusals.inc({ reason }, count));

  const webhookRows = new WebhookRepository(deps.db, deps.dialect);
  const sender = new WebhookSender(webhookRows, box, logger.child({ component: 'webhooks' }), {
    owner: deps.owner, pollMs: config.pollMilliseconds, schedule: config.webhookRetrySeconds, allow,
    onAttempt: (result) => metrics.webhookDeliveries.inc({ result }),
  });
  const webhooks = new WebhookService(deps.governance, webhookRows, deps.catalog, box, allow, () => sender.kick());
  const slack = new SlackRepository(deps.db);
  const notifier = new SlackNotifier(slack, box, logger.child({ component: 'slack' }), {
    allow, apiUrl: config.slackApiUrl, botToken: config.slackBotToken, approvalChannel: config.slackApprovalChannel,
  });
  const chatops = config.slackSigningSecret
    ? new SlackChatOps(deps.governance, slack, deps.operations, deps.environments, box, {
      signingSecret: config.slackSigningSecret, publicUrl: config.publicUrl, releases: deps.releases,
    })
    : undefined;
  deps.dispatcher.register(new WebhookFanout(webhookRows, () => sender.kick()));
  deps.dispatcher.register(notifier);
  deps.dispatcher.register(metrics.timings);

  let listener: MetricsListener | undefined;
  const integrations: Integrations = {
    webhooks, slackUsers: new SlackUsers(deps.governance, slack), chatops, metrics, sender,
    metricsToken: config.metricsToken,
    async start() {
      if (!config.metricsToken) {
        listener = await startMetricsListener(metrics, config.metricsHost, config.metricsPort);
        integrations.metricsUrl = listener.url;
        logger.info({ metrics: listener.url }, 'metrics listening');
      }
      sender.start();
    },
    async stop() {
      await sender.stop();
      await notifier.settled();
      await listener?.close();
    },
  };
  return integrations;
}
