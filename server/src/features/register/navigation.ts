/** Go to definition and find references of an asset. */
import type { Feature } from "../feature";
import { uriToPath } from "../lookup";
import { definition, references } from "../navigation";

export const navigationFeature: Feature = {
  capabilities: { definitionProvider: true, referencesProvider: true },
  register(c) {
    c.connection.onDefinition((params, token) => c.safe("definition", token, [], (i) => definition(i, uriToPath(params.textDocument.uri), params.position)));
    c.connection.onReferences((params, token) =>
      c.safe("references", token, [], (i) => references(i, uriToPath(params.textDocument.uri), params.position, params.context.includeDeclaration)),
    );
  },
};
