/** Completion of asset names in ref()/source() and in TS asset dependencies. */
import { complete } from "../completion";
import type { Feature } from "../feature";
import { uriToPath } from "../lookup";

export const completionFeature: Feature = {
  capabilities: { completionProvider: { triggerCharacters: ["'", '"', "/", ","] } },
  register(c) {
    c.connection.onCompletion((params, token) =>
      c.safe("completion", token, [], (i) => {
        const document = c.documents.get(params.textDocument.uri);
        if (!document) return [];
        const prefix = document.getText({ start: { line: params.position.line, character: 0 }, end: params.position });
        return complete(i, uriToPath(params.textDocument.uri), params.position, prefix);
      }),
    );
  },
};
