/**
 * One shape per asset kind (16 x 16 boxes), so kinds differ by shape and not only by colour:
 * model a square, seed a circle, snapshot stacked squares, source a cylinder, exposure a
 * diamond, TypeScript asset a hexagon.
 */
import type { AssetKind } from "../../server/src/protocol/types";

export const KIND_ICON: Record<AssetKind, string> = {
  dbt_model: "M2.5,2.5h11v11h-11z",
  dbt_seed: "M8,2a6,6 0 1,0 0.01,0z",
  dbt_snapshot: "M1.5,5h9.5v9.5h-9.5z M5,5v-3.5h9.5v9.5h-3.5",
  dbt_source: "M2,4a6,2.4 0 1,0 12,0a6,2.4 0 1,0 -12,0v8a6,2.4 0 0,0 12,0v-8",
  dbt_exposure: "M8,1.2L14.8,8L8,14.8L1.2,8z",
  ts_asset: "M8,1.2L14,4.6v6.8L8,14.8L2,11.4v-6.8z",
};

/** The chevron drawn on collapsed groups (opens) and on open group frames (closes). */
export const CHEVRON_RIGHT = "M6,3.5L10.5,8L6,12.5";
export const CHEVRON_DOWN = "M3.5,6L8,10.5L12.5,6";
/** The "+" on assets whose neighbours are not shown. */
export const PLUS = "M8,4v8M4,8h8";
