// The `stackpilot` command: CI's and people's way to the API, through the generated client.
// STACKPILOT_URL and STACKPILOT_TOKEN (or GitHub Actions OIDC) say where and as whom; exit
// codes say how it ended (exit-codes.ts): 0 succeeded, 1 failed, 2 cancelled, 3 awaiting
// approval, scheduled or timed out, 4 a usage or authentication error.
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { unreachable } from './api-answers.js';
import { CLI_VERSION, apiClient } from './client.js';
import { configChanges, parseSecret, parseSet } from './config-arguments.js';
import { connectionFrom } from './credentials.js';
import { CliError, EXIT, type ExitCode } from './exit-codes.js';
import { cancel, queueOperation, type Waiting } from './operation-commands.js';
import { consoleContext, type Context } from './output.js';
import { environmentStatus, listEnvironments, listOperations, operationLogs } from './read-commands.js';
import { decide, promote, rollback } from './release-commands.js';

const SCOPES = ['all', 'infrastructure', 'workloads'] as const;

/** Wraps a parser so commander reports its failure as a usage error. */
const argument = <T>(parse: (value: string, previous: T) => T) => (value: string, previous: T) => {
  try {
    return parse(value, previous);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
};

const waitingOptions = (command: Command) => command
  .option('--wait', 'wait for the operation to end (long poll)')
  .option('--follow', 'show the engine live until the operation ends')
  .addOption(new Option('--timeout <seconds>', 'stop waiting after this long (exit 3)').default(1800).argParser(argument((v) => positive(v))));

function positive(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${JSON.stringify(value)} is not a positive whole number`);
  return n;
}

export function buildProgram(run: (action: (context: Context) => Promise<ExitCode>) => Promise<void>): Command {
  const program = new Command('stackpilot')
    .description('Deploy, promote and follow Stackpilot environments (STACKPILOT_URL, STACKPILOT_TOKEN)')
    .version(CLI_VERSION)
    .option('--json', 'machine-readable output')
    .exitOverride()
    .showHelpAfterError('(stackpilot <command> --help shows its options)');

  program.command('envs').description('every environment and its status').action(() => run(listEnvironments));
  program.command('status <env>').description("an environment's status, last operation and outputs").action((env: string) => run((c) => environmentStatus(c, env)));
  program.command('ops <env>').description("an environment's operations, newest first")
    .addOption(new Option('--limit <n>', 'how many').default(20).argParser(argument((v) => positive(v))))
    .action((env: string, options: { limit: number }) => run((c) => listOperations(c, env, options.limit)));
  program.command('logs <op>').description("an operation's output; -f follows its events live")
    .option('-f, --follow', 'follow the events until the operation ends')
    .action((id: string, options: { follow?: boolean }) => run((c) => operationLogs(c, id, Boolean(options.follow))));
  program.command('cancel <op>').description('cancel a queued or running operation').action((id: string) => run((c) => cancel(c, id)));

  waitingOptions(program.command('preview <env>').description('queue a preview'))
    .option('-m, --message <text>', 'recorded with the operation')
    .addOption(new Option('--scope <scope>', 'which layer').choices(SCOPES))
    .action((env: string, options: Waiting & { message?: string; scope?: (typeof SCOPES)[number] }) =>
      run((c) => queueOperation(c, env, { type: 'preview', scope: options.scope, message: options.message }, options)));

  waitingOptions(program.command('deploy <env>').description('queue an update, optionally with configuration changes'))
    .option('--set <key=value>', 'a configuration value (repeatable)', argument(parseSet), {})
    .option('--secret <key=@file>', 'a secret configuration value read from a file (repeatable)', argument(parseSecret), {})
    .addOption(new Option('--scope <scope>', 'which layer').choices(SCOPES))
    .option('-m, --message <text>', 'recorded with the operation')
    .option('--idempotency-key <key>', 'a retry with the same key returns the same operation')
    .action((env: string, options: Waiting & { set: Record<string, string>; secret: Record<string, string>; scope?: (typeof SCOPES)[number]; message?: string; idempotencyKey?: string }) =>
      run((c) => queueOperation(c, env, {
        type: 'update', scope: options.scope, message: options.message, idempotencyKey: options.idempotencyKey,
        config: configChanges(options.set, options.secret),
      }, options)));

  waitingOptions(program.command('promote <env>').description("promote the previous environment's release into <env>"))
    .option('--from <env>', 'the environment to promote from (default: the previous in the pipeline)')
    .option('-m, --message <text>', 'recorded with the release')
    .action((env: string, options: Waiting & { from?: string; message?: string }) => run((c) => promote(c, env, options, options)));

  waitingOptions(program.command('rollback <env>').description('roll <env> back to a release (default: the previous one)'))
    .option('--to <release>', 'the release id to return to', 'previous')
    .option('-m, --message <text>', 'recorded with the rollback')
    .option('--emergency', 'roll back at once without waiting for approval, where the policy lets an admin with a session')
    .action((env: string, options: Waiting & { to?: string; message?: string; emergency?: boolean }) => run((c) => rollback(c, env, options, options)));

  for (const decision of ['approve', 'reject'] as const) {
    program.command(`${decision} <op>`).description(`${decision} an operation awaiting approval`)
      .option('-c, --comment <text>', 'recorded with the decision')
      .action((id: string, options: { comment?: string }) => run((c) => decide(c, decision, id, options.comment)));
  }
  return program;
}

/** Runs the CLI with these arguments; resolves with its exit code (never exits itself). */
export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let exitCode: number = EXIT.succeeded;
  const program = buildProgram(async (action) => {
    const connection = connectionFrom(env);
    const context = consoleContext(apiClient(connection), connection.baseUrl, Boolean(program.opts().json));
    try {
      exitCode = await action(context);
    } catch (error) {
      if (error instanceof CliError) throw error;
      if (error instanceof TypeError) throw unreachable(connection.baseUrl, error);
      throw error;
    }
  });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end with code 0; anything else commander refuses is a usage error.
      return error.exitCode === 0 ? EXIT.succeeded : EXIT.usage;
    }
    if (error instanceof CliError) {
      process.stderr.write(`stackpilot: ${error.message}\n`);
      return error.exitCode;
    }
    process.stderr.write(`stackpilot: ${(error as Error).message}\n`);
    return EXIT.failed;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) process.exitCode = await main(process.argv.slice(2));
