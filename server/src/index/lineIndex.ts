/**
 * Offset <-> LSP position conversion for one text.
 *
 * Offsets and characters are UTF-16 code units (what JS string indices are, and what LSP uses by
 * default). Line breaks are `\n`, `\r\n` and a lone `\r`, as in LSP. Building the index is one
 * pass over the text (`indexOf` when the text has no `\r`); each lookup is a binary search over the
 * line starts.
 */
import type { Pos, Span } from "../protocol/types";

export class LineIndex {
  /** Offset of the first character of each line; `lineStarts[0] === 0`. */
  private readonly lineStarts: number[];
  readonly length: number;
  private readonly text: string;

  constructor(text: string) {
    this.text = text;
    const starts = [0];
    this.length = text.length;
    if (text.indexOf("\r") < 0) {
      let i = text.indexOf("\n");
      while (i >= 0) {
        starts.push(i + 1);
        i = text.indexOf("\n", i + 1);
      }
    } else {
      const n = text.length;
      for (let i = 0; i < n; i++) {
        const c = text.charCodeAt(i);
        if (c === 10) starts.push(i + 1);
        else if (c === 13) {
          if (i + 1 < n && text.charCodeAt(i + 1) === 10) i++;
          starts.push(i + 1);
        }
      }
    }
    this.lineStarts = starts;
  }

  /** Number of lines (a text without line breaks has one). */
  get lineCount(): number {
    return this.lineStarts.length;
  }

  /** Zero-based line / character of an offset (clamped to the text). */
  position(offset: number): Pos {
    if (offset < 0 || offset !== offset) offset = 0;
    else if (offset > this.length) offset = this.length;
    const starts = this.lineStarts;
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo, character: offset - starts[lo] };
  }

  /** Offset of a position (clamped to its line and to the text). */
  offset(pos: Pos): number {
    const starts = this.lineStarts;
    if (pos.line < 0) return 0;
    if (pos.line >= starts.length) return this.length;
    const start = starts[pos.line];
    let end = pos.line + 1 < starts.length ? starts[pos.line + 1] : this.length;
    // Exclude the line break itself.
    if (end > start && this.text.charCodeAt(end - 1) === 10) end--;
    if (end > start && this.text.charCodeAt(end - 1) === 13) end--;
    return Math.min(start + Math.max(0, pos.character), end);
  }

  span(start: number, end: number): Span {
    return { start: this.position(start), end: this.position(end) };
  }
}
