// Host bootstrap for worker pools: a cloud-init document rendered by a plain,
// tested function. It carries no secret: the join token is fetched at boot
// from the cloud's secret store with the host's own identity, kept on tmpfs,
// and deleted by the coordinator once it holds a certificate.
//
// Contract with the coordinator (runtime/coordinator/main.ts reads FRAMEFLEET_* variables):
//   /etc/framefleet/coordinator.env   FRAMEFLEET_MANAGER and FRAMEFLEET_JOIN (host:port), FRAMEFLEET_TRUST_FILE, FRAMEFLEET_STATE_DIR,
//                                     FRAMEFLEET_POOLS (task pools served), FRAMEFLEET_INTERRUPTION_FILE, image names, mirror
//   /etc/framefleet/ca.pem            the region's CA chain, to verify the manager
//   /run/framefleet/host.env          tmpfs, 0600, written at boot by framefleet-join: FRAMEFLEET_CAPACITY_TYPE
//                                     (spot | on-demand) and FRAMEFLEET_INSTANCE_TYPE from the metadata service, and
//                                     FRAMEFLEET_JOIN_TOKEN until the host is enrolled; framefleet-join-cleanup.path
//                                     strips the token as soon as the coordinator's certificate exists
//   /var/lib/framefleet               coordinator.key / coordinator.crt (the key never leaves the host); once
//                                     coordinator.crt exists no token is fetched again. Owned by the coordinator's
//                                     user (uid 10001, the images' user); work/ holds each task's scratch directory
//   /var/run/docker.sock              the host's engine: the coordinator image (images/coordinator) runs each task's
//                                     engine image through it (FRAMEFLEET_RUNNER=container, docker CLI). Paths in
//                                     `docker run -v` are the daemon's, i.e. the host's, so /var/lib/framefleet is
//                                     mounted at the same path inside the coordinator: a scratch path it makes is the
//                                     path the engine container's volume names
//   /run/framefleet/interruption      written atomically (rename) when the cloud announces a spot/preemptible
//                                     reclaim: the cloud's own notice plus "cloud" and "detectedAt" —
//                                     AWS {"action","time"}, GCP {"preempted":"TRUE"}, Azure {"Events":[{"EventType":"Preempt",...}]}
//                                     (runtime/coordinator/interruption.ts parseNotice); the coordinator drains.
import type { Cloud } from "../common.js";

export type JoinTokenSource =
  | { kind: "aws-secretsmanager"; secretId: string; region: string }
  | { kind: "gcp-secretmanager"; secret: string }
  | { kind: "azure-keyvault"; secretUri: string; identityClientId: string };

export interface BootstrapOptions {
  cloud: Cloud;
  region: string;
  pool: string;
  /** task pools the host serves (FRAMEFLEET_POOLS), e.g. ["encode"] */
  taskPools: string[];
  gpu: boolean;
  /** host:port of the manager's gRPC endpoint (the static IP or its DNS name) */
  managerEndpoint: string;
  /** host:port of the manager's TLS join endpoint */
  joinEndpoint: string;
  /** PEM chain of the region CA (public) */
  caBundlePem: string;
  /** the registry mirror's host/prefix that stands in for `upstreamRegistry`, e.g. 1234.dkr.ecr.eu-west-1.amazonaws.com/ghcr */
  registryMirror: string;
  /** the upstream registry host whose images are pulled through the mirror, e.g. ghcr.io */
  upstreamRegistry: string;
  /** the coordinator image (images/coordinator); a digest reference (`...@sha256:`) in production */
  coordinatorImage: string;
  /** the pool's default engine image (images/engine-ffmpeg or -nvenc), pulled at boot so the first task does not wait */
  engineImage: string;
  joinToken: JoinTokenSource;
}

/** Rewrite `ghcr.io/org/img:tag` to `<mirror>/org/img:tag` when it comes from the mirrored upstream. */
export function mirrorImage(image: string, upstreamRegistry: string, registryMirror: string): string {
  const prefix = `${upstreamRegistry.replace(/\/$/, "")}/`;
  return image.startsWith(prefix) ? `${registryMirror.replace(/\/$/, "")}/${image.slice(prefix.length)}` : image;
}

const shq = (s: string) => `'${s.replace(/'/g, `'"'"'`)}'`;

/** The spot/preemption watcher for one cloud: polls the cloud's metadata service and writes the notice file. */
export function renderInterruptionWatcher(cloud: Cloud): string {
  const write = `notify() {
  # $1: the cloud's notice (a JSON object); adds "cloud" and "detectedAt" and renames it into place
  tmp="$RUN_DIR/.interruption.$$"
  printf '%s' "$1" | jq -c --arg cloud ${cloud} --arg at "$(date -u +%FT%TZ)" '. + {cloud: $cloud, detectedAt: $at}' > "$tmp"
  mv -f "$tmp" "$RUN_DIR/interruption"
}`;
  const loops: Record<Cloud, string> = {
    // IMDSv2: a session token first; spot/instance-action answers 404 until a reclaim is scheduled (2 minutes' notice).
    aws: `while true; do
  t=$(curl -sf -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 300' http://169.254.169.254/latest/api/token) || { sleep 5; continue; }
  if body=$(curl -sf -H "X-aws-ec2-metadata-token: $t" http://169.254.169.254/latest/meta-data/spot/instance-action); then
    notify "$body"; exit 0
  fi
  sleep 5
done`,
    // GCP: instance/preempted turns TRUE when preemption starts (about 30 seconds' notice); wait_for_change long-polls.
    gcp: `while true; do
  v=$(curl -sf -H 'Metadata-Flavor: Google' 'http://metadata.google.internal/computeMetadata/v1/instance/preempted?wait_for_change=true&timeout_sec=60') || { sleep 5; continue; }
  if [ "$v" = "TRUE" ]; then notify '{"preempted":"TRUE"}'; exit 0; fi
done`,
    // Azure Scheduled Events: a Preempt event (spot eviction, at least 30 seconds' notice) or a Terminate (scale-in).
    azure: `while true; do
  ev=$(curl -sf -H 'Metadata: true' 'http://169.254.169.254/metadata/scheduledevents?api-version=2020-07-01') || { sleep 5; continue; }
  hit=$(printf '%s' "$ev" | jq -c '[.Events[] | select(.EventType=="Preempt" or .EventType=="Terminate")] | if length > 0 then {Events: .} else empty end')
  if [ -n "$hit" ]; then notify "$hit"; exit 0; fi
  sleep 5
done`,
  };
  return `#!/bin/bash
# framefleet: watch for a spot/preemptible reclaim and tell the coordinator through /run/framefleet/interruption
set -u
RUN_DIR="\${FRAMEFLEET_RUN_DIR:-/run/framefleet}"
${write}
${loops[cloud]}
`;
}

/** Host facts from the metadata service: sets $capacity (spot | on-demand) and $itype. */
function hostFacts(cloud: Cloud): string {
  switch (cloud) {
    case "aws":
      return `t=$(curl -sf -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 300' http://169.254.169.254/latest/api/token || true)
md() { curl -sf -H "X-aws-ec2-metadata-token: $t" "http://169.254.169.254/latest/meta-data/$1" || true; }
itype=$(md instance-type)
[ "$(md instance-life-cycle)" = "spot" ] && capacity=spot || capacity=on-demand`;
    case "gcp":
      return `md() { curl -sf -H 'Metadata-Flavor: Google' "http://metadata.google.internal/computeMetadata/v1/instance/$1" || true; }
itype=$(md machine-type); itype=\${itype##*/}
[ "$(md scheduling/preemptible)" = "TRUE" ] && capacity=spot || capacity=on-demand`;
    case "azure":
      return `c=$(curl -sf -H 'Metadata: true' 'http://169.254.169.254/metadata/instance/compute?api-version=2021-02-01' || echo '{}')
itype=$(printf '%s' "$c" | jq -r '.vmSize // ""')
[ "$(printf '%s' "$c" | jq -r '.priority // ""')" = "Spot" ] && capacity=spot || capacity=on-demand`;
  }
}

/**
 * Boot-time host facts and the one-time join token, fetched with the host's own
 * identity, into /run/framefleet/host.env (tmpfs, 0600) for the coordinator.
 */
export function renderJoinScript(src: JoinTokenSource, cloud: Cloud): string {
  const fetch: Record<JoinTokenSource["kind"], () => string> = {
    "aws-secretsmanager": () => {
      const s = src as Extract<JoinTokenSource, { kind: "aws-secretsmanager" }>;
      return `aws secretsmanager get-secret-value --region ${shq(s.region)} --secret-id ${shq(s.secretId)} --query SecretString --output text`;
    },
    "gcp-secretmanager": () => {
      const s = src as Extract<JoinTokenSource, { kind: "gcp-secretmanager" }>;
      return `curl -sf -H "Authorization: Bearer $(curl -sf -H 'Metadata-Flavor: Google' http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token | jq -r .access_token)" ${shq(`https://secretmanager.googleapis.com/v1/${s.secret}/versions/latest:access`)} | jq -r .payload.data | base64 -d`;
    },
    "azure-keyvault": () => {
      const s = src as Extract<JoinTokenSource, { kind: "azure-keyvault" }>;
      return `curl -sf -H "Authorization: Bearer $(curl -sf -H 'Metadata: true' ${shq(`http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fvault.azure.net&client_id=${s.identityClientId}`)} | jq -r .access_token)" ${shq(`${s.secretUri.replace(/\/$/, "")}?api-version=7.4`)} | jq -r .value`;
    },
  };
  return `#!/bin/bash
# framefleet: host facts and (until enrolled) the join token, for the coordinator; tmpfs only
set -uo pipefail
umask 077
RUN_DIR="\${FRAMEFLEET_RUN_DIR:-/run/framefleet}"
STATE_DIR="\${FRAMEFLEET_STATE_DIR:-/var/lib/framefleet}"
mkdir -p "$RUN_DIR"
${hostFacts(cloud)}
tmp="$RUN_DIR/.host.env.$$"
printf 'FRAMEFLEET_CAPACITY_TYPE=%s\nFRAMEFLEET_INSTANCE_TYPE=%s\n' "$capacity" "$itype" > "$tmp"
if [ ! -s "$STATE_DIR/coordinator.crt" ]; then
  token=""
  for i in $(seq 1 30); do
    token=$(${fetch[src.kind]()}) && [ -n "$token" ] && break
    token=""
    sleep 10
  done
  if [ -z "$token" ]; then rm -f "$tmp"; echo "framefleet: could not fetch the join token" >&2; exit 1; fi
  printf 'FRAMEFLEET_JOIN_TOKEN=%s\n' "$token" >> "$tmp"
fi
mv -f "$tmp" "$RUN_DIR/host.env"
`;
}

function registryLogin(o: BootstrapOptions): string {
  const host = o.registryMirror.split("/")[0]!;
  switch (o.cloud) {
    case "aws": // the ECR credential helper uses the instance profile
      return `mkdir -p /root/.docker && printf '{"credHelpers":{"%s":"ecr-login"}}' ${shq(host)} > /root/.docker/config.json`;
    case "gcp": // Artifact Registry: an OAuth token from the metadata server, refreshed by the timer
      return `tok=$(curl -sf -H 'Metadata-Flavor: Google' http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token | jq -r .access_token)
printf '%s' "$tok" | docker login -u oauth2accesstoken --password-stdin ${shq(`https://${host}`)}`;
    case "azure": // ACR: exchange the managed identity's AAD token for a registry refresh token
      return `aad=$(curl -sf -H 'Metadata: true' 'http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fmanagement.azure.com%2F${o.joinToken.kind === "azure-keyvault" ? `&client_id=${o.joinToken.identityClientId}` : ""}' | jq -r .access_token)
rt=$(curl -sf -X POST -d "grant_type=access_token&service=${host}&access_token=$aad" ${shq(`https://${host}/oauth2/exchange`)} | jq -r .refresh_token)
printf '%s' "$rt" | docker login -u 00000000-0000-0000-0000-000000000000 --password-stdin ${shq(host)}`;
  }
}

function installPackages(gpu: boolean): string {
  const nvidia = gpu
    ? `
  # GPU pool: the NVIDIA driver (if the image lacks one) and the NVIDIA container toolkit
  if command -v dnf >/dev/null; then
    curl -sfL https://nvidia.github.io/libnvidia-container/stable/rpm/nvidia-container-toolkit.repo -o /etc/yum.repos.d/nvidia-container-toolkit.repo
    dnf install -y nvidia-container-toolkit
  else
    curl -fsSL https://nvidia.github.io/libnvidia-container/gpgkey | gpg --dearmor -o /usr/share/keyrings/nvidia-container-toolkit-keyring.gpg
    curl -sfL https://nvidia.github.io/libnvidia-container/stable/deb/nvidia-container-toolkit.list \\
      | sed 's#deb https://#deb [signed-by=/usr/share/keyrings/nvidia-container-toolkit-keyring.gpg] https://#g' > /etc/apt/sources.list.d/nvidia-container-toolkit.list
    apt-get update && apt-get install -y nvidia-container-toolkit
    command -v nvidia-smi >/dev/null || { apt-get install -y ubuntu-drivers-common && ubuntu-drivers install --gpgpu; }
  fi
  nvidia-ctk runtime configure --runtime=docker
  systemctl restart docker`
    : "";
  return `if command -v dnf >/dev/null; then
    dnf install -y docker jq amazon-ecr-credential-helper
  else
    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y docker.io jq curl
  fi
  systemctl enable --now docker${nvidia}`;
}

const indent = (s: string, n: number) =>
  s
    .split("\n")
    .map((l) => (l ? " ".repeat(n) + l : l))
    .join("\n");

/** Render the cloud-init user data for a worker host. */
export function renderBootstrap(o: BootstrapOptions): string {
  const coordinator = mirrorImage(o.coordinatorImage, o.upstreamRegistry, o.registryMirror);
  const engine = mirrorImage(o.engineImage, o.upstreamRegistry, o.registryMirror);
  const env = [
    `FRAMEFLEET_MANAGER=${o.managerEndpoint}`,
    `FRAMEFLEET_JOIN=${o.joinEndpoint}`,
    `FRAMEFLEET_TRUST_FILE=/etc/framefleet/ca.pem`,
    `FRAMEFLEET_STATE_DIR=/var/lib/framefleet`,
    `FRAMEFLEET_WORK_DIR=/var/lib/framefleet/work`,
    `FRAMEFLEET_POOLS=${o.taskPools.join(",")}`,
    `FRAMEFLEET_INTERRUPTION_FILE=/run/framefleet/interruption`,
    `FRAMEFLEET_REGION=${o.region}`,
    `FRAMEFLEET_CLOUD=${o.cloud}`,
    `FRAMEFLEET_HOST_POOL=${o.pool}`,
    `FRAMEFLEET_GPU=${o.gpu ? "1" : "0"}`,
    `FRAMEFLEET_RUNNER=container`,
    `FRAMEFLEET_CONTAINER_CLI=docker`,
    `FRAMEFLEET_ENGINE_IMAGE=${engine}`,
    `FRAMEFLEET_IMAGE_MIRROR=${o.upstreamRegistry}=${o.registryMirror}`,
  ].join("\n");
  // GPU pools: the coordinator itself sees the GPUs only to count them (nvidia-smi, mounted by the toolkit with the
  // "utility" capability); each engine container is given its GPUs by the runner
  const gpuFlags = o.gpu ? ["--gpus all", "-e NVIDIA_DRIVER_CAPABILITIES=utility"] : [];
  const coordinatorRun = `#!/bin/bash
# framefleet: run the coordinator container. Non-root (the image's uid 10001) with read-only root, no capabilities and
# no privilege escalation; it joins the docker group only to reach the engine's socket, through which its workers
# start each task's engine container (with its own limits). /var/lib/framefleet is mounted at the same path because
# the daemon resolves the scratch volumes the runner names on the host.
set -euo pipefail
gid=$(getent group docker | cut -d: -f3)
exec /usr/bin/docker run --rm --name framefleet-coordinator --network host \\
  --user 10001:10001 --group-add "$gid" --read-only --tmpfs /tmp:rw,nosuid,nodev,size=256m \\
  --cap-drop ALL --security-opt no-new-privileges${gpuFlags.map((f) => ` ${f}`).join("")} \\
  --env-file /etc/framefleet/coordinator.env --env-file /run/framefleet/host.env \\
  -v /etc/framefleet:/etc/framefleet:ro -v /run/framefleet:/run/framefleet:ro \\
  -v /var/lib/framefleet:/var/lib/framefleet -v /var/run/docker.sock:/var/run/docker.sock \\
  ${shq(coordinator)}
`;
  const coordinatorUnit = `[Unit]
Description=framefleet coordinator
After=docker.service framefleet-join.service framefleet-registry-login.service
Requires=docker.service framefleet-join.service
[Service]
Restart=always
RestartSec=5
ExecStartPre=/bin/mkdir -p /run/framefleet /var/lib/framefleet/work
ExecStartPre=/bin/chown -R 10001:10001 /var/lib/framefleet
ExecStartPre=-/usr/bin/docker rm -f framefleet-coordinator
# pulls through the mirror ahead of time; "-": a mirror outage must not stop a host whose images are cached
ExecStartPre=-/usr/bin/docker pull ${coordinator}
ExecStartPre=-/usr/bin/docker pull ${engine}
ExecStart=/usr/local/bin/framefleet-coordinator-run
ExecStop=/usr/bin/docker stop -t 120 framefleet-coordinator
[Install]
WantedBy=multi-user.target
`;
  const joinUnit = `[Unit]
Description=framefleet: host facts and the one-time join token
After=network-online.target
Wants=network-online.target
[Service]
Type=oneshot
RemainAfterExit=yes
RuntimeDirectory=framefleet
# 0755: the coordinator (uid 10001) reads the interruption notice here; host.env stays 0600 root (umask 077)
RuntimeDirectoryMode=0755
RuntimeDirectoryPreserve=yes
ExecStart=/usr/local/bin/framefleet-join
`;
  const cleanupPath = `[Unit]
Description=framefleet: forget the join token once the host is enrolled
[Path]
PathExists=/var/lib/framefleet/coordinator.crt
[Install]
WantedBy=multi-user.target
`;
  const cleanupUnit = `[Unit]
Description=framefleet: forget the join token once the host is enrolled
[Service]
Type=oneshot
ExecStart=/bin/sed -i /^FRAMEFLEET_JOIN_TOKEN=/d /run/framefleet/host.env
`;
  const loginUnit = `[Unit]
Description=framefleet: log in to the registry mirror
After=docker.service network-online.target
Requires=docker.service
[Service]
Type=oneshot
ExecStart=/usr/local/bin/framefleet-registry-login
`;
  const loginTimer = `[Unit]
Description=framefleet: refresh the registry mirror login
[Timer]
OnBootSec=0
OnUnitActiveSec=30min
[Install]
WantedBy=timers.target
`;
  const watchUnit = `[Unit]
Description=framefleet: spot/preemption interruption watcher
After=network-online.target
[Service]
Restart=on-failure
ExecStartPre=/bin/mkdir -p /run/framefleet
ExecStart=/usr/local/bin/framefleet-interruption-watch
[Install]
WantedBy=multi-user.target
`;
  const files: Array<{ path: string; content: string; perm: string }> = [
    { path: "/etc/framefleet/coordinator.env", content: env + "\n", perm: "0644" },
    { path: "/etc/framefleet/ca.pem", content: o.caBundlePem.trim() + "\n", perm: "0644" },
    { path: "/usr/local/bin/framefleet-join", content: renderJoinScript(o.joinToken, o.cloud), perm: "0755" },
    { path: "/usr/local/bin/framefleet-registry-login", content: `#!/bin/bash\nset -euo pipefail\n${registryLogin(o)}\n`, perm: "0755" },
    { path: "/usr/local/bin/framefleet-interruption-watch", content: renderInterruptionWatcher(o.cloud), perm: "0755" },
    { path: "/usr/local/bin/framefleet-coordinator-run", content: coordinatorRun, perm: "0755" },
    { path: "/etc/systemd/system/framefleet-join.service", content: joinUnit, perm: "0644" },
    { path: "/etc/systemd/system/framefleet-join-cleanup.path", content: cleanupPath, perm: "0644" },
    { path: "/etc/systemd/system/framefleet-join-cleanup.service", content: cleanupUnit, perm: "0644" },
    { path: "/etc/systemd/system/framefleet-registry-login.service", content: loginUnit, perm: "0644" },
    { path: "/etc/systemd/system/framefleet-registry-login.timer", content: loginTimer, perm: "0644" },
    { path: "/etc/systemd/system/framefleet-interruption-watch.service", content: watchUnit, perm: "0644" },
    { path: "/etc/systemd/system/framefleet-coordinator.service", content: coordinatorUnit, perm: "0644" },
  ];
  const writeFiles = files
    .map((f) => `  - path: ${f.path}\n    permissions: "${f.perm}"\n    owner: root:root\n    content: |\n${indent(f.content, 6)}`)
    .join("\n");
  return `#cloud-config
# framefleet worker host: pool ${o.pool} (${o.gpu ? "GPU" : "CPU"}) in ${o.cloud}/${o.region}. Contains no secret.
write_files:
${writeFiles}
runcmd:
  - [bash, -c, "mkdir -p /run/framefleet /var/lib/framefleet/work && chown -R 10001:10001 /var/lib/framefleet && chmod 0700 /var/lib/framefleet"]
  - |
${indent(installPackages(o.gpu), 4)}
  - [systemctl, daemon-reload]
  - [systemctl, enable, --now, framefleet-interruption-watch.service]
  - [systemctl, enable, --now, framefleet-join-cleanup.path]
  - [systemctl, enable, --now, framefleet-registry-login.timer]
  - [systemctl, start, framefleet-registry-login.service]
  - [systemctl, enable, --now, framefleet-coordinator.service]
`;
}
