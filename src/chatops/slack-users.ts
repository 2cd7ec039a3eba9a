// Which Slack users may act, as whom: an admin maps a Slack user id to a principal and grants,
// never more than the admin holds (the same rule as for API keys).
import type { Actor } from '../auth/actor.js';
import type { Action, Governance } from '../auth/governance.js';
import { firstUngrantable } from '../auth/grant-rules.js';
import type { Grant } from '../auth/roles.js';
import { ForbiddenError, NotFoundError } from '../errors.js';
import type { SlackRepository, SlackUser } from '../store/slack-repository.js';

const administer = (name: string, target: string): Action => ({ name, target, permission: 'admin', secondFactor: true });

export class SlackUsers {
  constructor(private readonly governance: Governance, private readonly slack: SlackRepository) {}

  async put(actor: Actor, input: { slackUserId: string; principal: string; grants: Grant[] }): Promise<SlackUser> {
    const action = administer('mapSlackUser', `slack:${input.slackUserId}`);
    await this.governance.authorize(actor, action);
    const excess = firstUngrantable(actor.grants, input.grants);
    if (excess) {
      throw await this.governance.refuse(actor, action, new ForbiddenError('grant_exceeds_own', `${actor.principal} may not grant ${excess.role} on ${excess.environments === '*' ? '"*"' : excess.environments.join(', ')}`));
    }
    return this.governance.act(actor, action, (tx) => this.slack.putUser(tx, { ...input, createdBy: actor.principal }, Date.now()));
  }

  async list(actor: Actor): Promise<SlackUser[]> {
    await this.governance.authorize(actor, administer('listSlackUsers', 'slack'));
    return this.slack.users();
  }

  async remove(actor: Actor, slackUserId: string): Promise<void> {
    await this.governance.act(actor, administer('unmapSlackUser', `slack:${slackUserId}`), async (tx) => {
      if (!(await this.slack.deleteUser(tx, slackUserId))) throw new NotFoundError('slack_user_not_found', `Slack user ${slackUserId} is not mapped`);
    });
  }
}
