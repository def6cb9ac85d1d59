// A real PostgreSQL server for the tests, on 127.0.0.1 and a free port, in a temp dir it removes.
import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import pg from 'pg';
import { freePort, startDaemon, stopDaemon, waitUntilReady, type Daemon } from './daemon.js';

export interface PostgresServer {
  /** Connects as the superuser `gatehouse` to the `postgres` database. */
  readonly url: string;
  /** A fresh, empty database on this server; its URL. */
  newDatabase(): Promise<string>;
  /** Stops the server and removes its directory. Idempotent. */
  stop(): Promise<void>;
}

const USER = 'gatehouse';
// The CI machine is a loaded 2-core VM, where initdb plus the first start can take tens of seconds.
const READY_DEADLINE_MS = 60_000;
const STOP_DEADLINE_MS = 30_000;

function hasServerBinaries(dir: string): boolean {
  return existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'postgres'));
}

/**
 * The directory holding initdb and postgres: PATH first, then Debian's /usr/lib/postgresql/<v>/bin
 * (the newest version), which the Debian package does not put in PATH.
 */
export function findPostgresBinDir(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) if (dir !== '' && hasServerBinaries(dir)) return dir;
  const debian = '/usr/lib/postgresql';
  if (!existsSync(debian)) return undefined;
  const versions = readdirSync(debian)
    .filter((version) => hasServerBinaries(join(debian, version, 'bin')))
    .sort((left, right) => Number.parseFloat(right) - Number.parseFloat(left));
  return versions[0] === undefined ? undefined : join(debian, versions[0], 'bin');
}

/**
 * Why the PostgreSQL tests cannot run here, or undefined when they can. Under CI a missing PostgreSQL
 * is not a reason: CI must install it (.ci/run does), and startPostgres then fails loudly.
 */
export function postgresSkipReason(): string | undefined {
  if (findPostgresBinDir() !== undefined || process.env.CI) return undefined;
  return 'PostgreSQL is not installed (no initdb in PATH or /usr/lib/postgresql/*/bin); install it to run the PostgreSQL store tests';
}

/** PostgreSQL refuses to run as root; as root, run it as the `postgres` user the Debian package creates. */
function asServerUser(command: string, args: readonly string[]): [string, string[]] {
  return process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, [...args]];
}

function serverUserIds(): { uid: number; gid: number } {
  const uid = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (uid.status !== 0 || gid.status !== 0) throw new Error('running as root, but there is no `postgres` user to run PostgreSQL as');
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

async function canConnect(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

function startServer(bin: string, dir: string, dataDir: string, port: number): Daemon {
  const [command, args] = asServerUser(join(bin, 'postgres'), [
    '-D', dataDir, '-k', dir, '-h', '127.0.0.1', '-p', String(port), '-F', '-c', 'fsync=off',
  ]);
  // Its own process group, so that stop reaches postgres through runuser and every backend.
  return startDaemon(command, args, dir);
}

// SIGINT is PostgreSQL's fast shutdown: it ends client connections instead of waiting for them.
const stopServer = (started: Daemon): Promise<void> => stopDaemon(started, 'SIGINT', STOP_DEADLINE_MS);

/** Runs initdb and starts PostgreSQL; throws (never skips) when it cannot. */
export async function startPostgres(): Promise<PostgresServer> {
  const bin = findPostgresBinDir();
  if (bin === undefined) {
    throw new Error(
      'PostgreSQL is not installed: no initdb in PATH or /usr/lib/postgresql/*/bin. CI must install it (.ci/run does, from Debian packages).',
    );
  }
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-pg-'));
  const dataDir = join(dir, 'data');
  try {
    if (process.getuid?.() === 0) {
      const { uid, gid } = serverUserIds();
      chownSync(dir, uid, gid);
    }
    // --locale=C: the environment's locale may not be installed on a CI image, and initdb fails then.
    const [command, args] = asServerUser(join(bin, 'initdb'), ['-D', dataDir, '-A', 'trust', '-U', USER, '--no-sync', '-E', 'UTF8', '--locale=C']);
    const initdb = spawnSync(command, args, { cwd: dir, encoding: 'utf8' });
    if (initdb.status !== 0) throw new Error(`initdb failed (${initdb.status ?? initdb.signal}):\n${initdb.stdout}${initdb.stderr}${initdb.error ?? ''}`);

    // The port from listen(0) can be taken by someone else before postgres binds it: try another.
    for (let attempt = 1; ; attempt += 1) {
      const port = await freePort();
      const url = `postgres://${USER}@127.0.0.1:${port}/postgres`;
      const started = startServer(bin, dir, dataDir, port);
      if ((await waitUntilReady(started, () => canConnect(url), { deadlineMs: READY_DEADLINE_MS, pauseMs: 100, what: 'PostgreSQL did not accept connections' }).catch(async (error: unknown) => {
        await stopServer(started);
        throw error;
      })) === 'ready') {
        return serverHandle(url, started, dir);
      }
      if (attempt >= 3 || !/could not bind|Address already in use/i.test(started.output())) {
        throw new Error(`PostgreSQL exited while starting:\n${started.output()}`);
      }
    }
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

function serverHandle(url: string, started: Daemon, dir: string): PostgresServer {
  let databases = 0;
  let stopping: Promise<void> | undefined;
  return {
    url,
    async newDatabase() {
      databases += 1;
      const name = `gatehouse_test_${databases}`;
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        // The name is made here from a counter, never from input: safe to put in the statement.
        await client.query(`create database ${name}`);
      } finally {
        await client.end();
      }
      return url.replace(/\/postgres$/, `/${name}`);
    },
    stop() {
      stopping ??= (async () => {
        await stopServer(started);
        await rm(dir, { recursive: true, force: true });
      })();
      return stopping;
    },
  };
}
