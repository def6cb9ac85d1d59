/**
 * Environment variables an API-registered stdio server may not set: each changes how a program loads
 * or runs code (or where it fetches it from), so it would carry arbitrary code past the command
 * policy in command-policy.ts. The reason for each is the message the caller gets.
 */

export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Exact names (compared upper-case: Windows and npm both read them case-insensitively). */
const DENIED_ENV = new Map<string, string>([
  // The executable search path decides which `npx` actually runs.
  ['PATH', 'changes which program the command name resolves to'],
  ['PATHEXT', 'changes which program the command name resolves to'],
  ['COMSPEC', 'replaces the shell Windows tools run commands with'],
  ['SHELL', 'replaces the shell tools run commands with'],
  // Node docs, "Environment variables".
  ['NODE_OPTIONS', 'adds node options (--require, --import, --inspect) to every node process'],
  ['NODE_PATH', 'adds directories modules are loaded from'],
  ['NODE_REPL_EXTERNAL_MODULE', 'replaces the REPL with a module'],
  ['NODE_EXTRA_CA_CERTS', 'adds trusted certificate authorities, which lets a proxy swap the package being downloaded'],
  ['NODE_TLS_REJECT_UNAUTHORIZED', 'switches off TLS verification, which lets a proxy swap the package being downloaded'],
  ['SSL_CERT_FILE', 'replaces the trusted certificate authorities'],
  ['SSL_CERT_DIR', 'replaces the trusted certificate authorities'],
  ['REQUESTS_CA_BUNDLE', 'replaces the trusted certificate authorities'],
  ['CURL_CA_BUNDLE', 'replaces the trusted certificate authorities'],
  // Shells read these at start-up; npm runs install scripts through sh.
  ['BASH_ENV', 'makes bash run a file before any script'],
  ['ENV', 'makes sh run a file at start-up'],
  ['SHELLOPTS', 'changes how bash runs scripts'],
  ['BASHOPTS', 'changes how bash runs scripts'],
  ['PS4', 'is expanded, command substitutions included, when shell tracing is on'],
  ['PROMPT_COMMAND', 'is run by bash'],
  ['IFS', 'changes how shells split words'],
  ['ZDOTDIR', 'moves the files zsh runs at start-up'],
  // Tools that run the command an environment variable names.
  ['BROWSER', 'names a command that Python\'s webbrowser and other tools run'],
  ['EDITOR', 'names a command that tools run'],
  ['VISUAL', 'names a command that tools run'],
  ['PAGER', 'names a command that tools run'],
  ['SSH_ASKPASS', 'names a command that ssh runs'],
  // Where npm, pip and uv find their configuration (registry, shell, node-options).
  ['HOME', 'moves the configuration files (.npmrc, pip.conf, uv.toml) that choose registries and shells'],
  ['USERPROFILE', 'moves the configuration files (.npmrc, pip.conf, uv.toml) that choose registries and shells'],
  ['XDG_CONFIG_HOME', 'moves the configuration files (pip.conf, uv.toml) that choose indexes'],
  // glibc and OpenSSL load shared libraries named by these.
  ['GCONV_PATH', 'makes glibc load shared libraries from a directory'],
  ['GLIBC_TUNABLES', 'changes how the loader behaves'],
  ['OPENSSL_CONF', 'loads an OpenSSL configuration, which can load engines (native code)'],
  ['OPENSSL_ENGINES', 'loads OpenSSL engines (native code)'],
  ['OPENSSL_MODULES', 'loads OpenSSL providers (native code)'],
  // Other runtimes' equivalents of NODE_OPTIONS.
  ['JAVA_TOOL_OPTIONS', 'adds JVM options (agents) to every Java process'],
  ['_JAVA_OPTIONS', 'adds JVM options (agents) to every Java process'],
  ['RUBYOPT', 'adds options (-r) to every Ruby process'],
  ['RUBYLIB', 'adds directories Ruby loads code from'],
  ['PERL5OPT', 'adds options (-M) to every Perl process'],
  ['PERL5LIB', 'adds directories Perl loads code from'],
  ['PERLLIB', 'adds directories Perl loads code from'],
  // The docker CLI: another daemon, or a config whose credential helpers it runs.
  ['DOCKER_HOST', 'points the docker CLI at another daemon'],
  ['DOCKER_CONTEXT', 'points the docker CLI at another daemon'],
  ['DOCKER_CONFIG', 'loads a docker CLI configuration, whose credential helpers it runs'],
  ['DOCKER_CERT_PATH', 'replaces the docker CLI\'s TLS credentials'],
  ['DOCKER_TLS_VERIFY', 'changes the docker CLI\'s TLS verification'],
]);

interface PrefixRule {
  readonly prefix: string;
  readonly reason: string;
  readonly except?: ReadonlySet<string>;
}

const DENIED_ENV_PREFIXES: readonly PrefixRule[] = [
  // ld.so(8): LD_PRELOAD, LD_LIBRARY_PATH, LD_AUDIT... load or redirect shared libraries into every process.
  { prefix: 'LD_', reason: 'changes which shared libraries the loader loads' },
  { prefix: 'DYLD_', reason: 'changes which shared libraries the macOS loader loads' },
  { prefix: 'BASH_FUNC_', reason: 'defines bash functions, which can replace commands' },
  // npm reads every npm_config_* as configuration (npm docs, "config"): registry, script-shell,
  // node-options, userconfig, git... Only these settings are harmless.
  {
    prefix: 'NPM_CONFIG_',
    reason: 'sets npm configuration, which can change the registry, the shell or node-options',
    except: new Set(['NPM_CONFIG_CACHE', 'NPM_CONFIG_LOGLEVEL', 'NPM_CONFIG_YES', 'NPM_CONFIG_UPDATE_NOTIFIER', 'NPM_CONFIG_FUND', 'NPM_CONFIG_AUDIT', 'NPM_CONFIG_PROGRESS', 'NPM_CONFIG_PREFER_OFFLINE', 'NPM_CONFIG_PREFER_ONLINE', 'NPM_CONFIG_OFFLINE']),
  },
  // Python docs, "Environment variables": PYTHONPATH, PYTHONSTARTUP, PYTHONHOME, PYTHONINSPECT,
  // PYTHONBREAKPOINT, PYTHONWARNINGS (imports categories) all load code. Only these are harmless.
  {
    prefix: 'PYTHON',
    reason: 'changes where Python loads code from or what it runs at start-up',
    except: new Set(['PYTHONUNBUFFERED', 'PYTHONIOENCODING', 'PYTHONUTF8', 'PYTHONDONTWRITEBYTECODE', 'PYTHONHASHSEED', 'PYTHONSAFEPATH', 'PYTHONNOUSERSITE', 'PYTHONFAULTHANDLER', 'PYTHONLEGACYWINDOWSSTDIO']),
  },
  // uv docs, "Environment variables": UV_INDEX_URL, UV_EXTRA_INDEX_URL, UV_FIND_LINKS, UV_PYTHON (a path), UV_CONFIG_FILE...
  {
    prefix: 'UV_',
    reason: 'changes uv\'s index, interpreter or configuration',
    except: new Set(['UV_CACHE_DIR', 'UV_NO_CACHE', 'UV_OFFLINE', 'UV_NO_PROGRESS', 'UV_NATIVE_TLS', 'UV_HTTP_TIMEOUT', 'UV_CONCURRENT_DOWNLOADS', 'UV_NO_CONFIG']),
  },
  { prefix: 'PIP_', reason: 'sets pip configuration, which can change the index' },
  // git runs GIT_SSH_COMMAND, GIT_ASKPASS, GIT_EXEC_PATH programs and reads GIT_CONFIG_* settings;
  // npm and uv run git for git dependencies.
  {
    prefix: 'GIT_',
    reason: 'names programs git runs or configuration it reads',
    except: new Set(['GIT_AUTHOR_NAME', 'GIT_AUTHOR_EMAIL', 'GIT_COMMITTER_NAME', 'GIT_COMMITTER_EMAIL']),
  },
];

export function environmentRefusal(name: string): string | undefined {
  const upper = name.toUpperCase();
  const exact = DENIED_ENV.get(upper);
  if (exact !== undefined) return exact;
  for (const rule of DENIED_ENV_PREFIXES) {
    if (upper.startsWith(rule.prefix) && !(rule.except?.has(upper) ?? false)) return rule.reason;
  }
  return undefined;
}
