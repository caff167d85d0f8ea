// The delegate config saved at ADD as <dataDir>/<containerID> (the reference's file name and
// content: the exact bytes handed to the delegate), so DEL replays what ADD used even after
// subnet.env changed or vanished.
import fs from 'node:fs';
import path from 'node:path';
import { CniError, ErrorCode } from '../../shared/cni/errors.js';
import { makeDirectories } from '../../shared/sys/dirs.js';
import { errorText } from '../../shared/sys/error-text.js';
import { writeFileAtomic } from '../../shared/sys/files.js';

/** The container ID becomes a file name: it must not leave the directory. */
export function savedPath(dataDir: string, containerID: string): string {
  if (containerID === '' || containerID === '.' || containerID === '..' || /[/\0]/.test(containerID)) {
    throw new CniError(ErrorCode.InvalidEnvironmentVariables, 'invalid characters in containerID', containerID);
  }
  return path.join(dataDir, containerID);
}

/** Writes the file atomically (dir 0700, file 0600, as the reference). */
export function saveDelegateConf(dataDir: string, containerID: string, bytes: string): void {
  const file = savedPath(dataDir, containerID);
  // A dataDir that is a file, a container ID longer than a file name may be, a full disk: the
  // reference fails with the bare Go error (999); the spec's code for it is 5.
  try {
    makeDirectories(dataDir, 0o700);
    writeFileAtomic(file, bytes, 0o600);
  } catch (err) {
    throw new CniError(ErrorCode.IOFailure, `failed to save the delegate config ${file}: ${errorText(err)}`);
  }
}

/** The saved bytes, or undefined when there is no file. */
export function readDelegateConf(dataDir: string, containerID: string): Buffer | undefined {
  const file = savedPath(dataDir, containerID);
  try {
    return fs.readFileSync(file);
  } catch (err) {
    // ENAMETOOLONG / ENOTDIR: ADD could never have saved a file by that name.
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENAMETOOLONG' || code === 'ENOTDIR') return undefined;
    throw new CniError(ErrorCode.IOFailure, `failed to read the delegate config ${file}: ${errorText(err)}`);
  }
}

export function removeDelegateConf(dataDir: string, containerID: string): void {
  fs.rmSync(savedPath(dataDir, containerID), { force: true });
}

/** Container IDs with a saved config in dataDir (temp files of interrupted writes skipped). */
export function listSaved(dataDir: string): string[] {
  try {
    return fs.readdirSync(dataDir).filter((n) => !n.includes('.tmp-'));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw new CniError(ErrorCode.IOFailure, `failed to list the delegate configs in ${dataDir}: ${errorText(err)}`);
  }
}
