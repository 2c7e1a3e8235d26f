/** Compiled SQL, column lineage and preview: they render the project's Jinja, so trusted workspaces only. */
import { ColumnLineageRequest, CompileRequest, PreviewRequest, type CompileResult, type PreviewResult } from "../../protocol/sql";
import type { Feature } from "../feature";
import { uriToPath } from "../lookup";
import { compileFile, preview, RESTRICTED } from "../sql";

export const sqlFeature: Feature = {
  register(c) {
    c.connection.onRequest(CompileRequest, (params, token) =>
      c.settings().trusted
        ? c.safe<CompileResult>("compile", token, { ok: false, message: "the server failed to compile (see the Tributary output)" }, (i) => compileFile(c.sqlContext(i), uriToPath(params.uri)))
        : { ok: false, message: RESTRICTED },
    );
    c.connection.onRequest(ColumnLineageRequest, (params, token) => (c.settings().trusted ? c.safe("columnLineage", token, {}, (i) => c.columns.get(c.sqlContext(i), params.ids)) : {}));
    c.connection.onRequest(PreviewRequest, (params, token) =>
      c.settings().trusted
        ? c.safe<PreviewResult>("preview", token, { ok: false, message: "the server failed to run the preview (see the Tributary output)" }, (i) =>
            preview(c.sqlContext(i), { ...params, file: uriToPath(params.uri) }, token),
          )
        : { ok: false, message: RESTRICTED },
    );
  },
};
