// A language host that stays up between runs of one stack's programs, so that an operation does
// not pay for a new Node process and for loading @pulumi/pulumi and the providers' SDKs again:
// the CLI attaches to it with `--client <address>`, as it does to the Automation API's inline
// programs, instead of starting `pulumi-language-nodejs` and a `node` under it.
//
// It is started by the service (ResidentHosts), never inside it: a program must not see the
// service's memory. One host serves one stack, with the environment that stack's CLI gets, and
// runs one program at a time, only the one the service announced (`arm`) for the directory the
// CLI then asks for; anything else that connects is refused. The service retires a host after a
// run that did not end clean (an error, a cancellation, a promise left running), so no state of a
// failed run reaches the next one.
//
// Plain CommonJS, run by plain node: it must load nothing (no tsx, no loader) that the program
// would not have had in a cold run. Every module of @pulumi/pulumi comes from the program's own
// node_modules (argv[2]), the same instance the program's `require('@pulumi/pulumi')` resolves to,
// since that package holds the run's state (engine connection, config, stack resource).
//
// What a run does mirrors @pulumi/pulumi's cmd/run (the cold path's run script) for a CommonJS
// entry: chdir to the program directory, require the entry afresh (the program's own modules are
// dropped from require's cache first; node_modules stay loaded, which is the point), call it when
// it is a function, and report an error the way the run script words it.
'use strict';
const moduleApi = require('node:module');
const { createRequire } = moduleApi;
const { join, sep } = require('node:path');
const { realpathSync } = require('node:fs');

// A host that has been idle a while collects its garbage: what its last run built is unreachable
// then, but V8 would keep the heap it grew to for as long as the host lives. Not after every run:
// a full collection costs about 40 ms of CPU, a tenth of an operation's, which stacks running at
// once would pay in time; between back-to-back runs V8's own collections keep the heap bounded.
// The function comes from a context of its own, so the program sees no global `gc` it would not
// have had in a cold run.
require('node:v8').setFlagsFromString('--expose-gc');
const collectGarbage = require('node:vm').runInNewContext('gc');
const IDLE_COLLECT_MS = 5_000;
let idleCollect;

const modulesDir = realpathSync(process.argv[2]);
const fromProject = createRequire(join(modulesDir, '..', 'resident-host.js'));
const fromPulumi = createRequire(fromProject.resolve('@pulumi/pulumi/package.json'));
const pulumiModule = (name) => fromPulumi(`./${name}`);

// What the socket needs is loaded first: the host listens before the rest of @pulumi/pulumi
// loads (most of its start-up), so the CLI of the run that started it can be on its way
// meanwhile. A connection that comes early waits in the socket's backlog until the host serves.
const grpc = fromPulumi('@grpc/grpc-js');
const languageGrpc = pulumiModule('proto/language_grpc_pb');
const languageProto = pulumiModule('proto/language_pb');
const pluginProto = pulumiModule('proto/plugin_pb');
const settings = pulumiModule('runtime/settings');

let state, runtimeConfig, stack, debuggable, log, errors, defaultErrorMessage;
/** The rest of the SDK, loaded once the host listens; a Run waits for it. */
function loadRuntime() {
  // The run script installs source maps for stack traces before it loads the program.
  fromPulumi('source-map-support/register');
  state = pulumiModule('runtime/state');
  runtimeConfig = pulumiModule('runtime/config');
  stack = pulumiModule('runtime/stack');
  debuggable = pulumiModule('runtime/debuggable');
  log = pulumiModule('log');
  errors = pulumiModule('errors');
  ({ defaultErrorMessage } = pulumiModule('cmd/run/error'));
  // What `require('@pulumi/pulumi')` in the program loads: ready before its first run.
  fromProject('@pulumi/pulumi');
  // The SDK's leak check at exit is installed by the first promise it tracks and keeps the store
  // that promise was made in: made here, outside any run, it keeps no run's.
  debuggable.debuggablePromise(Promise.resolve(), 'resident language host');
  // The run script's first step: v8's inspector hooks, which serializing a function needs.
  return pulumiModule('runtime/closure/v8Hooks').isInitializedAsync();
}
let runtimeLoaded;
const runtimeReady = new Promise((resolve) => (runtimeLoaded = resolve));

/** The run the service announced ({ id, dir, entry }): taken by the first Run for the program directory `dir`. */
let armed;
let running = false;
let orphaned = false;

function samePath(a, b) {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
}

function send(message) {
  if (process.connected) process.send(message);
}

/** Drops the program's own modules (everything outside node_modules) from require's cache. */
function forgetProgramModules() {
  for (const file of Object.keys(require.cache)) {
    if (!file.startsWith(modulesDir + sep)) delete require.cache[file];
  }
}

/** The run script's wording of an error that ended a program (cmd/run/run.js, uncaughtHandler). */
function reportError(err, program) {
  if (errors.RunError.isInstance(err)) log.error(err.message);
  else if (err && (err.name === 'TSError' || err.name === SyntaxError.name)) {
    log.error(`Running program '${program}' failed with an unhandled exception:\n${err.message}`);
  } else if (errors.ResourceError.isInstance(err)) log.error(err.hideStack ? err.message : defaultErrorMessage(err), err.resource);
  else log.error(`Running program '${program}' failed with an unhandled exception:\n${defaultErrorMessage(err)}`);
}

/**
 * While a program runs, what it prints reaches the engine as info diagnostics, as a cold run's
 * output does (the CLI reads its language host's output and reports each line).
 */
function printedToEngine() {
  const streams = [process.stdout, process.stderr];
  const writes = streams.map((stream) => stream.write);
  let forwarding = false;
  streams.forEach((stream, i) => {
    stream.write = (chunk, encoding, done) => {
      // With no engine to send to, the SDK's log prints: that write goes out as it is.
      if (forwarding) return writes[i].call(stream, chunk, encoding, done);
      forwarding = true;
      try {
        log.info(String(chunk).replace(/\n$/, ''));
      } finally {
        forwarding = false;
      }
      if (typeof encoding === 'function') encoding();
      else if (typeof done === 'function') done();
      return true;
    };
  });
  return () => streams.forEach((stream, i) => (stream.write = writes[i]));
}

/**
 * Lets go of what the SDK keeps of a run after it ends, so that the run (its stack resource, and
 * through it the program's modules and all they hold) can be collected. The SDK's disconnect
 * closes only the engine connections made outside a per-run store; the run's own stay open, and
 * their channels' timers (grpc-js's idle timer: 30 minutes) hold the run's store. The stack
 * resource is also left on globalThis, for older copies of the SDK, and the program's modules in
 * require's cache until the next run.
 */
function releaseRun() {
  forgetProgramModules();
  const runSettings = state.getStore().settings;
  for (const client of [runSettings.monitor, runSettings.engine]) {
    try {
      client?.close();
    } catch {
      // closing a client that failed is not this run's concern
    }
  }
  runSettings.monitor = undefined;
  runSettings.engine = undefined;
  globalThis.stackResource = undefined;
}

async function runProgram(request, run) {
  const reported = new Set();
  let interrupted = false;
  // Named by its real path, as the run script names it.
  const programPath = realpathSync(run.entry);
  const onUncaught = (err) => {
    if (errors.isGrpcError(err)) interrupted = true; // the engine went away: cancelled, or the CLI died
    if (reported.has(err) || interrupted) return;
    reported.add(err);
    reportError(err, programPath);
  };
  process.chdir(run.dir);
  const args = request.getArgsList();
  settings.resetOptions(request.getProject(), request.getStack(), request.getParallel(), args.length > 0 ? args[0] : '',
    request.getMonitorAddress(), request.getDryrun(), request.getOrganization());
  const config = {};
  for (const [key, value] of request.getConfigMap()?.entries() ?? []) config[key] = value;
  runtimeConfig.setAllConfig(config, request.getConfigsecretkeysList() ?? []);
  process.setMaxListeners(settings.getMaximumListeners());
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onUncaught);
  const restoreOutput = printedToEngine();
  try {
    await stack.runInPulumiStack(async () => {
      forgetProgramModules();
      const exported = require(run.entry);
      // require() records the entry as a child of this module: dropped, or every run's module
      // tree would stay reachable from here.
      module.children.length = 0;
      return await (exported instanceof Function ? exported() : exported);
    });
    await settings.disconnect(true);
  } catch (err) {
    onUncaught(err);
    await settings.disconnect(false).catch(() => undefined);
  } finally {
    releaseRun();
    restoreOutput();
    process.off('uncaughtException', onUncaught);
    process.off('unhandledRejection', onUncaught);
  }
  const [leaks] = debuggable.leakedPromises();
  return { failed: reported.size > 0 || log.hasErrors(), interrupted, leaked: leaks.size };
}

const languageRuntime = {
  getRequiredPlugins(call, callback) {
    // Providers load on demand, as for the Automation API's inline programs (ours are installed).
    const response = new languageProto.GetRequiredPluginsResponse();
    response.setPluginsList([]);
    callback(null, response);
  },
  getPluginInfo(call, callback) {
    const info = new pluginProto.PluginInfo();
    info.setVersion('1.0.0');
    callback(null, info);
  },
  run(call, callback) {
    const request = call.request;
    const response = new languageProto.RunResponse();
    const run = armed;
    // The CLI sends the program's directory (Pulumi.yaml's main folder) as it resolved it.
    if (!run || running || !samePath(request.getPwd(), run.dir)) {
      response.setError('this language host runs only the program Stackpilot started this run for');
      callback(null, response);
      return;
    }
    armed = undefined;
    running = true;
    // The engine gave up on the run (the operation was cancelled, its CLI ended): as a cold run's
    // node is stopped then, this process ends, and with it whatever the program still had going.
    call.on('cancelled', () => {
      if (!running) return;
      send({ type: 'ran', id: run.id, clean: false });
      process.exit(0);
    });
    runtimeReady.then(() => state.withLocalStorage(() => runProgram(request, run))).then(
      (outcome) => {
        if (outcome.failed) response.setBail(true); // the error is already in the engine's diagnostics
        send({ type: 'ran', id: run.id, clean: !outcome.failed && !outcome.interrupted && outcome.leaked === 0 });
        callback(null, response);
      },
      (err) => {
        send({ type: 'ran', id: run.id, clean: false });
        response.setError(err instanceof Error ? err.message : String(err));
        callback(null, response);
      },
    ).finally(() => {
      running = false;
      // Node writes its compile cache when a process exits; this one stays, so it writes it here
      // (what the run compiled for the first time: nothing, once the host is warm).
      moduleApi.flushCompileCache?.();
      idleCollect = setTimeout(collectGarbage, IDLE_COLLECT_MS).unref();
      if (orphaned) process.exit(0);
    });
  },
};

process.on('message', (message) => {
  if (message && message.type === 'arm') {
    armed = { id: message.id, dir: message.dir, entry: message.entry };
    clearTimeout(idleCollect);
    send({ type: 'armed', id: message.id });
  }
});
// The service is gone: a run in progress, or one announced whose CLI is starting, is finished
// (its CLI does not depend on the service, and the next service process recovers the
// operation), then the host leaves.
const ARMED_WAIT_MS = 30_000;
process.on('disconnect', () => {
  orphaned = true;
  if (running) return;
  if (!armed) process.exit(0);
  setTimeout(() => running || process.exit(0), ARMED_WAIT_MS).unref();
});

const server = new grpc.Server(settings.grpcChannelOptions);
server.addService(languageGrpc.LanguageRuntimeService, languageRuntime);
server.bindAsync(process.argv[3], grpc.ServerCredentials.createInsecure(), (error) => {
  if (error) {
    send({ type: 'failed', message: error.message });
    process.exit(1);
  }
  send({ type: 'listening' });
  // After the poll that reads the service's first `arm` (sent as the host started), so the host
  // answers it before it spends its start-up loading.
  setImmediate(() => {
    // A throw from loadRuntime becomes this promise's rejection.
    new Promise((resolve) => resolve(loadRuntime())).then(runtimeLoaded, (err) => {
      send({ type: 'failed', message: err instanceof Error ? err.message : String(err) });
      process.exit(1);
    });
  });
});
