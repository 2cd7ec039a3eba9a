// Resident language hosts: one Node process per stack that keeps @pulumi/pulumi and the
// providers' SDKs loaded between operations (resident-language-host.cjs says what it does and
// does not keep). The engine hands a run to the stack's host when the program can run there (a
// CommonJS package entry, no node argument that preloads code: what a bundle is) and the host is
// free; otherwise, and whenever a host cannot be had, the run is cold, as it always was.
//
// A host is retired (ended, replaced at the next run) after a run that did not end clean, after
// MAX_RUNS runs, when the program's node_modules (or npm's record of them) or node arguments
// change, when it died, and after IDLE_MS without a run, so an idle service does not keep a
// Node per stack in memory.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { statStamped } from '../file-stamp.js';
import { installedModules, NODE_PRELOAD_FLAGS, readProjectSettings } from './workspace.js';

const HOST_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'resident-language-host.cjs');
const START_TIMEOUT_MS = 30_000;
const ARM_TIMEOUT_MS = 5_000;
const MAX_RUNS = 100;
const IDLE_MS = 10 * 60_000;

/** A program a resident host can run: its entry file and the node_modules it loads packages from. */
export interface ResidentProgram {
  /** The program directory inside the workspace (where a cold run's node starts). */
  dir: string;
  /** The file the run script would require. */
  entry: string;
  modulesDir: string;
  /** Pulumi.yaml's nodeargs: a host is started with them, and serves only programs that ask for the same. */
  nodeArgs: string[];
}

/**
 * The resident form of the program in `workspaceDir`, or undefined when it must run cold: a
 * TypeScript or ES module program, a main that is not a package folder, node arguments that
 * preload code (a loader such as tsx), or no node_modules.
 */
export function residentProgram(workspaceDir: string): ResidentProgram | undefined {
  const settings = readProjectSettings(workspaceDir) as { runtime?: unknown; main?: string };
  const runtime = typeof settings.runtime === 'object' && settings.runtime ? settings.runtime as { name?: string; options?: Record<string, unknown> } : { name: settings.runtime as string };
  if (runtime.name !== 'nodejs' || runtime.options?.typescript !== false) return undefined;
  const { nodeargs } = runtime.options;
  if (nodeargs !== undefined && typeof nodeargs !== 'string') return undefined;
  const nodeArgs = nodeargs?.split(/\s+/).filter(Boolean) ?? [];
  // Code a node argument preloads would run once in a host, not once per run as it expects.
  if (nodeArgs.some((arg) => NODE_PRELOAD_FLAGS.includes(arg.split('=', 1)[0]!))) return undefined;
  const dir = resolve(workspaceDir, settings.main ?? '.');
  const entry = commonJsEntry(dir);
  const modulesDir = installedModules(workspaceDir);
  return entry && modulesDir ? { dir, entry, modulesDir, nodeArgs } : undefined;
}

/**
 * What a host was started for: the program's node_modules, as npm last wrote them (its
 * .package-lock.json: an install in place must not leave a host running the packages it
 * replaced), and the node arguments.
 */
function hostKindOf(program: ResidentProgram): string {
  let installed = '';
  try {
    installed = statStamped(join(program.modulesDir, '.package-lock.json')).stamp;
  } catch {
    // installed by another tool: the folder alone names it
  }
  return JSON.stringify([program.modulesDir, installed, program.nodeArgs]);
}

function commonJsEntry(dir: string): string | undefined {
  let manifest: { type?: string; main?: string; exports?: unknown } = {};
  try {
    manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as typeof manifest;
  } catch {
    return undefined; // a bundle always has one; without it the run script's search is not repeated here
  }
  if (manifest.type === 'module' || manifest.exports !== undefined) return undefined;
  const entry = resolve(dir, manifest.main ?? 'index.js');
  return ['.js', '.cjs'].includes(extname(entry)) ? entry : undefined;
}

/** What a host is told before a run: the run's id, and the program it may run. */
interface ArmedRun {
  id: string;
  dir: string;
  entry: string;
}

/** A host lent to one run. */
export interface HostLease {
  /** For the CLI's --client. */
  address: string;
  /** Ends the loan: `cliSucceeded` false (a failed or interrupted run) retires the host. */
  release(cliSucceeded: boolean): void;
}

interface Host {
  child: ChildProcess;
  address: string;
  /** The program's node_modules and node arguments, which the host was started with. */
  kind: string;
  runs: number;
  busy: boolean;
  idle?: NodeJS.Timeout;
  /** Set by the host's `ran` message: whether the last run ended clean. */
  lastRunClean?: boolean;
}

export class ResidentHosts {
  /** The host of each stack, once started. */
  private readonly live = new Map<string, Host>();
  /** Hosts being started, by stack. */
  private readonly starting = new Map<string, Promise<Host | undefined>>();
  /** Made at the first host's start (a Unix socket's path must be short: under the temp dir, not the data dir). */
  private socketDir: string | undefined;
  private sockets = 0;
  private stopped = false;

  /** `env` gives a host the environment a CLI of its stack gets (never the service's own secrets). */
  constructor(private readonly env: () => Record<string, string>, private readonly onProblem: (message: string) => void = () => undefined) {}

  /**
   * The stack's host, armed to run `program` (once, for the CLI that asks for its directory), or
   * undefined (the run goes cold) when it is busy or cannot be started.
   */
  async lend(environment: string, program: ResidentProgram, runId: string): Promise<HostLease | undefined> {
    if (this.stopped || this.starting.has(environment)) return undefined;
    let host = this.live.get(environment);
    if (host?.busy) return undefined;
    const kind = hostKindOf(program);
    const run = { id: runId, dir: program.dir, entry: program.entry };
    // A host that died (killed, out of memory) or was started for other packages is replaced.
    if (host && (!host.child.connected || host.kind !== kind)) {
      this.retire(environment, host);
      host = undefined;
    }
    if (!host) {
      // A new host is armed for this run as it starts: it answers before it loads the SDK, and
      // loads it while this run's CLI starts.
      const starting = this.start(environment, program, kind, run);
      this.starting.set(environment, starting);
      host = await starting.finally(() => this.starting.delete(environment));
      if (!host || this.stopped) return undefined;
      this.live.set(environment, host);
    } else {
      host.busy = true;
      clearTimeout(host.idle);
      host.lastRunClean = undefined;
      if (!(await this.arm(host, run))) {
        this.retire(environment, host);
        return undefined;
      }
    }
    host.runs++;
    const lent = host;
    return {
      address: lent.address,
      release: (cliSucceeded) => {
        lent.busy = false;
        // No `ran` message: the CLI stopped before its program started; the host ran nothing.
        const clean = cliSucceeded && lent.lastRunClean !== false;
        if (!clean || lent.runs >= MAX_RUNS || this.stopped) this.retire(environment, lent);
        else lent.idle = setTimeout(() => this.retire(environment, lent), IDLE_MS).unref();
      },
    };
  }

  /**
   * The service is stopping: idle hosts end now; a host still running a program (an operation
   * that outlived the drain) is let go, finishes that run for its CLI and then leaves.
   */
  stop(): void {
    this.stopped = true;
    for (const starting of this.starting.values()) void starting.then((host) => host?.child.kill('SIGTERM'));
    for (const [environment, host] of this.live) {
      if (host.busy && host.child.connected) host.child.disconnect();
      else this.retire(environment, host);
    }
    if (this.socketDir) rmSync(this.socketDir, { recursive: true, force: true });
  }

  private retire(environment: string, host: Host): void {
    clearTimeout(host.idle);
    if (this.live.get(environment) === host) this.live.delete(environment);
    if (host.child.exitCode === null && host.child.signalCode === null) host.child.kill('SIGTERM');
  }

  private start(environment: string, program: ResidentProgram, kind: string, run: ArmedRun): Promise<Host | undefined> {
    const { modulesDir, nodeArgs } = program;
    try {
      this.socketDir ??= mkdtempSync(join(tmpdir(), 'stackpilot-hosts-'));
    } catch (error) {
      this.onProblem(`no resident language host can be started (${(error as Error).message}); runs go cold`);
      return Promise.resolve(undefined);
    }
    // A Unix socket in a folder only this user can enter (mkdtemp makes it 0700): no other local
    // user can reach the host.
    const address = `unix:${join(this.socketDir, `${++this.sockets}.sock`)}`;
    const child = spawn('node', [...nodeArgs, HOST_SCRIPT, modulesDir, address], {
      cwd: dirname(modulesDir),
      env: this.env(),
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      detached: true, // its own process group: a signal to the service's group never reaches a run
    });
    // Neither keeps the service running: it stops them itself (stop()).
    child.unref();
    child.channel?.unref();
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (text: string) => (stderr = (stderr + text).slice(-4096)));
    return new Promise((settle) => {
      let settled = false;
      const fail = (why: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (child.exitCode === null) child.kill('SIGKILL');
        this.onProblem(`the resident language host of ${environment} did not start (${why}); its runs go cold`);
        settle(undefined);
      };
      const timer = setTimeout(() => fail('no answer'), START_TIMEOUT_MS);
      child.once('error', (error) => fail(error.message));
      child.once('exit', (code) => fail(`exited with ${code}: ${stderr.trim().split('\n').at(-1) ?? ''}`));
      // Started when it listens and holds this run: it loads the rest of the SDK after that.
      let listening = false;
      let armed = false;
      child.on('message', (message: { type: string; id?: string; message?: string }) => {
        if (message.type === 'failed') fail(message.message ?? 'no reason given');
        if (settled) return;
        if (message.type === 'listening') listening = true;
        if (message.type === 'armed' && message.id === run.id) armed = true;
        if (!listening || !armed) return;
        settled = true;
        clearTimeout(timer);
        child.removeAllListeners('exit');
        // Started for a run: busy from the start.
        const host: Host = { child, address, kind, runs: 0, busy: true };
        child.on('message', (later: { type: string; clean?: boolean; message?: string }) => {
          if (later.type === 'ran') host.lastRunClean = later.clean === true;
          // Loading the SDK failed after the host listened: the run it was lent to fails with its CLI.
          if (later.type === 'failed') this.onProblem(`the resident language host of ${environment} failed (${later.message ?? 'no reason given'}); it is replaced at the next run`);
        });
        child.once('exit', () => {
          clearTimeout(host.idle);
          if (this.live.get(environment) === host) this.live.delete(environment);
        });
        settle(host);
      });
      child.send({ type: 'arm', ...run }, (error) => error && fail(error.message));
    });
  }

  private arm(host: Host, run: ArmedRun): Promise<boolean> {
    return new Promise((settle) => {
      const timer = setTimeout(() => done(false), ARM_TIMEOUT_MS);
      const onMessage = (message: { type: string; id?: string }) => {
        if (message.type === 'armed' && message.id === run.id) done(true);
      };
      const done = (armed: boolean) => {
        clearTimeout(timer);
        host.child.off('message', onMessage);
        settle(armed);
      };
      host.child.on('message', onMessage);
      if (!host.child.connected) return done(false);
      host.child.send({ type: 'arm', ...run }, (error) => error && done(false));
    });
  }
}
