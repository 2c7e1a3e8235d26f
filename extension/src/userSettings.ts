/**
 * Settings that name an executable or start background work are read from the user's own
 * settings only (user, or remote machine, scope). The manifest declares them `machine` scoped,
 * so VS Code already ignores a workspace's value; this is the same rule in code, for hosts that
 * do not enforce scopes, and the one place that says which settings they are.
 */

/** The keys (under `tributary.`) that only the user may set. */
export const USER_ONLY_SETTINGS = ["dbtExecutable", "nodePath", "runSchedules"] as const;
export type UserOnlySetting = (typeof USER_ONLY_SETTINGS)[number];

/** What `WorkspaceConfiguration.inspect` returns, as far as this needs it. */
export interface Inspected<T> {
  defaultValue?: T;
  globalValue?: T;
  workspaceValue?: T;
  workspaceFolderValue?: T;
}

/** The user's value, else the default; workspace and folder values never count. */
export function userValue<T>(inspected: Inspected<T> | undefined): T | undefined {
  return inspected?.globalValue ?? inspected?.defaultValue;
}

/** Reads one user-only setting from a `WorkspaceConfiguration` for `tributary`. */
export function userSetting<K extends UserOnlySetting>(config: { inspect<T>(key: string): Inspected<T> | undefined }, key: K): (K extends "runSchedules" ? boolean : string) | undefined {
  return userValue(config.inspect<K extends "runSchedules" ? boolean : string>(key));
}
