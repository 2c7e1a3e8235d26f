/**
 * Descriptions (dbt YAML, doc blocks, JSDoc) are markdown written in the repository and shown in
 * hovers and tooltips. Rendering must not fetch anything: an image can act as a beacon. Images
 * become plain links (`![alt](url)` -> `[alt](url)`, fetched only if the user clicks) and HTML
 * is escaped (`<img>` shows as text). Linear in the text: no regular expression that backtracks.
 */
export function inertMarkdown(text: string): string {
  return text.replaceAll("![", "[").replaceAll("<", "&lt;");
}
