/**
 * What the right-click menu offers on an asset or a group, and what its tooltip says.
 */
import type { MaterializeMode, PanelNotification } from "../../server/src/protocol/webview";
import type { MenuItem } from "./contextMenu";
import { KIND_LABEL, type GraphModel } from "./model";
import type { ViewItem } from "./overview";

export interface MenuActions {
  post(message: PanelNotification): void;
  showInLineage(id: string): void;
  materialize(ids: string[], mode: MaterializeMode): void;
  plan(ids: string[]): void;
  expand(id: string): void;
  toggleGroup(name: string): void;
}

/** Open / Materialize (only, with upstream, with downstream) / Preview plan / Show in lineage / ... acting on `ids`. */
export function menuItems(item: ViewItem, ids: string[], expandable: boolean, act: MenuActions): MenuItem[] {
  const what = ids.length === 1 ? ids[0] : `${ids.length} assets`;
  const items: MenuItem[] = [];
  if (item.type === "node") items.push({ id: "open", label: "Open", run: () => act.post({ method: "openAsset", id: item.id }) });
  items.push(
    { id: "materialize", label: `Materialize ${what}`, run: () => act.materialize(ids, "only") },
    { id: "materialize-upstream", label: "Materialize with upstream", run: () => act.materialize(ids, "upstream") },
    { id: "materialize-downstream", label: "Materialize with downstream", run: () => act.materialize(ids, "downstream") },
    { id: "plan", label: "Preview plan", run: () => act.plan(ids) },
  );
  if (item.type === "node") {
    items.push({ id: "show-in-lineage", label: "Show in lineage", run: () => act.showInLineage(item.id) });
    if (expandable) items.push({ id: "expand", label: "Show hidden neighbours", run: () => act.expand(item.id) });
  } else {
    items.push({ id: "open-group", label: item.expanded ? "Close group" : "Open group", run: () => act.toggleGroup(item.name) });
  }
  return items;
}

export function tooltipLines(model: GraphModel, item: ViewItem): string[] {
  if (item.type === "group") return [`group ${item.name}`, `${item.members.length} assets`, "Click to open \u00b7 right-click to materialize"];
  const n = item.node;
  const status = model.status(n.id);
  return [
    n.key.join(" / "),
    `${KIND_LABEL[n.kind]}${n.group ? ` \u00b7 group ${n.group}` : ""}${n.materialized ? ` \u00b7 ${n.materialized}` : ""}`,
    `${status.state}${status.detail ? `: ${status.detail}` : ""}`,
    ...(n.description ? [n.description] : []),
    ...(n.file ? [n.file] : []),
    "Click: open \u00b7 Shift-click: select \u00b7 Right-click: materialize, columns",
  ];
}
