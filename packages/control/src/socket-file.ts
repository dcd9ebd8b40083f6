// Socket files and the run directory they live in (DESIGN.md §9: files and sockets are created with
// their final mode, in directories only their owner can write, without following symbolic links).
// The VR's control socket, nexthopd's API socket and the run directory itself go through here; the
// remote socket server's listener does the same in C (native/src/unix.c, unixListen).
import {
  chmodSync,
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  renameSync,
  rmdirSync,
  type Stats,
  unlinkSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { socketAnswers } from './server.ts';

/** Why a directory may not hold our sockets, or null when it may. */
function runDirProblem(dir: string, st: Stats): string | null {
  if (!st.isDirectory()) return `${dir} is not a directory`;
  const me = process.geteuid?.() ?? 0;
  if (st.uid !== 0 && st.uid !== me)
    return `${dir} belongs to uid ${st.uid}, neither root nor this user (${me})`;
  // Sticky: others may add names there, never replace or remove ours (inode(7), "The sticky bit").
  if ((st.mode & 0o022) !== 0 && (st.mode & 0o1000) === 0) {
    const mode = (st.mode & 0o7777).toString(8).padStart(4, '0');
    return `${dir} has mode ${mode}: group or others could replace the sockets in it (chmod go-w ${dir})`;
  }
  return null;
}

/**
 * Checks the run directory's rule: a real directory (not a symbolic link), owned by root or by this
 * user, writable by nobody else unless sticky. Throws with the reason.
 */
export function checkRunDir(dir: string): void {
  const st = lstatSync(dir);
  if (st.isSymbolicLink()) throw new Error(`the run directory ${dir} is a symbolic link; give its target`);
  const problem = runDirProblem(dir, st);
  if (problem !== null) throw new Error(`the run directory ${problem}`);
}

/**
 * Creates the run directory when it is missing (with its parents, as `mkdir -p`) with mode 0755 —
 * the remote socket API's socket in it is for other users too — whatever the umask, then checks it
 * (checkRunDir). The mode is set through a descriptor opened without following a link.
 */
export function ensureRunDir(dir: string): void {
  const created = mkdirSync(dir, { recursive: true, mode: 0o755 });
  if (created !== undefined) {
    const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
    try {
      if ((fstatSync(fd).mode & 0o777) !== 0o755) fchmodSync(fd, 0o755);
    } finally {
      closeSync(fd);
    }
  }
  checkRunDir(dir);
}

/** A socket file this process created, to be removed only while it is still that file. */
export interface SocketFile {
  readonly path: string;
  readonly ino: number;
  /** Removes the file if it is still ours (same inode): a newer server may have replaced it. */
  remove(): void;
}

/**
 * Listens on a Unix socket at `path` that has `mode` from the start: `listen(tmp)` binds at a path
 * in a fresh private directory beside it (mkdtemp, mode 0700), where the file is chmod'ed and then
 * renamed into place, so no umask widens it and no symbolic link is followed. The directory must
 * pass checkRunDir. A file left by a server that died is replaced; a live server or a file that is
 * not a socket is an error (`inUse` names the live one).
 */
export async function listenSocketFile(
  path: string,
  mode: number,
  listen: (tmpPath: string) => Promise<void>,
  inUse = `${path} is in use`,
): Promise<SocketFile> {
  const dir = dirname(path);
  checkRunDir(dir);
  let old: Stats | null = null;
  try {
    old = lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (old !== null) {
    if (!old.isSocket()) throw new Error(`${path} exists and is not a socket; remove it if it is not needed`);
    if (await socketAnswers(path)) throw new Error(inUse);
  }
  const tmpDir = mkdtempSync(join(dir, '.nh'));
  const tmp = join(tmpDir, 's');
  try {
    await listen(tmp);
    // Our directory alone (0700, just made): nothing can have put a link there in the socket's place.
    if (!lstatSync(tmp).isSocket()) throw new Error(`${tmp} is not the socket just bound`);
    chmodSync(tmp, mode);
    renameSync(tmp, path);
  } finally {
    try {
      unlinkSync(tmp);
    } catch {}
    rmdirSync(tmpDir);
  }
  const ino = lstatSync(path).ino;
  return {
    path,
    ino,
    remove() {
      try {
        if (lstatSync(path).ino === ino) unlinkSync(path);
      } catch {
        // Already gone.
      }
    },
  };
}
