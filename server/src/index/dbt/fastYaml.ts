/**
 * The fast path for reading YAML: js-yaml's event parser (about fifteen times faster than the
 * `yaml` package on dbt property files) turned into the `yaml` package's nodes, with the same
 * ranges and the same scalar resolution, so every reader works on either.
 *
 * It only takes plain documents: one document, no tags or merge keys, no duplicate or complex
 * keys, no syntax error. Anchors and aliases are kept as the `yaml` package keeps them (an
 * `anchor` on the node, an `Alias` node), which large projects use by the thousand. For anything else it answers undefined and the
 * caller parses with the `yaml` package, which recovers from errors and reports them precisely.
 */
import { EVENT_ID, getScalarValue, parseEvents, SCALAR_STYLE, COLLECTION_STYLE } from "js-yaml";
import type { Event as YamlEvent } from "js-yaml";
import { Alias, Document, Pair, Scalar, Schema, YAMLMap, YAMLSeq } from "yaml";
import type { Node as YamlNode } from "yaml";

type ScalarType = Scalar["type"];

const SCALAR_TYPES: Record<number, ScalarType> = {
  [SCALAR_STYLE.PLAIN]: "PLAIN",
  [SCALAR_STYLE.SINGLE_QUOTED]: "QUOTE_SINGLE",
  [SCALAR_STYLE.DOUBLE_QUOTED]: "QUOTE_DOUBLE",
  [SCALAR_STYLE.LITERAL_BLOCK]: "BLOCK_LITERAL",
  [SCALAR_STYLE.FOLDED_BLOCK]: "BLOCK_FOLDED",
};

/** The `yaml` package's own YAML 1.2 core-schema resolvers for plain scalars (null, bool, int, float). */
const PLAIN_RESOLVERS = new Schema({ schema: "core" }).tags.flatMap((tag) =>
  tag.default === true && "test" in tag && tag.test instanceof RegExp && typeof tag.resolve === "function" ? [{ test: tag.test, resolve: tag.resolve }] : [],
);

/** First characters a null, bool, int or float may start with: anything else stays a string. */
const MAY_RESOLVE = /^[-+.~0-9nNtTfF]/;

export function plainValue(text: string): unknown {
  if (text !== "" && !MAY_RESOLVE.test(text)) return text;
  for (const { test, resolve } of PLAIN_RESOLVERS) {
    if (!test.test(text)) continue;
    const value = (resolve as (s: string, onError: (m: string) => void, o: object) => unknown)(text, () => undefined, {});
    return value instanceof Scalar ? value.value : value; // floats come wrapped (to keep their digits)
  }
  return text;
}

export class NotPlain extends Error {}

interface Open {
  node: YAMLMap | YAMLSeq;
  /** A mapping's key waiting for its value. */
  key?: YamlNode;
  /** The keys a mapping has seen. */
  keys: Set<string>;
}

/** A document's nodes built from js-yaml events, or undefined when the text needs the full `yaml` parser. */
export function fastParseDocument(text: string): Document.Parsed | undefined {
  // A lone `\r` breaks lines for js-yaml but not for the `yaml` package, and js-yaml lets tabs
  // indent where the `yaml` package (and dbt's PyYAML) refuse: let the latter decide. So too for
  // explicit `? key` entries, whose missing values the two parsers represent differently.
  if (/\r(?!\n)|(?:^|\n) *\t|(?:^|[\n[{,]|- )[ \t]*\?(?:\s|$)/.test(text)) return undefined;
  let events: YamlEvent[];
  try {
    events = parseEvents(text, {});
  } catch {
    return undefined;
  }
  try {
    return build(text, events);
  } catch (e) {
    if (e instanceof NotPlain) return undefined;
    throw e;
  }
}

function build(text: string, events: YamlEvent[]): Document.Parsed {
  const stack: Open[] = [];
  let root: YamlNode | null = null;
  let documents = 0;
  const anchors = new Set<string>();

  const place = (node: YamlNode) => {
    const parent = stack[stack.length - 1];
    if (!parent) {
      root = node;
      return;
    }
    if (parent.node instanceof YAMLSeq) {
      if (!node.range) throw new NotPlain(); // `- ` with nothing after it
      parent.node.items.push(node);
      return;
    }
    if (parent.key === undefined) {
      // Keys must be scalars seen once (duplicates: the `yaml` package reports them).
      if (!(node instanceof Scalar) || node.value === null || typeof node.value === "object") throw new NotPlain();
      const name = String(node.value);
      // Merge keys (`<<`) are the `yaml` package's to resolve.
      if (name === "<<" || parent.keys.has(name)) throw new NotPlain();
      parent.keys.add(name);
      parent.key = node;
      return;
    }
    if (!node.range) {
      if (parent.node.flow) throw new NotPlain(); // `{a}` / `{a: }`: the `yaml` package keeps no value node
      // `key:` with nothing after it: a null just after the colon, where the `yaml` package puts it.
      let at = text.indexOf(":", parent.key.range![1]) + 1;
      while (text[at] === " " || text[at] === "\t") at++;
      node.range = [at, at, at];
    }
    parent.node.items.push(new Pair(parent.key, node));
    parent.key = undefined;
  };

  for (const event of events) {
    switch (event.type) {
      case EVENT_ID.DOCUMENT:
        if (++documents > 1) throw new NotPlain();
        break;
      case EVENT_ID.ALIAS: {
        const source = text.slice(event.anchorStart, event.anchorEnd);
        // An alias before (or without) its anchor: the `yaml` package reports it.
        if (!anchors.has(source)) throw new NotPlain();
        const node = new Alias(source);
        node.range = [event.anchorStart - 1, event.anchorEnd, event.anchorEnd];
        place(node);
        break;
      }
      case EVENT_ID.SCALAR: {
        if (event.tagStart !== -1) throw new NotPlain();
        const node = scalarNode(text, event);
        if (event.anchorStart !== -1) {
          // An anchored empty value: where the `yaml` package puts its null is not worth matching.
          if (event.valueStart === -1) throw new NotPlain();
          node.anchor = text.slice(event.anchorStart, event.anchorEnd);
          anchors.add(node.anchor);
        }
        place(node);
        break;
      }
      case EVENT_ID.MAPPING:
      case EVENT_ID.SEQUENCE: {
        if (event.tagStart !== -1) throw new NotPlain();
        const node = event.type === EVENT_ID.MAPPING ? new YAMLMap() : new YAMLSeq();
        if (event.anchorStart !== -1) {
          node.anchor = text.slice(event.anchorStart, event.anchorEnd);
          anchors.add(node.anchor);
        }
        if (event.style === COLLECTION_STYLE.FLOW) node.flow = true;
        node.range = [event.start, event.start, event.start];
        place(node);
        stack.push({ node, keys: new Set() });
        break;
      }
      case EVENT_ID.POP: {
        const open = stack.pop();
        if (!open) break; // the document's end
        if (open.key !== undefined) throw new NotPlain();
        closeCollection(text, open.node);
        break;
      }
    }
  }
  if (stack.length > 0) throw new NotPlain();
  const doc = new Document() as Document.Parsed;
  doc.contents = root;
  return doc;
}

function scalarNode(text: string, event: Extract<YamlEvent, { type: typeof EVENT_ID.SCALAR }>): Scalar {
  const type = SCALAR_TYPES[event.style] ?? "PLAIN";
  if (event.valueStart === -1) {
    const node = new Scalar(null);
    node.type = "PLAIN";
    return node;
  }
  const raw = getScalarValue(text, event);
  // An empty block scalar ends a character apart in the two parsers.
  if (raw === "" && (type === "BLOCK_LITERAL" || type === "BLOCK_FOLDED")) throw new NotPlain();
  const node = new Scalar(type === "PLAIN" ? plainValue(raw) : raw);
  node.type = type;
  let start = event.valueStart;
  let end = event.valueEnd;
  if (type === "QUOTE_DOUBLE" || type === "QUOTE_SINGLE") {
    start -= 1;
    end += 1;
  } else if (type === "BLOCK_LITERAL" || type === "BLOCK_FOLDED") {
    // The `yaml` package starts a block scalar at its `|` / `>` header.
    const header = text.lastIndexOf(type === "BLOCK_LITERAL" ? "|" : ">", start);
    if (header >= 0) start = header;
  }
  node.range = [start, end, end];
  return node;
}

/** A collection ends where its last item ends; a flow collection just after its closing bracket. */
export function closeCollection(text: string, node: YAMLMap | YAMLSeq): void {
  const range = node.range!;
  // `- &a name: x` anchors the first key; js-yaml starts the mapping at the `&`, the `yaml` package at the key.
  const first = node.items[0];
  if (!node.flow && first instanceof Pair && (first.key as Scalar).anchor) range[0] = (first.key as Scalar).range![0];
  const last = node.items[node.items.length - 1];
  const lastNode = (last instanceof Pair ? last.value ?? last.key : last) as YamlNode | null;
  let end = lastNode?.range?.[1] ?? range[0] + 1;
  if (node.flow) {
    // Only spaces, line breaks, a trailing comma and comments may stand before the closing bracket.
    const close = /^(?:[\s,]|#[^\n]*)*/.exec(text.slice(end, end + 200))![0].length + end;
    if (text[close] !== (node instanceof YAMLMap ? "}" : "]")) throw new NotPlain();
    end = close + 1;
  }
  node.range = [range[0], end, end];
}
