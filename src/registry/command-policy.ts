import { posix, win32 } from 'node:path';
import { checkDocker } from './command-policy-docker.js';
import { ENV_NAME, environmentRefusal } from './command-policy-env.js';
import { refuse, scanOptions, type Field, type Grammar, type ParsedOption } from './command-policy-option-scan.js';

/**
 * Registering a stdio server through the admin API is code execution on the gateway host: whoever may
 * call the API chooses a program and its arguments. This policy lets through a named package from a
 * public registry (npx, uvx), a script file on disk (node) or a container image (docker run), and
 * refuses every spelling that hands a shell or an interpreter code inline, points a package manager
 * at another source, loosens a container, or changes how the loader and runtimes start.
 *
 * What it cannot do: a registry package runs its own code by design. The policy makes sure that what
 * runs is the named package and nothing typed into the registration; whether that package deserves
 * trust is the approval step's question (servers registered through the API start as `pending`).
 *
 * Rules are fail-closed where the tool's options are few (npx, uvx, docker run: an allowlist of
 * options) and a deny-list where they are many (node, python), with the parsing made conservative so
 * an option we do not know cannot hide a denied one.
 */

/** The commands the admin API accepts when the operator configures nothing else. */
export const DEFAULT_ALLOWED_COMMANDS: readonly string[] = ['npx', 'uvx', 'node', 'docker'];

export interface StdioRegistration {
  readonly command: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly cwd?: string | undefined;
}

export interface CommandPolicy {
  /** Bare program names, compared literally. An empty list allows nothing. */
  readonly allowedCommands: readonly string[];
}

/** Throws `command_not_allowed` unless the registration is safe to spawn under the policy. */
export function checkStdioRegistration(spec: StdioRegistration, policy: CommandPolicy): void {
  const { command } = spec;
  checkCommandName(command, policy);
  spec.args.forEach((argument) => {
    if (argument.includes('\0')) refuse(command, 'args', 'an argument contains a NUL byte.', argument);
  });
  checkArguments(command, spec.args);
  checkEnvironment(command, spec.env);
  checkWorkingDirectory(command, spec.cwd);
}

// ---------------------------------------------------------------------------------------------------
// The command itself

/** A bare program name: no path (it would bypass the allowlist), no whitespace, no shell syntax. */
const BARE_NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;

/** Shells run whatever string they are given (`-c`) or read commands from stdin, which is the MCP channel. */
const SHELLS = new Set(['sh', 'bash', 'zsh', 'dash', 'ksh', 'mksh', 'ash', 'fish', 'csh', 'tcsh', 'busybox', 'pwsh', 'powershell', 'cmd', 'rc', 'nu', 'elvish', 'xonsh']);

/** Generic launchers run the command their arguments name, so they would carry anything past the allowlist. */
const LAUNCHERS = new Set([
  'env', 'xargs', 'sudo', 'su', 'doas', 'runuser', 'nohup', 'nice', 'ionice', 'timeout', 'time', 'setsid', 'stdbuf', 'chroot',
  'unshare', 'nsenter', 'strace', 'ltrace', 'gdb', 'lldb', 'watch', 'script', 'expect', 'flock', 'unbuffer', 'exec', 'eval',
  'find', 'awk', 'gawk', 'mawk', 'sed', 'parallel', 'start-stop-daemon', 'systemd-run', 'open', 'osascript', 'npx', 'npm',
  'pnpm', 'pnpx', 'yarn', 'bunx', 'uvx', 'uv', 'pip', 'pip3', 'pipx', 'make',
]);

/**
 * Interpreters whose code-from-the-command-line options this policy does not model. Listing one in
 * allowedCommands is not enough to run it: without rules we cannot tell a script from inline code.
 */
const INTERPRETERS_WITHOUT_RULES = new Set([
  'perl', 'ruby', 'irb', 'php', 'lua', 'luajit', 'tclsh', 'wish', 'deno', 'bun', 'tsx', 'ts-node', 'esno', 'zx', 'jshell',
  'java', 'groovy', 'scala', 'kotlin', 'R', 'Rscript', 'julia', 'erl', 'elixir', 'iex', 'guile', 'racket', 'sbcl', 'ghci',
  'runghc', 'dotnet', 'dnx', 'go', 'cargo', 'sqlite3', 'psql', 'mysql', 'vim', 'nvim', 'emacs',
]);

const PYTHON = /^(python|pypy)(\d+(\.\d+)*)?$/;

function checkCommandName(command: string, policy: CommandPolicy): void {
  if (!BARE_NAME.test(command)) {
    refuse(
      command,
      'command',
      `"${command}" is not a bare program name: give one of the allowed commands (${listOrNothing(policy.allowedCommands)}) ` +
        'without a path, spaces or shell syntax; a path would run a different file than the allowlist names.',
    );
  }
  if (!policy.allowedCommands.includes(command)) {
    refuse(command, 'command', `"${command}" is not in the allowed commands (${listOrNothing(policy.allowedCommands)}).`);
  }
}

function listOrNothing(items: readonly string[]): string {
  return items.length === 0 ? 'none: the allowlist is empty' : items.join(', ');
}

function checkArguments(command: string, args: readonly string[]): void {
  switch (command) {
    case 'npx':
      return checkNpx(command, args, 0);
    case 'npm':
      // npm's other subcommands run package.json scripts through a shell; `npm exec` is npx.
      if (args[0] === 'exec' || args[0] === 'x') return checkNpx(command, args, 1);
      return refuse(command, 'args', 'only `npm exec` is allowed; other npm commands run package scripts through a shell.', args[0]);
    case 'uvx':
      return checkUvx(command, args, 0);
    case 'uv':
      // uvx is `uv tool run` (uv docs, "Using tools"); the rest of uv installs and runs project code.
      if (args[0] === 'tool' && args[1] === 'run') return checkUvx(command, args, 2);
      return refuse(command, 'args', 'only `uv tool run` (what uvx runs) is allowed.', args[0]);
    case 'docker':
      return checkDocker(command, args);
    default:
      return checkProgram(command, command, args, 0);
  }
}

/** The rules for a program run directly or through npx/uvx (`npx node@20 ...`, `uvx python ...`). */
function checkProgram(command: string, program: string, args: readonly string[], start: number): void {
  const name = program.toLowerCase();
  const direct = program === command;
  const field: Field = direct ? 'command' : 'args';
  const argument = direct ? undefined : program;
  if (SHELLS.has(name)) refuse(command, field, `"${program}" is a shell: it runs any command its arguments or stdin carry, so it is never allowed.`, argument);
  if (LAUNCHERS.has(name)) {
    refuse(command, field, `"${program}" runs whatever command or package its arguments name, so it is never allowed.`, argument);
  }
  if (name === 'node' || name === 'nodejs') return checkNode(command, args, start);
  if (PYTHON.test(name)) return checkPython(command, args, start);
  if (INTERPRETERS_WITHOUT_RULES.has(program) || INTERPRETERS_WITHOUT_RULES.has(name)) {
    refuse(command, field, `"${program}" is an interpreter Gatehouse has no argument rules for, so it cannot tell a script from code given inline.`, argument);
  }
}

// ---------------------------------------------------------------------------------------------------
// node

/** Node options that take a value (from `node --help`, Node 20 and 22, plus loader and debugger aliases). */
const NODE_VALUED = new Set([
  '-e', '--eval', '-p', '--print', '-r', '--require', '-C', '--conditions', '--import', '--loader', '--experimental-loader',
  '--allow-fs-read', '--allow-fs-write', '--build-snapshot-config', '--cpu-prof-dir', '--cpu-prof-interval', '--cpu-prof-name',
  '--diagnostic-dir', '--disable-proto', '--disable-warning', '--dns-result-order', '--env-file', '--env-file-if-exists',
  '--experimental-default-type', '--experimental-policy', '--experimental-sea-config', '--heap-prof-dir', '--heap-prof-interval',
  '--heap-prof-name', '--heapsnapshot-near-heap-limit', '--heapsnapshot-signal', '--icu-data-dir', '--input-type',
  '--inspect-port', '--debug-port', '--inspect-publish-uid', '--localstorage-file', '--max-http-header-size',
  '--network-family-autoselection-attempt-timeout', '--openssl-config', '--policy-integrity', '--redirect-warnings',
  '--report-dir', '--report-directory', '--report-filename', '--report-signal', '--run', '--secure-heap', '--secure-heap-min',
  '--snapshot-blob', '--test-concurrency', '--test-name-pattern', '--test-reporter', '--test-reporter-destination',
  '--test-shard', '--test-timeout', '--title', '--tls-cipher-list', '--tls-keylog', '--trace-event-categories',
  '--trace-event-file-pattern', '--trace-require-module', '--unhandled-rejections', '--use-largepages', '--v8-pool-size',
  '--watch-path', '--stack-trace-limit',
]);

const NODE_DENIED = new Map<string, string>([
  ['-e', 'evaluates code given on the command line'],
  ['--eval', 'evaluates code given on the command line'],
  ['-p', 'evaluates code given on the command line'],
  ['--print', 'evaluates code given on the command line'],
  ['-r', 'preloads a module before the script runs'],
  ['--require', 'preloads a module before the script runs'],
  ['--import', 'preloads a module before the script runs'],
  ['--loader', 'installs a module loader that runs before the script'],
  ['--experimental-loader', 'installs a module loader that runs before the script'],
  ['-i', 'starts a REPL, which would execute what the gateway writes to stdin'],
  ['--interactive', 'starts a REPL, which would execute what the gateway writes to stdin'],
  ['--env-file', 'loads environment variables, NODE_OPTIONS included, from a file'],
  ['--env-file-if-exists', 'loads environment variables, NODE_OPTIONS included, from a file'],
  ['--openssl-config', 'loads an OpenSSL configuration, which can load engines (native code)'],
  ['--run', 'runs a package.json script through a shell'],
]);

function nodeOptionRefusal(name: string): string | undefined {
  const reason = NODE_DENIED.get(name);
  if (reason !== undefined) return reason;
  // Node docs, "Debugging": the inspector lets anyone who reaches its port run code in the process.
  if (name.startsWith('--inspect') || name.startsWith('--debug')) return 'opens the debugger, which lets anyone who reaches its port run code';
  return undefined;
}

/** A token that can only be a script: a path, or a file name with a JavaScript/TypeScript extension. */
function looksLikeScript(token: string): boolean {
  return /[\\/]/.test(token) || /\.[cm]?[jt]sx?$/i.test(token);
}

/**
 * Node options come before the script; everything after the script is the script's own (a server's
 * `-p 3000` is fine there). An option we do not know might take a value, so a bare operand that is
 * not obviously a script (`4096` after `--max-old-space-size`) does not end the scan: the script must
 * be recognisable, or the registration is refused.
 */
function checkNode(command: string, args: readonly string[], start: number): void {
  let index = start;
  for (;;) {
    const scan = scanOptions(args, index, { valued: NODE_VALUED });
    for (const option of scan.options) {
      const reason = nodeOptionRefusal(option.name);
      if (reason !== undefined) refuse(command, 'args', `node ${option.name} ${reason}.`, option.token);
    }
    const operand = args[scan.operand];
    if (operand === undefined) {
      refuse(command, 'args', 'node needs a script file: without one it reads code from stdin, which is the MCP channel.');
    }
    if (operand === '-') refuse(command, 'args', 'node - reads the script from stdin, which is the MCP channel.', operand);
    if (scan.explicit || looksLikeScript(operand)) return;
    index = scan.operand + 1;
    if (index >= args.length) {
      refuse(command, 'args', `cannot tell whether "${operand}" is the script or an option's value; give the script as a path (./server.js) or with its extension.`, operand);
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// python

const PYTHON_GRAMMAR: Grammar = {
  valued: new Set(['-c', '-m', '-W', '-X', '--check-hash-based-pycs']),
  terminal: new Set(['-c', '-m']),
};

/**
 * Standard-library modules that are code runners, shells or writers when run with -m (Python docs,
 * "Modules command-line interface"): -m is allowed for an installed server module (`python -m
 * mcp_server_git`), not for these.
 */
const PYTHON_DENIED_MODULES = new Set([
  'code', 'codeop', 'pdb', 'timeit', 'runpy', 'cProfile', 'profile', 'trace', 'doctest', 'pydoc', 'http.server', 'pickle',
  'compileall', 'py_compile', 'zipapp', 'zipfile', 'tarfile', 'site', 'webbrowser', 'sqlite3', 'ast', 'dis', 'tokenize',
  'antigravity', 'this', 'smtpd', 'telnetlib', 'ftplib', 'imaplib', 'poplib', 'turtledemo', 'pyclbr', 'filecmp', 'inspect',
]);
const PYTHON_DENIED_PACKAGES = new Set(['pip', 'ensurepip', 'venv', 'virtualenv', 'idlelib', 'unittest', 'asyncio', 'lib2to3', 'pytest', 'IPython', 'jupyter']);
const PYTHON_MODULE = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;

function checkPython(command: string, args: readonly string[], start: number): void {
  const scan = scanOptions(args, start, PYTHON_GRAMMAR);
  for (const option of scan.options) {
    if (option.name === '-c') refuse(command, 'args', 'python -c runs code given on the command line.', option.token);
    if (option.name === '-i') refuse(command, 'args', 'python -i starts the interactive interpreter, which would execute what the gateway writes to stdin.', option.token);
    if (option.name === '-W' && (option.value ?? '').split(':')[2]?.includes('.')) {
      // A warning category is imported by name, which is how PYTHONWARNINGS-style exploits load a module.
      refuse(command, 'args', 'python -W with a dotted category imports that module.', option.token);
    }
    if (option.name === '-m') {
      const module = option.value ?? '';
      const topLevel = module.split('.')[0] ?? '';
      if (!PYTHON_MODULE.test(module)) refuse(command, 'args', `python -m needs a module name (found "${module}").`, option.token);
      if (PYTHON_DENIED_MODULES.has(module) || PYTHON_DENIED_PACKAGES.has(topLevel)) {
        refuse(command, 'args', `python -m ${module} runs code, a shell or an installer rather than a server.`, option.token);
      }
      return;
    }
  }
  const operand = args[scan.operand];
  if (operand === undefined) refuse(command, 'args', 'python needs a script or -m module: without one it reads code from stdin, which is the MCP channel.');
  if (operand === '-') refuse(command, 'args', 'python - reads the script from stdin, which is the MCP channel.', operand);
}

// ---------------------------------------------------------------------------------------------------
// npx / npm exec

const NPX_VALUED = new Set([
  '-p', '--package', '-c', '--call', '--loglevel', '-w', '--workspace', '--registry', '--userconfig', '--globalconfig',
  '--prefix', '--cache', '--node-options', '--script-shell', '--shell',
]);
const NPX_FLAGS = new Set(['-y', '--yes', '--no', '-q', '--quiet', '-s', '--silent', '--prefer-offline', '--prefer-online', '--offline', '--no-install', '--ignore-existing', '--no-update-notifier', '--no-fund', '--no-audit']);
const NPM_LOG_LEVELS = new Set(['silent', 'error', 'warn', 'notice', 'http', 'info', 'verbose', 'silly']);

/** npm exec docs: `-c <cmd>` runs a command string through the script shell; npm config keys are also flags. */
function npxOptionRefusal(option: ParsedOption): string | undefined {
  const { name } = option;
  if (name === '-c' || name === '--call') return 'runs a command string through a shell';
  if (name === '--shell' || name === '--script-shell') return 'chooses the shell npm runs commands with';
  if (name === '--node-options') return 'sets NODE_OPTIONS for everything npm runs';
  if (/registry|:_|_auth|token/i.test(name)) return 'points npm at another registry or its credentials (dependency confusion)';
  if (name === '--userconfig' || name === '--globalconfig') return 'loads an npmrc, which can change the registry, the shell and node-options';
  if (name === '--loglevel') return NPM_LOG_LEVELS.has(option.value ?? '') ? undefined : 'needs one of npm\'s log levels';
  if (name === '-p' || name === '--package' || NPX_FLAGS.has(name)) return undefined;
  return 'is not one Gatehouse accepts (it accepts -y/--yes, -p/--package, --loglevel, -q/--quiet/--silent and --prefer-offline/--prefer-online/--offline)';
}

/**
 * A package name from the npm registry, optionally with a version, tag or range. Everything else npm
 * accepts as a spec (git URLs, tarball URLs, file paths, `user/repo` GitHub shorthands, `npm:` aliases)
 * installs code from outside the registry (npm docs, "package-spec").
 */
const NPM_SPEC = /^((?:@[a-z0-9][a-z0-9._~-]*\/)?[a-z0-9][a-z0-9._~-]*)(?:@[A-Za-z0-9._^~<>=*|+-]+)?$/i;

function npmPackageName(command: string, spec: string): string {
  const match = NPM_SPEC.exec(spec);
  if (match === null) {
    refuse(
      command,
      'args',
      `"${spec}" is not a package from the npm registry; git URLs, tarball URLs, local paths and GitHub shorthands run code from outside it.`,
      spec,
    );
  }
  return match[1] as string;
}

function checkNpx(command: string, args: readonly string[], start: number): void {
  const scan = scanOptions(args, start, { valued: NPX_VALUED });
  const packages: string[] = [];
  for (const option of scan.options) {
    const reason = npxOptionRefusal(option);
    if (reason !== undefined) refuse(command, 'args', `${command} option ${option.name} ${reason}.`, option.token);
    if (option.name === '-p' || option.name === '--package') packages.push(option.value ?? '');
  }
  const operand = args[scan.operand];
  if (operand === undefined) refuse(command, 'args', `${command} needs a package to run.`);
  if (packages.length === 0) return checkProgram(command, npmPackageName(command, operand), args, scan.operand + 1);
  // With --package the operand is a command from those packages (npm exec docs: `npx -p <pkg> <cmd>`).
  for (const spec of packages) npmPackageName(command, spec);
  if (!BARE_NAME.test(operand)) refuse(command, 'args', `"${operand}" is not a command name.`, operand);
  checkProgram(command, operand, args, scan.operand + 1);
}

// ---------------------------------------------------------------------------------------------------
// uvx / uv tool run

const UVX_VALUED = new Set([
  '--from', '--with', '-w', '--python', '-p', '--with-requirements', '--with-editable', '--index-url', '-i', '--extra-index-url',
  '--index', '--default-index', '-f', '--find-links', '--config-file', '--directory', '--project', '--env-file', '-c',
  '--constraints', '--overrides', '--build-constraints', '--prerelease', '--resolution', '--cache-dir', '--color',
]);
const UVX_FLAGS = new Set(['-q', '--quiet', '-v', '--verbose', '--isolated', '-n', '--no-cache', '--refresh', '--offline', '--no-progress', '--no-config', '--native-tls']);

/**
 * A requirement on a package from the index: name, extras, version specifiers, or uv's `name@version`
 * (uv docs, "Using tools": "The command name can include an exact version in the format
 * <package>@<version>"). No `name @ url`, git+ URLs or paths: those install code from elsewhere.
 */
const PYTHON_REQUIREMENT =
  /^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[A-Za-z0-9._,-]+\])?(@[A-Za-z0-9.+!_-]+|((===|==|~=|!=|<=|>=|<|>)[A-Za-z0-9.*+!_-]+)(,(===|==|~=|!=|<=|>=|<|>)[A-Za-z0-9.*+!_-]+)*)?$/;
const PYTHON_VERSION_REQUEST = /^((cpython|pypy|graalpy|python)[-@]?)?(\d+(\.\d+){0,2}t?)?$/i;

function pythonRequirementName(command: string, requirement: string, what: string): string {
  const match = PYTHON_REQUIREMENT.exec(requirement);
  if (match === null) {
    refuse(command, 'args', `${what} "${requirement}" is not a package from the index; git URLs, direct URLs and local paths run code from outside it.`, requirement);
  }
  return match[1] as string;
}

function uvxOptionRefusal(command: string, option: ParsedOption): string | undefined {
  const value = option.value ?? '';
  switch (option.name) {
    case '--from':
      pythonRequirementName(command, value, '--from');
      return undefined;
    case '--with':
    case '-w':
      value.split(',').forEach((requirement) => pythonRequirementName(command, requirement.trim(), option.name));
      return undefined;
    case '--python':
    case '-p':
      // A request that is not a version is looked up as an executable (uv docs, "Python versions").
      return PYTHON_VERSION_REQUEST.test(value) && value !== '' ? undefined : 'must be a Python version (3.12, pypy3.10), not a path or program';
    case '--prerelease':
    case '--resolution':
      return /^[a-z-]+$/.test(value) ? undefined : 'needs one of uv\'s strategy names';
    case '--with-requirements':
    case '--with-editable':
      return 'installs from a file or a local path, not from the index';
    case '--index-url':
    case '-i':
    case '--extra-index-url':
    case '--index':
    case '--default-index':
    case '-f':
    case '--find-links':
      return 'installs from another index (dependency confusion)';
    case '--config-file':
    case '--directory':
    case '--project':
    case '--env-file':
    case '-c':
    case '--constraints':
    case '--overrides':
    case '--build-constraints':
      return 'reads settings or requirements from a file on the gateway host';
    default:
      return UVX_FLAGS.has(option.name)
        ? undefined
        : 'is not one Gatehouse accepts (it accepts --from, --with, --python and -q/-v/--isolated/--no-cache/--refresh/--offline/--no-progress/--no-config/--native-tls)';
  }
}

function checkUvx(command: string, args: readonly string[], start: number): void {
  const scan = scanOptions(args, start, { valued: UVX_VALUED });
  let from: string | undefined;
  for (const option of scan.options) {
    const reason = uvxOptionRefusal(command, option);
    if (reason !== undefined) refuse(command, 'args', `${command} option ${option.name} ${reason}.`, option.token);
    if (option.name === '--from') from = option.value;
  }
  const operand = args[scan.operand];
  if (operand === undefined) refuse(command, 'args', `${command} needs a tool to run.`);
  if (from !== undefined && !BARE_NAME.test(operand)) refuse(command, 'args', `"${operand}" is not a command name.`, operand);
  const program = from === undefined ? pythonRequirementName(command, operand, 'the tool') : operand;
  // `uvx python` starts an interpreter (uv docs), so python's own rules apply to the rest.
  checkProgram(command, program, args, scan.operand + 1);
}

// ---------------------------------------------------------------------------------------------------
// Environment (the rules live in command-policy-env.ts)

function checkEnvironment(command: string, env: Readonly<Record<string, string>>): void {
  for (const [name, value] of Object.entries(env)) {
    if (!ENV_NAME.test(name)) refuse(command, 'env', `"${name}" is not an environment variable name (letters, digits and "_").`, name);
    if (value.includes('\0')) refuse(command, 'env', `environment variable ${name} contains a NUL byte.`, name);
    const reason = environmentRefusal(name);
    if (reason !== undefined) refuse(command, 'env', `environment variable ${name} ${reason}.`, name);
  }
}

// ---------------------------------------------------------------------------------------------------
// Working directory

/** Absolute, so it does not depend on where the gateway was started; no `..`, so it says where it goes. */
function checkWorkingDirectory(command: string, cwd: string | undefined): void {
  if (cwd === undefined) return;
  if (cwd.includes('\0')) refuse(command, 'cwd', 'the working directory contains a NUL byte.', cwd);
  if (!posix.isAbsolute(cwd) && !win32.isAbsolute(cwd)) refuse(command, 'cwd', `the working directory must be an absolute path (found "${cwd}").`, cwd);
  if (cwd.split(/[\\/]+/).includes('..')) refuse(command, 'cwd', `the working directory must not contain ".." (found "${cwd}").`, cwd);
}
