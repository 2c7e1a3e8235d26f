/**
 * The workspace's macros by project, and what a call of one makes once its arguments are bound:
 * the refs, sources and `var()` calls the linker then links as the calling node's.
 */
import { jinjaTruth, substituteParams, usesParams } from "../dbt/jinja";
import type { JinjaBindings } from "../dbt/jinja";
import type { MacroCall, MacroDef, RefCall, SourceCall, VarCall } from "../facts";
import type { ProjectFiles } from "./types";

/** What a macro call makes, its arguments bound: refs, sources and var calls, nested calls included. */
export interface Expansion {
  refs: RefCall[];
  sources: SourceCall[];
  varCalls: VarCall[];
}

const NO_EXPANSION: Expansion = { refs: [], sources: [], varCalls: [] };
/** Macro calls followed this deep at most. */
const MAX_MACRO_DEPTH = 12;

interface FoundMacro {
  def: MacroDef;
  project: ProjectFiles;
}

export class MacroTable {
  /** Macros by name per project (package macros under their package name too). */
  private readonly byProject = new Map<string, Map<string, FoundMacro>>();
  /** Expansions per calling project, macro and bound arguments. */
  private readonly expansions = new Map<string, Expansion>();
  private readonly macroIds = new Map<MacroDef, number>();

  add(p: ProjectFiles): void {
    let byName = this.byProject.get(p.project.name);
    if (!byName) this.byProject.set(p.project.name, (byName = new Map()));
    for (const facts of p.macros.values()) {
      for (const def of facts.macros) byName.set(def.name, { def, project: p });
    }
    // Macros defined inside model / snapshot files are rare but legal.
    for (const facts of p.models.values()) for (const def of facts.macros) if (!byName.has(def.name)) byName.set(def.name, { def, project: p });
  }

  /** The macro a call names, seen from a project: own macros first, then any package's. */
  find(call: string, from: ProjectFiles): FoundMacro | undefined {
    const dot = call.indexOf(".");
    if (dot >= 0) {
      const pkg = call.slice(0, dot);
      const name = call.slice(dot + 1);
      // `adapter.dispatch('m', 'ns')` (recorded as `ns.default__m`): the root project's `dispatch:`
      // search order for the namespace decides whose implementation runs.
      const order = name.startsWith("default__") ? (from.project.rootConfig?.dispatch ?? from.project.dispatch)?.[pkg] : undefined;
      for (const ns of order ?? []) {
        const found = this.byProject.get(ns)?.get(name);
        if (found) return found;
      }
      return this.byProject.get(pkg === "dbt" ? from.project.name : pkg)?.get(name);
    }
    const own = this.byProject.get(from.project.name)?.get(call);
    if (own) return own;
    for (const [, byName] of this.byProject) {
      const found = byName.get(call);
      if (found) return found;
    }
    return undefined;
  }

  /**
   * What a macro call makes: the macro's refs, sources and `var()` calls with its parameters bound
   * to the call's arguments (`{% macro my_ref(name) %}{{ ref(name) }}{% endmacro %}` called as
   * `my_ref('orders')` refs `orders`), the same for the macros it calls, and without those under a
   * `{% if %}` that is certainly false (with the calling project's vars and the bound arguments).
   */
  expand(call: MacroCall, from: ProjectFiles, vars: Record<string, unknown>, outer: JinjaBindings | undefined, depth = 0): Expansion {
    if (depth > MAX_MACRO_DEPTH) return NO_EXPANSION;
    if (call.when && jinjaTruth(call.when, vars, outer) === false) return NO_EXPANSION;
    const target = this.find(call.name, from);
    if (!target) return NO_EXPANSION;
    const def = target.def;
    const bind: JinjaBindings = {};
    const params = def.params ?? [];
    const args = call.args ?? [];
    const kwargs = call.kwargs ?? {};
    params.forEach((param, i) => {
      const given = i < args.length ? args[i] : kwargs[param.name];
      const value = given ?? param.default;
      // An argument that cannot be known (`ref('x')`, `this`, a column list) binds nothing: the
      // expansion is then the same as for any other such call, and cached once.
      if (value && value.type !== "unknown") {
        const v = outer && usesParams(value) ? substituteParams(value, outer) : value;
        if (v.type !== "unknown" && !(v.type === "param" && !outer?.[v.name])) bind[param.name] = v;
      }
    });
    const bound = Object.keys(bind).length > 0;
    let id = this.macroIds.get(def);
    if (id === undefined) this.macroIds.set(def, (id = this.macroIds.size));
    const key = `${from.project.name}\u0000${id}\u0000${bound ? JSON.stringify(bind) : ""}`;
    const cached = this.expansions.get(key);
    if (cached) return cached;
    this.expansions.set(key, NO_EXPANSION); // a macro calling itself adds nothing more
    const b = bound ? bind : undefined;
    const keep = (when: RefCall["when"]) => !when || jinjaTruth(when, vars, b) !== false;
    const subst = <T extends { args: RefCall["args"]; kwargs: RefCall["kwargs"] }>(c: T): T =>
      b ? { ...c, args: c.args.map((a) => substituteParams(a, b)), kwargs: Object.fromEntries(Object.entries(c.kwargs).map(([k, v]) => [k, substituteParams(v, b)])) } : c;
    const result: Expansion = {
      refs: def.refs.filter((r) => keep(r.when)).map(subst),
      sources: def.sources.filter((r) => keep(r.when)).map(subst),
      varCalls: (def.varCalls ?? []).filter((v) => keep(v.when)).map((v) => (b ? { ...v, expr: substituteParams(v.expr, b) } : v)),
    };
    for (const inner of def.macroCalls) {
      const made = this.expand(inner, target.project, vars, b, depth + 1);
      result.refs.push(...made.refs);
      result.sources.push(...made.sources);
      result.varCalls.push(...made.varCalls);
    }
    this.expansions.set(key, result);
    return result;
  }
}
