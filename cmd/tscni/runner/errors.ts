// The runner's own failures (bad usage, config not found, a plugin that failed): one message for
// stderr and an exit status. Plugin errors keep their spec code so scripts can read it (--json).
export class RunnerError extends Error {
  constructor(
    message: string,
    /** The failing plugin's CNI error code, when a plugin failed. */
    readonly cniCode?: number,
    readonly exitStatus = 1,
  ) {
    super(message);
  }
}

/** Exit statuses: 0 success, 1 a CNI operation or config failed, 2 usage error. */
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
