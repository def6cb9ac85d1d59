import { refuse, scanOptions, type ParsedOption } from './command-policy-option-scan.js';

/**
 * The command policy's rules for `docker run` (command-policy.ts has the rest): an allowlist of options,
 * none of which hands the container the host's paths, namespaces, devices or capabilities.
 */

/** `docker run` options that take a value (docker run reference); manifest-formats reads run lines with it too. */
export const DOCKER_RUN_VALUED_OPTIONS: ReadonlySet<string> = new Set([
  '-e', '--env', '--env-file', '--name', '--pull', '--platform', '--network', '--net', '-m', '--memory', '--memory-swap', '--cpus',
  '-c', '--cpu-shares', '--pids-limit', '--tmpfs', '-l', '--label', '--label-file', '-w', '--workdir', '-u', '--user', '-h',
  '--hostname', '--add-host', '--dns', '--stop-timeout', '--stop-signal', '--cap-add', '--cap-drop', '-v', '--volume', '--mount',
  '--shm-size', '--ulimit', '-a', '--attach', '--entrypoint', '--pid', '--ipc', '--uts', '--userns', '--cgroupns', '--device',
  '--security-opt', '--volumes-from', '--runtime', '--cgroup-parent', '--sysctl', '--gpus', '--log-driver', '--log-opt', '-p',
  '--publish', '--expose', '--cidfile', '--device-cgroup-rule', '--group-add', '--isolation', '--restart', '--mac-address',
  '--ip', '--ip6', '--link', '--network-alias', '--dns-search', '--dns-option', '--health-cmd', '--oom-score-adj',
]);
const DOCKER_FLAGS = new Set(['-i', '--interactive', '--rm', '-t', '--tty', '--init', '--read-only', '--no-healthcheck']);
const DOCKER_VALUED_ALLOWED = new Set([
  '-e', '--env', '--name', '--pull', '--platform', '-m', '--memory', '--memory-swap', '--cpus', '-c', '--cpu-shares',
  '--pids-limit', '--tmpfs', '-l', '--label', '-w', '--workdir', '-u', '--user', '-h', '--hostname', '--add-host', '--dns',
  '--stop-timeout', '--stop-signal', '--cap-drop', '--shm-size', '--ulimit', '-a', '--attach',
]);

const DOCKER_DENIED = new Map<string, string>([
  ['--privileged', 'gives the container every capability and the host\'s devices'],
  ['--pid', 'shares a process namespace (the host\'s, or another container\'s) with the container'],
  ['--ipc', 'shares an IPC namespace (the host\'s, or another container\'s) with the container'],
  ['--uts', 'shares the host\'s UTS namespace with the container'],
  ['--userns', 'switches off user-namespace remapping for the container'],
  ['--cgroupns', 'shares the host\'s cgroup namespace with the container'],
  ['--cap-add', 'adds kernel capabilities to the container'],
  ['--device', 'gives the container a host device'],
  ['--device-cgroup-rule', 'lets the container use host devices'],
  ['--gpus', 'gives the container host devices'],
  ['--security-opt', 'can switch off seccomp, AppArmor or SELinux confinement'],
  ['--entrypoint', 'replaces the image\'s program with any binary in the image, a shell typically'],
  ['--volumes-from', 'inherits another container\'s mounts, which may bind host paths'],
  ['--env-file', 'reads a file on the gateway host'],
  ['--label-file', 'reads a file on the gateway host'],
  ['--cidfile', 'writes a file on the gateway host'],
  ['--runtime', 'selects another container runtime'],
  ['--sysctl', 'changes kernel parameters for the container'],
  ['--cgroup-parent', 'places the container outside the daemon\'s cgroup'],
  ['-p', 'publishes container ports on the host\'s interfaces'],
  ['--publish', 'publishes container ports on the host\'s interfaces'],
  ['-P', 'publishes container ports on the host\'s interfaces'],
  ['--publish-all', 'publishes container ports on the host\'s interfaces'],
  ['-d', 'detaches the container, so stdio would not reach the server'],
  ['--detach', 'detaches the container, so stdio would not reach the server'],
]);

/** A host path (absolute, relative, home, Windows drive, variable) rather than a named volume. */
function isHostPath(source: string): boolean {
  return /^[/.~$\\]/.test(source) || /[/\\]/.test(source) || /^[A-Za-z]:/.test(source);
}

const VOLUME_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]+$/;

/** Docker docs, "Volumes" and "Bind mounts": `-v src:dst[:opts]` binds when src is a path; a name is a volume. */
function volumeRefusal(value: string): string | undefined {
  if (/^[A-Za-z]:[\\/]/.test(value)) return 'bind-mounts a host path into the container';
  const parts = value.split(':');
  if (parts.length === 1) return value.startsWith('/') ? undefined : 'needs a container path'; // anonymous volume
  const source = parts[0] ?? '';
  if (isHostPath(source)) return 'bind-mounts a host path into the container';
  return VOLUME_NAME.test(source) ? undefined : 'needs a volume name or a container path';
}

/**
 * `--mount` defaults to type=volume (docker run reference). Bind mounts are host paths; a volume with
 * volume-opt/volume-driver can bind one too (`volume-opt=o=bind,volume-opt=device=/`).
 */
function mountRefusal(value: string): string | undefined {
  const fields = new Map<string, string>();
  for (const field of value.split(',')) {
    const equals = field.indexOf('=');
    const key = (equals === -1 ? field : field.slice(0, equals)).replace(/^"/, '').trim().toLowerCase();
    fields.set(key, equals === -1 ? 'true' : field.slice(equals + 1));
  }
  const type = fields.get('type') ?? 'volume';
  if (type === 'tmpfs') return undefined;
  if (type !== 'volume') return `mounts a ${type}, which binds a host path into the container`;
  if ([...fields.keys()].some((key) => key.startsWith('volume-opt') || key === 'volume-driver')) {
    return 'sets volume options, which can bind a host path (o=bind)';
  }
  const source = fields.get('source') ?? fields.get('src');
  if (source !== undefined && isHostPath(source)) return 'bind-mounts a host path into the container';
  return undefined;
}

function dockerOptionRefusal(option: ParsedOption): string | undefined {
  const { name } = option;
  const value = option.value ?? '';
  const denied = DOCKER_DENIED.get(name);
  if (denied !== undefined) return denied;
  if (name === '--network' || name === '--net') {
    return value === 'host' || value.startsWith('container:') ? 'shares the network namespace of the host or another container' : undefined;
  }
  if (name === '-v' || name === '--volume') return volumeRefusal(value);
  if (name === '--mount') return mountRefusal(value);
  // -u is allowed, 0/root included: most images already run as root by default, and with no host
  // mounts, namespaces, devices or capabilities, root in the container is not root on the host.
  if (DOCKER_FLAGS.has(name) || DOCKER_VALUED_ALLOWED.has(name)) return undefined;
  return 'is not one Gatehouse accepts';
}

/** An image reference ([registry/]name[:tag][@digest]); never an option. */
const IMAGE_REFERENCE = /^[A-Za-z0-9][A-Za-z0-9._/:@-]*$/;

/**
 * Only `docker run` with no global options: `-H`/`--host`/`--context`/`--config` would point the CLI at
 * another daemon or credential helpers, and other subcommands manage the host's containers. The
 * container's own command (after the image) runs inside the container and is not checked.
 */
export function checkDocker(command: string, args: readonly string[]): void {
  if (args[0] !== 'run') {
    refuse(command, 'args', 'only `docker run` is allowed, with no options before `run` (-H/--context would reach another daemon).', args[0]);
  }
  const scan = scanOptions(args, 1, { valued: DOCKER_RUN_VALUED_OPTIONS });
  for (const option of scan.options) {
    const reason = dockerOptionRefusal(option);
    if (reason !== undefined) refuse(command, 'args', `docker run ${option.name} ${reason}.`, option.token);
  }
  const image = args[scan.operand];
  if (image === undefined) refuse(command, 'args', 'docker run needs an image.');
  if (!IMAGE_REFERENCE.test(image)) refuse(command, 'args', `"${image}" is not an image reference.`, image);
}
