/** How `wirewatch` commands fail: one clear line on stderr and an exit code. */
import { DataDirInUseError } from '../shared/adapters/data-dir-lock.ts';

/**
 * Exit codes: 1 = the watch file has errors or nothing was done (declined,
 * nothing to pull, the data directory in use by another process), 2 = bad
 * usage or unreadable input, 3 = another push won.
 */
export class CommandFailure extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = 'CommandFailure';
  }
}

/** Wraps an action so failures print one clear line and set the exit code. */
export function run<A extends unknown[]>(
  action: (...args: A) => Promise<void>,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await action(...args);
    } catch (error) {
      if (error instanceof CommandFailure) {
        console.error(error.message);
        process.exitCode = error.exitCode;
        return;
      }
      if (error instanceof DataDirInUseError) {
        console.error(error.message);
        process.exitCode = 1;
        return;
      }
      if (error instanceof Error && error.name === 'ItemsFileError') {
        console.error(error.message);
        process.exitCode = 2;
        return;
      }
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        console.error(`cannot read ${(error as NodeJS.ErrnoException).path}: no such file`);
        process.exitCode = 2;
        return;
      }
      throw error;
    }
  };
}
