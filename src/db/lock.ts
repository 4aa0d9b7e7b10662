import { closeSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The lock file's name inside a PGlite data directory. */
export const LOCK_FILE = 'preflight.pid';

/** Another live process holds the embedded database; nothing was opened or written. */
export class DataDirLockedError extends Error {
  constructor(readonly dataDir: string, readonly pid: number) {
    super(`The embedded database in ${resolve(dataDir)} is in use by process ${pid}; quit it first, or set DATABASE_URL (PostgreSQL) to run several Preflight processes on one database.`);
  }
}

/** True when a process with this pid exists (EPERM: it exists but belongs to someone else). */
export function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function holder(path: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(path, 'utf8').trim(), 10);
    return Number.isInteger(pid) ? pid : undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * Takes dataDir for this process (PGlite is one process's database) and returns its release. A lock left by a
 * process that is gone (crash, SIGKILL) is taken over; one held by a live process throws DataDirLockedError.
 */
export function lockDataDir(dataDir: string): () => void {
  const path = join(dataDir, LOCK_FILE);
  const mine = String(process.pid);
  try {
    const fd = openSync(path, 'wx');
    writeSync(fd, `${mine}\n`);
    closeSync(fd);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const pid = holder(path);
    if (pid !== undefined && pid !== process.pid && isAlive(pid)) throw new DataDirLockedError(dataDir, pid);
    // Stale: replace it whole with rename (atomic), then read back, so two takers cannot both believe they won.
    const tmp = `${path}.${mine}`;
    const fd = openSync(tmp, 'w');
    writeSync(fd, `${mine}\n`);
    closeSync(fd);
    renameSync(tmp, path);
    const now = holder(path);
    if (now !== process.pid) throw new DataDirLockedError(dataDir, now ?? -1);
  }
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    process.off('exit', release);
    // Only our own lock: a takeover after a (wrongly presumed) death must not be undone by us.
    if (holder(path) === process.pid) unlinkSync(path);
  };
  // An exit without close (uncaught error, process.exit) still frees the directory.
  process.on('exit', release);
  return release;
}
