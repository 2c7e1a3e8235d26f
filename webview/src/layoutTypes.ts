/**
 * What the main thread and the layout worker exchange. Compact on purpose: the worker builds the
 * ELK graph and turns ELK's answer into absolute coordinates, so the main thread only copies boxes.
 */

export interface LayoutNodeIn {
  id: string;
  /** Size of a leaf; ignored for a compound (a node other nodes name as `parent`). */
  w: number;
  h: number;
  /** Id of the compound node (an expanded group) this node sits in. */
  parent?: string;
}

export interface LayoutEdgeIn {
  id: string;
  from: string;
  to: string;
}

export interface LayoutInput {
  nodes: LayoutNodeIn[];
  edges: LayoutEdgeIn[];
}

export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface LayoutResult {
  width: number;
  height: number;
  /** Absolute boxes of every node, compounds included. */
  nodes: Record<string, Box>;
  /** Absolute route of every edge: x0, y0, x1, y1, ... from the source's border to the target's. */
  edges: Record<string, ArrayLike<number>>;
  /** Time ELK took in the worker. */
  ms: number;
}

/**
 * A layout as the worker sends it: typed arrays in the order of the input's nodes and edges,
 * transferred rather than copied, so receiving a big layout costs the main thread nothing.
 */
export interface PackedLayout {
  width: number;
  height: number;
  ms: number;
  /** x, y, w, h of each input node. */
  boxes: Float64Array;
  /** The routes of all edges, one after the other. */
  points: Float64Array;
  /** Edge i's route is points[offsets[i] .. offsets[i + 1]). */
  offsets: Uint32Array;
}

export type WorkerRequest = { type: "layout"; id: number; input: LayoutInput };

export type WorkerResponse =
  /** Posted once when the worker's script has run (ELK is loaded). */
  | { type: "ready" }
  | { type: "layout"; id: number; packed: PackedLayout }
  | { type: "error"; id: number; message: string };
