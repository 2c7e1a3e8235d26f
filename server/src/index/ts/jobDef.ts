/** `job({ name, selection, schedule, ... })`: a job read statically, with its JSDoc. */
import ts from "typescript";
import type { TsJobDef } from "../facts";
import { exportNameFor } from "./moduleScope";
import type { DeclContext, ModuleScope } from "./moduleScope";
import { jsDocText, readProps, stringOf, unwrap } from "./syntax";
import type { TsFile } from "./tsFile";

export function readJob(f: TsFile, scope: ModuleScope, call: ts.CallExpression, ctx: DeclContext | undefined): void {
  const { facts, text, spanOf, diag } = f;
  const callee = unwrap(call.expression);
  const def: TsJobDef = { span: spanOf(call) };
  if (ctx?.localName) def.localName = ctx.localName;
  const exportName = exportNameFor(scope, ctx);
  if (exportName) def.exportName = exportName;
  const optionsArg = call.arguments[0];
  const opts = optionsArg && unwrap(optionsArg);
  if (!opts || !ts.isObjectLiteralExpression(opts)) {
    diag(opts ?? callee, "info", "ts-dynamic-job", "The job options are not an object literal, so the job cannot be read statically.");
  } else {
    const props = readProps(opts);
    const field = (name: "name" | "selection" | "schedule") => {
      const node = props.values.get(name);
      if (!node) return;
      const value = stringOf(node);
      if (value === undefined) {
        diag(node, "info", "ts-dynamic-job", `The job's \`${name}\` is computed at run time, so it cannot be read statically.`);
        return;
      }
      def[name] = value;
      def[`${name}Span`] = spanOf(node);
    };
    field("name");
    field("selection");
    field("schedule");
    const timezone = stringOf(props.values.get("timezone"));
    if (timezone !== undefined) def.timezone = timezone;
    const description = stringOf(props.values.get("description"));
    if (description !== undefined) def.description = description;
    if (!props.values.has("name") && !props.opaque) diag(opts, "error", "ts-job-missing-name", "job() options need a `name`.");
    if (!props.values.has("selection") && !props.opaque) diag(opts, "error", "ts-job-missing-selection", "job() options need a `selection`.");
  }
  if (def.description === undefined) {
    const doc = jsDocText(text, ctx?.commentPos ?? call.pos);
    if (doc) def.description = doc;
  }
  facts.jobs.push(def);
}
