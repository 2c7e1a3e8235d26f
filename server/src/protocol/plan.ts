/**
 * A materialization plan: what the planner (`server/src/plan/planner.ts`) makes of a selection and
 * what the runner executes. Types only.
 */

export interface PlanStep {
  /** `step-1`, `step-2`, ... in the order of `Plan.steps`. */
  id: string;
  kind: "dbt" | "ts";
  /** Asset ids in topological order (one id for a TS step). */
  assets: string[];
  /** dbt project name, for dbt steps whose nodes have one. */
  project?: string;
  /** Ids of the steps that must finish before this one starts (its direct predecessors). */
  dependsOn: string[];
  /**
   * The step's depth in the step DAG (0 for steps depending on nothing, else 1 + the largest
   * depth among `dependsOn`). Steps sharing a number never depend on each other and may run concurrently.
   */
  parallelGroup: number;
}

export interface PlanSkip {
  id: string;
  reason: string;
}

export interface Plan {
  /** The selected asset ids that exist in the graph, upstream first. */
  selection: string[];
  /** Steps in a topological order of the step DAG. */
  steps: PlanStep[];
  /** Unselected assets that executed assets read directly: read as they are, never rebuilt. */
  inputs: string[];
  /** Selected dbt sources with no producer: external data, never executed. */
  external: string[];
  /** Selected assets that are not executed and why (exposures, assets on a cycle, unknown ids). */
  skipped: PlanSkip[];
}
