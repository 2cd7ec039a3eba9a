// Slack ChatOps as the domain sees it: a signed request becomes an Actor (the principal and
// grants an admin mapped the Slack user to), then the same domain calls the API makes, decided
// and audited by governance. Every refusal is audited: bad signatures, stale or replayed
// requests, malformed bodies, unknown commands, unmapped users (who get a polite answer). A
// queued operation is acknowledged at once; its progress is posted later to response_url.
import type { Actor } from '../auth/actor.js';
import type { Action, Governance } from '../auth/governance.js';
import { PROTECTED_ENVIRONMENT } from '../auth/roles.js';
import type { SecretBox } from '../auth/secret-box.js';
import type { EnvironmentStatusView } from '../environments/environment-status.js';
import { DomainError, ForbiddenError, InvalidInputError } from '../errors.js';
import type { OperationService } from '../operations/operation-service.js';
import type { Operation } from '../operations/operation.js';
import type { SlackRepository } from '../store/slack-repository.js';
import { parseCommand, type ParsedCommand } from './slack-commands.js';
import { MAX_AGE_SECONDS, verifySlackSignature, type SignedRequest } from './slack-signature.js';

export interface SlackMessage {
  response_type: 'ephemeral' | 'in_channel';
  text: string;
  replace_original?: boolean;
}

/** What issue 10 (releases) provides; until it is wired, these commands answer that they are not available. */
export interface ReleaseActions {
  promote(actor: Actor, environment: string): Promise<Operation>;
  rollback(actor: Actor, environment: string): Promise<Operation>;
  decide(actor: Actor, operationId: string, decision: 'approve' | 'reject', comment?: string): Promise<Operation>;
  deployWithConfig(actor: Actor, environment: string, set: Record<string, string>): Promise<Operation>;
}

const ephemeral = (text: string): SlackMessage => ({ response_type: 'ephemeral', text });
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export class SlackChatOps {
  constructor(
    private readonly governance: Governance,
    private readonly slack: SlackRepository,
    private readonly operations: OperationService,
    private readonly environments: EnvironmentStatusView,
    private readonly box: SecretBox,
    private readonly settings: { signingSecret: string; publicUrl?: string; releases?: ReleaseActions },
  ) {}

  /** A slash command: verified, parsed, run as the mapped user. */
  async command(request: SignedRequest, source: string): Promise<SlackMessage> {
    const form = await this.verified(request, source, 'slackCommand');
    const userId = form.get('user_id') ?? '';
    const responseUrl = form.get('response_url') ?? '';
    const stranger = strangerActor(userId, source);
    const action: Action = { name: 'slackCommand', target: `slack:${(form.get('text') ?? '').slice(0, 100)}`, permission: 'authenticated' };
    if (!/^[UW][A-Z0-9]{2,20}$/.test(userId) || !form.get('command') || !/^https:\/\/|^http:\/\//.test(responseUrl)) {
      throw await this.governance.refuse(stranger, action, new InvalidInputError('invalid_slack_request', 'the request lacks user_id, command or response_url'));
    }
    let parsed: ParsedCommand;
    try {
      parsed = parseCommand(form.get('command')!, form.get('text') ?? '');
    } catch (error) {
      throw await this.governance.refuse(stranger, action, error as DomainError);
    }
    const actor = await this.actorFor(userId, source, action);
    if (!actor) return ephemeral(UNMAPPED);
    try {
      return await this.run(actor, parsed, responseUrl);
    } catch (error) {
      // Governance has audited it; the person gets the reason in words.
      if (error instanceof DomainError) return ephemeral(`:no_entry: ${error.message}`);
      throw error;
    }
  }

  /** A button press on an approval request: approve or reject, under the same rules as the API. */
  async interaction(request: SignedRequest, source: string): Promise<SlackMessage> {
    const form = await this.verified(request, source, 'slackInteraction');
    const payload = parsePayload(form.get('payload'));
    const action: Action = { name: 'slackInteraction', target: `operation:${payload?.operationId ?? '?'}`, permission: 'authenticated' };
    if (!payload) {
      throw await this.governance.refuse(strangerActor('', source), action, new InvalidInputError('invalid_slack_request', 'payload is not a block_actions payload with an approve or reject button'));
    }
    const actor = await this.actorFor(payload.userId, source, action);
    if (!actor) return ephemeral(UNMAPPED);
    try {
      const operation = await this.operations.get(actor, payload.operationId);
      await this.refuseUnfitApprover(actor, action, operation);
      const decided = await this.releases().decide(actor, operation.id, payload.decision, `from Slack by ${payload.userId}`);
      return { response_type: 'in_channel', replace_original: true, text: `${payload.decision === 'approve' ? ':white_check_mark: Approved' : ':x: Rejected'} by ${actor.principal}: ${decided.type} of ${decided.environment} (${decided.id}) is ${decided.status}` };
    } catch (error) {
      if (error instanceof DomainError) return ephemeral(`:no_entry: ${error.message}`);
      throw error;
    }
  }

  private async run(actor: Actor, { name, args }: ParsedCommand, responseUrl: string): Promise<SlackMessage> {
    const [first = '', ...rest] = args;
    switch (name) {
      case 'status':
        return ephemeral(await this.status(actor, first || undefined));
      case 'preview':
        return this.queued(responseUrl, await this.operations.enqueue(actor, first, { type: 'preview', scope: 'all', message: 'from Slack' }).then((r) => r.operation));
      case 'deploy':
        return this.queued(responseUrl, rest.length
          ? await this.releases().deployWithConfig(actor, first, parseValues(rest))
          : (await this.operations.enqueue(actor, first, { type: 'update', scope: 'all', message: 'from Slack' })).operation);
      case 'promote':
        return this.queued(responseUrl, await this.releases().promote(actor, first));
      case 'rollback':
        return this.queued(responseUrl, await this.releases().rollback(actor, first));
      case 'approve':
      case 'reject': {
        if (!UUID.test(first)) throw new InvalidInputError('invalid_command', `${JSON.stringify(first.slice(0, 40))} is not an operation id`);
        const operation = await this.operations.get(actor, first);
        await this.refuseUnfitApprover(actor, { name: 'slackCommand', target: `operation:${first}`, permission: 'authenticated' }, operation);
        const decided = await this.releases().decide(actor, first, name);
        return ephemeral(`${name === 'approve' ? 'Approved' : 'Rejected'}: ${decided.type} of ${decided.environment} (${decided.id}) is ${decided.status}`);
      }
    }
  }

  private async status(actor: Actor, environment?: string): Promise<string> {
    const list = environment ? [await this.environments.get(actor, environment)] : await this.environments.list(actor);
    return list.map((e) => `*${e.name}*: ${e.status}, ${e.queueLength} queued, ${e.resourceCount ?? '-'} resources${e.lastOperation ? `; last ${e.lastOperation.type} ${e.lastOperation.status}` : ''}`).join('\n');
  }

  /** The acknowledgement, and where progress goes: at most five posts to response_url within 30 minutes. */
  private async queued(responseUrl: string, operation: Operation): Promise<SlackMessage> {
    await this.slack.addReply(operation.id, this.box.seal(responseUrl), Date.now());
    return ephemeral(`Queued ${operation.type} of ${operation.environment}: operation ${operation.id}. Progress follows here.`);
  }

  /**
   * The rules the API applies to approvers, checked before anything is decided: nobody approves
   * their own request; and a Slack identity carries no second factor, which production
   * approvals need, so those are refused with a link to where they can be made (the dashboard,
   * or the CLI with a session).
   */
  private async refuseUnfitApprover(actor: Actor, action: Action, operation: Operation): Promise<void> {
    const scoped = { ...action, environment: operation.environment };
    if (operation.requestedBy === actor.principal) {
      throw await this.governance.refuse(actor, scoped, new ForbiddenError('approver_is_requester', `${actor.principal} asked for operation ${operation.id}: someone else must decide it`));
    }
    if (operation.environment !== PROTECTED_ENVIRONMENT) return;
    const where = this.settings.publicUrl ? ` at ${this.settings.publicUrl}/operations/${operation.id}` : ' on the dashboard, or with the CLI and a session';
    throw await this.governance.refuse(actor, scoped, new ForbiddenError('second_factor_required', `production approvals need a second factor: decide${where}`));
  }

  private releases(): ReleaseActions {
    if (this.settings.releases) return this.settings.releases;
    throw new ForbiddenError('not_available', 'releases (configuration values, promotion, rollback, approvals) are not available on this server yet');
  }

  /** Checks the signature, the timestamp and that the request was not seen before; every refusal is audited. */
  private async verified(request: SignedRequest, source: string, name: string): Promise<URLSearchParams> {
    const action = { name, target: 'slack', permission: 'authenticated' as const };
    try {
      const signature = verifySlackSignature(request, this.settings.signingSecret);
      if (!(await this.slack.firstSighting(signature, Date.now(), 2 * MAX_AGE_SECONDS * 1000))) {
        throw new ForbiddenError('slack_replay', 'this signed request was already received');
      }
    } catch (error) {
      if (error instanceof DomainError) throw await this.governance.refuse(strangerActor('', source), action, error);
      throw error;
    }
    return new URLSearchParams(request.rawBody);
  }

  /** The mapped user as an Actor, or undefined after auditing the refusal of an unmapped one. */
  private async actorFor(userId: string, source: string, action: Action): Promise<Actor | undefined> {
    const user = await this.slack.user(userId);
    if (user) return { principal: user.principal, kind: 'slack', credentialId: `slack:${userId}`, grants: user.grants, secondFactor: false, source };
    await this.governance.refuse(strangerActor(userId, source), action, new ForbiddenError('slack_user_unmapped', `Slack user ${userId} is not mapped to a principal`));
    return undefined;
  }
}

const UNMAPPED = "Sorry, your Slack account isn't linked to Stackpilot yet. Ask a Stackpilot admin to map it (POST /v1/chatops/slack/users).";

function strangerActor(userId: string, source: string): Actor {
  return { principal: userId ? `slack:${userId}` : 'anonymous', kind: 'slack', credentialId: null, grants: [], secondFactor: false, source };
}

function parseValues(words: string[]): Record<string, string> {
  const values: Record<string, string> = {};
  for (const word of words) {
    const at = word.indexOf('=');
    if (at <= 0) throw new InvalidInputError('invalid_command', `${JSON.stringify(word.slice(0, 40))} is not key=value`);
    values[word.slice(0, at)] = word.slice(at + 1);
  }
  return values;
}

/** The one button pressed, from a block_actions payload. */
function parsePayload(text: string | null): { userId: string; operationId: string; decision: 'approve' | 'reject' } | undefined {
  try {
    const payload = JSON.parse(text ?? '') as { type?: string; user?: { id?: string }; actions?: Array<{ action_id?: string; value?: string }> };
    const action = payload.actions?.[0];
    if (payload.type !== 'block_actions' || !payload.user?.id || !action?.value || !UUID.test(action.value)) return undefined;
    if (action.action_id !== 'approve' && action.action_id !== 'reject') return undefined;
    return { userId: payload.user.id, operationId: action.value, decision: action.action_id };
  } catch {
    return undefined;
  }
}
