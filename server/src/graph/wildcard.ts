/**
 * `*` wildcards (any run of characters, `/` included) matched without backtracking: a pattern is
 * compiled once into its literal pieces; the first must start the text, the last must end it, and
 * each one between is found leftmost after the previous (greedy leftmost is exact for `*`-only
 * patterns). The time is bounded by text length × pattern length, whatever the pattern; a regular
 * expression like `^a.*a.*a.*c$` takes exponential time on a long run of `a`s.
 */
export type WildcardMatcher = (text: string) => boolean;

export function compileWildcard(pattern: string): WildcardMatcher {
  if (!pattern.includes("*")) return (text) => text === pattern;
  const parts = pattern.split("*");
  const prefix = parts[0];
  const suffix = parts[parts.length - 1];
  const middle = parts.slice(1, -1).filter((p) => p.length > 0);
  const fixed = prefix.length + suffix.length;
  return (text) => {
    if (text.length < fixed || !text.startsWith(prefix) || !text.endsWith(suffix)) return false;
    const end = text.length - suffix.length;
    let at = prefix.length;
    for (const part of middle) {
      const found = text.indexOf(part, at);
      if (found < 0 || found + part.length > end) return false;
      at = found + part.length;
    }
    return true;
  };
}
