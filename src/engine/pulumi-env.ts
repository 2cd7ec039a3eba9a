// The one place that decides the environment of every Pulumi CLI process the service or the
// tests start. Nothing else sets PULUMI_* variables.
//
// The Automation API layers these over the service's own process.env (execa's extendEnv), so
// secrets the service itself was given are removed from process.env once config is read
// (see config.ts); what is set here always wins.
import { toolchainPaths } from '../../toolchain/versions.mjs';

export interface PulumiEnvOptions {
  /** State backend, for example file:///abs/dir or postgres://... */
  backendUrl: string;
  /** Passphrase of the passphrase secrets provider. */
  passphrase: string;
  /** Where the toolchain lives; defaults to the cache `npm run setup` fills. */
  toolchain?: { bin: string; pulumiHome: string };
  /** The PATH to put behind the toolchain's bin (config.path). */
  path: string;
  /** Extra variables for the program, for example KUBECONFIG. */
  extra?: Record<string, string>;
}

export function pulumiEnv(options: PulumiEnvOptions): Record<string, string> {
  const toolchain = options.toolchain ?? toolchainPaths();
  return {
    ...options.extra,
    // The toolchain's bin first: its pulumi, its language host, its kubectl.
    PATH: [toolchain.bin, options.path].join(':'),
    PULUMI_HOME: toolchain.pulumiHome,
    PULUMI_BACKEND_URL: options.backendUrl,
    PULUMI_CONFIG_PASSPHRASE: options.passphrase,
    PULUMI_SKIP_UPDATE_CHECK: 'true',
    // A missing plugin then fails at once ("plugin NAME VERSION not installed") instead of
    // trying a download that cannot succeed here.
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: 'true',
    // Providers come from PULUMI_HOME at their exact versions, never from PATH.
    PULUMI_IGNORE_AMBIENT_PLUGINS: 'true',
    PULUMI_SKIP_CONFIRMATIONS: 'true',
    NO_COLOR: '1',
  };
}
