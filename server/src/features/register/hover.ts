/** Hover: the asset under the cursor; in a trusted workspace, the column under the cursor in a SQL model. */
import { ResponseError } from "vscode-languageserver";
import type { Feature } from "../feature";
import { hover } from "../hover";
import { uriToPath } from "../lookup";
import { columnHover } from "../sql";

export const hoverFeature: Feature = {
  capabilities: { hoverProvider: true },
  register(c) {
    c.connection.onHover(async (params, token) => {
      const base = await c.safe("hover", token, null, (i) => hover(i, c.roots, uriToPath(params.textDocument.uri), params.position, c.status, c.statuses.checks));
      if (base instanceof ResponseError || base?.range || !c.settings().trusted || token.isCancellationRequested) return base;
      const document = c.documents.get(params.textDocument.uri);
      if (!document || !/\.sql$/i.test(params.textDocument.uri)) return base;
      const column = await c.safe("columnHover", undefined, null, (i) => columnHover(c.sqlContext(i), c.columns, uriToPath(params.textDocument.uri), document.getText(), params.position));
      return column ?? base;
    });
  },
};
