/**
 * Errors the runner expects and explains in one line (the CLI prints the message, never a stack):
 * bad options, a history that cannot be written, a lock that cannot be taken, a cancelled wait.
 */
export class RunError extends Error {
  constructor(
    message: string,
    /** The exit code the CLI ends with: 1 a failure, 2 a usage or set-up problem, 130 cancelled. */
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = "RunError";
  }
}

/** A whole number of at least `min`, or a RunError naming the option and the value given. */
export function checkWholeNumber(name: string, value: unknown, min = 1): number {
  if (typeof value === "number" && Number.isInteger(value) && value >= min) return value;
  throw new RunError(`${name} must be a whole number of at least ${min} (got ${JSON.stringify(value) ?? String(value)}).`, 2);
}

/** What failed, in words, from a Node file system error: `permission denied (EACCES)`. */
export function describeFsError(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  const words: Record<string, string> = {
    EACCES: "permission denied",
    EPERM: "operation not permitted",
    EROFS: "read-only file system",
    ENOSPC: "no space left on the device",
    EDQUOT: "disk quota exceeded",
    EISDIR: "it is a directory",
    ENOTDIR: "a part of the path is not a directory",
    EIO: "input/output error",
  };
  if (e && typeof e.code === "string") return `${words[e.code] ?? e.message.split("\n")[0]} (${e.code})`;
  return error instanceof Error ? error.message.split("\n")[0] : String(error);
}
