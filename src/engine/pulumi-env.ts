// The one place that decides the environment of every Pulumi CLI process the service or the
// tests start: nothing else sets PULUMI_* variables. Each spawn gets a fresh copy (see
// PulumiEngine.spawnEnv), so no run's variables leak into another's.
import { dirname } from 'node:path';
import { toolchainPaths } from '../../toolchain/versions.mjs';

export interface PulumiEnvOptions {
  /** State backend, for example file:///abs/dir or postgres://... */
  backendUrl: string;
  /** A file holding the passphrase of the passphrase secrets provider (never the passphrase itself in a variable). */
  passphraseFile: string;
  /** Where the toolchain lives; defaults to the cache `npm run setup` fills. */
  toolchain?: { bin: string; pulumiHome: string };
  /** The PATH to put behind the toolchain's bin and the runtime Node (config.path). */
  path: string;
  /** Extra variables for the program, for example KUBECONFIG. */
  extra?: Record<string, string>;
}

export function pulumiEnv(options: PulumiEnvOptions): Record<string, string> {
  const toolchain = options.toolchain ?? toolchainPaths();
  return {
    ...options.extra,
    // The toolchain's bin first (its pulumi, its language host, its kubectl), then the Node the
    // service runs on, which the language host starts programs with.
    PATH: [toolchain.bin, dirname(process.execPath), options.path].join(':'),
    PULUMI_HOME: toolchain.pulumiHome,
    PULUMI_BACKEND_URL: options.backendUrl,
    PULUMI_CONFIG_PASSPHRASE_FILE: options.passphraseFile,
    PULUMI_SKIP_UPDATE_CHECK: 'true',
    // A missing plugin then fails at once ("plugin NAME VERSION not installed") instead of
    // trying a download that cannot succeed here.
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: 'true',
    // Providers come from PULUMI_HOME at their exact versions, never from PATH.
    PULUMI_IGNORE_AMBIENT_PLUGINS: 'true',
    PULUMI_SKIP_CONFIRMATIONS: 'true',
    // The CLI accepts --event-log only with this, as the Automation API sets it.
    PULUMI_DEBUG_COMMANDS: 'true',
    PULUMI_AUTOMATION_API: 'true',
    NO_COLOR: '1',
  };
}
