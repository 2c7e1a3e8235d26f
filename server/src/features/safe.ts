/**
 * The wrapper every request handler goes through. It yields to the event loop before working, so a
 * `$/cancelRequest` that arrived meanwhile is seen: a request cancelled before it started answers
 * RequestCancelled (-32800) without doing the work. A handler that throws is logged and answered
 * with its feature's fallback (the answer a client shows as "nothing here" or as the failure
 * message), never a crash; VS Code's own CSS and JSON servers do the same (their runSafe).
 * Cancellation is only checked before the work: a feature that honours the token itself (preview)
 * answers with what it made of the cancellation.
 */
import { LSPErrorCodes, ResponseError, type CancellationToken } from "vscode-languageserver";

export type SafeResult<T> = Promise<T | ResponseError<void>>;

export function cancelled(): ResponseError<void> {
  return new ResponseError(LSPErrorCodes.RequestCancelled, "request cancelled");
}

export function describeError(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}

export function safe<T>(logError: (message: string) => void, name: string, token: CancellationToken | undefined, fallback: T, work: () => T | Promise<T>): SafeResult<T> {
  return new Promise<T | ResponseError<void>>((resolve) => {
    setImmediate(() => {
      if (token?.isCancellationRequested) return resolve(cancelled());
      let result: T | Promise<T>;
      try {
        result = work();
      } catch (error) {
        logError(`${name} failed: ${describeError(error)}`);
        return resolve(fallback);
      }
      Promise.resolve(result).then(resolve, (error: unknown) => {
        logError(`${name} failed: ${describeError(error)}`);
        resolve(fallback);
      });
    });
  });
}
