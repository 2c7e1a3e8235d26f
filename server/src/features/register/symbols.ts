/** Document and workspace symbols: the assets a file defines, assets by name. */
import type { Feature } from "../feature";
import { uriToPath } from "../lookup";
import { documentSymbols, workspaceSymbols } from "../symbols";

export const symbolsFeature: Feature = {
  capabilities: { documentSymbolProvider: true, workspaceSymbolProvider: true },
  register(c) {
    c.connection.onDocumentSymbol((params, token) => c.safe("documentSymbol", token, [], (i) => documentSymbols(i, uriToPath(params.textDocument.uri))));
    c.connection.onWorkspaceSymbol((params, token) => c.safe("workspaceSymbol", token, [], (i) => workspaceSymbols(i, params.query)));
  },
};
