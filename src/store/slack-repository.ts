// Slack ChatOps rows: users mapped to principals, request signatures seen lately (replays are
// refused), and where the progress of operations queued from Slack is posted.
import type { Kysely } from 'kysely';
import type { Grant } from '../auth/roles.js';
import { isUniqueViolation } from './operation-repository.js';
import { isoTime } from './rows.js';
import type { Database } from './schema.js';

export interface SlackUser {
  slackUserId: string;
  principal: string;
  grants: Grant[];
  createdBy: string;
  createdAt: string;
}

export class SlackRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async user(slackUserId: string): Promise<SlackUser | undefined> {
    const row = await this.db.selectFrom('slack_users').selectAll().where('slack_user_id', '=', slackUserId).executeTakeFirst();
    return row && toUser(row);
  }

  async users(): Promise<SlackUser[]> {
    return (await this.db.selectFrom('slack_users').selectAll().orderBy('slack_user_id').execute()).map(toUser);
  }

  /** Maps a Slack user (again: a new mapping replaces the old one). */
  async putUser(tx: Kysely<Database>, user: { slackUserId: string; principal: string; grants: Grant[]; createdBy: string }, now: number): Promise<SlackUser> {
    await tx.deleteFrom('slack_users').where('slack_user_id', '=', user.slackUserId).execute();
    const row = await tx.insertInto('slack_users').values({
      slack_user_id: user.slackUserId, principal: user.principal, grants: JSON.stringify(user.grants), created_by: user.createdBy, created_at: now,
    }).returningAll().executeTakeFirstOrThrow();
    return toUser(row);
  }

  async deleteUser(tx: Kysely<Database>, slackUserId: string): Promise<boolean> {
    const result = await tx.deleteFrom('slack_users').where('slack_user_id', '=', slackUserId).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /** Records a request signature; false when it was seen before (a replay). Forgets those older than `keepMs`. */
  async firstSighting(signature: string, now: number, keepMs: number): Promise<boolean> {
    await this.db.deleteFrom('slack_seen_requests').where('seen_at', '<', now - keepMs).execute();
    try {
      await this.db.insertInto('slack_seen_requests').values({ signature, seen_at: now }).execute();
      return true;
    } catch (error) {
      if (isUniqueViolation(error) || (error as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') return false;
      throw error;
    }
  }

  async addReply(operationId: string, sealedResponseUrl: string, now: number): Promise<void> {
    await this.db.insertInto('slack_replies').values({ operation_id: operationId, response_url: sealedResponseUrl, created_at: now })
      .onConflict((oc) => oc.column('operation_id').doNothing()).execute();
  }

  /** Takes one of the conversation's posts, if it has any left: its sealed response_url. */
  async takePost(operationId: string, maxPosts: number, since: number): Promise<string | undefined> {
    const row = await this.db.updateTable('slack_replies').set((eb) => ({ posts: eb('posts', '+', 1) }))
      .where('operation_id', '=', operationId).where('posts', '<', maxPosts).where('created_at', '>=', since)
      .returning('response_url').executeTakeFirst();
    return row?.response_url;
  }
}

function toUser(row: { slack_user_id: string; principal: string; grants: string; created_by: string; created_at: number }): SlackUser {
  return { slackUserId: row.slack_user_id, principal: row.principal, grants: JSON.parse(row.grants) as Grant[], createdBy: row.created_by, createdAt: isoTime(row.created_at)! };
}
