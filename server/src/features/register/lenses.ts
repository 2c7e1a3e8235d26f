/** Code lenses over assets and jobs (materialize, status, checks). */
import type { Feature } from "../feature";
import { codeLenses } from "../lenses";
import { uriToPath } from "../lookup";

export const lensesFeature: Feature = {
  capabilities: { codeLensProvider: { resolveProvider: false } },
  register(c) {
    c.connection.onCodeLens((params, token) => c.safe("codeLens", token, [], (i) => codeLenses(i, uriToPath(params.textDocument.uri), c.status, c.statuses.checks)));
  },
};
