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

/** At most this many alternatives from `{a,b}` braces in one glob. */
const MAX_BRACE_EXPANSIONS = 256;

type CharToken = { star: true } | { star: false; test: (ch: string) => boolean };

/**
 * A path glob (`include` / `exclude` in tributary.json and settings) compiled to a matcher without
 * backtracking: `**` as a whole segment spans any number of folders (none included), `*` any run
 * of characters within a segment, `?` one character, `[a-z]` / `[!x]` a class, `{a,b}` either
 * alternative, `\` escapes, and a leading `!` negates. Dots are not special. Matching walks the
 * path's segments with a table over (glob segment, path segment) and each segment with the
 * two-pointer wildcard match, so its time is bounded by the sizes, whatever the pattern.
 */
export function compileGlob(glob: string): WildcardMatcher {
  let negate = false;
  let text = glob;
  while (text.startsWith("!")) {
    negate = !negate;
    text = text.slice(1);
  }
  const alternatives = expandBraces(text).map((alt) =>
    alt
      .replace(/^(\.\/)+/, "")
      .split("/")
      .filter((seg, i, all) => !(seg === "**" && all[i - 1] === "**"))
      .map((seg) => (seg === "**" ? ("**" as const) : segmentTokens(seg))),
  );
  const matchOne = (segments: (CharToken[] | "**")[], parts: string[]): boolean => {
    // can[g][p]: glob segments from g on match path segments from p on.
    let next = new Array<boolean>(parts.length + 1).fill(false);
    next[parts.length] = true;
    for (let g = segments.length - 1; g >= 0; g--) {
      const seg = segments[g];
      const here = new Array<boolean>(parts.length + 1).fill(false);
      // As in picomatch, a trailing `/**` also matches its folder itself (`a/**` matches `a`), except
      // after a segment ending in `*` (`a*/**` does not match `ab`).
      const prev = segments[g - 1];
      const trailingNeedsOne = seg === "**" && g === segments.length - 1 && prev !== undefined && prev !== "**" && prev.length > 0 && prev[prev.length - 1].star;
      for (let p = parts.length; p >= 0; p--) {
        if (trailingNeedsOne) here[p] = p < parts.length;
        else if (seg === "**") here[p] = next[p] || (p < parts.length && here[p + 1]);
        else here[p] = p < parts.length && next[p + 1] && matchSegment(seg, parts[p]);
      }
      next = here;
    }
    return next[0];
  };
  return (path) => {
    const parts = path.split("/");
    const hit = alternatives.some((segments) => matchOne(segments, parts));
    return negate ? !hit : hit;
  };
}

/** `{a,b}c` -> `ac`, `bc` (nested braces too), at most MAX_BRACE_EXPANSIONS results. */
function expandBraces(text: string): string[] {
  let depth = 0;
  let open = -1;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === "\\") {
      i++;
      continue;
    }
    if (ch === "{") {
      if (depth === 0) open = i;
      depth++;
    } else if (ch === "}" && depth > 0) {
      depth--;
      if (depth === 0) {
        const options = splitTopLevel(text.slice(open + 1, i));
        if (options.length < 2) continue; // `{a}` is literal, as in picomatch
        const out: string[] = [];
        for (const option of options) {
          for (const rest of expandBraces(option + text.slice(i + 1))) {
            out.push(text.slice(0, open) + rest);
            if (out.length >= MAX_BRACE_EXPANSIONS) return out;
          }
        }
        return out;
      }
    }
  }
  return [text];
}

function splitTopLevel(body: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < body.length; i++) {
    const ch = body[i];
    if (ch === "\\") i++;
    else if (ch === "{") depth++;
    else if (ch === "}") depth--;
    else if (ch === "," && depth === 0) {
      out.push(body.slice(start, i));
      start = i + 1;
    }
  }
  out.push(body.slice(start));
  return out;
}

function segmentTokens(seg: string): CharToken[] {
  const tokens: CharToken[] = [];
  for (let i = 0; i < seg.length; i++) {
    const ch = seg[i];
    if (ch === "*") {
      if (!(tokens.length > 0 && tokens[tokens.length - 1].star)) tokens.push({ star: true });
    } else if (ch === "?") {
      tokens.push({ star: false, test: () => true });
    } else if (ch === "\\" && i + 1 < seg.length) {
      const lit = seg[++i];
      tokens.push({ star: false, test: (c) => c === lit });
    } else if (ch === "[") {
      const close = seg.indexOf("]", i + 2);
      if (close < 0) {
        tokens.push({ star: false, test: (c) => c === "[" });
        continue;
      }
      let body = seg.slice(i + 1, close);
      const negated = body.startsWith("!") || body.startsWith("^");
      if (negated) body = body.slice(1);
      const ranges: [string, string][] = [];
      for (let k = 0; k < body.length; k++) {
        if (body[k + 1] === "-" && k + 2 < body.length) {
          ranges.push([body[k], body[k + 2]]);
          k += 2;
        } else ranges.push([body[k], body[k]]);
      }
      tokens.push({ star: false, test: (c) => ranges.some(([lo, hi]) => c >= lo && c <= hi) !== negated });
      i = close;
    } else {
      tokens.push({ star: false, test: (c) => c === ch });
    }
  }
  return tokens;
}

/** Two-pointer match of one segment: on a mismatch, the last `*` takes one more character. */
function matchSegment(tokens: CharToken[], text: string): boolean {
  let t = 0;
  let s = 0;
  let starToken = -1;
  let starText = 0;
  while (s < text.length) {
    const token = tokens[t];
    if (token && !token.star && token.test(text[s])) {
      t++;
      s++;
    } else if (token?.star) {
      starToken = t++;
      starText = s;
    } else if (starToken >= 0) {
      t = starToken + 1;
      s = ++starText;
    } else {
      return false;
    }
  }
  while (t < tokens.length && tokens[t].star) t++;
  return t === tokens.length;
}
