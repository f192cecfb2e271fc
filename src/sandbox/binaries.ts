// Finds the MariaDB server binaries, installing them with apt-get where that is possible
// (root on Debian/Ubuntu) and saying exactly what to install where it is not.
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { spawnSync } from 'node:child_process';

export interface ServerBinaries {
  readonly server: string;
  readonly installDb: string;
  /** mariadb-dump and mariadb (client), used by the benchmarks; undefined when absent. */
  readonly dump: string | undefined;
  readonly client: string | undefined;
}

export class MissingBinariesError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MissingBinariesError';
  }
}

const searchPath = (): string[] => [
  ...(process.env.PATH ?? '').split(delimiter),
  '/usr/sbin',
  '/usr/local/sbin',
  '/usr/local/mysql/bin',
];

function which(names: readonly string[]): string | undefined {
  for (const name of names) {
    for (const dir of searchPath()) {
      if (!dir) continue;
      const candidate = join(dir, name);
      try {
        accessSync(candidate, constants.X_OK);
        return candidate;
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

function locate(): ServerBinaries | undefined {
  const server = which(['mariadbd', 'mysqld']);
  const installDb = which(['mariadb-install-db', 'mysql_install_db']);
  if (!server || !installDb) return undefined;
  return { server, installDb, dump: which(['mariadb-dump', 'mysqldump']), client: which(['mariadb', 'mysql']) };
}

function isDebianLike(): boolean {
  if (!existsSync('/etc/os-release')) return false;
  const release = readFileSync('/etc/os-release', 'utf8');
  return /^(ID|ID_LIKE)=.*\b(debian|ubuntu)\b/m.test(release);
}

let cached: ServerBinaries | undefined;

/** The MariaDB binaries; installs `mariadb-server` with apt-get when root on Debian/Ubuntu. */
export function serverBinaries(): ServerBinaries {
  if (cached) return cached;
  let found = locate();
  if (!found) {
    const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
    if (isRoot && isDebianLike()) {
      process.stderr.write('tideferry sandbox: mariadbd not found, installing mariadb-server with apt-get…\n');
      const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
      const update = spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
      const install = update.status === 0
        ? spawnSync('apt-get', ['install', '-y', '-qq', 'mariadb-server', 'mariadb-client'], { stdio: 'inherit', env })
        : update;
      if (install.status !== 0) {
        throw new MissingBinariesError('installing mariadb-server with apt-get failed; run `apt-get install mariadb-server mariadb-client` by hand');
      }
      found = locate();
    }
  }
  if (!found) {
    throw new MissingBinariesError(
      'the sandbox needs MariaDB server binaries (mariadbd and mariadb-install-db) and found none on PATH or in /usr/sbin. ' +
        'Install them: `sudo apt-get install mariadb-server mariadb-client` on Debian/Ubuntu, `brew install mariadb` on macOS.',
    );
  }
  cached = found;
  return found;
}
