// The real node's configuration files: containerd's, the CNI network's, CoreDNS's, and the
// kubelet's (with its client certificate, signed by the cluster's CA). Every path the
// components would otherwise default to a system folder points into the node's own folder,
// so that `cluster down` can remove everything by removing that folder; the few paths that
// cannot be moved are listed in real-node-leftovers.mjs.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The pod network: one bridge on this machine, its first address is the pods' gateway and DNS server. */
export const POD_NETWORK = { bridge: 'stackpilot0', subnet: '10.244.0.0/24', gateway: '10.244.0.1', prefix: 24, name: 'stackpilot' };

/** Pods that must really run select this label and tolerate the taint of the same key (programs/placement.ts). */
export const REAL_NODE_LABEL = { key: 'stackpilot.local/node', value: 'real' };

export function nodePaths(dir) {
  return {
    dir,
    owner: join(dir, 'cluster'),
    socket: join(dir, 'containerd', 'containerd.sock'),
    containerdConfig: join(dir, 'containerd', 'config.toml'),
    containerdRoot: join(dir, 'containerd', 'root'),
    containerdState: join(dir, 'containerd', 'state'),
    runcRoot: join(dir, 'containerd', 'runc'),
    cniConfDir: join(dir, 'cni', 'net.d'),
    cniDataDir: join(dir, 'cni', 'ipam'),
    corefile: join(dir, 'coredns', 'Corefile'),
    kubeletRoot: join(dir, 'kubelet'),
    kubeletConfig: join(dir, 'kubelet-config.yaml'),
    kubeletKubeconfig: join(dir, 'kubelet.kubeconfig'),
    kubeletCert: join(dir, 'pki', 'kubelet.crt'),
    kubeletKey: join(dir, 'pki', 'kubelet.key'),
    podLogs: join(dir, 'pod-logs'),
    logs: join(dir, 'logs'),
  };
}

export function writeNodeConfig(paths, { nodeName, apiServer, pkiDir, adminKubeconfig, pauseImage }) {
  for (const dir of [paths.containerdRoot, paths.containerdState, paths.runcRoot, paths.cniConfDir, paths.cniDataDir,
    join(paths.corefile, '..'), paths.kubeletRoot, join(paths.kubeletCert, '..'), paths.podLogs, paths.logs]) {
    mkdirSync(dir, { recursive: true });
  }
  writeFileSync(paths.containerdConfig, containerdConfig(paths, pauseImage));
  writeFileSync(join(paths.cniConfDir, '10-stackpilot.conflist'), `${JSON.stringify(cniConfig(paths), null, 2)}\n`);
  writeFileSync(paths.corefile, corefile(adminKubeconfig));
  if (!existsSync(paths.kubeletCert)) kubeletCertificate(paths, nodeName, pkiDir);
  writeFileSync(paths.kubeletKubeconfig, kubeletKubeconfig(paths, apiServer, pkiDir));
  writeFileSync(paths.kubeletConfig, kubeletConfig(paths, pkiDir, nodeName));
}

/**
 * containerd with the CRI plugin. restrict_oom_score_adj: this machine does not grant
 * CAP_SYS_RESOURCE, and without it every sandbox fails ("can't get final child's PID from
 * pipe"). SystemdCgroup = false: cgroupfs, as the kubelet, since no systemd runs here. The
 * sandbox image is the locally built pause image: nothing can be pulled. Pods' network
 * namespaces are mounted under the state folder rather than /var/run/netns. The opt plugin
 * (which writes to /opt) and snapshotters never used here are disabled.
 */
function containerdConfig(paths, pauseImage) {
  return `# Written by Stackpilot's cluster script (toolchain/real-node-config.mjs).
version = 2
root = "${paths.containerdRoot}"
state = "${paths.containerdState}"
disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs"]

[grpc]
  address = "${paths.socket}"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${pauseImage}"
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "${paths.runcRoot}"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "${paths.cniConfDir}"
    max_conf_num = 1
`;
}

/**
 * One bridge, addresses from host-local (its allocations kept in the node's folder). No IP
 * masquerade: pods talk to each other and to this machine, never beyond it, so no NAT rule
 * (and no iptables chain) is needed.
 */
function cniConfig(paths) {
  return {
    cniVersion: '1.0.0',
    name: POD_NETWORK.name,
    plugins: [{
      type: 'bridge',
      bridge: POD_NETWORK.bridge,
      isGateway: true,
      ipMasq: false,
      hairpinMode: true,
      ipam: {
        type: 'host-local',
        ranges: [[{ subnet: POD_NETWORK.subnet, gateway: POD_NETWORK.gateway }]],
        routes: [{ dst: '0.0.0.0/0' }],
        dataDir: paths.cniDataDir,
      },
    }],
  };
}

/**
 * CoreDNS on the bridge's address only, answering cluster.local from the API server: a
 * headless Service resolves to its ready pods' addresses, which the pods reach directly over
 * the bridge (there is no kube-proxy, so ClusterIPs do not route). Other names are refused.
 */
function corefile(adminKubeconfig) {
  return `# Written by Stackpilot's cluster script (toolchain/real-node-config.mjs).
cluster.local:53 {
  bind ${POD_NETWORK.gateway}
  errors
  kubernetes cluster.local {
    kubeconfig ${adminKubeconfig}
  }
}
`;
}

/** A client certificate for system:node:<name> in group system:nodes, so the Node authorizer applies. */
function kubeletCertificate(paths, nodeName, pkiDir) {
  const csr = `${paths.kubeletCert}.csr`;
  const ext = `${paths.kubeletCert}.ext`;
  try {
    execFileSync('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', paths.kubeletKey, '-subj', `/O=system:nodes/CN=system:node:${nodeName}`, '-out', csr], { stdio: ['ignore', 'ignore', 'pipe'] });
    writeFileSync(ext, 'keyUsage = critical, digitalSignature\nextendedKeyUsage = clientAuth\n');
    execFileSync('openssl', ['x509', '-req', '-in', csr, '-CA', join(pkiDir, 'ca.crt'), '-CAkey', join(pkiDir, 'ca.key'),
      '-set_serial', `0x${randomBytes(16).toString('hex')}`, '-days', '365', '-extfile', ext, '-out', paths.kubeletCert], { stdio: ['ignore', 'ignore', 'pipe'] });
  } finally {
    rmSync(csr, { force: true });
    rmSync(ext, { force: true });
  }
}

function kubeletKubeconfig(paths, apiServer, pkiDir) {
  return `# Written by Stackpilot's cluster script (toolchain/real-node-config.mjs).
apiVersion: v1
kind: Config
clusters:
- name: local
  cluster:
    server: ${apiServer}
    certificate-authority: ${join(pkiDir, 'ca.crt')}
users:
- name: kubelet
  user:
    client-certificate: ${paths.kubeletCert}
    client-key: ${paths.kubeletKey}
contexts:
- name: kubelet
  context: { cluster: local, user: kubelet }
current-context: kubelet
`;
}

/**
 * The kubelet, as this machine needs it: cgroup v1 (failCgroupV1: false) driven through
 * cgroupfs like containerd, swap tolerated, containerd's socket. It serves only on the node's
 * address, trusts the API server's client certificate (signed by the cluster's CA) and asks
 * the API server to authorise each request. makeIPTablesUtilChains: false, because nothing
 * here reads the KUBE-* hint chains and they would outlive the node. Disk-pressure eviction and
 * image garbage collection are off: the images exist only here (nothing can pull them back)
 * and the disk is shared with everything else on this machine.
 */
function kubeletConfig(paths, pkiDir, nodeName) {
  return `# Written by Stackpilot's cluster script (toolchain/real-node-config.mjs).
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
failCgroupV1: false
cgroupDriver: cgroupfs
failSwapOn: false
containerRuntimeEndpoint: unix://${paths.socket}
address: ${nodeName}
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous: { enabled: false }
  webhook: { enabled: true }
  x509: { clientCAFile: ${join(pkiDir, 'ca.crt')} }
authorization:
  mode: Webhook
clusterDomain: cluster.local
clusterDNS: [${POD_NETWORK.gateway}]
podLogsDir: ${paths.podLogs}
makeIPTablesUtilChains: false
registerWithTaints:
- { key: ${REAL_NODE_LABEL.key}, value: ${REAL_NODE_LABEL.value}, effect: NoSchedule }
evictionHard: { memory.available: 100Mi, nodefs.available: "0%", imagefs.available: "0%", nodefs.inodesFree: "0%" }
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
`;
}
