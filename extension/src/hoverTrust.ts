/**
 * Hover markdown from the server is trusted for the commands its own links name and no others
 * (HOVER_LINK_COMMANDS): "▶ Run job" and "open the failing query" work, while repository text in
 * a hover cannot link a command (the server blocks such links; see server/src/index/markdown.ts).
 */
import { HOVER_LINK_COMMANDS } from "../../server/src/protocol/commands";

export const HOVER_TRUST: { readonly enabledCommands: readonly string[] } = { enabledCommands: HOVER_LINK_COMMANDS };

/** What a MarkdownString is for this purpose (its text and its trust). */
interface TrustableMarkdown {
  value: string;
  isTrusted?: boolean | { readonly enabledCommands: readonly string[] };
}

function isMarkdown(content: unknown): content is TrustableMarkdown {
  return typeof content === "object" && content !== null && typeof (content as { value?: unknown }).value === "string" && typeof (content as { appendMarkdown?: unknown }).appendMarkdown === "function";
}

/** Gives every markdown part of `hover` the hover trust; plain strings and code blocks are left as they are. */
export function trustHoverLinks<T extends { contents: unknown[] }>(hover: T | null | undefined): T | null | undefined {
  for (const content of hover?.contents ?? []) if (isMarkdown(content)) content.isTrusted = HOVER_TRUST;
  return hover;
}
