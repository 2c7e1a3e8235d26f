/**
 * Descriptions (dbt YAML, doc blocks, JSDoc) are markdown written in the repository and shown in
 * hovers and tooltips. Rendering must not fetch anything: an image can act as a beacon. Images
 * become plain links (`![alt](url)` -> `[alt](url)`, fetched only if the user clicks) and HTML
 * tags are escaped (`<img>` shows as text; `a < b` is left alone). Linear in the text.
 */
export function inertMarkdown(text: string): string {
  return text.replaceAll("![", "[").replace(/<(?=[A-Za-z/!?])/g, "&lt;");
}
