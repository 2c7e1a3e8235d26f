/**
 * Descriptions (dbt YAML, doc blocks, JSDoc) are markdown written in the repository and shown in
 * hovers and tooltips. Rendering must not fetch anything: an image can act as a beacon. Images
 * become plain links (`![alt](url)` -> `[alt](url)`, fetched only if the user clicks) and HTML
 * tags are escaped (`<img>` shows as text; `a < b` is left alone). A link (inline or a reference
 * definition) to a `command:` URI becomes a fragment link to nothing: hovers trust a few of the
 * extension's own command links (added after this, see features/hover.ts), and repository text
 * must not borrow that trust. Targets starting with `&` or `<` are blocked too: a character
 * reference there can spell `command:`. Linear in the text.
 */
export function inertMarkdown(text: string): string {
  return text
    .replaceAll("![", "[")
    .replace(/<(?=[A-Za-z/!?])/g, "&lt;")
    .replace(/(\]\(\s*|^[ \t]{0,3}\[[^\]\n]*\]:[ \t]*)(?=[&<]|command:)/gim, "$1#blocked:");
}
