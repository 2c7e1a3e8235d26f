/**
 * `tributary.json`: read as untrusted input and validated against the shipped JSON schema
 * (schemas/tributary.schema.json, also contributed to VS Code for completion). Each problem is a
 * diagnostic at its place in the file; only valid settings are kept, so a broken file means
 * defaults, never a server that stops answering. Executables are never taken from it.
 */
import * as path from "node:path";
import Ajv, { type ErrorObject, type ValidateFunction } from "ajv";
// The ESM build: the UMD one resolves its parts at run time, which a bundle cannot follow.
import { findNodeAtLocation, parseTree, printParseErrorCode, type Node as JsonNode, type ParseError } from "jsonc-parser/lib/esm/main.js";
import schema from "../../../schemas/tributary.schema.json";
import type { IndexDiagnostic, Severity } from "../protocol/types";
import { LineIndex } from "./lineIndex";
import { ReadScope } from "./readFile";

/** Settings a workspace may keep in `tributary.json` at a root. */
export interface TributaryConfig {
  include?: string[];
  exclude?: string[];
  engine?: "embedded" | "dbt";
  concurrency?: number;
}

/** Keys that name an executable or start background work: only the user's own settings may. */
const USER_ONLY = new Set(["dbtExecutable", "nodePath", "runSchedules"]);
const MAX_CONFIG_BYTES = 1024 * 1024;

let validator: ValidateFunction | undefined;
function validate(value: unknown): ErrorObject[] {
  if (!validator) {
    const ajv = new Ajv({ allErrors: true });
    ajv.addKeyword("deprecationMessage");
    validator = ajv.compile(schema);
  }
  return validator(value) ? [] : [...(validator.errors ?? [])];
}

/** Reads `tributary.json` from the first root that has one; problems are diagnostics, never fatal. */
export function readTributaryConfig(roots: string[], readOverride?: (file: string) => string | undefined): { config: TributaryConfig; diagnostics: IndexDiagnostic[] } {
  for (const root of roots) {
    const file = path.join(root, "tributary.json");
    const open = readOverride?.(file);
    if (open !== undefined) return parseTributaryConfig(file, open);
    const read = new ReadScope([root]).read(file, MAX_CONFIG_BYTES);
    if (!read.ok && read.missing) continue;
    if (!read.ok) return { config: {}, diagnostics: [diagnostic(file, undefined, "error", "config-invalid", `tributary.json was not read: it ${read.reason}; using the defaults.`)] };
    return parseTributaryConfig(file, read.text);
  }
  return { config: {}, diagnostics: [] };
}

/** Validates the text of a `tributary.json`; keeps the settings that are valid. */
export function parseTributaryConfig(file: string, text: string): { config: TributaryConfig; diagnostics: IndexDiagnostic[] } {
  const lines = new LineIndex(text);
  const diagnostics: IndexDiagnostic[] = [];
  const errors: ParseError[] = [];
  const tree = parseTree(text, errors, { allowTrailingComma: false, disallowComments: true });
  for (const e of errors) {
    diagnostics.push(diagnostic(file, lines.span(e.offset, e.offset + Math.max(1, e.length)), "error", "config-invalid", `tributary.json is not valid JSON: ${describeParseError(printParseErrorCode(e.error))}; using the defaults.`));
  }
  if (errors.length > 0 || !tree) return { config: {}, diagnostics };
  if (tree.type !== "object") {
    diagnostics.push(diagnostic(file, spanOf(lines, tree), "error", "config-invalid", "tributary.json should be a JSON object; using the defaults."));
    return { config: {}, diagnostics };
  }
  const value = JSON.parse(text) as Record<string, unknown>;
  const rejected = new Set<string>();
  for (const error of validate(value)) {
    const property = error.keyword === "additionalProperties" ? String((error.params as { additionalProperty: string }).additionalProperty) : topProperty(error.instancePath);
    if (property === undefined) continue;
    if (USER_ONLY.has(property)) continue;
    rejected.add(property);
    if (error.keyword === "additionalProperties") {
      const keyNode = findNodeAtLocation(tree, [property])?.parent?.children?.[0];
      diagnostics.push(diagnostic(file, keyNode && spanOf(lines, keyNode), "warning", "config-unknown", `Unknown setting '${property}' in tributary.json; it is ignored.`));
      continue;
    }
    const at = findNodeAtLocation(tree, pathOf(error.instancePath));
    diagnostics.push(diagnostic(file, at && spanOf(lines, at), "error", "config-invalid", `tributary.json: '${error.instancePath.slice(1).replace(/\//g, ".")}' ${error.message ?? "is not valid"}${allowed(error)}; using the default.`));
  }
  for (const property of USER_ONLY) {
    if (!(property in value)) continue;
    rejected.add(property);
    const keyNode = findNodeAtLocation(tree, [property])?.parent?.children?.[0];
    const setting = property === "runSchedules" ? "`tributary.runSchedules`" : `\`tributary.${property}\``;
    diagnostics.push(diagnostic(file, keyNode && spanOf(lines, keyNode), "warning", "config-ignored", `'${property}' in tributary.json is ignored: executables and schedules come only from your own user or machine settings (${setting}${property === "dbtExecutable" ? ", or TRIBUTARY_DBT_EXECUTABLE for the CLI" : ""}), never from files in the repository.`));
  }
  const config: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (!rejected.has(k)) config[k] = v;
  return { config: config as TributaryConfig, diagnostics };
}

function topProperty(instancePath: string): string | undefined {
  return pathOf(instancePath)[0] as string | undefined;
}

function pathOf(instancePath: string): (string | number)[] {
  if (!instancePath) return [];
  return instancePath
    .slice(1)
    .split("/")
    .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

function allowed(error: ErrorObject): string {
  if (error.keyword === "enum") return ` (${(error.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(", ")})`;
  return "";
}

function describeParseError(code: string): string {
  return code.replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase();
}

function spanOf(lines: LineIndex, node: JsonNode) {
  return lines.span(node.offset, node.offset + node.length);
}

function diagnostic(file: string, span: IndexDiagnostic["span"] | undefined, severity: Severity, code: string, message: string): IndexDiagnostic {
  const zero = { line: 0, character: 0 };
  return { file, span: span ?? { start: zero, end: zero }, severity, code, message };
}
