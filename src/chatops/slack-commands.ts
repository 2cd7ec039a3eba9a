// `/stackpilot <command> [arguments]`: the commands, one table. Parsing only: what each does is
// in slack-chatops.ts. Anything not in the table is an unknown command (a 400, audited).
import { InvalidInputError } from '../errors.js';

export type SlackCommandName = 'status' | 'preview' | 'deploy' | 'promote' | 'rollback' | 'approve' | 'reject';

interface CommandShape {
  usage: string;
  /** How many words after the command it takes: [at least, at most]. */
  words: [number, number];
}

export const SLACK_COMMANDS: Readonly<Record<SlackCommandName, CommandShape>> = {
  status: { usage: 'status [env]', words: [0, 1] },
  preview: { usage: 'preview <env>', words: [1, 1] },
  deploy: { usage: 'deploy <env> [key=value…]', words: [1, 50] },
  promote: { usage: 'promote <env>', words: [1, 1] },
  rollback: { usage: 'rollback <env>', words: [1, 1] },
  approve: { usage: 'approve <operation id>', words: [1, 1] },
  reject: { usage: 'reject <operation id>', words: [1, 1] },
};

export interface ParsedCommand {
  name: SlackCommandName;
  args: string[];
}

export const USAGE = Object.values(SLACK_COMMANDS).map((c) => `/stackpilot ${c.usage}`).join('\n');

export function parseCommand(slashCommand: string, text: string): ParsedCommand {
  if (slashCommand !== '/stackpilot') throw new InvalidInputError('unknown_command', `unknown slash command ${JSON.stringify(slashCommand.slice(0, 40))}: this endpoint serves /stackpilot`, { field: 'command' });
  const [name = '', ...args] = text.trim().split(/\s+/).filter(Boolean);
  const shape = (SLACK_COMMANDS as Record<string, CommandShape | undefined>)[name];
  if (!shape) throw new InvalidInputError('unknown_command', `unknown command ${JSON.stringify(name.slice(0, 40))}; try:\n${USAGE}`, { field: 'text' });
  if (args.length < shape.words[0] || args.length > shape.words[1]) throw new InvalidInputError('invalid_command', `usage: /stackpilot ${shape.usage}`, { field: 'text' });
  return { name: name as SlackCommandName, args };
}
