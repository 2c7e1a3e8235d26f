/** The embedded engine's errors, shared by the renderer, the materializer and the engine. */

export const DBT_ENGINE_HINT = "Run this model with the dbt engine instead (--engine dbt).";

/** Something the embedded engine does not implement. */
export class UnsupportedFeatureError extends Error {
  constructor(
    readonly construct: string,
    detail: string,
  ) {
    super(detail);
  }
}

/** A render failure, already described for the user (file, line, construct, hint). */
export class EmbeddedRenderError extends Error {
  constructor(
    message: string,
    readonly file: string,
    readonly line: number | undefined,
    readonly construct: string | undefined,
    /** True when the dbt engine would probably succeed (unsupported construct, not a user error). */
    readonly unsupported: boolean,
    /** Set when the node could not render because this upstream failed in the step (skip it). */
    readonly failedUpstream?: string,
    /** 1-based column of the Jinja position, when known. */
    readonly column?: number,
  ) {
    super(message);
    this.name = "EmbeddedRenderError";
  }
}
